"""Write docs/validation.md: the model against the published record.

    python calibration/report.py            # regenerate docs/validation.md
    python calibration/report.py --check    # fail if docs/validation.md is out of date

Every number in the document is computed here from the shipped data packages, the history
scenario and calibration/calibrated.json; the prose around them is fixed. Re-run it after
`placesim calibrate` or any change to the engine.
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "validation.md"


def _table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def _backcast_section(title: str, b) -> str:
    from placesim.backcast import TARGET_HEADCOUNT_PCT, TARGET_SHARE_PP, describe_inputs

    rows = [[r.group, f"{r.record:.2f}", f"{r.published:.2f}", f"{r.simulated:.2f}",
             f"{r.error_pp:+.2f}", f"{r.error_published_pp:+.2f}"]
            for r in b.by_grade.itertuples()]
    head = [[r.measure, f"{r.record:,.0f}", f"{r.published:,.0f}", f"{r.simulated:,.0f}",
             f"{r.error_pct:+.2f}%", f"{r.error_published_pct:+.2f}%"]
            for r in b.headcount.itertuples()]
    worst_region = b.by_region.loc[b.by_region["error_pp"].abs().idxmax()]
    ok = "yes" if b.within_targets() else "**no**"
    return "\n".join([
        f"### {title}",
        "",
        f"{describe_inputs(b)[0].upper()}{describe_inputs(b)[1:]}; expected-value mode. "
        f"Within targets (every grade within {TARGET_SHARE_PP:g} point, headcount within "
        f"{TARGET_HEADCOUNT_PCT:g}%, of both the package and the published figures): {ok}."
        + (f" Not published, judged against the package only: {', '.join(b.unpublished)}."
           if b.unpublished else ""),
        "",
        _table(["Grade", f"London share {b.to_year}, census package (%)",
                "As published (%)", "Simulated (%)", "Error against the package (points)",
                "Against the published (points)"], rows),
        "",
        f"Mean absolute error {b.mae_pp:.2f} points (against the package).",
        "",
        _table(["Headcount", "Census package", "Published (UK-based)", "Simulated",
                "Error against the package", "Against the published"], head),
        "",
        f"ITL1 regions' shares of headcount: mean absolute error {b.region_mae_pp:.2f} "
        f"points; largest {worst_region['error_pp']:+.2f} ({worst_region['region']}).",
        "",
        f"Policy posts outside London (private offices with them; a headline of every run): "
        f"simulated {b.policy_outside_london[0]:,.0f}, census package "
        f"{b.policy_outside_london[1]:,.0f} "
        f"({100 * (b.policy_outside_london[0] / b.policy_outside_london[1] - 1):+.1f}%). "
        "Reported, with no target: see *What is off* below.",
        "",
    ])


def _london_turn() -> str:
    """Why the forecast from the past alone misses London: its headcount as published."""
    from placesim.backcast import published_figures

    london = {y: published_figures(_package(y))["london"]
              for y in (2021, 2022, 2023)}
    return (f"The forecast misses London: its published headcount grew from {london[2021]:,.0f} "
            f"(2021) to {london[2022]:,.0f} (2022) and then fell to {london[2023]:,.0f} (2023); "
            "a trend fitted to 2021 and 2022 carries the growth on, and three census years are "
            "too few to fit a turn. The shipped forward scenarios do not forecast growth: "
            "they apply the fitted trend only up to its `trend_until` year (2023 in the shipped "
            "ones) and then change posts only by their waves and paths.\n")


def _flows_section() -> str:
    """Leavers and entrants in a one-year back-cast against the next census's flows."""
    import numpy as np

    from placesim.backcast import HISTORY
    from placesim.engine import prepare
    from placesim.expected import run_expected
    from placesim.scenario import load_scenario

    rows = []
    for year in (2021, 2022):
        s = load_scenario(HISTORY)
        s = s.model_copy(update={"horizon": s.horizon.model_copy(
            update={"start_year": year, "years": 1})})
        model = prepare(s, _package(year))
        rec = run_expected(model, follow_cohort=False).years[-1]
        into = rec.promotions.sum(axis=(1, 2))
        out = np.r_[into[1:], 0.0]
        leavers = rec.exits.sum()
        # entrants: the change in stock, plus leavers, less promotions in, plus out
        entrants = float((rec.stock.sum(axis=(1, 2)) - model.baseline_stock.sum(axis=(1, 2))
                          + rec.exits.sum(axis=(1, 2)) - into + out).sum())
        f = _package(year + 1).flows_by_grade.set_index("grade")
        known = f.drop(index="Unknown", errors="ignore")
        for what, model_v, record in (("Leavers", leavers, known["leavers_cs"].sum()),
                                      ("Entrants", entrants, known["entrants"].sum())):
            rows.append([f"{year} to {year + 1}", what, f"{model_v:,.0f}", f"{record:,.0f}",
                         f"{100 * (model_v / record - 1):+.0f}%"])
    return _table(["Back-cast", "Flow", "Model", "Record (grade known)", "Error"], rows)


