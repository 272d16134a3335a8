"""The ``placesim`` command: a thin shell over the library.

Each subcommand parses its arguments, calls one library function, and prints. Errors caused by
the user's input (:class:`placesim.errors.PlacesimError`) are printed as ``file:line: field:
message`` lines with exit status 2 — never a traceback. Heavy imports happen inside the
subcommands so ``placesim --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import __version__
from .errors import PlacesimError, plain

EXIT_USAGE = 2


def _at_least(least: int, most: int | None = None):
    """An argparse type: a whole number of at least ``least`` (and at most ``most``; argparse
    then exits 2 with the option's name and the rule, where a bad count or seed gave a
    traceback)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"must be at least {least} (got {value})")
        if most is not None and value > most:
            raise argparse.ArgumentTypeError(f"must be at most {most} (got {value})")
        return value

    parse.__name__ = f"whole number >= {least}"
    return parse


def _add_data(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", metavar="DIR",
                   help="data package folder (default: shipped geodata/2023)")
    p.add_argument("--allow-check-mismatch", action="store_true",
                   help="accept a package whose baseline does not reproduce its check figures "
                        "(checks.csv), e.g. a department's partial package")


def _add_uncertainty(p: argparse.ArgumentParser) -> None:
    p.add_argument("--parameter-uncertainty", action="store_true",
                   help="each replication draws every parameter with a plausible range "
                        "(see `placesim params`), so bands include what we do not know")


def cmd_data(args) -> int:
    from .geodata import format_summary, load_data_package, summary

    pkg = load_data_package(args.data, allow_check_mismatch=args.allow_check_mismatch)
    s = summary(pkg, rule=args.coldspot_rule)
    print(json.dumps(s, indent=2) if args.json else format_summary(s))
    return 0


def cmd_schema(args) -> int:
    from .scenario import scenario_json_schema

    print(json.dumps(scenario_json_schema(), indent=2))
    return 0


def _add_confine(p: argparse.ArgumentParser) -> None:
    p.add_argument("--confine", metavar="DIR", help=(
        "read only scenario files inside DIR, and let them name only files inside it "
        "(extends:, data:, coldspots.csv; data: may also be the shipped data), as the app "
        "does; for shared servers"))


def _load(path: str, confine: str | None = None):
    from .errors import Problem, ScenarioError
    from .scenario import load_scenario

    if confine is None:
        return load_scenario(path)
    root = Path(confine)
    if not root.is_dir():
        raise PlacesimError(f"--confine: {confine}: no such folder")
    if not Path(path).resolve().is_relative_to(root.resolve()):
        raise ScenarioError([Problem(path, None, "file", f"outside --confine {confine}")])
    return load_scenario(path, root=root)


def _load_checked(path: str, data: str | None = None, allow_check_mismatch: bool = False,
                  confine: str | None = None):
    from .geodata import load_data_package
    from .scenario import check_against_data, resolve_data_path

    scenario = _load(path, confine)
    pkg = load_data_package(data or resolve_data_path(scenario),
                            allow_check_mismatch=allow_check_mismatch)
    check_against_data(scenario, pkg)
    return scenario, pkg


def cmd_validate(args) -> int:
    failed = 0
    for f in args.files:
        try:
            scenario, _ = _load_checked(f, args.data, args.allow_check_mismatch, args.confine)
            print(f"{f}: ok")
            _warn_early_waves(scenario)
        except PlacesimError as e:
            print(plain(str(e)), file=sys.stderr)
            failed += 1
    return EXIT_USAGE if failed else 0


def cmd_params(args) -> int:
    from .calibration import assumptions_in_force, resolve_parameters
    from .present import setting_text

    scenario = _load(args.file, args.confine) if args.file else None
    log = assumptions_in_force(resolve_parameters(scenario), scenario)
    if args.csv:
        from .results import csv_text

        print(csv_text(log), end="")
        return 0
    width = max(len(n) for n in log["name"])
    for row in log.itertuples(index=False):
        rng = "" if row.low is None or row.low != row.low else f"[{row.low:g}, {row.high:g}]"
        print(f"{row.name:<{width}}  {setting_text(row.value):<10}  {row.evidence:<10}  "
              f"{rng:<14}  "
              f"{row.source}")
    return 0


