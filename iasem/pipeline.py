"""``iasem run``: the whole chain in one command, instrument -> responses -> measurement -> structural model
-> report.

On the embedded example data (``data/``, simulated from the shipped models) it:

1. builds the relational and intersectoral instruments in every export format;
2. reads the example responses through the import and screening of :mod:`iasem.responses`;
3. validates the measurement of each instrument (:func:`iasem.validate`; across alliance types for the
   intersectoral one: measurement invariance);
4. fits ``relational_trust``, ``relational_social_capital`` and ``intersectoral_performance`` with bootstrap
   confidence intervals for the indirect effects; the last across alliance types (``group="atype"``), each type
   with its own paths and indirect effects (:func:`iasem.syntax.groups.per_group_labels`), resampled within
   types;
5. renders the full report (HTML, Markdown, LaTeX, DOCX) and keeps its results folder.

With ``data`` and ``instrument`` it runs the same chain on your own export: that instrument, your responses,
their validation, the instrument's measurement model, and the report.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import IasemError
from .files import check_writable
from .instruments.export import FORMATS as INSTRUMENT_FORMATS
from .instruments.export import export as export_instrument
from .instruments.instrument import Instrument, load_instrument
from .progress import progress_bar
from .resources import resource_path

#: The embedded example: (instrument, data file, group column, [(model, bootstrap draws)]).
EXAMPLES = [
    ("relational", "relational_social_capital_responses.csv", None,
     [("relational_trust", 1000), ("relational_social_capital", 1000)]),
    ("intersectoral", "intersectoral_performance_responses.csv", "atype", [("intersectoral_performance", 1000)]),
]  # fmt: skip
REPORT_FORMATS = ("html", "md", "tex", "docx")


@dataclass
class RunSummary:
    """What ``iasem run`` wrote, step by step, and how long it took."""

    out: Path
    outputs: dict[str, list[Path]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def _repr_html_(self) -> str:
        """In a notebook: the summary, with the report embedded below it."""
        import html

        from .report import load_results

        summary = f"<pre>{html.escape(self.text())}</pre>"
        results = self.out / "results"
        return summary + (load_results(results)._repr_html_() if (results / "manifest.json").is_file() else "")

    def text(self) -> str:
        lines = [f"iasem run: done in {sum(self.seconds.values()):.1f} s. Outputs in {self.out}/:"]
        for step, paths in self.outputs.items():
            folders = sorted({str(p.relative_to(self.out)).split("/")[0] for p in paths})
            lines.append(f"  {step:<26} {len(paths):>3} files   {', '.join(f + '/' for f in folders)}"
                         f"   ({self.seconds.get(step, 0):.1f} s)")  # fmt: skip
        report = self.out / "report" / "report.html"
        lines.append(f"Open {report} in a browser (report.docx for Word, report.tex for LaTeX).")
        lines += [f"Note: {note}" for note in self.notes]
        return "\n".join(lines)


def run(out: str | Path = "iasem-results", *, data: str | Path | None = None, instrument: str | Path | None = None,
        force: bool = False, progress: bool | None = None, seed: int = 1, lang: str = "en") -> RunSummary:  # fmt: skip
    """Run the whole chain and write every output under ``out`` (see the module docstring).

    Parameters
    ----------
    out : str or Path
        The output folder (created; existing files are kept unless ``force``).
    data, instrument : optional
        Your own export and the instrument it answers (both or neither); default the embedded examples.
    force : bool
        Overwrite existing outputs.
    progress : bool, optional
        Show progress (default: on a terminal).
    seed : int
        Seed of the bootstrap draws and the EFA's parallel analysis.
    lang : {"en", "nl"}
        The report's language.

    Returns
    -------
    RunSummary
    """
    if (data is None) != (instrument is None):
        raise IasemError("give --data and --instrument together (or neither, for the embedded example)")
    out = Path(out)
    if not force:  # fail before minutes of work, not after
        for name in ("report/report.html", "results/manifest.json"):
            check_writable(out / name, force)
    if data is None:
        plan = [(load_instrument(spec), resource_path("data") / file, group, models, True)
                for spec, file, group, models in EXAMPLES]  # fmt: skip
    else:
        plan = [(load_instrument(instrument), Path(data), None, [], False)]
    summary = RunSummary(out)
    steps = ["instruments", "responses", "measurement", "structural models", "report"]
    with progress_bar(len(steps), "iasem run", progress) as bar:

        def step(name: str, work: Callable[[], list[Path]]) -> None:
            bar.set_postfix_str(name)
            start = time.perf_counter()
            summary.outputs[name] = work()
            summary.seconds[name] = time.perf_counter() - start
            bar.update(1)

        step("instruments", lambda: _instruments(plan, out, force))
        responses: dict[str, object] = {}
        step("responses", lambda: _responses(plan, out, force, responses))
        measurement: dict[str, object] = {}
        step("measurement", lambda: _measurement(plan, out, force, responses, measurement, seed, summary.notes))
        fits: dict[str, object] = {}
        step("structural models", lambda: _models(plan, out, force, responses, fits, seed, summary.notes))
        step("report", lambda: _report(out, force, responses, measurement, fits, lang))
    return summary


def _instruments(plan, out: Path, force: bool) -> list[Path]:
    written = []
    for instrument, *_ in plan:
        for lang in instrument.languages:
            folder = out / "instruments" / instrument.id / lang
            written += export_instrument(instrument, list(INSTRUMENT_FORMATS), folder, lang=lang, force=force)
    return written


def _responses(plan, out: Path, force: bool, responses: dict) -> list[Path]:
    from .responses import read_responses
    from .responses.report import write_import

    written = []
    for instrument, data, _, _, example in plan:
        # The example data are simulated in the scored direction (data/README.md): their reverse-keyed items
        # are taken as they stand.
        read = read_responses(data, instrument, scored=example)
        responses[instrument.id] = read
        written += write_import(read, out / "responses" / instrument.id, force=force)
    return written


def _constructs(instrument: Instrument, data) -> dict[str, list[str]]:
    return {c.id: [i.code for i in c.items] for c in instrument.constructs
            if all(data[i.code].notna().any() for i in c.items if i.code in data)
            and all(i.code in data for i in c.items)}  # fmt: skip


def _measurement(plan, out: Path, force: bool, responses: dict, measurement: dict, seed: int,
                 notes: list[str]) -> list[Path]:  # fmt: skip
    from .validation import validate

    written = []
    for instrument, _, group, _, _ in plan:
        read = responses[instrument.id]
        frame = read.data.copy()
        items = [q.code for q in instrument.likert_questions]
        frame[items] = frame[items].astype("float64")
        if group is not None and group in frame:
            frame[group] = frame[group].astype(str)
        constructs = _constructs(instrument, frame)
        if not constructs:
            raise IasemError(f"{read.source}: no construct of {instrument.id} has all its items answered")
        try:
            report = validate(
                frame, constructs, group=group if group in frame else None, seed=seed, progress=False, n_jobs=None
            )
        except IasemError as exc:  # the report goes on without this instrument's measurement, and says why
            notes.append(f"{instrument.id}: the measurement could not be validated ({exc})")
            continue
        measurement[instrument.id] = report
        written += report.write(out / "validation" / instrument.id, force=force)
    return written


def _models(plan, out: Path, force: bool, responses: dict, fits: dict, seed: int, notes: list[str]) -> list[Path]:
    import json

    from .engine import multigroup
    from .files import write_text
    from .sem import fit, model_text
    from .syntax.groups import per_group_labels

    written = []
    for instrument, _, group, models, _ in plan:
        frame = responses[instrument.id].data
        items = [q.code for q in instrument.likert_questions]
        frame = frame.assign(**{c: frame[c].astype("float64") for c in items})
        for model, draws in models:
            if group is None:
                result = fit(model, frame, bootstrap=draws, seed=seed)
            else:
                # Each alliance type its own paths and indirect effects (a single label would hold a path
                # equal across the groups): labels and := rewritten per group, rows resampled within groups.
                frame = frame.assign(**{group: frame[group].astype(str)})
                text = per_group_labels(model_text(model), multigroup.group_labels(frame, group))
                result = fit(text, frame, group=group, bootstrap=draws, seed=seed)
            fits[model] = result
            folder = out / "models" / model
            files = {"params.csv": result.params.to_csv(index=False),
                     "fit_measures.json": json.dumps(result.to_dict()["fit"], indent=2),
                     "summary.txt": result.summary() + "\n"}  # fmt: skip
            for name in files:
                check_writable(folder / name, force)
            written += [write_text(folder / name, text, force=force) for name, text in files.items()]
    return written


def _report(out: Path, force: bool, responses: dict, measurement: dict, fits: dict, lang: str) -> list[Path]:
    from .report import collect, report

    parts: list = [*responses.values()]
    parts += [measurement[k] for k in measurement]
    parts += [{name: result} for name, result in fits.items()]
    bundle = collect(parts, lang)
    written = bundle.save(out / "results", force=force)
    written += list(report(bundle, out / "report", REPORT_FORMATS, force=force).values())
    return written