def _calibration_section() -> str:
    from placesim import fit
    from placesim.calibration import default_parameters, load_calibrated
    pkgs = {y: _package(y) for y in (2021, 2022, 2023)}
    record = fit.record_promotions(pkgs, default_parameters(pkgs[2023]))
    fitted = load_calibrated()["internal_fill_share"]
    rows = []
    for g, (held_out, fitted_year) in record.items():
        cells = [g, f"{fitted[g]:.3f}"]
        for want, got in (fitted_year, held_out):
            cells += [f"{want:,.0f}", f"{got:,.0f}", f"{100 * (got / want - 1):+.0f}%"]
        rows.append(cells)
    return _table(["Promotions into", "Internal fill share (fitted)",
                   "Implied 2022/23", "Model 2022/23", "Error",
                   "Implied 2021/22", "Model 2021/22", "Error"], rows)


def _seb_section(recent: bool = False) -> str:
    """The baseline's high-SEB and low-SEB shares by grade against its band's survey trends:
    2019-2024 with the default recruits, or (``recent``) 2021-2024 with recruits fitted to
    it (the other end of the range parameter uncertainty draws)."""
    from placesim import fit
    from placesim.calibration import (
        RECENT_TREND,
        RECENT_TREND_SHIFT,
        load_calibrated,
    )
    from placesim.engine import prepare
    from placesim.expected import run_expected
    from placesim.grades import GRADES

    pkg = _package()
    trend = fit.survey_trend(pkg, fit.TREND_SINCE_ALTERNATIVE if recent else None)
    if recent:
        scenario = fit.baseline_scenario(2023, 10)
        scenario = scenario.model_copy(update={"parameters": scenario.parameters.model_copy(
            update={"values": {**scenario.parameters.values, RECENT_TREND: 1.0}})})
        model = prepare(scenario, pkg)
        result = run_expected(model)
    else:
        model, result = _baseline()
    shares = fit.seb_by_grade(model, result)  # (year, grade, seb)
    c = load_calibrated()
    shifts = (c[RECENT_TREND_SHIFT if recent else "recruit_seb_shift"],
              c["recruit_low_shift"])  # (the recent trend moves the high shift only)
    rows = []
    for i, g in enumerate(GRADES):
        row = [g, fit._band(g)]
        for k, shift in zip((0, 2), shifts, strict=True):
            slope = trend[fit._band(g)][1][k]
            drift = (shares[:, i, k] - shares[0, i, k]) - slope * np.arange(len(shares))
            row += [f"{100 * shares[0, i, k]:.1f} to {100 * shares[-1, i, k]:.1f}",
                    f"{100 * slope * 10:+.2f}", f"{100 * np.abs(drift).max():.2f}",
                    f"{shift[g]:+.3f}"]
        rows.append(row)
    years = "2021-2024" if recent else "2019-2024"
    head = []
    for seb in ("High", "Low"):
        head += [f"{seb} SEB, census to 10 years (%)",
                 f"{seb}: band trend {years} over 10 years (points)",
                 f"{seb}: largest deviation (points)", f"{seb}: recruits' log-odds shift"]
    return _table(["Grade", "Survey band"] + head, rows)


@functools.cache
def _package(year: int = 2023):
    """A census year's shipped data package (each section loaded its own, the 2023 one four
    times)."""
    from placesim.geodata import load_data_package, shipped_package

    return load_data_package(shipped_package(year))


@functools.cache
def _baseline():
    """The shipped baseline's model and its expected-mode run (three sections read them;
    each prepared and ran it)."""
    from placesim import fit
    from placesim.engine import prepare
    from placesim.expected import run_expected

    model = prepare(fit.baseline_scenario(2023, 10), _package())
    return model, run_expected(model)