def _progress_printer(enabled: bool):
    if not enabled:
        return None
    import time

    start = time.perf_counter()

    def show(done: int, total: int) -> None:
        el = time.perf_counter() - start
        eta = el / done * (total - done) if done else 0.0
        bar = "#" * int(30 * done / total)
        sys.stderr.write(f"\r[{bar:<30}] {done}/{total} replications  "
                         f"{el:5.1f}s elapsed, ETA {eta:5.1f}s")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


def cmd_run(args) -> int:
    from .results import write_results, writer_lock
    from .scenario import dump_scenario
    from .simulation import simulate

    scenario, pkg = _load_checked(args.file, args.data, args.allow_check_mismatch, args.confine)
    if args.department:
        scenario = _with_departments(scenario, pkg, args.department)
    out = Path(args.out or Path("runs") / scenario.name)
    with writer_lock(out):  # a second run into the same folder is refused before it starts
        res = simulate(scenario, pkg, replications=args.replications, seed=args.seed,
                       mode=args.mode, progress=_progress_printer(sys.stderr.isatty()),
                       parameter_uncertainty=args.parameter_uncertainty)
        write_results(res, out, dump_scenario(scenario))
    print(_summary_table(res))
    for table in _department_tables(res, scenario, pkg, out):
        print("\n" + table)
    _warn_shortfalls(res)
    _warn_early_waves(scenario)
    t = res.manifest["timings"]
    print(f"\nBands: {res.manifest['uncertainty']['description']}.")
    print(f"{res.manifest['replications']} replication(s), {args.mode} mode, "
          f"{t['run_s']:.2f}s; results in {out}")
    return 0


def _warn_early_waves(scenario) -> None:
    """A warning on stderr for each what-if wave that starts before the run
    (:func:`placesim.scenario.early_wave_notes`)."""
    from .scenario import early_wave_notes

    for note in early_wave_notes(scenario):
        print(f"warning: {note}", file=sys.stderr)


def _warn_shortfalls(res) -> None:
    """A warning on stderr for each way the run's planned moves were not all made."""
    from .present import shortfall_notes

    for note in shortfall_notes(res.metrics):
        print(f"warning: {note}", file=sys.stderr)


def _summary_table(res) -> str:
    from .present import fmt_range, fmt_value, headline_label, headlines_in, reads_high_words

    m = res.metrics
    last = int(m["year"].max())
    banded = res.banded
    lines = [f"Headline figures in {last}" + (" (mean, P10–P90):" if banded else
                                              f" ({res.unbanded_words}):")]
    for metric, group in headlines_in(m):
        r = m[(m["metric"] == metric) & (m["group"] == group) & (m["year"] == last)].iloc[0]
        lines.append(f"  {headline_label(metric, group):<76} {fmt_value(metric, r['mean']):>8}"
                     + (f"   ({fmt_range(metric, r['p10'], r['p90'])})" if banded else ""))
    notes = [f"  ({headline_label(metric, group)}: {words})" for metric, group in headlines_in(m)
             if group == "all" and (words := reads_high_words(metric))]
    return "\n".join(lines + notes)


def _with_departments(scenario, pkg, values: list[str]):
    """The scenario with the department view of ``values`` (``--department``: codes, names,
    aliases or ``all``) switched on, under the codes the run reports them by."""
    from .scenario import department_codes

    return scenario.model_copy(update={"departments": tuple(dict.fromkeys(
        (*scenario.departments, *department_codes(values, pkg))))})


def _department_tables(res, scenario, pkg, out: Path) -> list[str]:
    """The tables of the departments the run reports (``--department`` or the scenario's
    ``departments``), by their codes; for ``all``, whose tables would fill the screen, one
    line saying where the figures are."""
    from .scenario import ALL_DEPARTMENTS

    tables = [_department_table(res, c) for c in scenario.departments if c != ALL_DEPARTMENTS]
    if ALL_DEPARTMENTS in scenario.departments:
        tables.append(f"Every department's view ({len(pkg.departments)} departments) is in "
                      f"{out / 'metrics.csv'} (groups dept:CODE): add --department CODE to "
                      f"print one here, or see `placesim brief {out} --department CODE`.")
    return tables


