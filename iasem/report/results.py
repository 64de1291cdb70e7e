"""``iasem.report``: results in, a publication-ready report out (Markdown, HTML, LaTeX, DOCX).

:func:`collect` turns iasem's result objects into :class:`Results` (sections of :class:`ReportTable` and
figures); :meth:`Results.save` writes them as a results folder (``manifest.json``, ``tables/*.csv``,
``figures/*``) that ``iasem report RESULTS_DIR`` reads back; :func:`report` renders them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import IasemError
from ..files import check_writable, write_bytes, write_text
from .labels import text
from .render import FORMATS, render_docx, render_text, words
from .tables import ReportTable, check_lang

MANIFEST = "manifest.json"


@dataclass
class Figure:
    """A figure of a report: its id, title, SVG text and PNG bytes (either may be missing)."""

    id: str
    title: str
    svg: str | None = None
    png: bytes | None = None


@dataclass
class Section:
    """A part of a report (sample, measurement, structural model, power) with its tables and figures."""

    id: str
    title: str
    tables: list[ReportTable] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)


@dataclass
class Results:
    """Everything a report shows, in one language."""

    title: str
    lang: str
    sections: list[Section]
    meta: dict = field(default_factory=dict)

    def check_ids(self) -> None:
        """Refuse a report in which two sections, two tables or two figures share an id: their files, anchors
        and links would silently stand for only one of them."""
        kinds = {
            "section": [s.id for s in self.sections],
            "table": [t.id for s in self.sections for t in s.tables],
            "figure": [f.id for s in self.sections for f in s.figures],
        }
        for kind, ids in kinds.items():
            twice = sorted({i for i in ids if ids.count(i) > 1})
            if twice:
                raise IasemError(
                    f"the report has more than one {kind} with the id {', '.join(map(repr, twice))}; give each "
                    "its own (to collect(), name the results that repeat it with a dict: {name: result})"
                )

    def context(self) -> dict:
        """The templates' context (documented in docs/reports.md): tables and figures numbered in order."""
        from .. import __version__

        table_number = figure_number = 0
        sections = []
        for section in self.sections:
            tables = []
            for table in section.tables:
                table_number += 1
                tables.append({**table.to_dict(), "number": table_number})
            figures = []
            for figure in section.figures:
                figure_number += 1
                figures.append(
                    {
                        "id": figure.id,
                        "title": figure.title,
                        "number": figure_number,
                        "svg": figure.svg,
                        "png": figure.png,
                        "file": f"figures/{figure.id}",
                    }
                )
            sections.append({"id": section.id, "title": section.title, "tables": tables, "figures": figures})
        date = self.meta.get("date") or dt.date.today().isoformat()
        return {
            "title": self.title,
            "lang": self.lang,
            "words": words(self.lang),
            "meta": self.meta,
            "sections": sections,
            "generated": text("generated", self.lang).format(version=__version__, date=date),
        }

    def save(self, folder: str | Path, *, force: bool = False) -> list[Path]:
        """Write the results folder: ``manifest.json`` (titles, tables, figure list), ``tables/<id>.csv``
        (the unformatted numbers) and ``figures/<id>.svg|.png``. Atomic per file; no overwrite without
        ``force``."""
        self.check_ids()
        folder = Path(folder)
        files: dict[str, bytes | str] = {}
        manifest = {"title": self.title, "lang": self.lang, "meta": self.meta, "sections": []}
        for section in self.sections:
            entry = {"id": section.id, "title": section.title, "tables": [], "figures": []}
            for table in section.tables:
                entry["tables"].append(table.to_dict())
                if table.data is not None:
                    files[f"tables/{table.id}.csv"] = table.data.to_csv(index=False, lineterminator="\n")
            for figure in section.figures:
                entry["figures"].append({"id": figure.id, "title": figure.title})
                if figure.svg is not None:
                    files[f"figures/{figure.id}.svg"] = figure.svg
                if figure.png is not None:
                    files[f"figures/{figure.id}.png"] = figure.png
            manifest["sections"].append(entry)
        files[MANIFEST] = json.dumps(manifest, indent=2, ensure_ascii=False, default=str) + "\n"
        for name in files:
            check_writable(folder / name, force)
        written = []
        for name, content in files.items():
            path = folder / name
            write = write_bytes if isinstance(content, bytes) else write_text
            written.append(write(path, content, force=force))
        return written

    def _repr_html_(self) -> str:
        return render_text("html", {**self.context(), "embedded": True})