def _seb_start_section() -> str:
    """The start's SEB mix by survey band and place against the People Survey 2024's (its
    level: section 3's tables test only the trend; SMC-analyst review)."""
    from placesim import fit
    from placesim.grades import GRADES

    model, _ = _baseline()
    t = _package().seb_trend
    t = t[t["survey_year"] == 2024].set_index(["dimension", "group"])
    stock = model.baseline_stock  # (grade, district, seb)
    groups: dict[tuple[str, str], np.ndarray] = {}
    for i, g in enumerate(GRADES):
        key = ("grade_band", fit._band(g))
        groups[key] = groups.get(key, 0) + stock[i].sum(axis=0)
    lon = model.geo.is_london
    groups[("place", "london")] = stock[:, lon].sum(axis=(0, 1))
    groups[("place", "elsewhere")] = stock[:, ~lon].sum(axis=(0, 1))
    groups[("all", "all")] = stock.sum(axis=(0, 1))
    rows = []
    for (dim, group), x in groups.items():
        share = x / x.sum()
        survey = t.loc[(dim, group)]
        rows.append([group if dim != "all" else "Whole Civil Service"]
                    + [f"{100 * v:.1f}" for v in (share[0], survey["high"], share[2],
                                                  survey["low"])]
                    + [f"{100 * (share[2] - survey['low']):+.1f}"])
    return _table(["Survey band or place", "High SEB, model (%)", "Survey 2024 (%)",
                   "Low SEB, model (%)", "Survey 2024 (%)", "Low: model minus survey (points)"],
                  rows)


def _low_seb_drift() -> str:
    """The baseline's low-SEB share of the whole Civil Service over ten years against the
    survey's 2019-2024, in words (with the high-SEB share alone fitted it went from 34.4%
    to 36.3% where the survey's fell; SMC-analyst review)."""
    from placesim.metrics import replication_table

    model, result = _baseline()
    labels, years, values = replication_table(model, result)
    low = values[:, labels.index(("low_seb_share", "all"))]
    t = _package().seb_trend
    t = t[(t["dimension"] == "all") & (t["group"] == "all")].sort_values("survey_year")
    first, last = t.iloc[0], t.iloc[-1]
    return (f"The whole Civil Service's low-SEB share goes from {100 * low[0]:.1f}% in "
            f"{years[0]} to {100 * low[-1]:.1f}% in {years[-1]} in "
            f"the baseline; the survey's was {100 * first['low']:.1f}% in "
            f"{int(first['survey_year'])} and {100 * last['low']:.1f}% in "
            f"{int(last['survey_year'])}.")


def _history_section() -> str:
    from placesim.backcast import HISTORY
    from placesim.engine import prepare
    from placesim.expected import run_expected
    from placesim.scenario import load_scenario

    model = prepare(load_scenario(HISTORY), _package(2021))
    years = run_expected(model).years
    published = [("31 March 2022", 2_000, "CSW 12 Apr 2022 ('more than 2,000')"),
                 ("31 March 2023", 11_168, "CSW 24 Feb 2023 (February 2023)"),
                 ("31 March 2024", 21_002, "23,249 - 2,247 (Q1 2024)")]
    rows = [[when, f"{pub:,}", f"{years[k].moved_out_of_london:,.0f}", src]
            for k, (when, pub, src) in enumerate(published)]
    # the last published figure is June 2024's, which stood as March 2025's (record review):
    # the history's last tranche is April to June 2024, so its record to March 2025 holds it
    rows.append(["30 June 2024", "23,249", f"{years[3].moved_out_of_london:,.0f}",
                 "CSW, Q2 2024 (no later figure published); the history scenario's last "
                 "tranche is April to June 2024, so its record to 31 March 2025 is its June "
                 "figure"])
    return _table(["Date", "Published (cumulative since 2020)", "History scenario", "Source"],
                  rows)


def _targets_section() -> str:
    from placesim.engine import prepare
    from placesim.metrics import target_measures
    from placesim.scenario import load_scenario

    scenario = load_scenario(ROOT / "scenarios" / "history.yaml")
    rows = []
    for year in (2021, 2022, 2023):
        start = scenario.model_copy(update={"horizon": scenario.horizon.model_copy(
            update={"start_year": year, "years": 1})})
        model = prepare(start, _package(year))
        m = target_measures(model.baseline_posts_gd, model.geo.is_london,
                            model.devolved_posts)
        rows.append([f"31 March {year}", f"{100 * m['scs_outside_london_share']:.1f}",
                     f"{100 * m['scs_outside_london_share_acses']:.1f}",
                     f"{m['perm_secs_outside_london']:.0f}"])
    return _table(["Census (data package)", "SCS outside London, PfG measure (%)",
                   "All UK-based SCS, as ACSES (%)", "Permanent secretaries outside London"],
                  rows)


