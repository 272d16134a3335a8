"""Calibrating the model to the published record, and writing down the fit.

Two sets of numbers are fitted rather than read (`placesim calibrate` re-derives both from the
shipped data packages and writes ``calibration/calibrated.json``, which
:mod:`placesim.calibration` reads):

* **Internal fill shares** (the share of a grade's vacancies filled by promotion). Civil
  Service Statistics publish no promotions; the net promotions into each grade in the year to
  March 2023 are implied by a stock-flow balance of the 2022 and 2023 packages
  (``inflow = Δstock + leavers − entrants + outflow``, top down: facts.md C2). The model is run
  from the 2021 package through the two years' actual growth in posts (by grade, in and outside
  London), and each grade's share is adjusted until the second year's promotions into it equal
  the implied ones (the first year warms the vacancy chains up).
* **Recruits' socio-economic background.** With no policy, each grade band's SEB mix should
  follow the People Survey's 2019-2024 trend (the grade gradient has been almost unchanged)
  instead of drifting. Recruits' mix is the band's mix shifted by log-odds per class, adjusted
  until a ten-year run from the latest package keeps each band on the trend line. It is
  fitted a second time to the 2021-2024 trend only (the years on one basis), which parameter
  uncertainty draws towards (:data:`TREND_SINCE_ALTERNATIVE`).

Both fits use the expected-value mode (fast and without noise). The fitted numbers are
checked against the record by the tests (promotions within 25% of the implied ones, SEB
within 1 point of the trend) and shown in ``docs/validation.md``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import numpy as np

from .calibration import (
    CALIBRATED,
    CSPS_GRADE_BANDS_OF,
    RECENT_TREND_SHIFT,
    default_parameters,
    leaver_rates,
    package_flows,
)
from .grades import ACSES_GRADES, GRADES, SEB_CLASSES

log = logging.getLogger(__name__)

FIT_GRADES = ("AO", "EO", "HEO", "SEO", "G7", "G6", "SCS1")
"""Grades whose internal fill share is fitted (promotions into SCS1 stand for ACSES 'SCS')."""
BANDS = ("AA/AO", "EO", "HEO/SEO", "G7/G6", "SCS")
TREND_SINCE_ALTERNATIVE = 2021
"""The survey years of the other trend fit: from 2021 only, the years whose shares come from
respondent counts. Through 2019's printed shares the high-SEB trend falls in every band; from
2021 it is flat or rising in most (docs/validation.md). The default follows 2019-2024 (the
record the calibration issue names); parameter uncertainty draws between the two
(:data:`placesim.calibration.RECENT_TREND`)."""
BASELINE = Path(__file__).resolve().parent.parent / "scenarios" / "baseline.yaml"
"""The shipped baseline: the recruits' fit runs it as users see it."""
def implied_promotions(before, after) -> dict[str, float]:
    """Net promotions into each ACSES grade in the year between two packages (facts.md C2).

    ``inflow(g) = Δstock(g) + leavers(g) − entrants(g) + outflow(g)``, with outflow(SCS) = 0
    and outflow(g) = inflow(g + 1): stocks in post from the two packages' flow tables, leavers
    and entrants of the later package (the year to its census date).

    Parameters
    ----------
    before, after : DataPackage

    Returns
    -------
    dict
        ACSES grade (AO … SCS) -> promotions into it.
    """
    fa = before.flows_by_grade.set_index("grade")
    fb = after.flows_by_grade.set_index("grade")
    out: dict[str, float] = {}
    outflow = 0.0
    for g in reversed(ACSES_GRADES):
        delta = float(fb.loc[g, "in_post"] - fa.loc[g, "in_post"])
        inflow = delta + float(fb.loc[g, "leavers_cs"] - fb.loc[g, "entrants"]) + outflow
        out[g] = inflow
        outflow = inflow
    out.pop("AA", None)
    return out


