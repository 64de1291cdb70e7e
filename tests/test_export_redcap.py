"""REDCap export: a data dictionary checked with the rules REDCap's upload applies (MetaData.php's checks)."""

from __future__ import annotations

import re

import pytest

from iasem import load_instrument
from iasem.instruments.export import export, redcap

from .conftest import collapse, plain, read_delimited, tricky_bank

SPECS = ["relational", "intersectoral", "full"]
LANGS = ["nl", "en"]
FORMULA_START = ("=", "+", "-", "@")
HEADER = [
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
]
NAME = re.compile(r"^[a-z][a-z0-9_]*$")
CHOICES = re.compile(r"^-?\d+, [^|]+( \| -?\d+, [^|]+)*$")
FIELD_TYPES = {
    "text",
    "notes",
    "radio",
    "dropdown",
    "calc",
    "file",
    "checkbox",
    "yesno",
    "truefalse",
    "descriptive",
    "slider",
}
RESERVED = {"redcap_event_name", "redcap_data_access_group", "redcap_repeat_instrument", "redcap_repeat_instance"}
NAME_COL, FORM, HEADER_COL, TYPE, LABEL, CHOICE_COL = HEADER[:6]
VALIDATION, MIN, MAX, BRANCHING, REQUIRED, GROUP = HEADER[7], HEADER[8], HEADER[9], HEADER[11], HEADER[12], HEADER[15]


def parse(data: bytes) -> tuple[list[str], list[dict[str, str]]]:
    text = data.decode("utf-8-sig")
    return read_delimited(text)


def parse_choices(cell: str) -> list[tuple[int, str]]:
    assert CHOICES.match(cell), cell
    return [(int(code), plain(label)) for code, label in (part.split(", ", 1) for part in cell.split(" | "))]


def render(instrument, lang):
    files = redcap.render(instrument, lang)
    assert list(files) == [f"{instrument.id}_redcap.csv"]
    return parse(files[f"{instrument.id}_redcap.csv"])


def check_upload_rules(rows: list[dict[str, str]]) -> None:
    """The checks REDCap runs on an uploaded data dictionary that would reject or rewrite this one."""
    names = [r[NAME_COL] for r in rows]
    assert len(names) == len(set(names)), "duplicate variable names"
    for name in names:
        assert NAME.match(name) and len(name) <= 26 and "__" not in name and not name.endswith("_"), name
        assert name not in RESERVED
    assert rows[0][TYPE] == "text", "the record identifier comes first and is a text field"
    forms = [r[FORM] for r in rows]
    assert all(NAME.match(f) and len(f) <= 50 for f in forms)
    assert [f for i, f in enumerate(forms) if i == 0 or forms[i - 1] != f] == list(dict.fromkeys(forms)), "forms"
    for row in rows:
        assert row[TYPE] in FIELD_TYPES, row
        assert row[REQUIRED] in ("y", ""), row
        if row[TYPE] in ("radio", "checkbox", "dropdown"):
            parse_choices(row[CHOICE_COL])
        else:
            assert row[CHOICE_COL] == "", row
        if row[VALIDATION]:
            assert row[TYPE] == "text" and row[VALIDATION] == "integer", row
        else:
            assert row[MIN] == row[MAX] == "", row
        for field in re.findall(r"\[([a-z0-9_]+)\]", row[BRANCHING]):
            assert field in names[: names.index(row[NAME_COL])], f"branching on a later or unknown field: {field}"
    # matrix groups: consecutive rows, one field type (radio/checkbox), identical choices
    groups = [r[GROUP] for r in rows]
    seen: set[str] = set()
    for i, group in enumerate(groups):
        if not group:
            continue
        assert re.fullmatch(r"[a-z0-9_]{1,60}", group), group
        if i == 0 or groups[i - 1] != group:
            assert group not in seen, f"matrix group {group} is not consecutive"
            seen.add(group)
            first = rows[i]
            assert first[TYPE] in ("radio", "checkbox")
        assert (rows[i][TYPE], rows[i][CHOICE_COL]) == (first[TYPE], first[CHOICE_COL])
        if i > 0 and groups[i - 1] == group:
            assert rows[i][HEADER_COL] == "", "a section header inside a matrix splits it"


@pytest.fixture(scope="module", params=SPECS)
def instrument(request):
    return load_instrument(request.param)