def _pfg_gap() -> str:
    """The model's PfG-basis SCS share against the programme's, at the programme's dates:
    the census (March 2023) and the baseline's first record (March 2024), interpolated."""
    from placesim.metrics import pfg_measure_gaps

    model, result = _baseline()
    rec = result.years[0]
    gaps = [f"{100 * model_v:.1f}% against {100 * published:.1f}% in {when} "
            f"({100 * (model_v - published):+.1f} points)"
            for when, model_v, published in pfg_measure_gaps(model, rec)]
    return ("At the programme's own dates the model's measure (from the census and the "
            "baseline's first year, interpolated) is " + " and ".join(gaps) + ": read the "
            "model's SCS share outside London as about that much above the programme's, and "
            "the gap to 50% as that much wider.")


def _assumptions_section() -> str:
    from placesim.calibration import default_parameters, uncertain_parameters

    p = default_parameters()
    rows = [[u.name, f"{u.value:g}" if isinstance(u.value, float | int) else str(u.value),
             f"{u.low:g} to {u.high:g}", u.evidence, u.description]
            for u in uncertain_parameters(p)]
    rows.append(["labour_market_area", "itl2", "itl1, itl2, itl3 (sweep)", "assumption",
                 "Geography of a labour-market area (London is one)"])
    return _table(["Parameter", "Default", "Range", "Evidence", "What it is"], rows)


INTRO = """# Validation: the model against the record

Generated by `python calibration/report.py` from the shipped data packages (Civil Service
Statistics at 31 March 2021, 2022 and 2023), `scenarios/history.yaml` and
`calibration/calibrated.json`. Do not edit by hand; `tests/test_calibration.py` holds the
same checks in the default test run.

Golden snapshots catch regressions; they prove nothing about truth. The checks here compare
the model with published statistics it was not built from, or, where a number was fitted,
show the fit and a year it was not fitted to.
"""

BACKCAST_TEXT = """## 1. Back-casts: from one census to the next

`placesim backcast --from 2021 --to 2022` starts the history scenario from the 2021 package
and compares the simulated people in post at 31 March 2022 with the 2022 package. History
carries Places for Growth roles by quarter as published (recreated outside London, London
posts not closed: PfG counts roles created outside London while London's headcount kept
growing) and the growth of the Civil Service: the national number of posts by grade as
recorded, placed in and outside London by the log-linear ACSES trend by grade.

**What this tests, and what it does not.** National growth by grade is an input and
recruits fill every vacancy, so total headcount cannot test exits: it tests only how fast
the vacancy chains and recruitment fill posts. Leavers and entrants are compared with the
record in their own table (below): they are not within any target.
London's share by grade tests where the model puts people: the trend's split of growth
between London and elsewhere, Places for Growth roles counted within it, and who fills the
new posts. With three census years, the least-squares trend's slope depends only on the
first and last (2021 and 2023), so the 2021 to 2022 back-cast does not see the 2022
distribution; it does see 2023. The third table fits the trend to 2021 and 2022 only and
predicts 2023: out of sample for where the posts grow, but each grade's national number of
posts still comes from the 2023 census. The fourth takes that from the 2021-2022 trend
too: a forecast from the past alone in its posts. None is out of sample in everything: every
back-cast runs with the calibrated internal fill shares (section 2), fitted to the
promotions the 2023 census implies for 2022/23.

The census package is the later year's data package (UK-based staff, those of unknown grade
spread over the grades, so its London shares by grade are {gap} points below the
published ones in these tables); "published" is Civil Service Statistics' own table. The
targets must hold against both.
"""