def growth_paths(before, after, geo, year: int) -> str:
    """YAML workforce paths that turn one package's posts into the next's, by grade in and
    outside London, in ``year``."""
    lines = []
    for g in GRADES:
        for place, mask in (("london", geo.is_london), ("outside_london", ~geo.is_london)):
            codes = set(geo.lad_codes[mask])
            n0 = before.baseline_posts.loc[before.baseline_posts["grade"] == g]
            n1 = after.baseline_posts.loc[after.baseline_posts["grade"] == g]
            change = int(n1[n1["lad_code"].isin(codes)]["posts"].sum()
                         - n0[n0["lad_code"].isin(codes)]["posts"].sum())
            if change:
                lines.append(f"    - {{name: fit-{year}-{g}-{place}, grades: [{g}], "
                             f"place: {place}, change: {change}, from_year: {year}, "
                             f"to_year: {year}}}")
    return "\n".join(lines)


def _record_run(pkgs: dict, params, years: int = 2):
    """The expected mode from the earliest package through the years' actual growth."""
    from .engine import prepare
    from .expected import run_expected
    from .population import build_geography
    from .scenario import load_scenario_text

    start = min(pkgs)
    import pandas as pd

    geo = build_geography(pkgs[start], pd.Series(dtype=bool))
    paths = "\n".join(growth_paths(pkgs[y], pkgs[y + 1], geo, y)
                      for y in range(start, start + years))
    text = (f"name: record\nhorizon: {{start_year: {start}, years: {years}}}\n"
            f"workforce:\n  paths:\n{paths}\n")
    model = prepare(load_scenario_text(text, filename="record.yaml"), pkgs[start], params=params)
    return model, run_expected(model, follow_cohort=False)


def record_promotions(pkgs: dict, params) -> dict[str, list[tuple[float, float]]]:
    """Promotions into each of :data:`FIT_GRADES` in the record run's two years: (implied by
    the censuses, model) for the first year (not fitted) and the second (fitted)."""
    years = sorted(pkgs)
    _, run = _record_run(pkgs, params)
    out = {}
    for g in FIT_GRADES:
        acses, i = "SCS" if g == "SCS1" else g, GRADES.index(g)
        out[g] = [(implied_promotions(pkgs[a], pkgs[a + 1])[acses],
                   float(run.years[k].promotions.sum(axis=(1, 2))[i]))
                  for k, a in enumerate(years[:2])]
    return out


def fit_promotions(pkgs: dict, iterations: int = 12) -> dict[str, float]:
    """Internal fill shares such that the record run's second year has the implied
    promotions into each of :data:`FIT_GRADES` (see the module docstring).

    Parameters
    ----------
    pkgs : dict
        Year -> DataPackage for three consecutive years (e.g. 2021, 2022, 2023).

    Returns
    -------
    dict
        Grade -> fitted internal fill share.
    """
    years = sorted(pkgs)
    target = implied_promotions(pkgs[years[1]], pkgs[years[2]])
    params = default_parameters(pkgs[years[-1]])
    share = params.internal_fill_share.copy()
    for _ in range(iterations):
        p = replace(params, internal_fill_share=share)
        _, res = _record_run(pkgs, p)
        into = res.years[1].promotions.sum(axis=(1, 2))
        for g in FIT_GRADES:
            i = GRADES.index(g)
            want = target["SCS" if g == "SCS1" else g]
            if into[i] > 0:
                share[i] = float(np.clip(share[i] * (want / into[i]) ** 0.9, 0.01, 0.99))
    return {g: round(float(share[GRADES.index(g)]), 5) for g in FIT_GRADES}


