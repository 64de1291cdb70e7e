"""XLSForm export: the workbook's layout, and the XForm that pyxform (with ODK Validate) builds from it."""

from __future__ import annotations

import io
import shutil
import xml.etree.ElementTree as ET

import pytest
from openpyxl import load_workbook

from iasem import load_instrument
from iasem.instruments.export import xlsform

from .conftest import construct_yaml

SPECS = ["relational", "intersectoral", "full"]
LANGS = ["nl", "en"]
LANG_COLUMNS = {"nl": "Nederlands (nl)", "en": "English (en)"}
NS = {"x": "http://www.w3.org/2002/xforms", "h": "http://www.w3.org/1999/xhtml", "jr": "http://openrosa.org/javarosa"}
FORMULA_START = ("=", "+", "-", "@")


def workbook_of(instrument, lang):
    files = xlsform.render(instrument, lang)
    assert list(files) == [f"{instrument.id}_xlsform.xlsx"]
    return load_workbook(io.BytesIO(files[f"{instrument.id}_xlsform.xlsx"]))


def sheet_dicts(sheet):
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    return [dict(zip(header, row, strict=True)) for row in rows[1:]]


def expected_label(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_START) else text


@pytest.fixture(scope="module", params=SPECS)
def instrument(request):
    return load_instrument(request.param)


@pytest.mark.parametrize("lang", LANGS)
def test_workbook_layout(instrument, lang):
    book = workbook_of(instrument, lang)
    assert book.sheetnames == ["survey", "choices", "settings"]

    settings = sheet_dicts(book["settings"])
    assert len(settings) == 1
    assert settings[0]["form_id"] == instrument.id
    assert settings[0]["version"] == instrument.spec.version
    assert settings[0]["form_title"] == instrument.spec.title[lang]
    assert settings[0]["default_language"] == LANG_COLUMNS[lang]

    survey = sheet_dicts(book["survey"])
    header = [cell.value for cell in book["survey"][1]]
    for column in ("label", "hint", "constraint_message"):
        assert [h for h in header if h.startswith(f"{column}::")] == [f"{column}::{LANG_COLUMNS[x]}" for x in LANGS]
    assert "label" not in header  # no untranslated label column next to the translated ones

    # intro, consent, one group per page, closing
    assert (survey[0]["type"], survey[0]["name"]) == ("note", "intro")
    assert survey[0]["label::English (en)"] == instrument.spec.intro.en
    consent = survey[1]
    assert (consent["type"], consent["name"], consent["required"]) == ("select_one consent_yes_no", "consent", "yes")
    assert consent["label::Nederlands (nl)"] == instrument.spec.consent.nl
    assert (survey[-1]["type"], survey[-1]["name"]) == ("note", "closing")
    groups = [row for row in survey if row["type"] == "begin_group"]
    assert [g["name"] for g in groups] == [page.name for page in instrument.pages]
    assert all(g["appearance"] == "field-list" and g["relevant"] == "${consent} = '1'" for g in groups)
    assert [g["label::English (en)"] for g in groups] == [page.title.en for page in instrument.pages]
    assert sum(row["type"] == "end_group" for row in survey) == len(instrument.pages)

    # every question, in the instrument's order, required, with both texts
    by_name = {row["name"]: row for row in survey if not row["type"].endswith("_group")}  # "part1": page, item
    answered = [row["name"] for row in survey if row["required"] == "yes" and row["name"] != "consent"]
    assert answered == [q.code for q in instrument.questions]
    for page in instrument.pages:
        for question in page.questions:
            row = by_name[question.code]
            assert row["label::Nederlands (nl)"] == question.text.nl
            assert row["label::English (en)"] == question.text.en
            if page.kind == "matrix":
                assert row["type"] == f"select_one {page.scale_id}"
                assert row["appearance"] == "list-nolabel"
        if page.kind == "matrix":  # the grid's header row shows the options once and stores nothing required
            header_row = by_name[f"{page.name}_header"]
            assert (header_row["type"], header_row["appearance"], header_row["required"]) == (
                f"select_one {page.scale_id}",
                "label",
                None,
            )

    background = {q.code: q for q in instrument.questions if q.kind == "background"}
    for code, question in background.items():
        row, scale = by_name[code], question.scale
        if scale.type == "integer":
            assert row["type"] == "integer"
            assert row["constraint"] == f". >= {scale.min} and . <= {scale.max}"
            assert f"{scale.min} tot en met {scale.max}" in row["constraint_message::Nederlands (nl)"]
            assert f"{scale.min} to {scale.max}" in row["constraint_message::English (en)"]
        elif scale.type == "multiple":
            assert row["type"] == f"select_multiple {question.scale_id}"
        else:
            assert row["type"] == f"select_one {question.scale_id}"
            assert row["appearance"] == ("likert" if scale.type == "rating" else None)
    if "grade" in background:
        assert by_name["grade"]["type"] == "select_one grade10"

    # choices: every list the survey uses, with the option values as names and both labels
    choices = sheet_dicts(book["choices"])
    lists: dict[str, list[tuple[str, str, str]]] = {}
    for row in choices:
        lists.setdefault(row["list_name"], []).append(
            (row["name"], row["label::Nederlands (nl)"], row["label::English (en)"])
        )
    assert lists.pop("consent_yes_no") == [("1", "Ja", "Yes"), ("0", "Nee", "No")]
    assert set(lists) == set(instrument.choice_scales)
    for scale_id, scale in instrument.choice_scales.items():
        assert lists[scale_id] == [(str(o.value), o.nl, o.en) for o in scale.options]