DISCUSSION = """**What is off, and why.**

- *Policy posts outside London.* The census packages count 7,856 (2021), 10,313 (2022) and
  10,701 (2023): +2,457 in a year, then +388, a jump that follows how the profession is
  recorded as much as where posts are. The recorded Places for Growth tranches re-create no
  policy posts (`scenarios/history.yaml`): re-made with London's policy mix, a fifth of its
  posts, they put the 2022 to 2023 back-cast at 12,879, 20% above the census, and the
  baseline's 2024 at 13,630; with none, 2022 to 2023 is within 1% and 2021 to 2022 is 16%
  below, as no rule of where new posts go can follow that jump.
- *Headcount trails the record by one to two per cent in years of fast growth.* The model's
  vacancy chain moves one link a step (a quarter): a post filled by promotion leaves a
  vacancy below that is filled at the next step. The run starts with the steady-state
  number of such vacancies (`population.start_vacancies`), so with no growth headcount holds
  level; but while 25,000 posts a year are being created (2021/22), about 8,000 more are
  open at any moment than in a steady state. The census counts people, not posts, and the
  real Civil Service has recruitment lags too, so part of this is real; the model does not
  know the real vacancy rate (ACSES does not publish it).
- *London's share of the SCS and SEO is slightly too high in 2022.* The trend's London/rest
  split smooths two years; in 2021/22 the SCS outside London grew faster than the trend
  says.
- *Regions.* Growth outside London is placed in proportion to existing posts, except for
  Places for Growth roles, which go to the hubs; regions that grew faster than their share
  (the North West in 2021/22) are under-predicted by a few tenths of a point.
"""