def survey_trend(pkg, since: int | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """People Survey SEB mix by grade band: least-squares linear trend over the survey years.

    Parameters
    ----------
    pkg : DataPackage
    since : int, optional
        First survey year used (default: all, 2019-2024). From 2021 the shares are computed
        from respondent counts; 2019's are the workbook's printed shares (facts.md G), and
        the trend through them differs (:data:`TREND_SINCE_ALTERNATIVE`).

    Returns
    -------
    dict
        Band -> (intercept at 2023, slope per year), each (high, intermediate, low).
    """
    t = pkg.seb_trend
    t = t[(t["dimension"] == "grade_band") & (t["survey_year"] >= (since or 0))]
    out = {}
    for band in BANDS:
        rows = t[t["group"] == band].sort_values("survey_year")
        x = rows["survey_year"].to_numpy(float) - 2023
        y = rows[list(SEB_CLASSES)].to_numpy(float)
        slope, intercept = np.polyfit(x, y, 1)
        out[band] = (intercept, slope)
    return out


def band_shares(result, band: str) -> np.ndarray:
    """(year, seb) SEB mix of a grade band in a run's yearly records."""
    idx = [GRADES.index(g) for g in CSPS_GRADE_BANDS_OF[band]]
    stock = np.stack([r.stock[idx].sum(axis=(0, 1)) for r in result.years])
    return stock / stock.sum(axis=1, keepdims=True)


def fit_recruits(pkg, params, years: int = 10, iterations: int = 16,
                 since: int | None = None) -> tuple[dict[str, float], dict[str, float]]:
    """Log-odds shifts of recruits' SEB by grade so that, with no policy (the shipped
    baseline), each grade's high-SEB and low-SEB shares follow its People Survey band's
    trend slopes (:func:`survey_trend` from the survey year ``since``) from the census: each
    shift centres the range of its share's yearly deviations from the trend line on zero
    (least largest deviation). The first shifts the high class against the rest, the second
    the low class against the intermediate (:func:`shifted_mix`). (With the first alone the
    low-SEB shares drifted up to 3.4 points from their trend in ten years, the whole Civil
    Service's from 34.4% to 36.3% where the survey's fell; review.)
    """
    from .engine import prepare
    from .expected import run_expected

    trend = survey_trend(pkg, since)
    shifts = (dict.fromkeys(GRADES, 0.0), dict.fromkeys(GRADES, 0.0))  # (high, low)
    scenario = baseline_scenario(pkg.year or 2023, years)
    base_mix = params.recruit_mix.copy()

    for _ in range(iterations):
        mix = shifted_mix(base_mix, *shifts)
        model = prepare(scenario, pkg, params=replace(params, recruit_mix=mix))
        res = run_expected(model, follow_cohort=False)
        stock = seb_by_grade(model, res)  # (year 0 = census, grade, seb)
        for shift, k in zip(shifts, (0, 2), strict=True):
            for i, g in enumerate(GRADES):
                got = stock[:, i, k]
                drift = got - got[0] - trend[_band(g)][1][k] * np.arange(len(got))
                # centre the drift's range on zero (minimise its largest deviation)
                centre = (drift[1:].max() + drift[1:].min()) / 2
                p = got[-1]
                shift[g] = float(np.clip(shift[g] - 1.5 * centre / (p * (1 - p)), -3, 3))
    return tuple({g: round(float(v), 5) for g, v in shift.items()} for shift in shifts)


def baseline_scenario(start_year: int, years: int = 10):
    """The shipped baseline (``scenarios/baseline.yaml``) from a census year."""
    from .scenario import load_scenario

    s = load_scenario(BASELINE)
    return s.model_copy(update={"horizon": s.horizon.model_copy(
        update={"start_year": start_year, "years": years})})


def seb_by_grade(model, result) -> np.ndarray:
    """(year, grade, seb) SEB mix of people in post: row 0 the census, then each year end."""
    stocks = [model.baseline_stock.sum(axis=1)] + [r.stock.sum(axis=1) for r in result.years]
    s = np.stack(stocks)  # (year, grade, seb)
    return s / np.maximum(s.sum(axis=2, keepdims=True), 1e-12)


def high_seb_by_grade(model, result) -> np.ndarray:
    """(year, grade) high-SEB share of people in post: row 0 the census, then each year end."""
    return seb_by_grade(model, result)[..., 0]


def shifted_mix(mix: np.ndarray, shift: dict[str, float],
                low_shift: dict[str, float] | None = None) -> np.ndarray:
    """(grade, seb) recruits' mix with each grade's high-SEB log-odds shifted (against the
    rest), and the low class's against the intermediate (``low_shift``) within the rest."""
    out = mix.copy()
    for i, g in enumerate(GRADES):
        high = mix[i, 0]
        odds = high / (1 - high) * np.exp(shift.get(g, 0.0))
        new_high = odds / (1 + odds)
        out[i, 0] = new_high
        inter, low = mix[i, 1], mix[i, 2]
        low_odds = low / inter * np.exp((low_shift or {}).get(g, 0.0))
        out[i, 2] = (1 - new_high) * low_odds / (1 + low_odds)
        out[i, 1] = (1 - new_high) - out[i, 2]
    return out


def _band(g: str) -> str:
    for band, grades in CSPS_GRADE_BANDS_OF.items():
        if g in grades:
            return band
    raise KeyError(g)


def calibrate(years: tuple[int, int, int] = (2021, 2022, 2023), out: Path = CALIBRATED
              ) -> dict:
    """Fit internal fill shares and recruits' SEB to the shipped packages; write the result.

    Parameters
    ----------
    years : tuple of int
        Three consecutive package years (promotions are fitted on the last two).
    out : pathlib.Path
        Where to write the JSON (default :data:`placesim.calibration.CALIBRATED`).

    Returns
    -------
    dict
        What was written.
    """
    from .calibration import load_calibrated
    from .geodata import load_data_package, shipped_package

    pkgs = {y: load_data_package(shipped_package(y)) for y in years}
    internal = fit_promotions(pkgs)
    # recruits' SEB on the latest package, with the fitted shares in force
    base = default_parameters(pkgs[years[-1]])
    share = base.internal_fill_share.copy()
    for g, v in internal.items():
        share[GRADES.index(g)] = v
    from .calibration import seb_mix_by_grade

    params = replace(base, internal_fill_share=share, recruit_mix=seb_mix_by_grade())
    recruits, low = fit_recruits(pkgs[years[-1]], params)
    # (on the 2021-2024 trend the high shift alone: the low one ran to its bound at SCS)
    recruits_since, _ = fit_recruits(pkgs[years[-1]], params, since=TREND_SINCE_ALTERNATIVE)
    # the year not fitted (the record run's first): how far its promotions miss, the range
    # of each fitted share that parameter uncertainty draws
    record = record_promotions(pkgs, replace(default_parameters(pkgs[years[-1]]),
                                             internal_fill_share=share))
    error = {g: round(float(model / implied - 1), 4)
             for g, ((implied, model), _) in record.items()}
    # how much each grade's exit rate moved from one recorded year to the next (the years to
    # March of the two latest packages): the range parameter uncertainty draws exit rates over
    rates = []
    for y in years[1:]:
        flows, _ = package_flows(pkgs[y])
        rates.append(leaver_rates(flows))
    exit_change = {g: round(abs(rates[-1][g] / rates[0][g] - 1), 4) for g in rates[-1]
                   if rates[0].get(g)}
    result = {
        "about": "Fitted by `placesim calibrate` (placesim/fit.py) from the shipped data "
                 f"packages {', '.join(map(str, years))}; see docs/validation.md.",
        "implied_promotions": {g: round(v) for g, v in implied_promotions(
            pkgs[years[1]], pkgs[years[2]]).items()},
        "internal_fill_share": internal,
        "internal_fill_share_held_out_error": error,
        "exit_rate_year_to_year_change": exit_change,
        "recruit_seb_shift": recruits,
        RECENT_TREND_SHIFT: recruits_since,
        "recruit_low_shift": low,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    load_calibrated.cache_clear()
    return result


def format_calibration(result: dict) -> str:
    """Plain-text table of what :func:`calibrate` fitted."""
    lines = ["Internal fill share (promotions fitted to implied net promotions, 2022/23)",
             f"  {'grade':6s} {'share':>8s} {'implied':>9s}"]
    implied = result.get("implied_promotions", {})
    for g, v in result["internal_fill_share"].items():
        lines.append(f"  {g:6s} {v:8.4f} {implied.get('SCS' if g == 'SCS1' else g, 0):9,.0f}")
    for key, recent, what in (("recruit_seb_shift", RECENT_TREND_SHIFT, "high-SEB (against "
                                                                        "the rest)"),
                              ("recruit_low_shift", "", "low-SEB (against intermediate)")):
        lines.append(f"Recruits' {what} log-odds shift against the grade's People Survey "
                     "band, fitted to its 2019-2024 trend" + (" and to its 2021-2024 trend"
                                                              if recent else ""))
        other = result.get(recent, {})
        for g, v in result.get(key, {}).items():
            lines.append(f"  {g:6s} {v:+8.3f}" + (f" {other.get(g, float('nan')):+8.3f}"
                                                  if recent else ""))
    return "\n".join(lines)