def test_attention_check_is_an_ordinary_matrix_row():
    instrument = load_instrument("intersectoral")
    survey = sheet_dicts(workbook_of(instrument, "nl")["survey"])
    check = next(q for q in instrument.questions if q.kind == "attention")
    row = next(r for r in survey if r["name"] == check.code)
    assert (row["type"], row["appearance"], row["required"]) == ("select_one agree5", "list-nolabel", "yes")
    # reverse keying is not revealed: nothing in the workbook mentions it
    cells = [
        str(v)
        for sheet in ("survey", "choices")
        for r in sheet_dicts(workbook_of(instrument, "nl")[sheet])
        for v in r.values()
        if v is not None
    ]
    assert not any("revers" in c.lower() or "omgepoold" in c.lower() for c in cells)


# --- the real consumer: pyxform and ODK Validate --------------------------------------------------------------


def to_xform(instrument, lang):
    from pyxform.xls2xform import convert

    if shutil.which("java") is None:
        pytest.skip("ODK Validate needs java on PATH")
    content = xlsform.render(instrument, lang)[f"{instrument.id}_xlsform.xlsx"]
    warnings: list[str] = []
    result = convert(xlsform=content, validate=True, warnings=warnings, file_type=".xlsx")
    assert warnings == []
    return ET.fromstring(result.xform)


def itext(root) -> dict[str, dict[str, str]]:
    """{language: {text id: value}} from the XForm's itext block."""
    out: dict[str, dict[str, str]] = {}
    for translation in root.iterfind(".//x:itext/x:translation", NS):
        out[translation.get("lang")] = {
            text.get("id"): "".join(text.find("x:value", NS).itertext()) for text in translation.iterfind("x:text", NS)
        }
    return out


