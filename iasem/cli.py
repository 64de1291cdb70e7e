"""The ``iasem`` command line: parses arguments, calls the API, prints. No logic of its own lives here."""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .errors import IasemError, OutputExistsError
from .instruments.bank import load_bank
from .instruments.export import FORMATS, export, parse_formats
from .instruments.instrument import load_instrument, shipped_specs
from .resources import resource_path

DESCRIPTION = """\
iasem: survey research on intersectoral and non-profit alliances.

Build bilingual (Dutch/English) Likert questionnaires from the TNO (2012) and RSM (2019) frameworks, in the
formats survey platforms import.

Validate the instruments and fit the structural models with lavaan's numbers.

examples:
  iasem run                                   # the whole chain on the embedded example data
  iasem instrument list
  iasem instrument check relational
  iasem instrument build relational --format all --lang nl --out questionnaires/
  iasem instrument init my_survey/ --from relational
  iasem validate responses.csv --instrument relational --group atype --out validation/
  iasem fit relational_trust responses.csv --estimator MLR --out results/
  iasem simulate relational_trust --n 400 --seed 1 --out responses.csv
  iasem responses import export.csv --instrument relational --out clean/
  iasem report results/ --format html,docx
  iasem power relational_trust --population data/relational_trust_population.yaml --n 100,200,300 --out power/
"""


def _instrument_list(args: argparse.Namespace) -> int:
    bank = load_bank()
    print("Shipped instrument specs:")
    for spec_id, path in shipped_specs().items():
        instrument = load_instrument(path)
        print(
            f"  {spec_id:<14} {len(instrument.constructs):>2} constructs, {len(instrument.likert_questions):>3} items  "
            f"{instrument.spec.title.en}"
        )
    print(f"\nConstructs in the item bank ({len(bank.constructs)}):")
    for construct in bank.constructs.values():
        print(
            f"  {construct.id:<16} {construct.category:<11} {len(construct.items):>2} items  {construct.name.en}"
            f"  [{construct.source}]"
        )
    print(f"\nBackground questions: {', '.join(bank.background)}")
    print(f"Formats: {', '.join(FORMATS)}")
    return 0


def _instrument_check(args: argparse.Namespace) -> int:
    instrument = load_instrument(args.spec)
    print(instrument.summary())
    print("\nMeasurement model (lavaan syntax):")
    print(instrument.measurement_model(), end="")
    print("\nOK: the spec and the item bank are valid.")
    return 0


def _instrument_build(args: argparse.Namespace) -> int:
    instrument = load_instrument(args.spec)
    written = export(instrument, parse_formats(args.format), args.out, lang=args.lang, force=args.force)
    lang = args.lang or instrument.spec.default_language
    print(f"Built {instrument.id} ({len(instrument.likert_questions)} items, primary language {lang}):")
    for path in written:
        print(f"  {path}")
    return 0


def _instrument_init(args: argparse.Namespace) -> int:
    """Copy a shipped spec and the item bank into a folder the designer can edit."""
    target = Path(args.directory)
    specs = shipped_specs()
    if args.source not in specs:
        raise IasemError(f"no shipped spec {args.source!r} (shipped: {', '.join(specs)})")
    if target.exists() and any(target.iterdir()) and not args.force:
        raise OutputExistsError(f"{target} is not empty; pass --force to copy into it anyway")
    root = resource_path("survey_instruments")
    for name in ("scales.yaml", "background.yaml", "bank"):
        src, dst = root / name, target / "survey_instruments" / name
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
    spec_path = target / f"{args.source}.yaml"
    spec_text = specs[args.source].read_text(encoding="utf-8")
    spec_path.write_text(
        f"{spec_text}\n# The copied item bank, relative to this file.\nitem_bank: survey_instruments\n",
        encoding="utf-8",
    )
    print(f"Copied spec {args.source} to {spec_path} and the item bank to {target / 'survey_instruments'}.")
    print(f"Edit them, then: iasem instrument check {spec_path}")
    return 0


def _read_csv(path: Path):
    import pandas as pd

    try:
        return pd.read_csv(path)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise IasemError(f"{path}: cannot read the data as CSV ({exc})") from None


