"""The printable questionnaire (HTML, DOCX, PDF): content, numbering, language, escaping and print layout.

Each format is read back with a real consumer: the HTML with lxml's HTML parser, the DOCX with python-docx,
the PDF with a small reader of its content streams (and with poppler's pdftotext where it is installed).
"""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
import zlib
from functools import cache
from importlib import resources
from pathlib import Path

import docx
import lxml.html
import pytest
import yaml
from docx.shared import Mm

from iasem.errors import IasemError
from iasem.instruments.export import export
from iasem.instruments.export.printable import CONSENT_CODE, UI, build_paper, render_docx, render_html, render_pdf
from iasem.instruments.instrument import Instrument, load_instrument

SPECS = ("relational", "intersectoral", "full")
LANGS = ("nl", "en")
BOX = "\u2610"

HOSTILE = "<script>alert(1)</script>"
FORMULAS = ("=SUM(A1)", "@cmd", "+31 6 1234", "-1 of de ander")
TRICKY = 'Tom & Jerry\'s "test" (één) \\ café'
N_LONG = 58  # items in one matrix: enough to run over a PDF page


@cache
def shipped(spec: str) -> Instrument:
    return load_instrument(spec)


@cache
def rendered(spec: str, lang: str, fmt: str) -> bytes:
    render = {"html": render_html, "docx": render_docx, "pdf": render_pdf}[fmt]
    files = render(shipped(spec), lang)
    assert list(files) == [f"{spec}_{lang}.{fmt}"]
    return files[f"{spec}_{lang}.{fmt}"]


def _item(code: str, nl: str, en: str) -> dict:
    return {"code": code, "reverse": False, "text": {"nl": nl, "en": en}}


