"""A printable paper questionnaire in one language: HTML (print CSS, readable on a phone), DOCX and PDF.

All three render the same ``Paper``: the title, the introduction, a consent question with tick boxes, one
table per matrix page (the scale labels as column headers, a box per cell), the background questions as
lists of options or boxes for a number, and the closing text. Questions are numbered continuously across
pages, and every question carries its item code and every option its stored value in small grey print, so
answers on paper can be typed in against the codebook. Reverse keying is never shown.

Texts are user data: the HTML template escapes them (``autoescape``), the PDF escapes them for reportlab's
paragraph markup, and python-docx writes them as plain runs, so no text can become a tag, markup or a field.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from xml.sax.saxutils import escape as xml_escape

from ...errors import IasemError
from ..instrument import Instrument, Page, Question
from ..schema import LANGUAGES

# Consent is a yes/no question stored like the bank's yes_no scale (1 = yes, 0 = no).
CONSENT_CODE = "consent"

UI: dict[str, dict[str, str]] = {
    "nl": {
        "version": "Versie",
        "consent": "Toestemming",
        "consent_yes": "Ja, ik doe mee en geef toestemming",
        "consent_no": "Nee, ik doe niet mee",
        "consent_hint": "Kruis één antwoord aan. Alleen als u ‘Ja’ aankruist, kunt u verder gaan.",
        "number": "Nr.",
        "statement": "Uitspraak",
        "likert": "Geef bij elke uitspraak aan in hoeverre u het ermee eens bent. Kruis per regel één antwoord aan.",
        "rating": "Kruis per regel één cijfer aan.",
        "single": "Kruis één antwoord aan.",
        "multiple": "Kruis alles aan wat van toepassing is.",
        "integer": "Vul een getal in van {min} tot en met {max}.",
        "page": "pagina",
        "closing": "Einde van de vragenlijst",
    },
    "en": {
        "version": "Version",
        "consent": "Consent",
        "consent_yes": "Yes, I take part and give my consent",
        "consent_no": "No, I do not take part",
        "consent_hint": "Tick one answer. Please only continue if you ticked ‘Yes’.",
        "number": "No.",
        "statement": "Statement",
        "likert": "Please indicate how far you agree with each statement. Tick one answer in every row.",
        "rating": "Tick one number in every row.",
        "single": "Tick one answer.",
        "multiple": "Tick all that apply.",
        "integer": "Write a number from {min} to {max}.",
        "page": "page",
        "closing": "End of the questionnaire",
    },
}


@dataclass(frozen=True)
class Choice:
    value: int
    label: str


@dataclass(frozen=True)
class Row:
    """A numbered question: a matrix row, or a background question with its answer format."""

    number: int
    code: str
    text: str
    type: str = "likert"  # the scale type: likert, rating, single, multiple or integer
    choices: tuple[Choice, ...] = ()
    hint: str = ""
    digits: int = 0  # boxes for an integer answer


@dataclass(frozen=True)
class Section:
    kind: str  # "matrix" or "background"
    name: str
    title: str
    instruction: str
    columns: tuple[Choice, ...]  # a matrix's scale options; empty for the background section
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class Paper:
    """Everything a printed questionnaire shows, in one language, numbered."""

    id: str
    lang: str
    version: str
    title: str
    intro: str
    consent: str
    consent_choices: tuple[Choice, ...]
    sections: tuple[Section, ...]
    closing: str
    ui: dict[str, str]

    @property
    def matrices(self) -> list[Section]:
        return [s for s in self.sections if s.kind == "matrix"]


def _check_lang(instrument: Instrument, lang: str) -> None:
    if lang not in LANGUAGES:
        raise IasemError(f"unknown language {lang!r}; choose from {', '.join(LANGUAGES)}")
    if lang not in instrument.languages:
        raise IasemError(
            f"instrument {instrument.id} is not offered in {lang!r} (languages: {', '.join(instrument.languages)})"
        )


def _choices(question: Question, lang: str) -> tuple[Choice, ...]:
    return tuple(Choice(o.value, getattr(o, lang)) for o in question.scale.options)


def _background_row(number: int, question: Question, lang: str, ui: dict[str, str]) -> Row:
    scale = question.scale
    kind = scale.type
    if kind == "integer":
        hint = ui["integer"].format(min=scale.min, max=scale.max)
        digits = max(len(str(scale.min)), len(str(scale.max)))
    else:
        hint = ui["single" if kind == "rating" else kind]
        digits = 0
    return Row(number, question.code, question.text[lang], kind, _choices(question, lang), hint, digits)


def build_paper(instrument: Instrument, lang: str) -> Paper:
    """The questionnaire's content in ``lang``, numbered continuously across pages."""
    _check_lang(instrument, lang)
    ui = UI[lang]
    spec = instrument.spec
    sections: list[Section] = []
    number = 0
    for page in instrument.pages:
        rows: list[Row] = []
        for question in page.questions:
            number += 1
            if page.kind == "matrix":
                rows.append(Row(number, question.code, question.text[lang], question.scale.type))
            else:
                rows.append(_background_row(number, question, lang, ui))
        sections.append(_section(page, lang, ui, tuple(rows)))
    return Paper(
        id=instrument.id,
        lang=lang,
        version=spec.version,
        title=spec.title[lang],
        intro=spec.intro[lang],
        consent=spec.consent[lang],
        consent_choices=(Choice(1, ui["consent_yes"]), Choice(0, ui["consent_no"])),
        sections=tuple(sections),
        closing=spec.closing[lang],
        ui=ui,
    )