def _validate(args: argparse.Namespace) -> int:
    from .files import check_writable
    from .instruments.instrument import load_instrument
    from .validation.report import validate

    data = _read_csv(Path(args.data))
    instrument = load_instrument(args.instrument)
    out = Path(args.out)
    for name in ("summary.txt", "report.json"):  # before the work; write() checks every file again
        check_writable(out / name, args.force)
    report = validate(data, instrument, estimator=args.estimator, group=args.group, ordered=args.ordered,
                      missing=args.missing, exploratory=not args.no_efa, seed=args.seed)  # fmt: skip
    written = report.write(out, force=args.force)
    print(report.summary())
    print(f"\nWrote {len(written)} files to {out}")
    return 0


def _fit(args: argparse.Namespace) -> int:
    import json

    from .files import check_writable, write_text
    from .sem import fit

    data = _read_csv(Path(args.data))
    out = Path(args.out)
    names = ("params.csv", "fit_measures.json", "summary.txt")
    for name in names:  # before fitting: a bootstrap can take minutes
        check_writable(out / name, args.force)
    ordered = None
    if args.ordered:
        ordered = True if args.ordered == "all" else [c.strip() for c in args.ordered.split(",") if c.strip()]
    result = fit(
        args.model, data, estimator=args.estimator, missing=args.missing, ordered=ordered, group=args.group,
        group_equal=[k.strip() for k in args.group_equal.split(",") if k.strip()], se=args.se,
        bootstrap=args.bootstrap, ci=args.ci, level=args.level, seed=args.seed,
    )  # fmt: skip
    files = {
        "params.csv": result.params.to_csv(index=False),
        "fit_measures.json": json.dumps(result.to_dict()["fit"], indent=2),
        "summary.txt": result.summary() + "\n",
    }
    for name, text in files.items():
        write_text(out / name, text, force=args.force)
    print(result.summary())
    print(f"\nWrote {', '.join(str(out / name) for name in files)}")
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from .files import check_writable, write_text
    from .simulation import load_population, simulate

    out = Path(args.out)
    check_writable(out, args.force)
    scale, thresholds = _scale_options(args)
    given = load_population(args.population) if args.population else {}
    data = simulate(args.model, args.n, seed=args.seed, scale=scale, thresholds=thresholds, **given)
    write_text(out, data.to_csv(index=False, lineterminator="\n", float_format="%.6f"), force=args.force)
    print(f"Wrote {len(data)} simulated responses ({data.shape[1]} columns, seed {args.seed}) to {out}")
    return 0


def _scale_options(args: argparse.Namespace) -> tuple:
    """--scale and --thresholds as :func:`iasem.simulate` takes them."""
    scale = None if args.scale.lower() == "none" else int(args.scale) if args.scale.isdigit() else args.scale
    thresholds = args.thresholds
    if thresholds and thresholds not in ("symmetric", "skewed"):
        try:
            thresholds = [float(t) for t in thresholds.split(",")]
        except ValueError:
            raise IasemError(f"--thresholds {args.thresholds!r}: use symmetric, skewed or numbers t1,t2,...") from None
    return scale, thresholds


def _power(args: argparse.Namespace) -> int:
    import io

    import pandas as pd

    from .files import check_writable, write_bytes, write_text
    from .power import plot_power, power, smallest_n
    from .simulation import load_population

    out = Path(args.out)
    names = ("power.csv", "smallest_n.csv", "power.png")
    for name in names:  # before the Monte Carlo, which can take minutes
        check_writable(out / name, args.force)
    try:
        sizes = [int(v) for v in args.n.split(",") if v.strip()]
    except ValueError:
        raise IasemError(f"--n {args.n!r}: give sample sizes separated by commas, e.g. 100,200,300") from None
    scale, thresholds = _scale_options(args)
    given = load_population(args.population) if args.population else {}
    if given.get("groups"):
        raise IasemError(f"{args.population}: power analysis draws one group; remove 'groups:'")
    table = power(
        args.model, sizes, args.reps, alpha=args.alpha, estimator=args.estimator, seed=args.seed,
        backend=args.backend, population=given.get("population"), analysis=args.analysis, scale=scale,
        thresholds=thresholds, n_jobs=args.jobs, scheduler=args.scheduler, progress=False if args.quiet else None,
    )  # fmt: skip
    smallest = smallest_n(table, args.target)
    figure = io.BytesIO()
    plot_power(table, target=args.target).figure.savefig(figure, format="png", dpi=150, bbox_inches="tight")
    write_text(out / "power.csv", table.to_csv(index=False, lineterminator="\n"), force=args.force)
    write_text(out / "smallest_n.csv", smallest.to_csv(index=False, lineterminator="\n"), force=args.force)
    write_bytes(out / "power.png", figure.getvalue(), force=args.force)
    focus = smallest[smallest["op"].isin(["~", ":="])]
    shown = focus if len(focus) else smallest
    print(f"Smallest n (of {', '.join(map(str, sorted(set(table['n']))))}) with power >= {args.target} "
          f"({args.reps} replicates per n, alpha {args.alpha}, seed {table.attrs['seed']}):")  # fmt: skip
    for r in shown.itertuples():
        name = r.label or f"{r.lhs} {r.op} {r.rhs}"
        reached = "not reached" if pd.isna(r.n) else f"n = {int(r.n)} (power {r.power:.2f})"
        print(f"  {name:<24} population {r.population:7.3f}   {reached}")
    print(f"\nWrote {', '.join(str(out / name) for name in names)}")
    return 0


