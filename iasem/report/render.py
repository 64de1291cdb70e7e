"""Rendering a report: the jinja2 templates of ``reports/`` (Markdown, HTML, LaTeX) and a python-docx builder
(DOCX), all from the same :class:`~.results.Results`.

Templates get one context (documented in docs/reports.md): ``title``, ``lang``, ``words`` (the report's
fixed words in ``lang``), ``generated``, ``meta``, ``sections`` (each with ``title`` and ``tables``: the
:meth:`ReportTable.to_dict` of each, numbered) and ``figures``. Every value that comes from data (item texts,
labels, variable names) is escaped for the format: HTML by jinja2's autoescape, LaTeX and Markdown by the
``finalize`` hook of their environments, so a template cannot forget it.
"""

from __future__ import annotations

import re
import traceback
from collections import Counter
from pathlib import Path

import jinja2
from markupsafe import Markup

from ..errors import IasemError
from ..resources import resource_path
from .labels import TEXT

FORMATS = {"md": "report.md.j2", "html": "report.html.j2", "tex": "report.tex.j2", "docx": None}

# LaTeX's special characters, and the Unicode the tables use that pdfLaTeX has no glyph for.
_TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
        "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"\textless{}", ">": r"\textgreater{}",
        "α": r"$\alpha$", "β": r"$\beta$", "ω": r"$\omega$", "χ": r"$\chi$", "Δ": r"$\Delta$", "≥": r"$\geq$",
        "≤": r"$\leq$", "−": r"$-$", "←": r"$\leftarrow$", "²": r"\textsuperscript{2}", "ᵢ": r"\textsubscript{i}",
        "ₜ": r"\textsubscript{t}", "—": r"---", "–": r"--", "\u00a0": "~"}  # fmt: skip
_TEX_PATTERN = re.compile("|".join(re.escape(k) for k in sorted(_TEX, key=len, reverse=True)))


def escape_tex(value: object) -> str:
    r"""Text made safe for LaTeX.

    >>> escape_tex("50% of R&D_1 ≥ α")
    '50\\% of R\\&D\\_1 $\\geq$ $\\alpha$'
    """
    return _TEX_PATTERN.sub(lambda m: _TEX[m.group(0)], str(value))


def escape_md(value: object) -> str:
    """Text made safe for a Markdown table cell or line: pipes and backslashes escaped, line breaks as
    spaces, and what could start HTML (a tag, an entity) neutralised; "< .001" stays as it is.

    >>> escape_md("a|b <script> &amp; p < .001")
    'a\\\\|b &lt;script> &amp;amp; p < .001'
    """
    text = str(value).replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")
    text = re.sub(r"&(?=#?\w+;)", "&amp;", text)
    return re.sub(r"<(?=[A-Za-z/!?])", "&lt;", text)


def _finalizer(escape):
    def finalize(value: object) -> object:
        if value is None:
            return ""
        if isinstance(value, Markup):  # already formatted by a template on purpose
            return value
        return escape(value)

    return finalize


#: The prefix under which the shipped templates stay reachable from a user's template of the same name:
#: ``{% extends "iasem/report.html.j2" %}``.
SHIPPED = "iasem"


def _loader(template_dir: str | Path | None) -> jinja2.BaseLoader:
    """The user's ``template_dir`` first, then ``reports/``; ``iasem/<name>`` is always the shipped one."""
    shipped = str(resource_path("reports"))
    folders = [shipped]
    if template_dir is not None:
        if not Path(template_dir).is_dir():
            raise IasemError(f"{template_dir}: no such template folder")
        folders.insert(0, str(template_dir))
    return jinja2.ChoiceLoader(
        [jinja2.PrefixLoader({SHIPPED: jinja2.FileSystemLoader(shipped)}), jinja2.FileSystemLoader(folders)]
    )


def environment(fmt: str, template_dir: str | Path | None = None) -> jinja2.Environment:
    """The jinja2 environment of a format: the user's ``template_dir`` first, then ``reports/`` (also as
    ``iasem/<name>``, for a user's template that extends the shipped one of its name)."""
    loader = _loader(template_dir)
    if fmt == "html":
        env = jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined)
    elif fmt == "tex":
        # LaTeX's braces clash with jinja2's defaults less with these delimiters.
        env = jinja2.Environment(loader=loader, autoescape=False, undefined=jinja2.StrictUndefined,
                                 finalize=_finalizer(escape_tex), block_start_string="((*", block_end_string="*))",
                                 variable_start_string="(((", variable_end_string=")))", comment_start_string="((#",
                                 comment_end_string="#))", trim_blocks=True, lstrip_blocks=True)  # fmt: skip
    else:
        env = jinja2.Environment(loader=loader, autoescape=False, undefined=jinja2.StrictUndefined,
                                 finalize=_finalizer(escape_md), trim_blocks=True, lstrip_blocks=True)  # fmt: skip
    env.filters["raw"] = Markup  # a template's own markup that must not be escaped
    env.filters["inline_svg"] = lambda svg, prefix: Markup(inline_svg(svg, prefix))
    return env


_SVG_START = re.compile(r"<svg[\s>]")
# A tag, with quoted attribute values that may hold ">".
_TAG = re.compile(r"""<(?:[^"'<>]|"[^"]*"|'[^']*')*>""")
_ID = re.compile(r"""(\sid=)(["'])(.*?)\2""")
_HREF = re.compile(r"""(\s(?:xlink:)?href=)(["'])#(.*?)\2""")
_URL = re.compile(r"""url\((["']?)#([^)"']*)\1\)""")