def _section(page: Page, lang: str, ui: dict[str, str], rows: tuple[Row, ...]) -> Section:
    if page.kind == "matrix":
        scale_type = page.scale.type
        instruction = ui["rating" if scale_type == "rating" else "likert"]
        columns = _choices(page.questions[0], lang)
    else:
        instruction, columns = "", ()
    return Section(page.kind, page.name, page.title[lang], instruction, columns, rows)


def _filename(paper: Paper, ext: str) -> str:
    return f"{paper.id}_{paper.lang}.{ext}"


# --------------------------------------------------------------------------------------------------- HTML


@lru_cache(maxsize=1)
def _environment():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("iasem.instruments.export", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_html(instrument: Instrument, lang: str) -> dict[str, bytes]:
    """A standalone HTML page (inline CSS, no external resources) that prints on A4 and reads on a phone."""
    paper = build_paper(instrument, lang)
    html = (
        _environment().get_template("questionnaire.html.j2").render(paper=paper, ui=paper.ui, consent_code=CONSENT_CODE)
    )
    return {_filename(paper, "html"): html.encode("utf-8")}


# --------------------------------------------------------------------------------------------------- DOCX

BOX = "\u2610"  # ☐ BALLOT BOX; Word falls back to a symbol font where the body font lacks it
GREY = (0x76, 0x76, 0x76)
TEXT_WIDTH_MM = 170  # A4 (210 mm) less 20 mm margins


def render_docx(instrument: Instrument, lang: str) -> dict[str, bytes]:
    """A Word document: A4, one bordered table per matrix page whose header row repeats across pages."""
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt, RGBColor

    paper = build_paper(instrument, lang)
    ui = paper.ui
    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(20)
    section.top_margin = section.bottom_margin = Mm(18)
    normal = doc.styles["Normal"]
    normal.font.size = Pt(10.5)
    lang_el = OxmlElement("w:lang")
    lang_el.set(qn("w:val"), {"nl": "nl-NL", "en": "en-GB"}[lang])
    normal.element.get_or_add_rPr().insert_element_before(lang_el, "w:eastAsianLayout", "w:specVanish", "w:oMath")
    props = doc.core_properties
    props.title, props.language, props.subject = paper.title, lang, f"{paper.id} {paper.version}"
    props.author = props.last_modified_by = "iasem"

    def grey(paragraph, text: str, size: float = 7) -> None:
        run = paragraph.add_run(text)
        run.font.size = Pt(size)
        run.font.color.rgb = RGBColor(*GREY)

    def option_lines(choices: tuple[Choice, ...]) -> None:
        """One paragraph per option, kept together on a page (the last is free to end the page)."""
        for i, choice in enumerate(choices):
            p = doc.add_paragraph()
            p.paragraph_format.left_indent = Mm(6)
            p.paragraph_format.space_after = Pt(1)
            p.paragraph_format.keep_with_next = i < len(choices) - 1
            p.add_run(f"{BOX} {choice.label}")
            grey(p, f"  {choice.value}")

    def heading(text: str, level: int):
        h = doc.add_heading(text, level=level)
        h.paragraph_format.keep_with_next = True
        return h

    def row_props(row, header: bool) -> None:
        tr_pr = row._tr.get_or_add_trPr()
        cant_split = OxmlElement("w:cantSplit")
        tr_pr.append(cant_split)
        if header:
            tbl_header = OxmlElement("w:tblHeader")
            tr_pr.append(tbl_header)

    def shade(cell, fill: str) -> None:
        shd = OxmlElement("w:shd")
        shd.set(qn("w:val"), "clear")
        shd.set(qn("w:color"), "auto")
        shd.set(qn("w:fill"), fill)
        cell._tc.get_or_add_tcPr().insert_element_before(
            shd, "w:noWrap", "w:tcMar", "w:textDirection", "w:tcFitText", "w:vAlign", "w:hideMark"
        )

    def cell_text(cell, text: str, *, size: float | None = None, bold: bool = False, center: bool = False):
        p = cell.paragraphs[0]
        p.paragraph_format.space_after = Pt(0)
        if center:
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = p.add_run(text)
        run.bold = bold
        if size:
            run.font.size = Pt(size)
        cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
        return p

    title = doc.add_heading(paper.title, level=0)
    title.paragraph_format.space_after = Pt(2)
    grey(doc.add_paragraph(), f"{paper.id} · {ui['version']} {paper.version}", 8)
    doc.add_paragraph(paper.intro)

    heading(ui["consent"], 1)
    doc.add_paragraph(paper.consent).paragraph_format.keep_with_next = True
    hint = doc.add_paragraph()
    hint.paragraph_format.keep_with_next = True
    hint.add_run(ui["consent_hint"]).italic = True
    grey(hint, f"  {CONSENT_CODE}")
    option_lines(paper.consent_choices)

    for sec in paper.sections:
        heading(sec.title, 1)
        if sec.kind == "matrix":
            intro = doc.add_paragraph()
            intro.paragraph_format.keep_with_next = True
            intro.add_run(sec.instruction).italic = True
            k = len(sec.columns)
            option_mm = min(16.5, max(9.0, 85.0 / k))
            widths = [Mm(11), Mm(TEXT_WIDTH_MM - 11 - option_mm * k)] + [Mm(option_mm)] * k
            table = doc.add_table(rows=1 + len(sec.rows), cols=2 + k)
            table.style = doc.styles["Table Grid"]
            table.alignment = WD_TABLE_ALIGNMENT.CENTER
            table.autofit = False
            margins = OxmlElement("w:tblCellMar")  # narrow side margins (1.2 mm) leave room for the scale labels
            for side in ("left", "right"):
                margin = OxmlElement(f"w:{side}")
                margin.set(qn("w:w"), "68")
                margin.set(qn("w:type"), "dxa")
                margins.append(margin)
            table._tbl.tblPr.insert_element_before(margins, "w:tblLook", "w:tblCaption", "w:tblDescription")
            header = table.rows[0]
            row_props(header, header=True)
            cell_text(header.cells[0], ui["number"], size=8, bold=True)
            cell_text(header.cells[1], ui["statement"], size=8, bold=True)
            for cell, choice in zip(header.cells[2:], sec.columns, strict=True):
                p = cell_text(cell, choice.label, size=7.5, bold=True, center=True)
                grey(p, f"\n{choice.value}", 6.5)
            for cell in header.cells:
                shade(cell, "E7E6E6")
            for row, item in zip(table.rows[1:], sec.rows, strict=True):
                row_props(row, header=False)
                cell_text(row.cells[0], f"{item.number}.", size=9)
                p = cell_text(row.cells[1], item.text, size=9.5)
                grey(p, f"  {item.code}")
                for cell in row.cells[2:]:
                    cell_text(cell, BOX, size=12, center=True)
            # Word reads the cells' widths, LibreOffice the table grid's: set both.
            for column, width in zip(table.columns, widths, strict=True):
                column.width = width
            for row in table.rows:
                for cell, width in zip(row.cells, widths, strict=True):
                    cell.width = width
        else:
            for item in sec.rows:
                q = doc.add_paragraph()
                q.paragraph_format.keep_with_next = True
                q.paragraph_format.space_before = Pt(6)
                q.paragraph_format.space_after = Pt(1)
                q.add_run(f"{item.number}. ").bold = True
                q.add_run(item.text)
                grey(q, f"  {item.code}")
                h = doc.add_paragraph()
                h.paragraph_format.keep_with_next = True
                h.paragraph_format.space_after = Pt(2)
                run = h.add_run(item.hint)
                run.italic, run.font.size = True, Pt(8.5)
                if item.type == "integer":
                    p = doc.add_paragraph()
                    p.paragraph_format.left_indent = Mm(6)
                    run = p.add_run(BOX * item.digits)
                    run.font.size = Pt(16)
                elif item.type == "rating":
                    p = doc.add_paragraph()
                    p.paragraph_format.left_indent = Mm(6)
                    for i, choice in enumerate(item.choices):
                        p.add_run(("    " if i else "") + f"{BOX} {choice.label}")
                else:
                    option_lines(item.choices)
    end = doc.add_paragraph()
    end.paragraph_format.space_before = Pt(12)
    end.paragraph_format.keep_with_next = True
    end.add_run(paper.closing).bold = True
    grey(doc.add_paragraph(), ui["closing"], 8)

    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    grey(footer, f"{paper.title} · {ui['page']} ", 8)
    _page_field(footer)
    buffer = io.BytesIO()
    doc.save(buffer)
    return {_filename(paper, "docx"): buffer.getvalue()}


def _page_field(paragraph) -> None:
    """The page number, as Word's PAGE field (the only field in the document, and in the footer)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    props = OxmlElement("w:rPr")
    for tag, value in (("w:color", "767676"), ("w:sz", "16")):
        element = OxmlElement(tag)
        element.set(qn("w:val"), value)
        props.append(element)
    run.append(props)
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


# ---------------------------------------------------------------------------------------------------- PDF


def render_pdf(instrument: Instrument, lang: str) -> dict[str, bytes]:
    """An A4 PDF built with reportlab's platypus; matrix tables repeat their header row on a new page.

    Helvetica (a PDF standard font, WinAnsi encoding) covers Dutch diacritics; the answer boxes are drawn
    as shapes rather than as a ☐ character, which Helvetica lacks.
    """
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Flowable, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    paper = build_paper(instrument, lang)
    ui = paper.ui
    grey = colors.HexColor("#767676")
    base = ParagraphStyle("base", fontName="Helvetica", fontSize=10, leading=13, spaceAfter=4)
    styles = {
        "title": ParagraphStyle("title", base, fontName="Helvetica-Bold", fontSize=16, leading=20, spaceAfter=2),
        "h2": ParagraphStyle("h2", base, fontName="Helvetica-Bold", fontSize=12, leading=15, spaceBefore=10),
        "body": base,
        "hint": ParagraphStyle("hint", base, fontName="Helvetica-Oblique", fontSize=8.5, leading=11),
        "meta": ParagraphStyle("meta", base, fontSize=8, leading=10, textColor=grey),
        "code": ParagraphStyle("code", base, fontSize=6.5, leading=8, textColor=grey, spaceAfter=0),
        "cell": ParagraphStyle("cell", base, fontSize=9, leading=11, spaceAfter=0),
        "head": ParagraphStyle(
            "head", base, fontName="Helvetica-Bold", fontSize=7, leading=8.5, alignment=TA_CENTER, spaceAfter=0
        ),
        "headleft": ParagraphStyle("headleft", base, fontName="Helvetica-Bold", fontSize=7.5, leading=9, spaceAfter=0),
        "scalelabel": ParagraphStyle("scalelabel", base, fontSize=7, leading=8.5, alignment=TA_CENTER, spaceAfter=0),
        "headval": ParagraphStyle("headval", base, fontSize=6, leading=7, alignment=TA_CENTER, textColor=grey),
        "option": ParagraphStyle("option", base, fontSize=9.5, leading=12, spaceAfter=0),
        "closing": ParagraphStyle("closing", base, fontName="Helvetica-Bold", spaceBefore=12),
    }

    def para(text: str, style: str) -> Paragraph:
        # Paragraph parses XML-like markup, so every user text is escaped first.
        return Paragraph(xml_escape(text), styles[style])

    class Mark(Flowable):
        """An empty answer box: a circle (one answer) or a square (several answers, digits)."""

        def __init__(self, shape: str = "circle", size: float = 3.4 * mm):
            super().__init__()
            self.shape, self.size = shape, size

        def wrap(self, avail_width, avail_height):
            self.avail = avail_width
            return avail_width, self.size

        def draw(self):
            c = self.canv
            c.setLineWidth(0.8)
            x = self.avail / 2
            r = self.size / 2
            if self.shape == "circle":
                c.circle(x, r, r, stroke=1, fill=0)
            else:
                c.rect(x - r, 0, self.size, self.size, stroke=1, fill=0)

    def option_list(choices: tuple[Choice, ...], shape: str) -> Table:
        rows = [[Mark(shape), Paragraph(f"{xml_escape(c.label)} {_grey(c.value)}", styles["option"])] for c in choices]
        table = Table(rows, colWidths=[8 * mm, 150 * mm], hAlign="LEFT")
        table.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                    ("LEFTPADDING", (0, 0), (-1, -1), 2),
                    ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
                ]
            )
        )
        return table

    story: list = [
        para(paper.title, "title"),
        para(f"{paper.id} · {ui['version']} {paper.version}", "meta"),
        Spacer(1, 3 * mm),
        para(paper.intro, "body"),
        KeepTogether(
            [
                para(ui["consent"], "h2"),
                para(paper.consent, "body"),
                Paragraph(f"{xml_escape(ui['consent_hint'])} {_grey(CONSENT_CODE)}", styles["hint"]),
                option_list(paper.consent_choices, "circle"),
            ]
        ),
    ]
    text_width = A4[0] - 40 * mm
    for sec in paper.sections:
        if sec.kind == "matrix":
            k = len(sec.columns)
            option_w = min(15.5 * mm, max(9.5 * mm, 85 * mm / k))
            widths = [10 * mm, text_width - 10 * mm - option_w * k] + [option_w] * k
            header = [para(ui["number"], "headleft"), para(ui["statement"], "headleft")]
            header += [[para(c.label, "head"), para(str(c.value), "headval")] for c in sec.columns]
            data = [header]
            for item in sec.rows:
                data.append(
                    [para(f"{item.number}.", "cell"), [para(item.text, "cell"), para(item.code, "code")]]
                    + [Mark("circle") for _ in sec.columns]
                )
            table = Table(data, colWidths=widths, repeatRows=1)
            table.setStyle(
                TableStyle(
                    [
                        ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#8C8C8C")),
                        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#E7E6E6")),
                        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#F5F5F5")]),
                        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                        ("ALIGN", (2, 0), (-1, -1), "CENTER"),
                        ("LEFTPADDING", (0, 0), (-1, -1), 3),
                        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
                    ]
                )
            )
            story.append(KeepTogether([para(sec.title, "h2"), para(sec.instruction, "hint"), table]))
        else:
            story.append(para(sec.title, "h2"))
            for item in sec.rows:
                question = Paragraph(
                    f"<b>{item.number}.</b> {xml_escape(item.text)} {_grey(item.code)}",
                    ParagraphStyle("q", base, spaceBefore=4, spaceAfter=1),
                )
                parts: list = [question, para(item.hint, "hint")]
                if item.type == "integer":
                    boxes = Table([[""] * item.digits], colWidths=[7 * mm] * item.digits, rowHeights=[8 * mm])
                    boxes.hAlign = "LEFT"
                    boxes.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.8, colors.black)]))
                    parts.append(boxes)
                elif item.type == "rating":
                    n = len(item.choices)
                    grid = Table(
                        [[Mark("circle") for _ in item.choices], [para(c.label, "scalelabel") for c in item.choices]],
                        colWidths=[min(17 * mm, text_width / n)] * n,
                        hAlign="LEFT",
                    )
                    grid.setStyle(
                        TableStyle(
                            [
                                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                                ("LEFTPADDING", (0, 0), (-1, -1), 1),
                                ("RIGHTPADDING", (0, 0), (-1, -1), 1),
                            ]
                        )
                    )
                    parts.append(grid)
                else:
                    parts.append(option_list(item.choices, "square" if item.type == "multiple" else "circle"))
                story.append(KeepTogether(parts))
    story += [para(paper.closing, "closing"), para(ui["closing"], "meta")]

    def footer(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7.5)
        canvas.setFillColor(grey)
        canvas.drawCentredString(A4[0] / 2, 10 * mm, f"{paper.title} · {ui['page']} {doc.page}")
        canvas.restoreState()

    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=paper.title,
        author="iasem",
        subject=f"{paper.id} {paper.version}",
        lang={"nl": "nl-NL", "en": "en-GB"}[lang],
    )
    document.build(story, onFirstPage=footer, onLaterPages=footer)
    return {_filename(paper, "pdf"): buffer.getvalue()}


def _grey(text: object) -> str:
    """Reportlab markup for a small grey code or value (the text escaped)."""
    return f'<font size="6.5" color="#767676">{xml_escape(str(text))}</font>'