def _department_view(pkg, value: str, *results):
    """Results as the department ``value`` names (code, name or alias) sees them
    (``brief``, ``map`` and ``compare`` with ``--department``); ``results`` are (results or
    None, their folder) pairs, the folder named in the error if one has no view of the
    department."""
    from .departments import department_results
    from .scenario import department_codes

    (code,) = department_codes([value], pkg, allow_all=False)
    names = dict(zip(pkg.departments["code"], pkg.departments["name"], strict=True))
    out = []
    for r, folder in results:
        try:
            out.append(None if r is None else department_results(r, code, names.get(code)))
        except ValueError as e:  # (the comparison's folder, too, is named: not the run's)
            raise PlacesimError(f"--department: {folder}: {e}") from None
    return tuple(out)


def _department_table(res, code: str) -> str:
    """A department's headline figures in the last year of a run (``--department``)."""
    from .departments import department_results
    from .present import fmt_value, headline_label

    m = department_results(res, code).metrics
    last = int(m["year"].max())
    m = m[m["year"] == last]
    rows = [("roles_moved_out_of_london", "all", "Roles moved out of London (since 2020)"),
            ("posts", "all", "Posts"), ("posts", "london", "Posts in London"),
            ("scs_outside_london_share", "all", "Share of its SCS outside London"),
            *((metric, place, headline_label(metric, place))
              for metric in ("progression_eo_to_g7", "progression_eo_to_director")
              for place in ("london", "outside_london"))]
    shown = []  # (label, value)
    for metric, group, label in rows:
        r = m[(m["metric"] == metric) & (m["group"] == group)]
        if len(r):
            shown.append((label, fmt_value(metric, r["mean"].iloc[0])))
    ladder = m[m["metric"] == "site_ladder_completeness"]
    posts = m[m["metric"] == "site_posts"].copy()
    posts["site"] = posts["group"].str.split(":").str[1]
    top = posts.groupby("site")["mean"].sum().sort_values(ascending=False)
    for site in top[top >= 1].index[:8]:
        c = ladder[ladder["group"] == f"site:{site}"]["mean"]
        shown.append((f"Ladder at {site} ({top[site]:,.0f} posts)",
                      fmt_value("site_ladder_completeness", c.iloc[0])))
    how = "mean over runs" if res.banded else res.unbanded_words
    width = max(len(label) for label, _ in shown)
    return "\n".join(
        [f"{code}: the department's view in {last} ({how}):"]
        + [f"  {label:<{width}} {value:>10}" for label, value in shown]
        + ["  (Its chances are period measures, from the promotion and leaving rates of its "
           "posts' grades and places,\n   not the whole service's followed EOs of 1,000, "
           "which are not followed by department. Roles moved before the run, and waves\n"
           "   that name no department, are shared over every department by its matching "
           "posts: see the brief's value-for-money page.)"])


def cmd_compare(args) -> int:
    from .compare import compare_results, format_comparison
    from .results import read_results

    a, b = read_results(Path(args.dir_a)), read_results(Path(args.dir_b))
    if args.department:  # both runs as the department sees them
        from .geodata import load_data_package

        pkg = load_data_package(args.data, allow_check_mismatch=args.allow_check_mismatch)
        a, b = _department_view(pkg, args.department, (a, args.dir_a), (b, args.dir_b))
        print(f"{a.manifest['department_name']} ({a.manifest['department']}): its own "
              "figures in both runs")
    print(format_comparison(compare_results(a, b, allow_mixed=args.allow_mixed),
                            year=args.year))
    return 0