def build() -> str:
    from placesim.backcast import backcast

    one, two = backcast(2021, 2022), backcast(2022, 2023)
    below = [b.by_grade["published"] - b.by_grade["record"] for b in (one, two)]
    gap = f"{min(x.min() for x in below):.2f} to {max(x.max() for x in below):.2f}"
    parts = [INTRO, BACKCAST_TEXT.format(gap=gap),
             _backcast_section("2021 to 2022", one),
             _backcast_section("2022 to 2023", two),
             _backcast_section("2022 to 2023, trend fitted to 2021 and 2022 only "
                               "(national totals from the 2023 census)",
                               backcast(2022, 2023, past_only=True)),
             _backcast_section("2022 to 2023 forecast from 2021 and 2022 alone (trend and "
                               "national totals)",
                               backcast(2022, 2023, past_only=True, past_totals=True)),
             _london_turn(), "",
             "### Leavers and entrants\n\n"
             "The model's leavers and entrants in each one-year back-cast against the next "
             "census's flows (Civil Service Statistics, staff of known grade). Exit rates come "
             "from the start package's own year: the 2021 package's is the year to March "
             "2021, when far fewer left (COVID), so the 2021 to 2022 back-cast has a third too "
             "few leavers and a quarter too few entrants while its headcount, which growth by "
             "grade fixes, is within its target. A back-cast's headcount says nothing about "
             "the flows; this table does.\n",
             _flows_section(), "",
             DISCUSSION,
             "## 2. Promotions: fitted to the implied flows of 2022/23\n\n"
             "Civil Service Statistics publish no promotions. Net promotions into each grade "
             "are implied by a stock-flow balance of two censuses (facts.md C2: inflow = "
             "change in stock + leavers - entrants + outflow, top down). The model runs from "
             "the 2021 package through the two years' actual growth by grade, in and outside "
             "London; each grade's internal fill share (the share of its vacancies filled by "
             "promotion) is set so that the second year's promotions equal the implied ones "
             "(`placesim calibrate`). The first year, 2021/22, was not fitted.\n",
             _calibration_section(), "",
             "The 2021/22 implied figure for AO (promotions from AA) is noisy: it rests on "
             "small differences of large AA and AO stocks.\n",
             "## 3. Socio-economic background without policy: the survey's trend\n\n"
             "With no policy (the shipped baseline), each grade's high-SEB and low-SEB "
             "shares should follow its People Survey band's 2019-2024 linear trends (survey, "
             "not workforce, statistics). Recruits' mix at each grade is the band's 2024 mix "
             "with two log-odds shifted: the high class's against the rest, the low class's "
             "against the intermediate; `placesim calibrate` sets each shift so that the "
             "largest yearly deviation of its share from the trend over ten years is as small "
             "as it can be. The tests hold every grade's two shares within 1 point in every "
             "year: the fit's own objective, with no year held out. (With the high class's "
             "shift alone, the low-SEB shares strayed up to 3.4 points from their trends.) "
             + _low_seb_drift() + "\n",
             _seb_section(), "",
             "Negative shifts at G7 and above mean recruits there are less often from high-SEB "
             "backgrounds than the band's stock: promotion from below, which favours high-SEB "
             "staff, would otherwise push the share up, against the survey's stable gradient.\n",
             "The trend rests on 2019's shares, which are the workbook's printed figures; "
             "2021-2024's are computed from respondent counts. Fitted to 2021-2024 alone the "
             "trend is flatter or rising, and recruits' shifts are higher (below: the baseline "
             "with `recruit_seb_trend_2021_2024: 1`). Which trend holds is not known, so "
             "`--parameter-uncertainty` draws that weight between 0 (the table above, the "
             "default) and 1 (this one) in each replication. On this fit the SCS bands "
             "stray furthest (the largest deviation columns): SCS1 fills four in five SCS2 "
             "posts, so SCS2's share rises only as fast as SCS1's recruits move it, and its "
             "test allows 2 points where every other grade's allows 1. This trend moves the "
             "high-SEB shift only: fitted to it, the SCS bands' low-SEB shift ran to its bound "
             "(1% of SCS recruits from low-SEB backgrounds, against the survey's 18%), so the "
             "low shift stays at the 2019-2024 fit and their low-SEB shares stray from this "
             "trend's fall, as the low-SEB columns show.\n",
             _seb_section(recent=True), "",
             "### The start's level\n\n"
             "The tables above test the trend of each share, not its level. The start's mix "
             "is fitted (iterative proportional fitting, `geodata/build.py`) to the survey's "
             "2024 margins by grade band and by London and elsewhere; weighted by the "
             "workforce rather than the respondents, those margins imply two slightly "
             "different whole-service mixes, so both are shifted half-way to a common one "
             "and each misses its survey figure by about half the gap (an ASSUMPTION of the "
             "build). So the model's shares miss the survey's by under a point, the bands "
             "one way and London and elsewhere the other; its whole-service share is "
             "weighted by the workforce, the survey's by its respondents:\n",
             _seb_start_section(), "",
             "## 4. Places for Growth history\n\n"
             "Roles moved out of London count from 2020, as the programme does. History "
             "starts with 1,000 roles moved by 31 March 2021 (ASSUMPTION, range 500 to 2,000: "
             "'more than 2,000 ... since 2018' by April 2022) and adds the published "
             "quarterly progress; the forward scenarios (baseline.yaml and those that extend "
             "it) start from it, counting the 11,168 moved by March 2023.\n",
             _history_section(), "",
             "## 5. Targets on their own basis\n\n"
             "Each target is tracked on the measure it was set on. **SCS outside London**: "
             "the 50% target is monitored by Places for Growth (30.0% at Q3 2023, 31.2% at "
             "Q4 2023, facts.md B), a narrower measure than Civil Service Statistics' "
             "UK-based SCS (37.6% outside London in March 2023). The model's measure leaves "
             "out the Scottish and Welsh Governments (their SCS are civil servants counted "
             "by ACSES, none in London, but not UK Government departments); the package's "
             "department split places them, about two thirds of the gap between the two "
             "measures at the census. The programme's figure is not published with a "
             "definition that could be reproduced (it may also leave out other bodies). "
             + _pfg_gap() + " "
             "**Permanent secretaries** are real posts: the package places each of the 45 "
             "at its department's headquarters; the two outside London are the Scottish and "
             "Welsh Governments', which the Social Mobility Commission's 2-3 do not mean, so "
             "the measure starts at 0; the Commission asks for them out of London, the south-"
             "east and the home counties by 2025 (action 8.1), which the targets table judges "
             "(`perm_secs_outside_south_east`, at March 2025). **Roles moved** count from "
             "2020 (section 4).\n",
             _targets_section(), "",
             "## 6. Assumptions and their ranges\n\n"
             "Parameters with a plausible range; `--parameter-uncertainty` (run and batch) "
             "draws each uniformly over its range for every replication, and every band says "
             "whether it includes them. It draws a scenario's own assumptions with a range "
             "too (the levers' fields `placesim params SCENARIO` marks `assumption`, such as a "
             "secondment's conversion share: a whole number stays whole, a period in months a "
             "whole number of steps), each from its own stream keyed by (seed, replication, "
             "name), so two scenarios run with one seed draw every field they share alike; a "
             "field the scenario sets is held at its value. Any parameter `placesim params` "
             "lists can be set in a scenario (`parameters: values:`) and so swept.\n",
             _assumptions_section(), ""]
    return "\n".join(parts)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="fail if the document is stale")
    args = p.parse_args(argv)
    text = build()
    if args.check:
        if not OUT.is_file() or OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} is out of date: run python calibration/report.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