@pytest.mark.slow
@pytest.mark.parametrize("lang", LANGS)
def test_pyxform_and_odk_validate_accept_it(instrument, lang):
    root = to_xform(instrument, lang)
    assert root.find("h:head/h:title", NS).text == instrument.spec.title[lang]

    translations = root.findall(".//x:itext/x:translation", NS)
    assert {t.get("lang") for t in translations} == set(LANG_COLUMNS.values())
    assert [t.get("lang") for t in translations if t.get("default") == "true()"] == [LANG_COLUMNS[lang]]
    texts = itext(root)

    binds = {b.get("nodeset"): b for b in root.iterfind(".//x:model/x:bind", NS)}
    form = root.find(".//x:model/x:instance", NS)[0].tag.split("}")[1]  # the primary instance's root node
    consent = binds[f"/{form}/consent"]
    assert consent.get("required") == "true()"
    for page in instrument.pages:
        group = binds[f"/{form}/{page.name}"]
        assert group.get("relevant").split() == [f"/{form}/consent", "=", "'1'"]
        for question in page.questions:
            path = f"/{form}/{page.name}/{question.code}"
            assert binds[path].get("required") == "true()", path
            assert texts["Nederlands (nl)"][f"{path}:label"] == question.text.nl
            assert texts["English (en)"][f"{path}:label"] == question.text.en
            if question.scale.type == "integer":
                assert binds[path].get("type") == "int"
                assert binds[path].get("constraint") == f". >= {question.scale.min} and . <= {question.scale.max}"
                assert f"{path}:jr:constraintMsg" in texts["English (en)"]
    answered = [p.rsplit("/", 1)[1] for p, b in binds.items() if b.get("required") == "true()"]
    assert answered == ["consent", *(q.code for q in instrument.questions)]

    # each choice list is a secondary instance holding the option values
    for scale_id, scale in instrument.choice_scales.items():
        names = [n.text for n in root.iterfind(f".//x:instance[@id='{scale_id}']/x:root/x:item/x:name", NS)]
        assert names == [str(o.value) for o in scale.options]
        first = root.find(f".//x:instance[@id='{scale_id}']/x:root/x:item/x:itextId", NS).text
        assert texts["English (en)"][first] == scale.options[0].en
        assert texts["Nederlands (nl)"][first] == scale.options[0].nl

    # matrix rows are list-nolabel selects inside a field-list group, after a header with appearance "label"
    body = root.find("h:body", NS)
    for page in (p for p in instrument.pages if p.kind == "matrix"):
        group = body.find(f"x:group[@ref='/{form}/{page.name}']", NS)
        assert group.get("appearance") == "field-list"
        selects = group.findall("x:select1", NS)
        assert [s.get("appearance") for s in selects] == ["label"] + ["list-nolabel"] * len(page.questions)
        assert [s.get("ref").rsplit("/", 1)[1] for s in selects[1:]] == [q.code for q in page.questions]


# --- formula safety -------------------------------------------------------------------------------------------


def test_formula_like_texts_are_neutralised(custom_spec):
    bank = construct_yaml("mine", "mine", first_text="=SUM(A1)").replace('"Uitspraak 2"', '"@cmd"')
    bank = bank.replace('"Statement 2"', '"+1 statement"').replace('"Uitspraak 3"', '"-2 uitspraak"')
    spec = custom_spec("constructs: [mine]\nbackground: [npartners]\nbank: [my_bank.yaml]\n", bank)
    instrument = load_instrument(spec)
    book = workbook_of(instrument, "nl")
    values = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    values.append(cell.value)
    assert not [v for v in values if v.startswith(FORMULA_START)]
    survey = {row["name"]: row for row in sheet_dicts(book["survey"])}
    assert survey["mine1"]["label::Nederlands (nl)"] == "'=SUM(A1)"
    assert survey["mine1"]["label::English (en)"] == "'=SUM(A1)"
    assert survey["mine2"]["label::Nederlands (nl)"] == "'@cmd"
    assert survey["mine2"]["label::English (en)"] == "'+1 statement"
    assert survey["mine3"]["label::Nederlands (nl)"] == "'-2 uitspraak"


@pytest.mark.slow
def test_formula_like_texts_survive_conversion(custom_spec):
    bank = construct_yaml("mine", "mine", first_text="=SUM(A1) & <b>x</b> 'q'")
    spec = custom_spec("constructs: [mine]\nbank: [my_bank.yaml]\n", bank)
    instrument = load_instrument(spec)
    root = to_xform(instrument, "en")
    texts = itext(root)
    assert texts["English (en)"]["/data/mine/mine1:label"] == "'=SUM(A1) & <b>x</b> 'q'"