def inline_svg(svg: str, prefix: str) -> str:
    """An SVG file's text made fit to sit inside an HTML page beside others: no XML declaration or doctype,
    and every id (and every reference to it) starting with ``prefix``. Matplotlib and Graphviz number their
    ids from 1 in every file (``patch_1``, ``node1``) and name glyphs by font, so two figures on one page would
    otherwise share ids, which HTML forbids and which sends a clip path or glyph reference to the wrong
    figure.

    >>> inline_svg('<?xml version="1.0"?><svg><path id="a"/><use xlink:href="#a" clip-path="url(#a)"/></svg>', "f-")
    '<svg><path id="f-a"/><use xlink:href="#f-a" clip-path="url(#f-a)"/></svg>'
    """
    start = _SVG_START.search(svg)
    body = svg[start.start() :] if start else svg
    ids = {m.group(3) for tag in _TAG.findall(body) for m in _ID.finditer(tag)}
    if not ids:
        return body

    def named(name: str) -> str:
        return prefix + name if name in ids else name

    def in_tag(tag: re.Match) -> str:
        text = _ID.sub(lambda m: f"{m.group(1)}{m.group(2)}{prefix}{m.group(3)}{m.group(2)}", tag.group(0))
        return _HREF.sub(lambda m: f"{m.group(1)}{m.group(2)}#{named(m.group(3))}{m.group(2)}", text)

    body = _TAG.sub(in_tag, body)
    return _URL.sub(lambda m: f"url({m.group(1)}#{named(m.group(2))}{m.group(1)})", body)


def words(lang: str) -> dict[str, str]:
    return {key: values[lang] for key, values in TEXT.items()}


def render_text(fmt: str, context: dict, template_dir: str | Path | None = None) -> str:
    """The report in ``fmt`` (md, html, tex) as text."""
    name = FORMATS[fmt]
    try:
        template = environment(fmt, template_dir).get_template(name)
        return template.render(**context)
    except RecursionError as exc:
        looping = _recursing(exc) or name
        raise IasemError(
            f"the {fmt} report template {looping} extends or includes itself; to extend or include the shipped "
            f'template of that name, call it "{SHIPPED}/{Path(looping).name}"'
        ) from None
    except jinja2.TemplateError as exc:
        raise IasemError(f"the {fmt} report template failed{_where(exc)}: {exc}") from None


def _template_frames(exc: BaseException) -> list[traceback.FrameSummary]:
    """The frames of the templates' code: jinja2 compiles a template under its file name."""
    frames = traceback.extract_tb(exc.__traceback__)
    return [f for f in frames if not f.filename.endswith(".py") and not f.filename.startswith("<")]


def _recursing(exc: RecursionError) -> str | None:
    """The template file that loads itself over and over: the one most often on the stack."""
    names = Counter(f.filename for f in _template_frames(exc))
    return names.most_common(1)[0][0] if names else None


def _where(exc: jinja2.TemplateError) -> str:
    """Where a template error is, as " (file:line)": a syntax error knows it; for an error while rendering (an
    undefined variable), it is the innermost template frame of the traceback, which jinja2 rewrites to point
    at the template's file and line."""
    if getattr(exc, "lineno", None):
        return f" ({exc.filename}:{exc.lineno})"
    frames = _template_frames(exc)
    return f" ({frames[-1].filename}:{frames[-1].lineno})" if frames else ""


def render_docx(context: dict) -> bytes:
    """The report as a DOCX document (APA tables: a bold number, an italic title, horizontal rules only)."""
    import io

    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt

    document = Document()
    style = document.styles["Normal"]
    style.font.name = "Times New Roman"
    style.font.size = Pt(11)
    w = context["words"]
    document.add_heading(context["title"], level=0)
    for section in context["sections"]:
        document.add_heading(section["title"], level=1)
        for table in section["tables"]:
            number = document.add_paragraph()
            number.add_run(f"{w['table']} {table['number']}").bold = True
            title = document.add_paragraph()
            title.add_run(table["title"]).italic = True
            grid = document.add_table(rows=1, cols=len(table["columns"]))
            for k, header in enumerate(table["columns"]):
                grid.rows[0].cells[k].text = header
            for i, row in enumerate(table["rows"]):
                heading = table["groups"].get(str(i))
                if heading:
                    cells = grid.add_row().cells
                    merged = cells[0].merge(cells[-1])
                    merged.text = heading
                    merged.paragraphs[0].runs[0].italic = True
                cells = grid.add_row().cells
                for k, value in enumerate(row):
                    cells[k].text = value
                    if table["align"][k] == "r":
                        cells[k].paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
            _apa_borders(grid, OxmlElement, qn)
            if table["note"]:
                note = document.add_paragraph()
                note.add_run(w["note"]).italic = True
                note.add_run(" " + table["note"])
        for figure in section.get("figures", []):
            if figure.get("png"):
                number = document.add_paragraph()
                number.add_run(f"{w['figure']} {figure['number']}").bold = True
                document.add_paragraph().add_run(figure["title"]).italic = True
                from docx.shared import Inches

                document.add_picture(io.BytesIO(figure["png"]), width=Inches(6))
    document.add_paragraph(context["generated"])
    out = io.BytesIO()
    document.core_properties.title = context["title"]
    document.save(out)
    return out.getvalue()


def _apa_borders(table, OxmlElement, qn) -> None:
    """APA tables have horizontal rules above and below the header and at the bottom, no vertical ones."""
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "bottom", "insideH"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "single" if edge != "insideH" else "nil")
        element.set(qn("w:sz"), "8")
        borders.append(element)
    table._tbl.tblPr.append(borders)
    for cell in table.rows[0].cells:
        tc_borders = OxmlElement("w:tcBorders")
        bottom = OxmlElement("w:bottom")
        bottom.set(qn("w:val"), "single")
        bottom.set(qn("w:sz"), "8")
        tc_borders.append(bottom)
        cell._tc.get_or_add_tcPr().append(tc_borders)
