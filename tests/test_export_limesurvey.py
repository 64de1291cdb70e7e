"""LimeSurvey export: the tab-separated survey structure, read back the way LimeSurvey's importer reads it.

LimeSurvey's importer (``TSVImportSurvey`` in application/helpers/admin/import_helper.php) reads the
header, maps every row onto it, and pairs the rows of each language with the base language's: groups by
their position within the language, questions by group and code, subquestions by question, scale and code.
``imported`` below does the same, so the tests check what LimeSurvey would build, not only the text.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from iasem import load_instrument
from iasem.instruments.export import export, limesurvey

from .conftest import collapse, construct_yaml, plain, read_delimited, tricky_bank

SPECS = ["relational", "intersectoral", "full"]
LANGS = ["nl", "en"]
OTHER = {"nl": "en", "en": "nl"}
BASE_COLUMNS = [
    "id",
    "related_id",
    "class",
    "type/scale",
    "name",
    "relevance",
    "text",
    "help",
    "language",
    "validation",
    "mandatory",
    "other",
    "default",
    "same_default",
]
# LimeSurvey's own validation rules (models/Question.php, models/Answer.php).
QUESTION_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,19}$")
SUBQUESTION_CODE = re.compile(r"^[A-Za-z0-9]{1,20}$")
ANSWER_CODE = re.compile(r"^[A-Za-z0-9]{1,5}$")
RESERVED = {"LANG", "SID", "SAVEDID", "TOKEN", "QID", "GID", "SGQ", "self", "that", "this"}
FORMULA_START = ("=", "+", "-", "@")


def parse(data: bytes) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows, as the importer's fgetcsv(tab, '"') loop sees them."""
    text = data.decode("utf-8")
    assert text.startswith("\ufeff"), "LimeSurvey's own export starts with a BOM; Excel needs it for UTF-8"
    return read_delimited(text[1:], "\t")


def imported(rows: list[dict[str, str]]) -> dict:
    """Groups, questions, subquestions and answers as TSVImportSurvey keys them, with texts per language."""
    groups: dict[str, dict] = {}
    questions: dict[tuple, dict] = {}
    subquestions: dict[tuple, dict] = {}
    answers: dict[tuple, dict] = {}
    last_lang, counter, gid, qid = "", 0, None, None
    for row in rows:
        cls, lang = row["class"], row["language"]
        if cls == "G":
            if lang != last_lang:
                counter = 0
            last_lang = lang
            gid = row["type/scale"] or f"G{counter}"
            counter += 1
            groups.setdefault(gid, {})[lang] = row
        elif cls == "Q":
            qid = (gid, row["name"])
            questions.setdefault(qid, {})[lang] = row
        elif cls == "SQ":
            subquestions.setdefault((qid, row["type/scale"] or "0", row["name"]), {})[lang] = row
        elif cls == "A":
            answers.setdefault((qid, row["type/scale"] or "0", row["name"]), {})[lang] = row
    return {"groups": groups, "questions": questions, "subquestions": subquestions, "answers": answers}


def blocks(rows: list[dict[str, str]]) -> list[tuple[str, list[dict[str, str]]]]:
    """The G/Q/SQ/A rows cut into consecutive runs of one language."""
    runs: list[tuple[str, list]] = []
    for row in rows:
        if row["class"] in ("S", "SL"):
            continue
        if not runs or runs[-1][0] != row["language"]:
            runs.append((row["language"], []))
        runs[-1][1].append(row)
    return runs


def render(instrument, lang):
    files = limesurvey.render(instrument, lang)
    assert list(files) == [f"{instrument.id}_limesurvey.txt"]
    return parse(files[f"{instrument.id}_limesurvey.txt"])


@pytest.fixture(scope="module", params=SPECS)
def instrument(request):
    return load_instrument(request.param)


