"""The app's value-for-money panel: a run's Green Book appraisal with its sources."""

from __future__ import annotations

import streamlit as st

from placesim.brief import appraisal_rows
from placesim.costs import appraisal_period


def value_section(res, other=None, other_name: str = "") -> None:
    """Costs, savings, net present value and payback of a run (and the difference from
    ``other`` when given), each line with its source."""
    from .state import result_key_of, stores

    if res.manifest.get("department") or (
            other is not None and other.manifest.get("department")):
        st.info("Costs and savings are worked out for the whole Civil Service, not by "
                "department: choose \"(whole Civil Service)\" in the sidebar to see them.")
        return
    key = (result_key_of(res), None if other is None else result_key_of(other))
    rows = stores()["tables"].memo(key, lambda: appraisal_rows(res, other))
    years = sorted(int(y) for y in res.metrics["year"].unique())
    st.caption(f"Over {appraisal_period(years)}, against the posts of each grade staying "
               "where they were at the start; net present value at 3.5% a year from the first "
               "of them (HM Treasury Green Book). Claims of benefits outside government are "
               "shown as claims and never counted in the net present value."
               + (f" Difference: this scenario minus {other_name}." if other is not None
                  else " Choose a comparison for this scenario's value over it."))
    cols = ["Line", "Scenario", "Range (P10 to P90)"] + (
        ["Comparison", "Difference"] if other is not None else []) + ["Source"]
    st.dataframe(rows[cols], hide_index=True, width="stretch")