def _text(nl: str, en: str) -> dict:
    return {"nl": nl, "en": en}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Instrument:
    """A designer's own bank with texts that are markup, formulas and PDF string delimiters, and a long matrix."""
    root = tmp_path_factory.mktemp("hostile")
    hostile_items = [
        _item("xhost1", HOSTILE, HOSTILE),
        _item("xhost2", FORMULAS[0], FORMULAS[0]),
        _item("xhost3", FORMULAS[1], FORMULAS[1]),
        _item("xhost4", TRICKY, TRICKY),
        _item("xhost5", FORMULAS[2], FORMULAS[3]),
    ]
    long_items = [
        _item(f"xlong{i}", f"Stelling nummer {i} over één café.", f"Statement number {i}.") for i in range(N_LONG)
    ]
    construct = {
        "framework_id": "TEST",
        "category": "relational",
        "source": "test",
        "scale": "agree5",
        "definition": _text("Een test.", "A test."),
    }
    bank = {
        "constructs": [
            {
                **construct,
                "id": "xhostile",
                "name": _text("Vijandig <b>vet</b>", "Hostile <b>bold</b>"),
                "items": hostile_items,
            },
            {**construct, "id": "xlong", "name": _text("Lang", "Long"), "items": long_items},
        ]
    }
    spec = {
        "id": "hostile",
        "version": "2.0",
        "title": _text("Titel <i>&</i> co", "Title <i>&</i> co"),
        "languages": ["nl", "en"],
        "default_language": "en",
        "intro": _text("Intro </p><p>nl", "Intro </p><p>en"),
        "consent": _text("Toestemming & zo", "Consent & such"),
        "closing": _text("Dank <br>", "Thanks <br>"),
        "constructs": ["xhostile", "xlong"],
        "background": ["atype", "npartners", "goals", "grade"],
        "attention_check": True,
        "bank": ["my_bank.yaml"],
    }
    (root / "my_bank.yaml").write_text(yaml.safe_dump(bank, allow_unicode=True), encoding="utf-8")
    (root / "hostile.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return load_instrument(root / "hostile.yaml")


def norm(text: str) -> str:
    return " ".join(text.split())


def other_language_texts(inst: Instrument, lang: str) -> list[str]:
    """Item texts of the other language that differ from every text in ``lang`` (so their absence is telling)."""
    other = "en" if lang == "nl" else "nl"
    own = {q.text[lang] for q in inst.questions}
    return [q.text[other] for q in inst.questions if q.text[other] not in own and len(q.text[other]) > 12]


def numbered(inst: Instrument):
    """(number, question, page) for every question, numbered continuously from 1."""
    n = 0
    for page in inst.pages:
        for question in page.questions:
            n += 1
            yield n, question, page


# ------------------------------------------------------------------------------------------------ model


@pytest.mark.parametrize("spec", SPECS)
def test_paper_numbers_every_question_once_in_page_order(spec):
    inst = shipped(spec)
    paper = build_paper(inst, "nl")
    rows = [row for section in paper.sections for row in section.rows]
    assert [r.number for r in rows] == list(range(1, len(inst.questions) + 1))
    assert [r.code for r in rows] == [q.code for q in inst.questions]
    assert len(paper.matrices) == sum(p.kind == "matrix" for p in inst.pages) >= 2
    assert [c.value for c in paper.consent_choices] == [1, 0]


def test_unknown_or_unoffered_language_is_refused(hostile):
    with pytest.raises(IasemError, match="unknown language"):
        render_html(hostile, "de")
    folder = Path(hostile.source).parent
    spec = yaml.safe_load((folder / "hostile.yaml").read_text(encoding="utf-8"))
    spec.update(id="nlonly", languages=["nl"], default_language="nl")
    (folder / "nlonly.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    nl_only = load_instrument(folder / "nlonly.yaml")
    assert "nlonly_nl.html" in render_html(nl_only, "nl")
    for render in (render_html, render_docx, render_pdf):
        with pytest.raises(IasemError, match="not offered in 'en'"):
            render(nl_only, "en")


def test_registry_writes_the_three_printable_files(hostile, tmp_path):
    paths = export(hostile, "html,docx,pdf", tmp_path, lang="nl")
    assert sorted(p.name for p in paths) == ["hostile_nl.docx", "hostile_nl.html", "hostile_nl.pdf"]
    assert (tmp_path / "hostile_nl.pdf").read_bytes().startswith(b"%PDF-")


# ------------------------------------------------------------------------------------------------- HTML


def test_template_ships_inside_the_package():
    template = resources.files("iasem.instruments.export").joinpath("templates/questionnaire.html.j2")
    assert template.is_file()
    assert "{{ paper.title }}" in template.read_text(encoding="utf-8")


def html_tree(data: bytes):
    return lxml.html.document_fromstring(data.decode("utf-8"))


def check_html(inst: Instrument, lang: str, data: bytes) -> None:
    text = data.decode("utf-8")
    tree = html_tree(data)
    spec = inst.spec
    assert text.startswith("<!DOCTYPE html>")
    assert tree.get("lang") == lang
    assert tree.find(".//meta[@charset]").get("charset") == "utf-8"
    assert "width=device-width" in tree.xpath("//meta[@name='viewport']/@content")[0]
    assert tree.findtext(".//title") == spec.title[lang]
    assert tree.findtext(".//h1") == spec.title[lang]
    # standalone: inline CSS only, nothing fetched
    assert not tree.xpath("//script | //link | //img | //iframe | //@src | //@href")
    css = "".join(tree.xpath("//style/text()"))
    assert "@page" in css and "size: A4" in css and "page-break-inside: avoid" in css and "url(" not in css
    body = norm(tree.body.text_content())
    for part in (spec.intro[lang], spec.consent[lang], spec.closing[lang]):
        assert norm(part) in body

    consent = tree.xpath("//section[@class='consent']")[0]
    options = consent.xpath(".//li")
    assert [norm(li.text_content()) for li in options] == [f"{UI[lang]['consent_yes']}1", f"{UI[lang]['consent_no']}0"]
    assert all(li.xpath("./span[contains(@class, 'box')]") for li in options)
    assert CONSENT_CODE in consent.text_content()

    tables = tree.xpath("//table[@class='matrix']")
    matrix_pages = [p for p in inst.pages if p.kind == "matrix"]
    assert len(tables) == len(matrix_pages)
    numbers = iter(numbered(inst))
    for table, page in zip(tables, matrix_pages, strict=True):
        labels = [norm(th.text or "") for th in table.xpath("./thead/tr/th")]
        assert labels == [UI[lang]["number"], UI[lang]["statement"]] + [getattr(o, lang) for o in page.scale.options]
        values = table.xpath("./thead/tr/th/span[@class='val']/text()")
        assert values == [str(o.value) for o in page.scale.options]
        rows = table.xpath("./tbody/tr")
        assert len(rows) == len(page.questions)
        for row, question in zip(rows, page.questions, strict=True):
            number, expected, _ = next(numbers)
            assert expected is question
            cells = row.xpath("./td")
            assert cells[0].text_content() == f"{number}."
            assert cells[1].text == question.text[lang]
            assert cells[1].xpath("./span[@class='code']/text()") == [question.code]
            assert len(row.xpath(".//span[contains(@class, 'box')]")) == len(page.scale.options) == len(cells) - 2
    for number, question, page in numbers:
        assert page.kind == "background"
        block = tree.get_element_by_id(f"q-{question.code}")
        assert (
            norm(block.xpath(".//p[@class='qtext']")[0].text_content())
            == f"{number}. {question.text[lang]}{question.code}"
        )
        if question.scale.type == "integer":
            digits = len(str(question.scale.max))
            assert len(block.xpath(".//span[contains(@class, 'digit')]")) == digits
            assert str(question.scale.max) in block.text_content()
        else:
            items = block.xpath(".//li")
            assert [norm(li.text_content()) for li in items] == [
                f"{getattr(o, lang)}{o.value}" for o in question.scale.options
            ]
            shape = "box" if question.scale.type == "multiple" else "box circle"
            assert all(li.xpath(f"./span[@class='{shape}']") for li in items)
    for foreign in other_language_texts(inst, lang):
        assert norm(foreign) not in body
    assert "reverse" not in body.lower() and "omgekeerd" not in body.lower()


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("spec", SPECS)
def test_html_shows_every_question_in_its_language(spec, lang):
    check_html(shipped(spec), lang, rendered(spec, lang, "html"))


@pytest.mark.parametrize("spec", SPECS)
def test_html_attention_check_is_an_ordinary_matrix_row(spec):
    inst = shipped(spec)
    tree = html_tree(rendered(spec, "en", "html"))
    code = inst.bank.attention_check.code
    assert inst.spec.attention_check
    row = tree.get_element_by_id(f"q-{code}")
    assert row.tag == "tr" and row.getparent().getparent().get("class") == "matrix"
    assert row.get("class") is None


@pytest.mark.parametrize("lang", LANGS)
def test_html_escapes_hostile_texts(hostile, lang):
    data = render_html(hostile, lang)[f"hostile_{lang}.html"]
    check_html(hostile, lang, data)
    text = data.decode("utf-8")
    tree = html_tree(data)
    assert not tree.xpath("//script | //b | //i | //br")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and HOSTILE not in text
    assert tree.get_element_by_id("q-xhost1").xpath("./td")[1].text == HOSTILE
    assert tree.findtext(".//h1") == hostile.spec.title[lang]
    assert len(tree.xpath("//section[@class='intro']/p")) == 1
    # on paper a formula-like text is printed as written (no quote prefix), and stays text
    assert tree.get_element_by_id("q-xhost2").xpath("./td")[1].text == "=SUM(A1)"
    assert tree.get_element_by_id("q-xhost3").xpath("./td")[1].text == "@cmd"
    assert tree.get_element_by_id("q-xhost4").xpath("./td")[1].text == TRICKY
    assert len(tree.xpath("//table[@class='matrix']")) == 2
    assert len(tree.xpath("//table[@class='matrix']")[1].xpath("./tbody/tr")) == N_LONG + 1  # with the check


# ------------------------------------------------------------------------------------------------- DOCX


def check_docx(inst: Instrument, lang: str, data: bytes) -> None:
    doc = docx.Document(io.BytesIO(data))
    section = doc.sections[0]
    assert abs(section.page_width - Mm(210)) < Mm(1) and abs(section.page_height - Mm(297)) < Mm(1)
    assert section.left_margin >= Mm(15) and section.top_margin >= Mm(15)
    assert doc.core_properties.title == inst.spec.title[lang]
    paragraphs = [p.text for p in doc.paragraphs]
    assert paragraphs[0] == inst.spec.title[lang]
    assert doc.paragraphs[0].style.name == "Title"
    for part in (inst.spec.intro[lang], inst.spec.consent[lang], inst.spec.closing[lang]):
        assert part in paragraphs
    consent_at = paragraphs.index(inst.spec.consent[lang])
    assert paragraphs.index(inst.spec.intro[lang]) < consent_at
    assert paragraphs[consent_at + 2 : consent_at + 4] == [
        f"{BOX} {UI[lang]['consent_yes']}  1",
        f"{BOX} {UI[lang]['consent_no']}  0",
    ]

    matrix_pages = [p for p in inst.pages if p.kind == "matrix"]
    assert len(doc.tables) == len(matrix_pages)
    numbers = iter(numbered(inst))
    for table, page in zip(doc.tables, matrix_pages, strict=True):
        options = page.scale.options
        assert table.style.name == "Table Grid"
        assert len(table.rows) == len(page.questions) + 1
        assert len(table.columns) == len(options) + 2
        header = table.rows[0]
        assert header._tr.trPr.find(docx.oxml.ns.qn("w:tblHeader")) is not None  # repeats on every page
        assert [c.text for c in header.cells[2:]] == [f"{getattr(o, lang)}\n{o.value}" for o in options]
        for row, question in zip(table.rows[1:], page.questions, strict=True):
            number, expected, _ = next(numbers)
            assert expected is question
            cells = [c.text for c in row.cells]
            assert cells[:2] == [f"{number}.", f"{question.text[lang]}  {question.code}"]
            assert cells[2:] == [BOX] * len(options)
    for number, question, _page in numbers:
        at = paragraphs.index(f"{number}. {question.text[lang]}  {question.code}")
        if question.scale.type == "integer":
            assert paragraphs[at + 2] == BOX * len(str(question.scale.max))
        elif question.scale.type == "rating":
            assert paragraphs[at + 2] == "    ".join(f"{BOX} {getattr(o, lang)}" for o in question.scale.options)
        else:
            choices = [f"{BOX} {getattr(o, lang)}  {o.value}" for o in question.scale.options]
            assert paragraphs[at + 2 : at + 2 + len(choices)] == choices
    everything = "\n".join(paragraphs + [c.text for t in doc.tables for r in t.rows for c in r.cells])
    for foreign in other_language_texts(inst, lang):
        assert foreign not in everything
    # no text became a Word field: the only field is the page number in the footer
    body = doc.element.body.xml
    assert "instrText" not in body and "fldSimple" not in body and "fldChar" not in body
    assert 'w:instr="PAGE"' in section.footer._element.xml


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("spec", SPECS)
def test_docx_has_a_table_per_matrix_page(spec, lang):
    check_docx(shipped(spec), lang, rendered(spec, lang, "docx"))


@pytest.mark.parametrize("lang", LANGS)
def test_docx_keeps_hostile_texts_as_plain_text(hostile, lang):
    data = render_docx(hostile, lang)["hostile_" + lang + ".docx"]
    check_docx(hostile, lang, data)
    doc = docx.Document(io.BytesIO(data))
    texts = [row.cells[1].text for row in doc.tables[0].rows[1:]]
    assert f"{HOSTILE}  xhost1" in texts and "=SUM(A1)  xhost2" in texts and f"{TRICKY}  xhost4" in texts
    assert len(doc.tables[1].rows) == N_LONG + 2


# -------------------------------------------------------------------------------------------------- PDF


def _pdf_string(raw: bytes) -> str:
    """Decode a PDF literal string's escapes; reportlab writes Helvetica text in WinAnsi (cp1252)."""
    out = bytearray()
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == 0x5C:  # backslash
            nxt = raw[i + 1 : i + 2]
            if nxt.isdigit():
                octal = re.match(rb"[0-7]{1,3}", raw[i + 1 : i + 4]).group()
                out.append(int(octal, 8))
                i += 1 + len(octal)
                continue
            out += {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}.get(nxt, nxt)
            i += 2
            continue
        out.append(ch)
        i += 1
    return out.decode("cp1252")


def pdf_pages(data: bytes) -> list[str]:
    """The text shown on each page, in drawing order, read from the (ASCII85 + Flate) content streams."""
    pages = []
    for match in re.finditer(rb"<<(.*?)>>\s*stream\r?\n(.*?)endstream", data, re.S):
        head, stream = match.groups()
        if b"/Type /XObject" in head or b"/Length1" in head:
            continue
        if b"/ASCII85Decode" in head:
            stream = base64.a85decode(stream.strip().removesuffix(b"~>").replace(b"\n", b""))
        if b"/FlateDecode" in head:
            stream = zlib.decompress(stream)
        # the strings of one line are drawn back to back; a new line (T*, Td, Tm) or text block starts a word
        shown = [
            " " if operator else _pdf_string(string)
            for string, operator in re.findall(
                rb"\(((?:\\.|[^\\)])*)\)\s*Tj|(?<!\w)(T\*|Td|TD|Tm|BT|ET)(?!\w)", stream, re.S
            )
        ]
        pages.append(norm("".join(shown)))
    return pages


def check_pdf(inst: Instrument, lang: str, data: bytes) -> list[str]:
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert b"/MediaBox [ 0 0 595.2756 841.8898 ]" in data  # A4
    n_pages = len(re.findall(rb"/Type /Page\b(?!s)", data))
    pages = pdf_pages(data)
    assert len(pages) == n_pages >= 1
    # Helvetica covers every character; no glyph fell back to the Symbol or ZapfDingbats font
    assert b"/BaseFont /Helvetica" in data and b"/ZapfDingbats" not in data and b"/BaseFont /Symbol" not in data
    text = " ".join(pages)
    assert norm(inst.spec.title[lang]) in text
    for part in (inst.spec.intro[lang], inst.spec.consent[lang], inst.spec.closing[lang]):
        assert norm(part) in text
    assert UI[lang]["consent_yes"] in text
    position = 0
    for number, question, page in numbered(inst):
        # every question, numbered, in order; a matrix row's text is followed by its code
        found = text.find(norm(question.text[lang]), position)
        assert found > position, (number, question.code)
        assert text.rfind(f"{number}.", position, found) >= 0
        position = found
        if page.kind == "matrix":
            assert text[found + len(norm(question.text[lang])) :].startswith(f" {question.code}")
    for page in inst.pages:
        for option in page.scale.options if page.kind == "matrix" else ():
            assert norm(getattr(option, lang)) in text
    for foreign in other_language_texts(inst, lang):
        assert norm(foreign) not in text
    return pages


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("spec", SPECS)
def test_pdf_contains_every_question_in_order(spec, lang):
    pages = check_pdf(shipped(spec), lang, rendered(spec, lang, "pdf"))
    assert len(pages) >= 3
    if lang == "nl":
        assert "één" in " ".join(pages)  # Dutch diacritics survive in the text


@pytest.mark.parametrize("lang", LANGS)
def test_pdf_escapes_hostile_texts_and_repeats_the_header_row(hostile, lang):
    data = render_pdf(hostile, lang)[f"hostile_{lang}.pdf"]
    pages = check_pdf(hostile, lang, data)
    text = " ".join(pages)
    for item in (HOSTILE, "=SUM(A1)", "@cmd", TRICKY, "Titel <i>&</i> co" if lang == "nl" else "Title <i>&</i> co"):
        assert item in text
    # the long matrix runs over several pages, each starting with the header row again
    agree5 = hostile.bank.scales["agree5"].options
    header = " ".join([UI[lang]["number"], UI[lang]["statement"], *(f"{getattr(o, lang)} {o.value}" for o in agree5)])
    spanned = [page for page in pages if "xlong" in page]
    assert len(spanned) >= 2
    for page in spanned:
        assert page.count(header) == 1 and page.index(header) < page.index("xlong")


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler's pdftotext is not installed")
@pytest.mark.parametrize("lang", LANGS)
def test_pdftotext_reads_the_pdf(lang):
    inst = shipped("intersectoral")
    result = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=rendered("intersectoral", lang, "pdf"), capture_output=True
    )
    assert result.returncode == 0, result.stderr
    text = norm(result.stdout.decode("utf-8"))
    assert norm(inst.spec.title[lang]) in text and norm(inst.spec.intro[lang]) in text
    for question in inst.questions:
        assert question.code in text
    if lang == "nl":
        assert "één" in text