@pytest.mark.parametrize("lang", LANGS)
def test_header_and_row_order(instrument, lang):
    header, rows = render(instrument, lang)
    assert header[: len(BASE_COLUMNS)] == BASE_COLUMNS
    assert set(header[len(BASE_COLUMNS) :]) == {"max_num_value_n", "min_num_value_n", "num_value_int_only"}
    classes = " ".join(row["class"] for row in rows)
    assert re.fullmatch(r"(S )+(SL )+(G (Q (SQ |A )*)*)+", classes + " "), classes[:200]

    settings = {row["name"]: row["text"] for row in rows if row["class"] == "S"}
    assert settings["language"] == lang
    assert settings["additional_languages"] == OTHER[lang]
    assert settings["format"] == "G"

    spec = instrument.spec
    for language in LANGS:
        ls = {row["name"]: plain(row["text"]) for row in rows if row["class"] == "SL" and row["language"] == language}
        assert ls["surveyls_title"] == collapse(spec.title[language])
        assert ls["surveyls_description"] == collapse(spec.intro[language])
        assert collapse(spec.intro[language]) in ls["surveyls_welcometext"]
        assert collapse(spec.consent[language]) in ls["surveyls_welcometext"]
        assert ls["surveyls_endtext"] == f"<p>{collapse(spec.closing[language])}</p>"


@pytest.mark.parametrize("lang", LANGS)
def test_every_language_has_the_same_structure(instrument, lang):
    _, rows = render(instrument, lang)
    runs = blocks(rows)
    assert [language for language, _ in runs] == [lang, OTHER[lang]], "base language first, then one block each"
    shape = [
        [(r["class"], r["type/scale"], r["class"] != "G" and r["name"], r["relevance"], r["mandatory"]) for r in run]
        for _, run in runs
    ]
    assert shape[0] == shape[1]

    structure = imported(rows)
    for kind in ("groups", "questions", "subquestions", "answers"):
        assert structure[kind], kind
        for key, by_lang in structure[kind].items():
            assert set(by_lang) == set(LANGS), (kind, key)
    assert len(structure["groups"]) == len(instrument.pages) + 1  # the consent group comes first


@pytest.mark.parametrize("lang", LANGS)
def test_codes_follow_limesurvey_rules(instrument, lang):
    _, rows = render(instrument, lang)
    for _, run in blocks(rows):
        question_codes = [r["name"] for r in run if r["class"] == "Q"]
        assert len(question_codes) == len(set(question_codes))
        for code in question_codes:
            assert QUESTION_CODE.match(code) and code not in RESERVED, code
        parent = None
        seen: dict[str, Counter] = {}
        for row in run:
            if row["class"] == "Q":
                parent = row["name"]
                seen[parent] = Counter()
            elif row["class"] in ("SQ", "A"):
                pattern = SUBQUESTION_CODE if row["class"] == "SQ" else ANSWER_CODE
                assert pattern.match(row["name"]), row
                assert row["name"] != "time"
                seen[parent][(row["class"], row["name"])] += 1
        assert all(n == 1 for counts in seen.values() for n in counts.values())