def _responses_import(args: argparse.Namespace) -> int:
    from .responses import read_responses
    from .responses.report import OUTPUTS, write_import

    out = Path(args.out)
    for name in OUTPUTS:
        if (out / name).exists() and not args.force:
            raise OutputExistsError(f"{out / name} exists; pass --force to overwrite it")
    responses = read_responses(args.file, args.instrument, platform=args.platform, scored=args.scored)
    checks = [c.strip() for c in (args.exclude or "").split(",") if c.strip()]
    if checks:
        responses = responses.exclude(checks)
    written = write_import(responses, out, force=args.force)
    print(responses.screening.summary())
    print(f"\nRead {len(responses.data)} respondents from a {responses.platform} export; "
          f"{len(responses.log)} decisions logged.")  # fmt: skip
    print(f"Wrote {', '.join(str(p) for p in written)}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from .report import load_results, report

    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    results = load_results(args.results)
    out = Path(args.out) if args.out else Path(args.results)
    written = report(results, out, formats, template_dir=args.template_dir, force=args.force)
    print(f"Wrote {', '.join(str(p) for p in written.values())}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from .pipeline import run

    summary = run(args.out, data=args.data, instrument=args.instrument, force=args.force, lang=args.lang,
                  progress=False if args.quiet else None)  # fmt: skip
    print(summary.text())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="iasem", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"iasem {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    instrument = commands.add_parser(
        "instrument",
        help="list, check and build questionnaires",
        description="List, check and build bilingual questionnaires from the item bank.",
    )
    sub = instrument.add_subparsers(dest="action", metavar="ACTION", required=True)

    p = sub.add_parser("list", help="list shipped specs, constructs and formats")
    p.set_defaults(func=_instrument_list)

    spec_help = "a spec file (YAML) or the id of a shipped spec: " + ", ".join(shipped_specs())
    p = sub.add_parser(
        "check",
        help="validate a spec against the item bank and show its measurement model",
        description="Validate a spec and the item bank; every problem is reported with file and line.",
    )
    p.add_argument("spec", metavar="SPEC", help=spec_help)
    p.set_defaults(func=_instrument_check)

    p = sub.add_parser(
        "build",
        help="export a questionnaire in one or more formats",
        description="Export a questionnaire. Formats:\n" + "\n".join(f"  {k:<11} {v}" for k, v in FORMATS.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("spec", metavar="SPEC", help=spec_help)
    p.add_argument("--format", "-f", required=True, metavar="FORMAT[,FORMAT]", help="comma-separated formats, or all")
    p.add_argument("--lang", choices=["nl", "en"], help="primary language (default: the spec's default_language)")
    p.add_argument("--out", "-o", required=True, metavar="DIR", help="output folder (created when missing)")
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    p.set_defaults(func=_instrument_build)

    p = commands.add_parser(
        "validate",
        help="validate an instrument's constructs on response data",
        description="Item analysis, reliability, discriminant validity, CFA, EFA and (with --group) measurement "
        "invariance for every construct of an instrument; writes CSV/JSON tables and summary.txt.",
    )
    p.add_argument("data", metavar="DATA", help="a CSV file with one row per respondent, one column per item")
    p.add_argument("--instrument", required=True, metavar="SPEC", help="a spec file or a shipped instrument id")
    p.add_argument("--group", metavar="COL", help="test measurement invariance across this column's groups")
    p.add_argument("--estimator", default="MLR", help="CFA estimator (default MLR)")
    p.add_argument("--ordered", action="store_true", help="treat the items as ordered categories (WLSMV)")
    p.add_argument("--missing", default="listwise", choices=["listwise", "fiml"], help="default listwise")
    p.add_argument("--no-efa", action="store_true", help="skip the exploratory factor analysis")
    p.add_argument("--seed", type=int, help="seed of the EFA's parallel analysis")
    p.add_argument("--out", "-o", required=True, metavar="DIR", help="output folder")
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    p.set_defaults(func=_validate)

    p = commands.add_parser(
        "fit",
        help="fit a structural equation model (lavaan syntax) to a CSV file",
        description="Fit a model and write the parameter table, fit measures and summary.",
    )
    p.add_argument("model", metavar="MODEL", help="lavaan syntax, a .lav file, or a shipped model name")
    p.add_argument("data", metavar="DATA", help="a CSV file with one row per respondent")
    p.add_argument("--estimator", default="ML", help="ML, MLR, WLSMV, GLS or ULS (default ML)")
    p.add_argument("--missing", default="listwise", choices=["listwise", "fiml"], help="default listwise")
    p.add_argument("--ordered", metavar="COL[,COL]", help="ordered columns, comma-separated, or all")
    p.add_argument("--group", metavar="COL", help="fit the model in each group of this column")
    p.add_argument("--group-equal", metavar="KIND[,KIND]", default="",
                   help="parameters equal across groups, e.g. loadings,intercepts")  # fmt: skip
    p.add_argument("--se", choices=["standard", "robust", "bootstrap", "none"], help="default: the estimator's")
    p.add_argument("--bootstrap", type=int, default=0, metavar="N", help="bootstrap draws (default 0: none)")
    p.add_argument("--ci", choices=["percentile", "bca"], default="percentile", help="bootstrap interval")
    p.add_argument("--level", type=float, default=0.95, help="confidence level (default 0.95)")
    p.add_argument("--seed", type=int, help="seed of the bootstrap draws")
    p.add_argument("--out", "-o", required=True, metavar="DIR", help="output folder")
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    p.set_defaults(func=_fit)

    p = commands.add_parser(
        "simulate",
        help="simulate survey responses from a model with population values",
        description="Draw Likert (or continuous) responses from a lavaan-syntax model: its fixed values, a "
        "population file and the standardized defaults of iasem.simulate give the population values.",
    )
    p.add_argument("model", metavar="MODEL", help="lavaan syntax, a .lav file, or a shipped model name")
    p.add_argument("--n", type=int, required=True, help="number of respondents")
    p.add_argument("--seed", type=int, required=True, help="seed of the random draws")
    p.add_argument("--population", metavar="FILE",
                   help="population values: YAML (population:, groups:) or a parameter table CSV")  # fmt: skip
    p.add_argument("--scale", default="agree5",
                   help="a likert/rating scale id, a number of categories, or none (default agree5)")  # fmt: skip
    p.add_argument("--thresholds", help="symmetric (default), skewed, or --thresholds=t1,t2,... in standard units")
    p.add_argument("--out", "-o", required=True, metavar="FILE", help="the CSV file to write")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(func=_simulate)

    responses = commands.add_parser("responses", help="read survey platform exports back: scored and screened")
    sub_responses = responses.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = sub_responses.add_parser(
        "import",
        help="import a platform export: clean data, the decision log and a screening report",
        description="Read a LimeSurvey, Qualtrics, Kobo, ODK, REDCap, SurveyJS or plain CSV export against the "
        "instrument, score it, screen it, and write responses.csv, log.csv, flags.csv and screening.md. The "
        "input file is never modified.",
    )
    p.add_argument("file", metavar="FILE", help="the platform's export")
    p.add_argument("--instrument", required=True, metavar="SPEC", help="shipped spec name or spec file")
    p.add_argument("--platform", default="auto",
                   choices=["auto", "limesurvey", "qualtrics", "kobo", "odk", "redcap", "surveyjs", "csv"])  # fmt: skip
    p.add_argument("--scored", action="store_true",
                   help="the file's reverse-keyed items are already scored: take them as they stand")  # fmt: skip
    p.add_argument("--exclude", metavar="CHECKS",
                   help="exclude respondents flagged by these checks, e.g. speeder,attention (logged)")  # fmt: skip
    p.add_argument("--out", "-o", required=True, metavar="DIR", help="output folder")
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    p.set_defaults(func=_responses_import)

    p = commands.add_parser(
        "run",
        help="the whole chain in one command: instruments, responses, validation, models, report",
        description="Build the instruments in every format, read the responses through the import and screening, "
        "validate the measurement, fit the structural models with bootstrap CIs and render the report. Without "
        "--data and --instrument it runs on the embedded example data.",
    )
    p.add_argument("--out", "-o", default="iasem-results", metavar="DIR", help="output folder (default iasem-results)")
    p.add_argument("--data", metavar="FILE", help="your export (with --instrument)")
    p.add_argument("--instrument", metavar="SPEC", help="the instrument your export answers (with --data)")
    p.add_argument("--lang", default="en", choices=["en", "nl"], help="the report's language")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--force", action="store_true", help="overwrite existing outputs")
    p.set_defaults(func=_run)

    p = commands.add_parser(
        "report",
        help="render a results folder as a report (HTML, Markdown, LaTeX, DOCX)",
        description="Render the tables and figures of a results folder (written by `iasem run`) as APA-style "
        "reports from the jinja2 templates in reports/ (or your own, --template-dir).",
    )
    p.add_argument("results", metavar="RESULTS_DIR", help="a results folder (with manifest.json)")
    p.add_argument("--format", default="html,md,tex,docx", help="formats, comma-separated (default all four)")
    p.add_argument("--out", "-o", metavar="DIR", help="output folder (default RESULTS_DIR)")
    p.add_argument("--template-dir", metavar="DIR", help="your own templates; the shipped ones fill in the rest")
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    p.set_defaults(func=_report)

    p = commands.add_parser(
        "power",
        help="Monte Carlo power analysis: the sample size a model needs",
        description="Simulate REPS samples at every N from a model with population values, refit it, and "
        "report per parameter the power, convergence, bias and coverage, and the smallest N that reaches the "
        "target power (iasem.power).",
    )
    p.add_argument("model", metavar="MODEL", help="lavaan syntax, a .lav file, or a shipped model name")
    p.add_argument("--n", required=True, help="sample sizes separated by commas, e.g. 100,200,300")
    p.add_argument("--reps", type=int, default=1000, help="replicates per sample size (default 1000)")
    p.add_argument("--population", metavar="FILE",
                   help="population values: YAML (population:) or a parameter table CSV")  # fmt: skip
    p.add_argument("--analysis", metavar="MODEL", help="the model fitted to each sample (default: MODEL, freed)")
    p.add_argument("--estimator", default="ML", choices=["ML", "MLR", "GLS", "ULS", "WLSMV"])
    p.add_argument("--scale", default="none",
                   help="none (continuous, default), a likert/rating scale id, or a number of categories")  # fmt: skip
    p.add_argument("--thresholds", help="symmetric (default), skewed, or --thresholds=t1,t2,... in standard units")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    p.add_argument("--target", type=float, default=0.8, help="the power to reach (default 0.8)")
    p.add_argument("--seed", type=int, help="seed of the study (default: drawn, and reported)")
    p.add_argument("--backend", default="local", choices=["local", "dask"])
    p.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler address (with --backend dask)")
    p.add_argument("--jobs", type=int, help="worker processes (backend local; default all cores)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--out", "-o", required=True, metavar="DIR", help="output folder")
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    p.set_defaults(func=_power)

    p = sub.add_parser("init", help="copy a shipped spec and the item bank into a folder to adapt them")
    p.add_argument("directory", metavar="DIR")
    p.add_argument(
        "--from", dest="source", default="relational", help="shipped spec to start from (default relational)"
    )
    p.add_argument("--force", action="store_true", help="copy into a folder that is not empty")
    p.set_defaults(func=_instrument_init)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except IasemError as exc:
        print(f"iasem: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