def cmd_batch(args) -> int:
    from .batch import format_summary, plan_tasks, run_batch, scenario_files

    if args.workers is not None and args.workers < 0:
        raise PlacesimError(f"--workers: must be 0 (in this process) or more, not {args.workers}")
    tasks = plan_tasks(scenario_files(args.paths), replications=args.replications,
                       seed=args.seed, sweep=args.sweep, chunk=args.chunk,
                       parameter_uncertainty=args.parameter_uncertainty,
                       department=args.department)
    variants = len({(t.scenario, t.variant) for t in tasks})
    print(f"{len(tasks)} tasks: {sum(t.replications for t in tasks)} replications of "
          f"{variants} scenario variant(s) -> {args.out}", flush=True)
    summary = run_batch(tasks, Path(args.out), workers=args.workers, scheduler=args.scheduler,
                        progress=sys.stderr.isatty() or args.progress)
    print(format_summary(summary))
    return 1 if summary.failed else 0


def cmd_map(args) -> int:
    from .geodata import load_data_package
    from .maps import export_map
    from .results import read_results

    res = read_results(Path(args.results_dir))
    pkg = load_data_package(args.data, allow_check_mismatch=args.allow_check_mismatch)
    if args.department:  # the department's own district measures, its view's moves
        (res,) = _department_view(pkg, args.department, (res, args.results_dir))
    path = export_map(res, pkg, metric=args.metric, year=args.year, fmt=args.format,
                      out=Path(args.out), size=args.size, marking=args.marking,
                      threshold=args.threshold, coldspots=args.coldspots)
    print(f"map written to {path}")
    return 0


def cmd_brief(args) -> int:
    from .brief import about_folder, write_brief
    from .geodata import load_data_package
    from .results import read_results, replace_folder

    res = read_results(Path(args.results_dir))
    other = read_results(Path(args.compare)) if args.compare else None
    if args.year is not None:  # (the pack of a target year: the years after it left out)
        def up_to(run, folder):
            try:
                return run.up_to(args.year)
            except PlacesimError as e:  # (which run: the comparison may stop sooner; review)
                raise PlacesimError(f"{folder}: {e}") from None

        res = up_to(res, args.results_dir)
        other = other and up_to(other, args.compare)
    pkg = load_data_package(args.data, allow_check_mismatch=args.allow_check_mismatch)
    if getattr(args, "department", None):  # one department's pack, titled so
        res, other = _department_view(pkg, args.department, (res, args.results_dir),
                                      (other, args.compare))
    out = Path(args.out)
    # written whole or not at all, as results folders are (the previous pack: OUT.previous)
    with replace_folder(out, marker="provenance.json", what="briefing pack folder") as tmp:
        about = about_folder(res, args.results_dir)
        other_about = other and about_folder(other, args.compare)
        if args.year is not None:  # (the waves started by then)
            about = about.as_of(args.year)
            other_about = other_about and other_about.as_of(args.year)
        paths = write_brief(res, pkg, tmp, compare=other, marking=args.marking,
                            threshold=args.threshold, about=about, compare_about=other_about)
    print(f"briefing pack written to {out}:")
    for p in paths:
        print(f"  {out / Path(p).relative_to(tmp)}")
    return 0


def cmd_seek(args) -> int:
    """``placesim plan --target ...``: the cheapest plan meeting the targets."""
    from .geodata import load_data_package
    from .planner import TargetError, parse_budget, parse_target, plan_yaml, seek
    from .results import write_text
    from .scenario import check_against_data, load_scenario, resolve_data_path
    from .simulation import simulate

    budget = parse_budget(args.budget)
    base_path = Path(args.base or Path(__file__).resolve().parent.parent / "scenarios"
                     / "baseline.yaml")
    base = load_scenario(base_path)
    pkg = load_data_package(resolve_data_path(base))
    start = base.horizon.start_year
    probe = simulate(base.model_copy(update={"horizon": base.horizon.model_copy(
        update={"years": 1})}), pkg, mode="expected")
    targets = [parse_target(t, probe.metrics, (start + 1, start + base.horizon.years))
               for t in args.target]
    if args.replications < 1:
        raise TargetError("--replications: must be at least 1")
    # (its replications, when asked, say in what share of runs each target is met, and
    # the explanation warns of a margin thinner than their spread)
    res = seek(base, targets, pkg, budget=budget, name=args.name, year=args.start_year,
               replications=args.replications if args.replications > 1 else 0)
    print(res.explanation)
    if res.table is not None and len(res.table):
        print(res.table.to_string(index=False))
    if not res.feasible:
        return 1
    out = Path(args.out)
    check_against_data(res.scenario, pkg)
    write_text(plan_yaml(res, base, base_path, out, targets, budget), out / f"{args.name}.yaml")
    print(f"scenario    {out / (args.name + '.yaml')}")
    for t, p in res.probability.items():
        print(f"met in {p:.0%} of {args.replications} replications: {t}")
    return 0


