"""Real consumers in a real browser: the HTML report of ``iasem run`` and its SurveyJS questionnaires, opened in
headless Chromium (Debian's package, driven by puppeteer-core from tests/js/browser_check.mjs).

The other tests read these files as text; here a browser lays them out, so what fails is what a reader would
see fail: a table or figure that does not show, a questionnaire page without its questions, a Next button that
goes nowhere, a page that scrolls sideways on a phone, a script error in the console, or a page that reaches for
the internet (every request that is not for a local file is blocked and counted). The SurveyJS questionnaire is
rendered the way a site would: survey-core, the plain-JavaScript UI package survey-js-ui and its theme, loaded
from tests/js as local files, walked page by page through the survey's own buttons. Screenshots of every page
land in the test's temporary directory. One browser run serves the whole module (a few seconds)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from iasem.report.labels import text

pytestmark = pytest.mark.slow

JS_DIR = Path(__file__).parent / "js"
# survey-js-ui comes as a pair with its own survey-core (an npm workspace, because tests/js's survey-core is the
# newer one that test_export_surveyjs.py checks against and the UI package insists on its exact version).
UI_MODULES = JS_DIR / "surveyjs-ui" / "node_modules"
QUESTIONNAIRES = [("relational", "nl"), ("relational", "en"), ("intersectoral", "nl"), ("intersectoral", "en")]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844, "isMobile": True, "hasTouch": True, "deviceScaleFactor": 1}
# The tables a reader of the report looks for first (English titles, iasem/report/labels.py).
KEY_TABLES = ["sample", "items", "reliability", "cfa", "fit", "paths", "indirect", "invariance"]

SURVEY_PAGE = """<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{name}</title>
<link rel="stylesheet" href="{css}">
<script src="{core}"></script>
<script src="{dutch}"></script>
<script src="{ui}"></script>
</head>
<body>
<div id="surveyElement"></div>
<script id="survey-json" type="application/json">{survey}</script>
<script>
  window.survey = new Survey.Model(JSON.parse(document.getElementById("survey-json").textContent));
  window.survey.render(document.getElementById("surveyElement"));
