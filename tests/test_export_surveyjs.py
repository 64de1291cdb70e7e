"""SurveyJS export: the survey JSON's structure, and what the real SurveyJS Form Library (survey-core, run by
node in tests/js) makes of it in both locales."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from iasem import load_instrument
from iasem.instruments.export import surveyjs

from .conftest import construct_yaml

SPECS = ["relational", "intersectoral", "full"]
LANGS = ["nl", "en"]
JS_DIR = Path(__file__).parent / "js"
FORMULA_START = ("=", "+", "-", "@")


def survey_of(instrument, lang) -> dict:
    files = surveyjs.render(instrument, lang)
    assert list(files) == [f"{instrument.id}_surveyjs.json"]
    return json.loads(files[f"{instrument.id}_surveyjs.json"].decode("utf-8"))


def loc(text) -> dict:
    """The localisable string the exporter should write: English under "default" (SurveyJS's default locale)."""
    return {"default": text.en, "nl": text.nl}


def run_survey_core(tmp_path: Path, survey: dict) -> dict:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed; the SurveyJS check needs Node.js")
    if not (JS_DIR / "node_modules" / "survey-core").is_dir():
        pytest.skip("tests/js/node_modules is missing; run `npm ci` (or `npm install`) in tests/js")
    path = tmp_path / "survey.json"
    path.write_text(json.dumps(survey), encoding="utf-8")
    done = subprocess.run(
        [node, str(JS_DIR / "check_surveyjs.mjs"), str(path)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module", params=SPECS)
def instrument(request):
    return load_instrument(request.param)


@pytest.mark.parametrize("lang", LANGS)
def test_survey_json_structure(instrument, lang):
    survey = survey_of(instrument, lang)
    spec = instrument.spec
    assert survey.get("locale") == ("nl" if lang == "nl" else None)  # English is SurveyJS's default locale
    assert survey["title"] == loc(spec.title)
    assert survey["description"] == loc(spec.intro)
    assert survey["completedHtml"] == {"default": f"<p>{spec.closing.en}</p>", "nl": f"<p>{spec.closing.nl}</p>"}

    pages = survey["pages"]
    assert [p["name"] for p in pages] == ["page_consent", *(f"page_{p.name}" for p in instrument.pages)]
    (consent,) = pages[0]["elements"]
    assert consent == {
        "type": "radiogroup",
        "name": "consent",
        "title": loc(spec.consent),
        "isRequired": True,
        "choices": [
            {"value": 1, "text": {"default": "Yes", "nl": "Ja"}},
            {"value": 0, "text": {"default": "No", "nl": "Nee"}},
        ],
    }
    assert "visibleIf" not in pages[0]
    for page, out in zip(instrument.pages, pages[1:], strict=True):
        assert out["visibleIf"] == "{consent} = 1"
        assert out["title"] == loc(page.title)
        if page.kind == "matrix":
            (matrix,) = out["elements"]
            assert (matrix["type"], matrix["name"], matrix["isAllRowRequired"], matrix["isRequired"]) == (
                "matrix",
                page.name,
                True,
                True,
            )
            assert matrix["rows"] == [{"value": q.code, "text": loc(q.text)} for q in page.questions]
            assert matrix["columns"] == [
                {"value": o.value, "text": {"default": o.en, "nl": o.nl}} for o in page.scale.options
            ]
        else:
            by_name = {element["name"]: element for element in out["elements"]}
            assert list(by_name) == [q.code for q in page.questions]
            for question in page.questions:
                element, scale = by_name[question.code], question.scale
                assert element["isRequired"] is True
                assert element["title"] == loc(question.text)
                if scale.type == "integer":
                    assert (element["type"], element["inputType"], element["min"], element["max"]) == (
                        "text",
                        "number",
                        scale.min,
                        scale.max,
                    )
                    assert element["validators"][0]["type"] == "regex"
                elif scale.type == "rating":
                    assert element["type"] == "rating"
                    assert [v["value"] for v in element["rateValues"]] == [o.value for o in scale.options]
                else:
                    assert element["type"] == ("checkbox" if scale.type == "multiple" else "radiogroup")
                    assert element["choices"] == [
                        {"value": o.value, "text": {"default": o.en, "nl": o.nl}} for o in scale.options
                    ]

    # every question exactly once: the Likert items as matrix rows, the rest as questions
    rows = [r["value"] for p in pages for e in p["elements"] if e["type"] == "matrix" for r in e["rows"]]
    others = [e["name"] for p in pages[1:] for e in p["elements"] if e["type"] != "matrix"]
    assert rows + others == [q.code for q in instrument.questions]
    assert "revers" not in json.dumps(survey).lower()  # reverse keying is not shown to respondents


@pytest.mark.parametrize("lang", LANGS)
def test_survey_core_loads_it(instrument, lang, tmp_path):
    report = run_survey_core(tmp_path, survey_of(instrument, lang))
    assert report["surveyCore"] == json.loads((JS_DIR / "package.json").read_text())["dependencies"]["survey-core"]
    assert report["jsonErrors"] == []
    assert report["lint"] == []  # the SurveyJS linter: no unknown property, duplicate name or bad expression
    assert report["locale"] == ("nl" if lang == "nl" else "")  # "" is SurveyJS's default locale, English
    assert report["pageCount"] == len(instrument.pages) + 1
    matrices = [p for p in instrument.pages if p.kind == "matrix"]
    background = [q.code for q in instrument.questions if q.kind == "background"]
    assert report["questionNames"] == ["consent", *(p.name for p in matrices), *background]

    for locale in LANGS:
        seen = report["locales"][locale]
        assert seen["title"] == instrument.spec.title[locale]
        assert seen["description"] == instrument.spec.intro[locale]
        assert seen["completedHtml"] == f"<p>{instrument.spec.closing[locale]}</p>"
        assert seen["completeText"] == {"nl": "Verzenden", "en": "Complete"}[locale]  # the UI strings follow
        assert [p["title"] for p in seen["pages"][1:]] == [p.title[locale] for p in instrument.pages]
        questions = {q["name"]: q for q in seen["questions"]}
        assert questions["consent"]["title"] == instrument.spec.consent[locale]
        assert questions["consent"]["choices"] == [
            {"value": 1, "text": {"nl": "Ja", "en": "Yes"}[locale]},
            {"value": 0, "text": {"nl": "Nee", "en": "No"}[locale]},
        ]
        for page in matrices:
            matrix = questions[page.name]
            assert (matrix["type"], matrix["isRequired"], matrix["eachRowRequired"]) == ("matrix", True, True)
            assert matrix["rows"] == [{"value": q.code, "text": q.text[locale]} for q in page.questions]
            assert matrix["columns"] == [{"value": o.value, "text": o.label[locale]} for o in page.scale.options]
        for question in (q for q in instrument.questions if q.kind == "background"):
            seen_q = questions[question.code]
            assert seen_q["title"] == question.text[locale]
            assert seen_q["isRequired"] is True
            options = [{"value": o.value, "text": o.label[locale]} for o in question.scale.options]
            if question.scale.type == "integer":
                assert (seen_q["inputType"], seen_q["min"], seen_q["max"]) == (
                    "number",
                    question.scale.min,
                    question.scale.max,
                )
            elif question.scale.type == "rating":
                assert seen_q["rateValues"] == options
            else:
                assert seen_q["choices"] == options

    behaviour = report["behaviour"]
    all_pages = ["page_consent", *(f"page_{p.name}" for p in instrument.pages)]
    assert behaviour["visiblePages"] == {"undefined": ["page_consent"], "0": ["page_consent"], "1": all_pages}
    assert behaviour["matrix"]["oneRow"] > 0 and behaviour["matrix"]["allRows"] == 0  # every row is required
    for code, errors in behaviour["numbers"].items():
        scale = next(q.scale for q in instrument.questions if q.code == code)
        assert errors == {
            str(scale.min - 1): 1,
            str(scale.min): 0,
            str(scale.max): 0,
            str(scale.max + 1): 1,
            str(scale.min + 0.5): 1,  # whole numbers only
        }


def test_formula_like_texts_and_html(write, tmp_path):
    bank = construct_yaml("mine", "mine", first_text="=SUM(A1)").replace('"Uitspraak 2"', '"@cmd"')
    bank = bank.replace('"Statement 2"', '"+1 statement"').replace('"Uitspraak 3"', '"-2 <b>uitspraak</b>"')
    write("my_bank.yaml", bank)
    spec = write(
        "custom.yaml",
        """\
        id: custom
        title: {nl: "=Titel", en: "@Title"}
        intro: {nl: "Inleiding", en: "Introduction"}
        consent: {nl: "Toestemming", en: "Consent"}
        closing: {nl: "Dank & <b>tot ziens</b>", en: "=HYPERLINK(\\"x\\")"}
        constructs: [mine]
        background: [npartners, goals]
        bank: [my_bank.yaml]
        """,
    )
    instrument = load_instrument(spec)
    survey = survey_of(instrument, "nl")

    def strings(value):
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            for item in value.values():
                yield from strings(item)
        elif isinstance(value, list):
            for item in value:
                yield from strings(item)

    assert not [s for s in strings(survey) if s.startswith(FORMULA_START)]
    rows = survey["pages"][1]["elements"][0]["rows"]
    assert rows[0]["text"] == {"default": "'=SUM(A1)", "nl": "'=SUM(A1)"}
    assert rows[1]["text"] == {"default": "'+1 statement", "nl": "'@cmd"}
    assert rows[2]["text"]["nl"] == "'-2 <b>uitspraak</b>"
    assert survey["title"] == {"default": "'@Title", "nl": "'=Titel"}
    assert survey["completedHtml"] == {
        "default": "<p>=HYPERLINK(&quot;x&quot;)</p>",
        "nl": "<p>Dank &amp; &lt;b&gt;tot ziens&lt;/b&gt;</p>",
    }

    report = run_survey_core(tmp_path, survey)
    assert report["jsonErrors"] == [] and report["lint"] == []
    assert report["locales"]["nl"]["questions"][1]["rows"][0] == {"value": "mine1", "text": "'=SUM(A1)"}
    assert report["locales"]["en"]["completedHtml"] == "<p>=HYPERLINK(&quot;x&quot;)</p>"
