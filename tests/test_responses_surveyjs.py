"""SurveyJS results read back: arrays, single objects, wrapped lists and NDJSON of ``survey.data`` (values or
display text in Dutch or English), ids from the host's fields or the record number; the real survey-core (node,
tests/js) fills iasem's survey and its ``survey.data`` is read back; malformed files give logged decisions or
errors naming the line and the record."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from iasem import load_instrument
from iasem.errors import IasemError
from iasem.instruments.export import surveyjs as surveyjs_export
from iasem.responses import read_responses
from iasem.responses.platforms import surveyjs

from .platform_writers_forms import surveyjs_data, surveyjs_file, surveyjs_records, with_ids
from .responses_support import answers, expected, problems

SPECS = ["relational", "intersectoral"]
JS_DIR = Path(__file__).parent / "js"
VARIANTS = {
    "list-values-id-field": {"shape": "list", "ids": "field"},
    "list-nl-labels-wrapped-records": {"shape": "list", "ids": "wrap", "labels": "nl"},
    "results-en-labels-no-ids": {"shape": "wrapped", "ids": None, "labels": "en"},
    "ndjson-values-wrapped-records": {"shape": "ndjson", "ids": "wrap"},
    "ndjson-en-labels-id-field": {"shape": "ndjson", "ids": "field", "labels": "en"},
}


@pytest.fixture(scope="module", params=SPECS)
def instrument(request):
    return load_instrument(request.param)


def write(tmp_path, given, instrument, *, shape="list", ids="field", labels=None) -> Path:
    records = surveyjs_records(given, surveyjs_data(given, instrument, labels=labels), ids=ids)
    path = tmp_path / ("results.ndjson" if shape == "ndjson" else "results.json")
    path.write_bytes(surveyjs_file(records, shape))
    return path


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_round_trip(tmp_path, instrument, variant):
    options = VARIANTS[variant]
    given = with_ids(answers(instrument, n=30, seed=31))
    if options["ids"] is None:
        given["id"] = [str(k + 1) for k in range(len(given))]  # no id in the records: the record number
    path = write(tmp_path, given, instrument, **options)
    result = read_responses(path, instrument, platform="surveyjs")
    pd.testing.assert_frame_equal(result.data, expected(given, instrument))
    assert result.platform == "surveyjs"
    assert problems(result.log).empty, problems(result.log).to_string()
    assert list(result.meta.index) == list(given["id"])
    assert result.meta["line"].tolist() == list(range(1, len(given) + 1))  # record numbers; NDJSON: lines
    if options["ids"] is None:
        assert result.meta["duration"].isna().all()
    else:
        assert result.meta["duration"].tolist() == [float(d) for d in given["duration"]]
    if options["ids"] == "wrap":  # isCompleted: the last respondent's partial result
        assert result.meta["complete"].tolist() == [True] * (len(given) - 1) + [False]
    else:
        assert result.meta["complete"].isna().all()


def test_single_result_object(tmp_path, instrument):
    given = with_ids(answers(instrument, n=1, seed=3))
    path = write(tmp_path, given, instrument, shape="object")
    result = read_responses(path, instrument, platform="surveyjs")
    pd.testing.assert_frame_equal(result.data, expected(given, instrument))
    assert result.meta["line"].tolist() == [1]


@pytest.mark.parametrize("variant", ["list-values-id-field", "ndjson-en-labels-id-field"])
def test_auto_detects_surveyjs(tmp_path, instrument, variant):
    given = with_ids(answers(instrument, n=10, seed=9))
    path = write(tmp_path, given, instrument, **VARIANTS[variant])
    result = read_responses(path, instrument)
    assert result.platform == "surveyjs"
    pd.testing.assert_frame_equal(result.data, expected(given, instrument))


def test_sniff(tmp_path):
    assert surveyjs.sniff(tmp_path / "x.json", b"")
    assert surveyjs.sniff(tmp_path / "x.txt", b'\xef\xbb\xbf [{"rsa": {"rsa1": 4}}]')
    assert not surveyjs.sniff(tmp_path / "x.csv", b"id,rsa1\n1,4\n")


# ---------------------------------------------------------------------------------------------------------------
# The real SurveyJS Form Library fills iasem's survey

FILL = r"""
import { readFileSync } from "node:fs";
import { Model } from "survey-core";
const [surveyPath, answersPath] = process.argv.slice(-2);
const json = JSON.parse(readFileSync(surveyPath, "utf8"));
const out = [];
for (const answers of JSON.parse(readFileSync(answersPath, "utf8"))) {
  const model = new Model(json);
  for (const [name, value] of Object.entries(answers)) {
    const q = model.getQuestionByName(name);
    if (!q) throw new Error(`no question ${name}`);
    if (q.getType() === "matrix") {  // a click in the cell, as a respondent answers a matrix row
      for (const [row, v] of Object.entries(value)) {
        q.visibleRows.find((r) => r.name === row).cellClick(q.columns.find((c) => c.value === v));
      }
    } else if (q.getType() === "checkbox") {
      for (const v of value) q.clickItemHandler(q.choices.find((c) => c.value === v), true);
    } else {
      q.value = value;
    }
  }
  model.doComplete();
  out.push({ state: model.state, data: model.data });
}
console.log(JSON.stringify(out));
"""


def run_survey_core(tmp_path: Path, survey: dict, data: list[dict]) -> list[dict]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed; the SurveyJS round trip needs Node.js")
    if not (JS_DIR / "node_modules" / "survey-core").is_dir():
        pytest.skip("tests/js/node_modules is missing; run `npm ci` (or `npm install`) in tests/js")
    (tmp_path / "survey.json").write_text(json.dumps(survey), encoding="utf-8")
    (tmp_path / "answers.json").write_text(json.dumps(data), encoding="utf-8")
    done = subprocess.run(
        [node, "--input-type=module", "-e", FILL, str(tmp_path / "survey.json"), str(tmp_path / "answers.json")],
        cwd=JS_DIR, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_round_trip_through_survey_core(tmp_path, instrument, lang):
    given = with_ids(answers(instrument, n=15, seed=17))
    survey = surveyjs_export.survey_json(instrument, lang)
    filled = run_survey_core(tmp_path, survey, surveyjs_data(given, instrument))
    assert {f["state"] for f in filled} == {"completed"}
    records = surveyjs_records(given, [f["data"] for f in filled], ids="field")
    path = tmp_path / "survey_core_results.json"
    path.write_bytes(surveyjs_file(records))
    result = read_responses(path, instrument, platform="surveyjs")
    pd.testing.assert_frame_equal(result.data, expected(given, instrument))
    assert problems(result.log).empty, problems(result.log).to_string()


# ---------------------------------------------------------------------------------------------------------------
# Malformed results


@pytest.fixture
def relational():
    return load_instrument("relational")


def _records(relational, n=8):
    given = with_ids(answers(relational, n=n, seed=2, missing=0.0))
    return given, surveyjs_records(given, surveyjs_data(given, relational), ids="field")


def _read(tmp_path, relational, records, name="results.json", shape="list"):
    path = tmp_path / name
    path.write_bytes(surveyjs_file(records, shape))
    return read_responses(path, relational, platform="surveyjs")


def _entries(result, check: str) -> list[dict]:
    return result.log[result.log["check"] == check].to_dict("records")


def test_out_of_range_and_unknown_label_name_record_and_column(tmp_path, relational):
    given, records = _records(relational)
    records[2]["rsa"]["rsa3"] = 7
    records[4]["atype"] = "Misschien"
    records[5]["goals"] = [1, 9]
    result = _read(tmp_path, relational, records)
    found = {(e["check"], e["row"], e["column"], e["respondent"]) for e in result.log.to_dict("records")}
    assert ("out_of_range", 3, "rsa.rsa3", given["id"][2]) in found
    assert ("unknown_label", 5, "atype", given["id"][4]) in found
    assert any(e[1:3] == (6, "goals") for e in found if e[0] in ("out_of_range", "unknown_label"))
    assert pd.isna(result.data["rsa3"].iloc[2]) and result.raw["rsa.rsa3"].iloc[2] == "7"


def test_duplicated_id_is_flagged_and_both_records_kept(tmp_path, relational):
    given, records = _records(relational)
    records[6]["id"] = records[1]["id"]
    result = _read(tmp_path, relational, records)
    assert sorted({e["row"] for e in _entries(result, "duplicate_id")}) == [2, 7]
    assert len(result.data) == len(given)


def test_missing_item_and_extra_keys_are_logged(tmp_path, relational):
    _given, records = _records(relational)
    for record in records:
        record.get("ksr", {}).pop("ksr2", None)
    records[3]["rsa"]["rsa9"] = 4
    records[3]["comment"] = "prima"
    result = _read(tmp_path, relational, records)
    assert [e["column"] for e in _entries(result, "missing_column")] == ["ksr2"]
    assert sorted(e["column"] for e in _entries(result, "extra_column")) == ["comment", "rsa.rsa9"]
    assert result.raw["comment"].tolist() == [""] * 3 + ["prima"] + [""] * 4


def test_a_key_given_twice_is_kept_as_an_extra_column(tmp_path, relational):
    _given, records = _records(relational, n=3)
    text = json.dumps(records).replace('"atype": ', '"atype": 1, "atype": ', 1)
    path = tmp_path / "twice.json"
    path.write_text(text, encoding="utf-8")
    result = read_responses(path, relational, platform="surveyjs")
    assert result.data["atype"].iloc[0] == "public_private"
    assert [e["column"] for e in _entries(result, "extra_column")] == ["atype (2)"]


def test_invalid_json_names_the_line_and_record(tmp_path, relational):
    _given, records = _records(relational, n=5)
    text = json.dumps(records, indent=2)
    lines = text.splitlines()
    third = [k for k, line in enumerate(lines) if line.strip().startswith('"id"')][2]
    lines[third] = lines[third].replace('"id": ', '"id" ')
    path = tmp_path / "invalid.json"
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(IasemError, match=rf"invalid\.json:{third + 1}: invalid JSON in record 3 \(Expecting ':'"):
        read_responses(path, relational, platform="surveyjs")


def test_truncated_array_names_the_record(tmp_path, relational):
    _given, records = _records(relational, n=4)
    text = json.dumps(records, indent=2)
    path = tmp_path / "cut.json"
    path.write_text(text[: text.index('"id"', text.index('"id"', text.index('"id"') + 1) + 1) + 30], encoding="utf-8")
    with pytest.raises(IasemError, match=r"cut\.json:\d+: invalid JSON in record 3"):
        read_responses(path, relational, platform="surveyjs")
    path.write_text(text[: text.rindex("}") + 1], encoding="utf-8")  # the closing bracket lost
    with pytest.raises(IasemError, match=r"cut\.json:\d+: the JSON array ends early, after record 4"):
        read_responses(path, relational, platform="surveyjs")


def test_truncated_ndjson_line_names_the_line(tmp_path, relational):
    _given, records = _records(relational, n=4)
    lines = surveyjs_file(records, "ndjson").decode("utf-8").splitlines()
    lines.insert(2, "")  # blank lines are not records
    lines[3] = lines[3][:40]
    path = tmp_path / "cut.ndjson"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(IasemError, match=r"cut\.ndjson:4: invalid JSON in record 3 .*truncated line"):
        read_responses(path, relational, platform="surveyjs")


def test_records_that_are_not_objects_and_other_json_are_errors(tmp_path, relational):
    _given, records = _records(relational, n=3)
    path = tmp_path / "odd.json"
    path.write_text(json.dumps([records[0], [1, 2], records[2]]), encoding="utf-8")
    with pytest.raises(IasemError, match=r"odd\.json:1: record 2 is a JSON array, not a result object"):
        read_responses(path, relational, platform="surveyjs")
    path.write_text('"just a string"', encoding="utf-8")
    with pytest.raises(IasemError, match=r"odd\.json:1: not SurveyJS results"):
        read_responses(path, relational, platform="surveyjs")
    path.write_text(json.dumps(records) + "\n]", encoding="utf-8")
    with pytest.raises(IasemError, match=r"odd\.json:2: more text after the JSON array"):
        read_responses(path, relational, platform="surveyjs")
    path.write_bytes(b"")
    with pytest.raises(IasemError, match="empty"):
        read_responses(path, relational, platform="surveyjs")


def test_values_are_read_whatever_their_json_type(tmp_path, relational):
    _given, records = _records(relational, n=3)
    records[0]["rsa"]["rsa1"] = "4"
    records[0]["npartners"] = 12.0
    records[1]["rsa"]["rsa1"] = None
    records[2]["rsa"]["rsa2"] = True
    result = _read(tmp_path, relational, records)
    assert result.data["rsa1"].iloc[0] == 4 and result.data["npartners"].iloc[0] == 12
    assert pd.isna(result.data["rsa1"].iloc[1])
    assert [(e["row"], e["column"], e["value"]) for e in _entries(result, "unknown_label")] == [(3, "rsa.rsa2", "true")]