def load_results(folder: str | Path) -> Results:
    """Read a results folder written by :meth:`Results.save` (or ``iasem run``)."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        raise IasemError(f"{folder}: not a results folder (no {MANIFEST}); `iasem run` writes one")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        sections = []
        for entry in manifest["sections"]:
            tables = []
            for values in entry["tables"]:
                csv = folder / "tables" / f"{values['id']}.csv"
                tables.append(ReportTable.from_dict(values, _read_table(csv)))
            figures = []
            for values in entry.get("figures", []):
                svg, png = folder / "figures" / f"{values['id']}.svg", folder / "figures" / f"{values['id']}.png"
                figures.append(
                    Figure(
                        values["id"],
                        values["title"],
                        svg.read_text(encoding="utf-8") if svg.is_file() else None,
                        png.read_bytes() if png.is_file() else None,
                    )
                )
            sections.append(Section(entry["id"], entry["title"], tables, figures))
        results = Results(manifest["title"], check_lang(manifest["lang"]), sections, manifest.get("meta", {}))
    except (KeyError, TypeError, ValueError) as exc:
        raise IasemError(f"{path}: not a valid results manifest ({exc})") from None
    results.check_ids()
    return results


def _read_table(csv: Path) -> pd.DataFrame | None:
    if not csv.is_file():
        return None
    try:
        return pd.read_csv(csv)
    except pd.errors.EmptyDataError:  # a table without rows or columns (a sample without background questions)
        return pd.DataFrame()


#: Resolution of the PNG copies of the figures (LaTeX and DOCX embed them; HTML and Markdown use the SVG).
FIGURE_DPI = 150


def _matplotlib_figure(figure_id: str, title: str, fig) -> Figure:
    import matplotlib.pyplot as plt

    from ..figures import figure_bytes

    try:
        return Figure(
            figure_id, title, figure_bytes(fig, "svg").decode("utf-8"), figure_bytes(fig, "png", dpi=FIGURE_DPI)
        )
    finally:
        plt.close(fig)


def _diagram(figure_id: str, title: str, result, lang: str) -> Figure:
    from ..figures import path_diagram

    diagram = path_diagram(result, lang=lang)
    return Figure(figure_id, title, str(diagram), diagram.render("png", dpi=FIGURE_DPI))


def collect(results: object, lang: str = "en", *, title: str | None = None, figures: bool = True) -> Results:
    """:class:`Results` from iasem's result objects.

    ``results`` is a :class:`Results`, a results folder, one result object or a list or dict of them:
    :class:`~iasem.responses.read.ResponseSet` (sample table), :class:`~iasem.validation.report.
    MeasurementReport` (items, reliability, HTMT, Fornell-Larcker, EFA, CFA, fit, invariance),
    :class:`~iasem.results.SEMResult` (fit, paths, indirect effects; a dict key names the model), or a
    :func:`iasem.power` table. With ``figures``, each gets its figure: item distributions, the CFA loading
    heatmap, the path diagram of each structural model, the power curves (:mod:`iasem.figures`).

    With more than one ResponseSet or MeasurementReport, the sections of each name its instrument (the
    title) and their table and figure ids start with the instrument's id (``relational_items``); a
    MeasurementReport is matched to the ResponseSet whose instrument has its constructs. A dict key names any
    result in the same way.
    """
    check_lang(lang)
    if isinstance(results, Results):
        results.check_ids()
        return results
    if isinstance(results, (str, Path)):
        return load_results(results)
    named = _named(results)
    qualifiers = _qualifiers(named, lang)
    sections = []
    for (name, result), qualifier in zip(named, qualifiers, strict=True):
        section = _section(name, result, lang, figures)
        sections.append(_qualified(section, *qualifier) if qualifier else section)
    bundle = Results(title or text("report_title", lang), lang, sections)
    bundle.check_ids()
    return bundle


def _named(results: object) -> list[tuple[str | None, object]]:
    """Each result with the name its dict key gives it (``{"relational_trust": result}``), or None."""
    named: list[tuple[str | None, object]] = []
    items = [results] if isinstance(results, Mapping | pd.DataFrame) or not isinstance(results, Iterable) else results
    for item in items:
        named += list(item.items()) if isinstance(item, Mapping) else [(None, item)]
    return named


def _section(name: str | None, result: object, lang: str, figures: bool) -> Section:
    from ..responses.read import ResponseSet
    from ..results import SEMResult
    from ..validation.report import MeasurementReport

    if isinstance(result, ResponseSet):
        return _sample_section(result, lang, figures)
    if isinstance(result, MeasurementReport):
        return _measurement_section(result, lang, figures)
    if isinstance(result, SEMResult):
        return _model_section(name, result, lang, figures)
    if isinstance(result, pd.DataFrame) and {"n", "power", "lhs", "op", "rhs"} <= set(result.columns):
        return _power_section(result, lang, figures)
    raise IasemError(
        f"cannot report a {type(result).__name__}: give SEMResult, MeasurementReport, ResponseSet or power tables"
    )


def _sample_section(responses, lang: str, figures: bool) -> Section:
    from . import tables as t

    section = Section("sample", text("sample_title", lang), [t.sample_table(responses, lang)])
    if figures:
        from ..figures import item_distributions

        section.figures.append(_matplotlib_figure("item_distributions", text("distributions_title", lang),
                                                  item_distributions(responses, lang=lang)))  # fmt: skip
    return section


def _measurement_section(measurement, lang: str, figures: bool) -> Section:
    from . import tables as t

    tables = [
        t.item_table(measurement, lang),
        t.reliability_table(measurement, lang),
        t.matrix_table(measurement.htmt, "htmt", lang),
        t.matrix_table(measurement.fornell_larcker, "fornell_larcker", lang),
    ]
    if measurement.efa is not None:
        tables.append(t.efa_table(measurement.efa, lang))
    tables += [
        t.cfa_table(measurement.cfa, lang),
        t.fit_table(measurement.cfa, lang, measurement.cutoffs, table_id="cfa_fit"),
    ]
    if measurement.invariance is not None:
        tables.append(t.invariance_table(measurement.invariance, lang))
    section = Section("measurement", text("measurement_section", lang), tables)
    if figures:
        from ..figures import cfa_loadings, loading_heatmap

        heatmap = loading_heatmap(cfa_loadings(measurement.cfa), title="")
        section.figures.append(_matplotlib_figure("loadings", text("loadings_title", lang), heatmap))
    return section


def _model_section(name: str | None, result, lang: str, figures: bool) -> Section:
    from . import tables as t

    model = name or "model"
    suffix = f": {model}" if name else ""
    structural = (result.params["op"] == "~").any()
    tables = [t.fit_table(result, lang, table_id=f"{model}_fit", title=text("fit_title", lang) + suffix)]
    if structural:
        tables.append(t.paths_table(result, lang, table_id=f"{model}_paths", title=text("paths_title", lang) + suffix))
    if (result.params["op"] == ":=").any():
        tables.append(
            t.indirect_table(result, lang, table_id=f"{model}_indirect", title=text("indirect_title", lang) + suffix)
        )
    section = Section(f"model_{model}", text("model_section", lang) + suffix, tables)
    if figures and structural:
        section.figures.append(_diagram(f"{model}_paths", text("diagram_title", lang) + suffix, result, lang))
    return section


def _power_section(table: pd.DataFrame, lang: str, figures: bool) -> Section:
    from . import tables as t

    section = Section("power", text("power_title", lang), [t.power_table(table, lang)])
    if figures:
        from ..figures import power_curves

        section.figures.append(_matplotlib_figure("power_curves", text("power_title", lang), power_curves(table)))
    return section


def _qualifiers(named: list[tuple[str | None, object]], lang: str) -> list[tuple[str, str] | None]:
    """Per result, the (id, title) its sections must name, or None. A dict key names a result; with more than
    one ResponseSet or MeasurementReport, each is named after its instrument. A report of a single instrument
    keeps its plain ids and titles; models carry their names already."""
    from ..responses.read import ResponseSet
    from ..results import SEMResult
    from ..validation.report import MeasurementReport

    responses = [r for _, r in named if isinstance(r, ResponseSet)]
    several = len(responses) > 1 or sum(isinstance(r, MeasurementReport) for _, r in named) > 1
    out: list[tuple[str, str] | None] = []
    number = 0
    for name, result in named:
        if isinstance(result, ResponseSet) and (name or several):
            out.append(_instrument_names(name, result.instrument, lang))
        elif isinstance(result, MeasurementReport) and (name or several):
            number += 1
            instrument = _instrument_measured(result, [r.instrument for r in responses])
            out.append(_instrument_names(name, instrument, lang, fallback=f"instrument_{number}"))
        elif name and not isinstance(result, SEMResult):
            out.append((name, name))
        else:
            out.append(None)
    return out


def _instrument_names(name: str | None, instrument, lang: str, fallback: str = "instrument") -> tuple[str, str]:
    key = name or (instrument.id if instrument is not None else fallback)
    title = instrument.spec.title[lang] if instrument is not None and not name else key
    return key, title


def _instrument_measured(measurement, instruments: list):
    """The instrument whose constructs a validation measured: the smallest that has them all (a full
    questionnaire holds the constructs of the smaller ones), or None."""
    measured = set(measurement.constructs)
    having = [i for i in instruments if measured <= {c.id for c in i.constructs}]
    return min(having, key=lambda i: len(i.constructs), default=None)


def _qualified(section: Section, key: str, title: str) -> Section:
    """The section of one of several instruments: its title names the instrument, its ids start with it."""
    section.id = f"{section.id}_{key}"
    section.title = f"{section.title}: {title}"
    for table in section.tables:
        table.id = f"{key}_{table.id}"
    for figure in section.figures:
        figure.id = f"{key}_{figure.id}"
    return section


def _same(path: Path, content: bytes | str) -> bool:
    data = content.encode("utf-8") if isinstance(content, str) else content
    return path.is_file() and path.read_bytes() == data


def report(
    results: object,
    out: str | Path,
    formats: Sequence[str] = ("html", "md", "tex", "docx"),
    *,
    template_dir: str | Path | None = None,
    lang: str = "en",
    title: str | None = None,
    force: bool = False,
) -> dict[str, Path]:
    """Render results as a report in every format of ``formats``.

    Parameters
    ----------
    results : object
        What :func:`collect` takes: result objects, a list or dict of them, :class:`Results`, or a results
        folder.
    out : str or Path
        The output folder: ``report.<format>`` and, for Markdown and LaTeX, the figures beside them.
    formats : sequence of str
        Any of "html" (standalone, styled, readable on a phone), "md", "tex" (booktabs), "docx".
    template_dir : str or Path, optional
        A folder with your own ``report.html.j2`` / ``report.md.j2`` / ``report.tex.j2`` (or the partials
        they include); the shipped ``reports/`` templates fill in the rest. Context: docs/reports.md.
    lang : {"en", "nl"}
        The report's language (object results; a results folder keeps its own).
    force : bool
        Overwrite existing files.

    Returns
    -------
    dict
        Format -> the path written.
    """
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise IasemError(f"unknown report format(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(FORMATS)}")
    bundle = collect(results, lang, title=title)
    out = Path(out)
    for fmt in formats:
        check_writable(out / f"report.{fmt}", force)
    context = bundle.context()
    rendered: dict[str, bytes | str] = {}
    for fmt in formats:
        rendered[fmt] = render_docx(context) if fmt == "docx" else render_text(fmt, context, template_dir)
    # Markdown and LaTeX link their figures; HTML and DOCX carry them inside.
    figures = {
        f"figures/{f['id']}.{kind}": f[kind]
        for s in context["sections"]
        for f in s["figures"]
        for kind in ("svg", "png")
        if f[kind] is not None and {"md", "tex"} & set(formats)
    }
    # A figure already there with the same bytes (a results folder rendered in place) is left as it is.
    figures = {name: content for name, content in figures.items() if not _same(out / name, content)}
    for name in figures:
        check_writable(out / name, force)
    for name, content in figures.items():
        (write_bytes if isinstance(content, bytes) else write_text)(out / name, content, force=force)
    written = {}
    for fmt, content in rendered.items():
        path = out / f"report.{fmt}"
        written[fmt] = (write_bytes if isinstance(content, bytes) else write_text)(path, content, force=force)
    return written