def cmd_plan(args) -> int:
    from .errors import PlacesimError as _Err

    if args.target:
        return cmd_seek(args)
    if not args.file:
        raise _Err("plan: give a plan file, or one or more --target")
    from .planner import run_plan

    paths = run_plan(args.file, Path(args.out))
    for kind, p in paths.items():
        print(f"{kind:<11} {p}")
    if args.run:
        from .geodata import load_data_package
        from .results import write_results, writer_lock
        from .scenario import dump_scenario, load_scenario, resolve_data_path
        from .simulation import simulate

        s = load_scenario(paths["scenario"])
        pkg = load_data_package(resolve_data_path(s))  # (once: the run and the view read it)
        out = Path(args.out) / "results"
        with writer_lock(out):
            res = simulate(s, pkg, replications=args.replications,
                           progress=_progress_printer(sys.stderr.isatty()))
            write_results(res, out, dump_scenario(s))
        print(_summary_table(res))
        # (a department's plan: its view, as run prints it; it was missing here while the
        # README promised it; review)
        for table in _department_tables(res, s, pkg, out):
            print("\n" + table)
        _warn_shortfalls(res)
        print(f"simulation results in {out}")
    return 0


def cmd_calibrate(args) -> int:
    from .fit import calibrate, format_calibration

    result = calibrate(out=Path(args.out)) if args.out else calibrate()
    print(format_calibration(result))
    return 0


def cmd_backcast(args) -> int:
    from .backcast import backcast, format_backcast, write_backcast

    b = backcast(args.from_year, args.to_year, scenario_path=args.scenario, mode=args.mode,
                 replications=args.replications, past_only=args.past_only,
                 past_totals=args.past_totals)
    print(format_backcast(b))
    if args.out:
        for f in write_backcast(b, args.out):
            print(f"wrote {f}")
    return 0
LOCAL_ONLY = "127.0.0.1"
"""Where ``placesim app`` listens by default: this computer only."""