@pytest.mark.parametrize("lang", LANGS)
def test_questions_items_and_answers(instrument, lang):
    _, rows = render(instrument, lang)
    for language, run in blocks(rows):
        # the consent: first group, a mandatory yes/no question; every later group depends on it
        assert [r["class"] for r in run[:2]] == ["G", "Q"]
        consent = run[1]
        assert (consent["type/scale"], consent["mandatory"], consent["name"]) == ("Y", "Y", "consent")
        later = [r for r in run[2:] if r["class"] == "G"]
        assert len(later) == len(instrument.pages)
        assert {r["relevance"] for r in later} == {"consent == 'Y'"}
        assert [plain(r["name"]) for r in later] == [collapse(p.title[language]) for p in instrument.pages]

        by_question: dict[str, list[dict]] = {}
        current = None
        for row in run:
            if row["class"] == "Q":
                current = row["name"]
                by_question[current] = [row]
            elif row["class"] in ("SQ", "A"):
                by_question[current].append(row)

        sq_codes = Counter(
            r["name"]
            for rows_ in by_question.values()
            if rows_[0]["type/scale"] == "F"
            for r in rows_[1:]
            if r["class"] == "SQ"
        )
        item_codes = [q.code for q in instrument.questions if q.kind in ("likert", "attention")]
        assert sq_codes == Counter(item_codes), "every item exactly once per language, as a subquestion"

        matrices = [p for p in instrument.pages if p.kind == "matrix"]
        arrays = [code for code, rows_ in by_question.items() if rows_[0]["type/scale"] == "F"]
        assert arrays == [re.sub(r"[^A-Za-z0-9]", "", p.name) for p in matrices]
        for page, code in zip(matrices, arrays, strict=True):
            subs = [r for r in by_question[code] if r["class"] == "SQ"]
            assert [r["name"] for r in subs] == [q.code for q in page.questions]
            assert [plain(r["text"]) for r in subs] == [collapse(q.text[language]) for q in page.questions]
            options = [r for r in by_question[code] if r["class"] == "A"]
            assert [r["name"] for r in options] == [str(o.value) for o in page.scale.options]
            assert [plain(r["text"]) for r in options] == [o.label[language] for o in page.scale.options]

        for question in (q for q in instrument.questions if q.kind == "background"):
            head, *rest = by_question[question.code]
            assert plain(head["text"]) == collapse(question.text[language])
            scale = question.scale
            if scale.type == "integer":
                assert head["type/scale"] == "N" and not rest
                assert (head["min_num_value_n"], head["max_num_value_n"]) == (str(scale.min), str(scale.max))
                assert head["num_value_int_only"] == "1"
            elif scale.type == "multiple":
                assert head["type/scale"] == "M"
                assert [(r["class"], r["name"]) for r in rest] == [("SQ", str(o.value)) for o in scale.options]
            else:
                assert head["type/scale"] == "L"
                assert [(r["class"], r["name"], plain(r["text"])) for r in rest] == [
                    ("A", str(o.value), o.label[language]) for o in scale.options
                ]


def test_attention_check_is_a_row_of_a_matrix():
    instrument = load_instrument("relational")
    _, rows = render(instrument, "nl")
    check = next(q for q in instrument.questions if q.kind == "attention")
    hits = [r for r in rows if r["name"] == check.code]
    assert [(r["class"], r["language"]) for r in hits] == [("SQ", "nl"), ("SQ", "en")]


def test_monolingual_spec_has_no_additional_language(custom_spec, tmp_path):
    spec = custom_spec(
        "constructs: [mine]\nlanguages: [en]\ndefault_language: en\nbank: [my_bank.yaml]\n", construct_yaml()
    )
    _, rows = render(load_instrument(spec), "en")
    settings = {row["name"]: row["text"] for row in rows if row["class"] == "S"}
    assert settings["additional_languages"] == ""
    assert {row["language"] for row in rows if row["class"] != "S"} == {"en"}


def test_cells_cannot_run_as_formulas_and_texts_survive(custom_spec, tmp_path):
    spec = custom_spec("constructs: [mine]\nbank: [my_bank.yaml]\n", tricky_bank())
    instrument = load_instrument(spec)
    paths = export(instrument, "limesurvey", tmp_path / "out", lang="nl")
    assert [p.name for p in paths] == ["custom_limesurvey.txt"]
    _, rows = parse(paths[0].read_bytes())
    cells = [cell for row in rows for cell in row.values()]
    assert not [cell for cell in cells if cell.startswith(FORMULA_START)]
    # No text opens an ExpressionScript expression or ends the cell early.
    assert not [cell for cell in cells if "{" in cell or "}" in cell]
    texts = {(r["name"], r["language"]): plain(r["text"]) for r in rows if r["class"] == "SQ"}
    assert texts[("mine1", "nl")] == "=SUM(A1)"
    assert texts[("mine2", "en")] == "@cmd"
    assert texts[("mine3", "en")] == "+1 or -1"
    assert texts[("mine4", "nl")] == 'Tekst <b>{x}</b> "q" & [y] | $z {z}'