@pytest.mark.parametrize("lang", LANGS)
def test_dictionary_passes_redcap_upload_rules(instrument, lang):
    header, rows = render(instrument, lang)
    assert header == HEADER
    check_upload_rules(rows)
    assert {r[FORM] for r in rows} == {instrument.id}
    assert [r[NAME_COL] for r in rows[:3]] == ["record_id", "intro", "consent"]
    assert rows[-1][NAME_COL] == "closing" and rows[-1][TYPE] == "descriptive"


@pytest.mark.parametrize("lang", LANGS)
def test_intro_consent_and_branching(instrument, lang):
    _, rows = render(instrument, lang)
    spec = instrument.spec
    intro, consent = rows[1], rows[2]
    assert intro[TYPE] == "descriptive" and collapse(spec.intro[lang]) in plain(intro[LABEL])
    assert (consent[TYPE], consent[REQUIRED]) == ("yesno", "y")
    assert plain(consent[LABEL]) == collapse(spec.consent[lang])
    assert [r[REQUIRED] for r in rows].count("y") == 1
    assert {r[BRANCHING] for r in rows[3:]} == {"[consent] = '1'"}
    assert not any(r[BRANCHING] for r in rows[:3])
    assert plain(rows[-1][LABEL]) == collapse(spec.closing[lang])


@pytest.mark.parametrize("lang", LANGS)
def test_every_question_once_with_its_scale(instrument, lang):
    _, rows = render(instrument, lang)
    by_name = {r[NAME_COL]: r for r in rows}
    questions = instrument.questions
    assert [r[NAME_COL] for r in rows[3:-1]] == [q.code for q in questions]
    for page in instrument.pages:
        page_rows = [by_name[q.code] for q in page.questions]
        assert plain(page_rows[0][HEADER_COL]) == collapse(page.title[lang])
        assert not any(r[HEADER_COL] for r in page_rows[1:])
        if page.kind == "matrix":
            assert {r[GROUP] for r in page_rows} == {page.name}
            assert {r[TYPE] for r in page_rows} == {"radio"}
        else:
            assert not any(r[GROUP] for r in page_rows)
    for question in questions:
        row = by_name[question.code]
        assert plain(row[LABEL]) == collapse(question.text[lang])
        scale = question.scale
        if scale.type == "integer":
            assert (row[TYPE], row[VALIDATION], row[MIN], row[MAX]) == (
                "text",
                "integer",
                str(scale.min),
                str(scale.max),
            )
        else:
            assert row[TYPE] == ("checkbox" if scale.type == "multiple" else "radio")
            assert parse_choices(row[CHOICE_COL]) == [(o.value, o.label[lang]) for o in scale.options]
    attention = [q for q in questions if q.kind == "attention"]
    if attention:
        assert by_name[attention[0].code][GROUP], "the attention check is a row of a matrix"


def test_rules_catch_a_broken_dictionary():
    _, rows = render(load_instrument("relational"), "nl")
    check_upload_rules(rows)
    broken_group = [dict(r) for r in rows]
    moved = max(i for i, r in enumerate(broken_group) if r[GROUP] == "ksr")
    broken_group[moved][GROUP] = "rsa"  # rsa is no longer consecutive
    broken_choices = [dict(r) for r in rows]
    broken_choices[4][CHOICE_COL] = "1, Ja | 2, Nee"
    broken_name = [dict(r) for r in rows]
    broken_name[5][NAME_COL] = "Rsa_2"
    for broken in (broken_group, broken_choices, broken_name):
        with pytest.raises(AssertionError):
            check_upload_rules(broken)


def test_cells_cannot_run_as_formulas_or_pipe(custom_spec, tmp_path):
    spec = custom_spec("constructs: [mine]\nbank: [my_bank.yaml]\n", tricky_bank())
    paths = export(load_instrument(spec), "redcap", tmp_path / "out", lang="nl")
    assert [p.name for p in paths] == ["custom_redcap.csv"]
    _, rows = parse(paths[0].read_bytes())
    check_upload_rules(rows)
    cells = [cell for row in rows for cell in row.values()]
    assert not [cell for cell in cells if cell.startswith(FORMULA_START)]
    labels = {r[NAME_COL]: r[LABEL] for r in rows}
    assert not any("[" in label or "|" in label for label in labels.values()), "no piping, no choice separator"
    assert plain(labels["mine1"]) == "=SUM(A1)"
    assert plain(labels["mine2"]) == "@cmd"
    assert plain(labels["mine3"]) == "-1 of +1"
    assert plain(labels["mine4"]) == 'Tekst <b>{x}</b> "q" & [y] | $z {z}'