def cmd_app(args) -> int:
    import subprocess

    app = Path(__file__).resolve().parent.parent / "streamlit_app.py"
    cmd = [sys.executable, "-m", "streamlit", "run", str(app), "--server.headless", "true",
           "--browser.gatherUsageStats", "false", "--server.address", args.host,
           "--server.port", str(args.port)]
    if args.host == LOCAL_ONLY:
        print(f"placesim app on http://localhost:{args.port}  (this computer only; Ctrl-C to "
              "stop)", flush=True)
    else:
        print(f"placesim app listening on {args.host}, port {args.port}: anyone who can reach "
              "this machine can use it and the data it loads; put it behind your sign-in "
              "(README, 'Serving a team')  (Ctrl-C to stop)", flush=True)
    # from the project folder, so its .streamlit/config.toml (upload limit, offline settings)
    # applies wherever the command is typed
    return subprocess.call(cmd, cwd=app.parent)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``placesim`` command."""
    from .scenario import SEED_MAX  # (a larger --seed was cut to 64 bits and drew as another)

    p = argparse.ArgumentParser(prog="placesim", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"placesim {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("data", help="summarise the data package")
    _add_data(s)
    s.add_argument("--json", action="store_true", help="machine-readable counts")
    s.add_argument("--coldspot-rule", default="smc2025",
                   choices=["smc2025", "opportunity_areas"], help="coldspot rule to count")
    s.set_defaults(func=cmd_data)

    s = sub.add_parser("schema", help="print the scenario JSON Schema")
    s.set_defaults(func=cmd_schema)

    s = sub.add_parser("validate", help="check scenario files")
    s.add_argument("files", nargs="+")
    _add_data(s)
    _add_confine(s)
    s.set_defaults(func=cmd_validate)

    s = sub.add_parser("params", help="list every parameter with its value and source")
    s.add_argument("file", nargs="?", help="scenario whose overrides to apply")
    s.add_argument("--csv", action="store_true")
    _add_confine(s)
    s.set_defaults(func=cmd_params)

    s = sub.add_parser("run", help="run a scenario")
    s.add_argument("file")
    s.add_argument("--replications", type=_at_least(1))
    s.add_argument("--seed", type=_at_least(0, SEED_MAX))
    s.add_argument("--mode", choices=["stochastic", "expected"], default="stochastic")
    s.add_argument("--department", action="append", metavar="CODE", help=(
        "also report this department's view: a code, name or alias (e.g. HO, DBT, 'Home "
        "Office'; repeat for more), or all for every department; see `placesim data`"))
    s.add_argument("--out", help="results folder (default runs/<scenario name>; the results "
                   "it held are kept as OUT.previous)")
    _add_uncertainty(s)
    _add_data(s)
    _add_confine(s)
    s.set_defaults(func=cmd_run)

    s = sub.add_parser("compare", help="differences between two results folders")
    s.add_argument("dir_a")
    s.add_argument("dir_b")
    s.add_argument("--year", type=int)
    s.add_argument("--allow-mixed", action="store_true",
                   help="compare an expected-mode run with a stochastic one")
    s.add_argument("--department", metavar="CODE", help=(
        "compare one department's own figures, by code, name or alias (runs made with "
        "--department CODE)"))
    _add_data(s)
    s.set_defaults(func=cmd_compare)

    s = sub.add_parser("batch", help="run many scenarios and sweeps, locally or on Dask",
                       description="Run scenarios (and sweep variants of them) on a local Dask "
                       "cluster, in this process or on an existing dask scheduler. Rerunning "
                       "the same command resumes an interrupted batch.")
    s.add_argument("paths", nargs="+", metavar="FILES_OR_DIRS",
                   help="scenario files, or folders of them (*.yaml)")
    s.add_argument("--replications", type=_at_least(1),
                   help="per variant (default: each scenario's)")
    s.add_argument("--seed", type=_at_least(0, SEED_MAX),
                   help="seed of every scenario (default: each scenario's)")
    s.add_argument("--sweep", metavar="SWEEP.yaml", help="grid or variants over each scenario")
    s.add_argument("--chunk", type=_at_least(1), default=5,
                   help="replications per task (default 5)")
    s.add_argument("--department", metavar="CODE", help=(
        "restrict the waves each scenario file defines to this department's posts and "
        "report its view (e.g. HO)"))
    g = s.add_mutually_exclusive_group()
    g.add_argument("--workers", type=_at_least(0),
                   help="local worker processes (default: all cores; 0 = in this process)")
    g.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="existing dask scheduler")
    s.add_argument("--progress", action="store_true", help="progress bar even off a terminal")
    s.add_argument("--out", required=True, help="results folder (rerun to resume)")
    _add_uncertainty(s)
    s.set_defaults(func=cmd_batch)

    for name, helptext, fn in (("map", "export a map of a district measure", cmd_map),
                               ("brief", "write a briefing pack", cmd_brief)):
        s = sub.add_parser(name, help=helptext)
        s.add_argument("results_dir")
        if name == "map":
            s.add_argument("--metric", required=True)
            s.add_argument("--year", type=int)
            s.add_argument("--format", choices=["png", "pdf", "svg", "html"], default="png")
            s.add_argument("--size", choices=["a4", "slide"], default="a4")
            s.add_argument("--coldspots", action="store_true",
                           help="outline social-mobility coldspots")
        else:
            s.add_argument("--compare", metavar="OTHER_DIR")
            s.add_argument("--year", type=int, help=(
                "the pack as of this year's record (31 March), e.g. a target year: later "
                "years left out of its answer, maps and appraisal (default: the last)"))
        s.add_argument("--department", metavar="CODE", help=(
            f"the {name} of one department, by code, name or alias (a run made with "
            "--department CODE), titled so"))
        s.add_argument("--marking", help="protective marking banner, e.g. OFFICIAL-SENSITIVE")
        s.add_argument("--threshold", type=int, default=5,
                       help="disclosure control: suppress counts of people under this")
        s.add_argument("--out", required=True)
        _add_data(s)
        s.set_defaults(func=fn)

    s = sub.add_parser("plan", help="rank destinations and allocate posts, or find the "
                       "cheapest plan meeting targets",
                       description="With a plan file: rank destinations and allocate posts. "
                       "With --target: find the cheapest recreating waves to campuses (within "
                       "their spare desks and the budget) that meet every target in expected "
                       "values, save them as a scenario and confirm with replications.")
    s.add_argument("file", nargs="?")
    s.add_argument("--out", required=True)
    s.add_argument("--target", action="append", default=[],
                   help="metric[:group]>=value@year or <=, e.g. "
                   "scs_outside_london_share>=0.50@2030 (a value may end in %%)")
    s.add_argument("--budget", help="most the plan's costs may add up to, GBP (e.g. 300e6)")
    s.add_argument("--base", help="scenario the plan adds to (default scenarios/baseline.yaml)")
    s.add_argument("--name", default="plan-targets", help="name of the saved scenario")
    s.add_argument("--start-year", type=int, help=(
        "year the plan's moves start, in April (target seeking; default: the April after "
        "the base scenario's recorded moves end, 2025 for the shipped baseline)"))
    s.add_argument("--run", action="store_true", help="also simulate the generated scenario")
    s.add_argument("--replications", type=_at_least(1), default=10,
                   help="stochastic runs (--run; with --target, the confirmation, default 10)")
    s.set_defaults(func=cmd_plan)

    s = sub.add_parser("calibrate", help="re-fit promotions and recruits' SEB to the record",
                       description="Re-derive the calibrated numbers (internal fill shares, "
                       "recruits' SEB) from the shipped 2021-2023 data packages and write "
                       "calibration/calibrated.json.")
    s.add_argument("--out", help="where to write the JSON (default calibration/calibrated.json)")
    s.set_defaults(func=cmd_calibrate)

    s = sub.add_parser("backcast", help="run history from one census and compare the next",
                       description="Start the history scenario from the data package of "
                       "one census year (31 March) and compare the simulated people in post "
                       "with a later census: London's share by grade, headcount, regions.")
    s.add_argument("--from", dest="from_year", type=int, required=True, help="e.g. 2021")
    s.add_argument("--to", dest="to_year", type=int, required=True, help="e.g. 2022")
    s.add_argument("--scenario", help="history scenario (default scenarios/history.yaml)")
    s.add_argument("--mode", choices=["expected", "stochastic"], default="expected")
    s.add_argument("--replications", type=_at_least(1), default=20, help="stochastic runs")
    s.add_argument("--past-only", action="store_true",
                   help="fit the workforce trend to census years up to --from only (each "
                   "grade's national number of posts still comes from the --to census)")
    s.add_argument("--past-totals", action="store_true",
                   help="take each grade's national number of posts from the trend too, not "
                   "from the --to census: with --past-only, a forecast from the past alone")
    s.add_argument("--out", help="folder for the CSV tables and the chart")
    s.set_defaults(func=cmd_backcast)

    s = sub.add_parser("app", help="start the browser app")
    s.add_argument("--host", default=LOCAL_ONLY,
                   help="address to listen on (default 127.0.0.1: this computer only; "
                   "0.0.0.0: every network interface, to serve a team behind a sign-in proxy)")
    s.add_argument("--port", type=int, default=8501)
    s.set_defaults(func=cmd_app)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``placesim`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except PlacesimError as e:
        print(plain(str(e)), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