</script>
</body>
</html>
"""


def survey_page(survey_json: Path, out: Path, lang: str) -> Path:
    """A page that renders one SurveyJS export, every script and style from local files."""
    core = UI_MODULES / "survey-core"
    html = SURVEY_PAGE.format(
        lang=lang,
        name=survey_json.name,
        # the theme without its web font: that one comes from fonts.gstatic.com
        css=(core / "survey-core.fontless.min.css").as_uri(),
        core=(core / "survey.core.min.js").as_uri(),
        dutch=(core / "i18n" / "dutch.min.js").as_uri(),
        ui=(UI_MODULES / "survey-js-ui" / "survey-js-ui.min.js").as_uri(),
        survey=survey_json.read_text(encoding="utf-8").replace("</", "<\\/"),
    )
    out.write_text(html, encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def browser(request, tmp_path_factory) -> dict[str, dict]:
    """Every page of this module opened once in one Chromium: the results by job name."""
    chromium = shutil.which("chromium")
    node = shutil.which("node")
    if chromium is None:
        pytest.skip("chromium is not installed (Debian package `chromium`; scripts/test.sh installs it)")
    if node is None:
        pytest.skip("node is not installed; the browser checks run puppeteer-core under Node.js")
    for package in (JS_DIR / "node_modules" / "puppeteer-core", UI_MODULES / "survey-js-ui"):
        if not package.is_dir():
            pytest.skip(f"{package.relative_to(JS_DIR)} is missing; run `npm ci` in tests/js")
    # only now the pipeline's outputs: a machine without the browser skips without running it
    example_run = request.getfixturevalue("example_run")
    work = tmp_path_factory.mktemp("browser")
    shots = work / "screenshots"
    shots.mkdir()
    jobs = []
    for spec, lang in QUESTIONNAIRES:
        source = example_run.out / "instruments" / spec / lang / f"{spec}_surveyjs.json"
        url = survey_page(source, work / f"{spec}_{lang}.html", lang).as_uri()
        jobs.append({"name": f"{spec}-{lang}", "kind": "survey", "url": url, "viewport": DESKTOP, "shots": str(shots)})
    # SurveyJS lays a Likert matrix out differently on a narrow screen: one phone run of the first questionnaire.
    jobs.append({**jobs[0], "name": "relational-nl-phone", "viewport": PHONE})
    report = (example_run.out / "report" / "report.html").as_uri()
    jobs.append({"name": "report", "kind": "report", "url": report, "viewport": DESKTOP, "shots": str(shots)})
    jobs.append({"name": "report-phone", "kind": "report", "url": report, "viewport": PHONE, "shots": str(shots)})
    spec_file = work / "jobs.json"
    spec_file.write_text(json.dumps({"executablePath": chromium, "jobs": jobs}), encoding="utf-8")
    done = subprocess.run(
        [node, str(JS_DIR / "browser_check.mjs"), str(spec_file)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout)
    return {job["name"]: job for job in results["jobs"]}


def assert_clean(job: dict) -> None:
    """The page loaded without a script error, an error in the console, a missing local file or a request for
    anything outside the machine."""
    assert "error" not in job, job.get("error")
    assert job["pageErrors"] == []
    assert [m for m in job["console"] if m["type"] in ("error", "assert")] == []
    assert job["failedRequests"] == []
    assert job["blockedRequests"] == []


def assert_picture(path: str | Path) -> None:
    """A screenshot that shows something: a PNG with more than a handful of colours, not a blank window."""
    from PIL import Image

    path = Path(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(path) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
    assert colours is None or len(colours) > 16, f"{path.name} is nearly blank"


def in_locale(value, lang: str) -> str:
    """A SurveyJS localisable string as a respondent in ``lang`` reads it (English is the default locale)."""
    if isinstance(value, dict):
        value = value.get(lang, value.get("default", ""))
    return " ".join(str(value).split())


def no_sideways_scroll(width: dict) -> None:
    assert width["document"] <= width["viewport"] + 1, width
    assert width["overflowing"] == [], width


@pytest.mark.parametrize(("spec", "lang"), QUESTIONNAIRES, ids=[f"{s}-{lang}" for s, lang in QUESTIONNAIRES])
def test_questionnaire_walks_through_every_page(browser, example_run, spec, lang):
    job = browser[f"{spec}-{lang}"]
    assert_clean(job)
    survey = json.loads(
        (example_run.out / "instruments" / spec / lang / f"{spec}_surveyjs.json").read_text(encoding="utf-8")
    )
    walked = job["survey"]
    ui_version = json.loads((UI_MODULES / "survey-js-ui" / "package.json").read_text())["version"]
    assert walked["surveyCore"] == ui_version
    assert walked["locale"] == ("nl" if lang == "nl" else "")
    # Consent given, every page follows in order, each left through the survey's own button, the last one
    # through Complete.
    assert [p["name"] for p in walked["pages"]] == [p["name"] for p in survey["pages"]]
    clicked = [step["clicked"] for step in walked["steps"]]
    assert None not in clicked, walked["steps"]
    assert len(set(clicked)) == 2
    assert walked["state"] == "completed"
    assert walked["completedPage"]["visible"]
    completed = in_locale(survey["completedHtml"], lang).removeprefix("<p>").removesuffix("</p>")
    assert completed in walked["completedPage"]["text"]
    assert set(walked["data"]) == {q["name"] for p in survey["pages"] for q in p["elements"]}

    for page, shown in zip(survey["pages"], walked["pages"], strict=True):
        assert_picture(shown["screenshot"])
        no_sideways_scroll(shown["width"])
        if "title" in page:
            assert shown["title"]["visible"]
            assert shown["title"]["text"] == in_locale(page["title"], lang)
        for question, seen in zip(page["elements"], shown["questions"], strict=True):
            assert seen["name"] == question["name"]
            assert seen["element"]["visible"], question["name"]
            assert seen["title"]["visible"], question["name"]
            assert in_locale(question["title"], lang) in seen["title"]["text"]
            body = seen["element"]["text"]
            if question["type"] == "matrix":
                # a Likert matrix: every statement, every answer as a column header, a radio button per cell
                headers = [h["text"] for h in seen["columnHeaders"] if h["visible"]]
                for column in question["columns"]:
                    assert in_locale(column["text"], lang) in headers, (question["name"], headers)
                for row in question["rows"]:
                    assert in_locale(row["text"], lang) in body, (question["name"], row["value"])
                assert seen["inputs"] >= len(question["rows"]) * len(question["columns"])
            elif question["type"] in ("radiogroup", "checkbox"):
                choices = [c["text"] for c in seen["choices"] if c["visible"]]
                assert choices == [in_locale(c["text"], lang) for c in question["choices"]], question["name"]
            elif question["type"] == "rating":
                for value in question.get("rateValues", []):
                    label = in_locale(value["text"], lang) if isinstance(value, dict) else str(value)
                    assert label in body, (question["name"], label)
            elif question["type"] == "text":
                assert seen["inputs"] >= 1, question["name"]


def test_questionnaire_on_a_phone(browser, example_run):
    """On a phone SurveyJS turns the Likert matrix into one block per statement; still no sideways scrolling and
    every statement and answer on screen."""
    job = browser["relational-nl-phone"]
    assert_clean(job)
    walked = job["survey"]
    assert walked["state"] == "completed"
    survey = json.loads(
        (example_run.out / "instruments" / "relational" / "nl" / "relational_surveyjs.json").read_text("utf-8")
    )
    for page, shown in zip(survey["pages"], walked["pages"], strict=True):
        no_sideways_scroll(shown["width"])
        for question, seen in zip(page["elements"], shown["questions"], strict=True):
            assert seen["element"]["visible"] and seen["title"]["visible"], question["name"]
            for row in question.get("rows", []):
                assert in_locale(row["text"], "nl") in seen["element"]["text"]
            for column in question.get("columns", []):
                assert in_locale(column["text"], "nl") in seen["element"]["text"]
    assert_picture(walked["pages"][1]["screenshot"])


def report_figures(job: dict) -> tuple[list[dict], list[dict]]:
    figures = job["report"]["figures"]
    tables = [f for f in figures if "apa-table" in f["className"]]
    graphics = [f for f in figures if "apa-figure" in f["className"]]
    return tables, graphics


def test_report_shows_its_tables_and_figures(browser, example_run):
    job = browser["report"]
    assert_clean(job)
    assert_picture(job["screenshot"])
    tables, graphics = report_figures(job)
    html = (example_run.out / "report" / "report.html").read_text(encoding="utf-8")
    assert len(tables) == html.count('<figure class="apa-table"') > 0
    assert len(graphics) == html.count('<figure class="apa-figure"') > 0
    for table in tables:
        assert table["number"]["visible"] and table["title"]["visible"], table["title"]
        assert table["table"]["visible"] and table["table"]["rows"] > 1, table["title"]["text"]
    titles = [t["title"]["text"] for t in tables]
    for key in KEY_TABLES:
        title = text(f"{key}_title", "en")
        assert any(t == title or t.startswith(f"{title}: ") for t in titles), (title, titles)
    for figure in graphics:
        assert figure["title"]["visible"], figure["title"]
        (graphic,) = figure["graphics"]
        assert graphic["visible"] and graphic["loaded"], figure["title"]["text"]
        assert graphic["width"] > 100 and graphic["height"] > 100, (figure["title"]["text"], graphic)


def test_report_on_a_phone(browser):
    """At phone width the page itself must not scroll sideways; a wide table scrolls inside its own wrapper."""
    job = browser["report-phone"]
    assert_clean(job)
    assert_picture(job["screenshot"])
    report = job["report"]
    assert report["width"]["viewport"] == PHONE["width"]
    no_sideways_scroll(report["width"])
    tables, graphics = report_figures(job)
    for table in tables:
        assert table["table"]["visible"], table["title"]["text"]
        scroller = table["scroller"]
        if scroller["scrollWidth"] > scroller["width"] + 1:
            assert scroller["overflowX"] in ("auto", "scroll"), table["title"]["text"]
    for figure in graphics:
        (graphic,) = figure["graphics"]
        assert graphic["visible"] and graphic["width"] <= PHONE["width"], (figure["title"]["text"], graphic)
