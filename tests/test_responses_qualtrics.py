"""Qualtrics response exports read back (iasem/responses/platforms/qualtrics.py): round trips from iasem's own
Advanced-format survey, columns mapped by ImportId, and malformed exports."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import iasem
from iasem.errors import IasemError
from iasem.responses import read_responses
from iasem.responses.platforms import HEAD_BYTES, detect, limesurvey, qualtrics, redcap

from .platform_writers import edit, qualtrics_csv, qualtrics_ids
from .responses_support import answers, expected, problems

VARIANTS = {
    "numeric-en": {},
    "choice-text-nl": {"choice_text": True, "lang": "nl"},
    "choice-text-en": {"choice_text": True, "lang": "en"},
    "split": {"split": True},
    "tsv-utf16": {"tsv": True, "choice_text": True, "lang": "nl"},
    # Export tags edited in Qualtrics and a survey whose QIDs do not start at 1: mapped by ImportId.
    "edited-tags": {"qid_start": 7, "retag": {"consent": "Q0", "atype": "Type", "grade": "Q99"}},
}


@pytest.fixture(scope="module", params=["relational", "intersectoral"])
def instrument(request):
    return iasem.load_instrument(request.param)


def given_answers(instrument, n=25, seed=1):
    given = answers(instrument, n, seed)
    given["id"] = qualtrics_ids(n)
    return given


def write(tmp_path, data: bytes, name: str = "survey_export.csv"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def matrix_tag(instrument, k: int = 1) -> str:
    return f"{instrument.pages[0].name}_{k}"


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("platform", ["auto", "qualtrics"])
def test_round_trip(tmp_path, instrument, variant, platform):
    options = dict(VARIANTS[variant])
    if variant == "edited-tags":
        options["retag"] = {**options["retag"], matrix_tag(instrument, 2): "statement_b"}
    given = given_answers(instrument)
    path = write(tmp_path, qualtrics_csv(given, instrument, **options))
    responses = read_responses(path, instrument, platform=platform)
    assert responses.platform == "qualtrics"
    pd.testing.assert_frame_equal(responses.data, expected(given, instrument))
    n = len(given)
    assert list(responses.data.index) == list(given["id"])
    assert responses.meta["complete"].tolist() == [True] * (n - 1) + [False]
    assert responses.meta["duration"].tolist() == [float(d) for d in given["duration"]]
    assert responses.meta["line"].tolist() == list(range(4, n + 4))  # three header rows
    assert problems(responses.log).empty, problems(responses.log).to_string()


def test_edited_tags_are_mapped_by_import_id(tmp_path, instrument):
    given = given_answers(instrument, 6)
    retag = {matrix_tag(instrument, 1): "renamed", "atype": "Q12"}
    path = write(tmp_path, qualtrics_csv(given, instrument, qid_start=3, retag=retag))
    export = qualtrics.read(path, path.read_bytes(), instrument)
    assert export.columns["renamed"] == instrument.pages[0].questions[0].code
    assert export.columns["Q12"] == "atype"
    assert {n["column"] for n in export.notes if n["check"] == "columns_by_qid"} == {"renamed", "Q12"}


def test_extra_qualtrics_question_shifts_nothing(tmp_path, instrument):
    """A question added in Qualtrics (a timing question after the consent, say) has a QID of its own; the
    unedited export tags still anchor every other QID."""
    given = given_answers(instrument, 6)
    data = qualtrics_csv(given, instrument)

    def add_timer(rows):
        k = rows[0].index("consent") + 1
        for name, text, import_id, cell in (
            ("Timer_First Click", "Timing - First Click", "QID999_FIRST_CLICK", "1.2"),
        ):
            rows[0].insert(k, name)
            rows[1].insert(k, text)
            rows[2].insert(k, json.dumps({"ImportId": import_id}))
            for row in rows[3:]:
                row.insert(k, cell)

    path = write(tmp_path, edit(data, add_timer))
    responses = read_responses(path, instrument)
    pd.testing.assert_frame_equal(responses.data, expected(given, instrument))
    assert problems(responses.log)[["column", "check"]].values.tolist() == [["Timer_First Click", "extra_column"]]


def test_without_import_ids_falls_back_to_tags(tmp_path, instrument):
    given = given_answers(instrument, 6)
    path = write(tmp_path, qualtrics_csv(given, instrument, import_ids=False))
    export = qualtrics.read(path, path.read_bytes(), instrument)
    assert [n["check"] for n in export.notes] == ["columns_by_tag"]
    responses = read_responses(path, instrument, platform="qualtrics")
    pd.testing.assert_frame_equal(responses.data, expected(given, instrument))
    assert responses.meta["line"].tolist() == list(range(3, 9))  # two header rows


def test_detected_and_not_claimed_by_others(tmp_path, instrument):
    given = given_answers(instrument, 5)
    for options in VARIANTS.values():
        data = qualtrics_csv(given, instrument, **options)
        path = write(tmp_path, data)
        head = data[:HEAD_BYTES]
        assert qualtrics.sniff(path, head)
        assert not limesurvey.sniff(path, head)
        assert not redcap.sniff(path, head)
        assert detect(path, head) == "qualtrics"
    plain_csv = write(tmp_path, b"id,rsa1,rsa2\nR1,4,5\n", "plain.csv")
    assert not qualtrics.sniff(plain_csv, plain_csv.read_bytes())


def test_out_of_range_recode(tmp_path, instrument):
    given = given_answers(instrument, 8)
    item = instrument.pages[0].questions[2]
    given.loc[3, item.code] = 7
    responses = read_responses(write(tmp_path, qualtrics_csv(given, instrument)), instrument)
    entry = problems(responses.log)
    assert entry[["row", "respondent", "column", "check", "value"]].values.tolist() == [
        [7, given["id"][3], matrix_tag(instrument, 3), "out_of_range", "7"]
    ]


def test_unknown_choice_text(tmp_path, instrument):
    given = given_answers(instrument, 8)
    data = qualtrics_csv(given, instrument, choice_text=True, lang="nl")
    column = matrix_tag(instrument, 1)

    def garble(rows):
        rows[4][rows[0].index(column)] = "Weet niet"

    responses = read_responses(write(tmp_path, edit(data, garble)), instrument)
    entry = problems(responses.log)
    assert entry[["row", "column", "check", "value"]].values.tolist() == [[5, column, "unknown_label", "Weet niet"]]


def test_unknown_choice_in_multiple_answer(tmp_path, instrument):
    if not any(q.scale.type == "multiple" for q in instrument.questions):
        pytest.skip("no multiple-choice question")
    given = given_answers(instrument, 8)
    data = qualtrics_csv(given, instrument)

    def garble(rows):
        rows[3][rows[0].index("goals")] = "1,9"

    responses = read_responses(write(tmp_path, edit(data, garble)), instrument)
    entry = problems(responses.log)
    assert entry[["row", "column", "check", "value"]].values.tolist() == [[4, "goals", "out_of_range", "9"]]
    assert responses.data["goals_cost_control"].iloc[0]


def test_duplicate_response_id(tmp_path, instrument):
    given = given_answers(instrument, 8)
    given.loc[6, "id"] = given["id"][1]
    responses = read_responses(write(tmp_path, qualtrics_csv(given, instrument)), instrument)
    entry = problems(responses.log)
    assert set(entry["check"]) == {"duplicate_id"}
    assert sorted(entry["row"].tolist()) == [5, 10]


def test_missing_and_extra_columns(tmp_path, instrument):
    given = given_answers(instrument, 8)
    data = qualtrics_csv(given, instrument)
    column = matrix_tag(instrument, 2)
    item = instrument.pages[0].questions[1].code

    def change(rows):
        k = rows[0].index(column)
        for row in rows:
            del row[k]
        rows[0].append("Q_Custom")
        rows[1].append("Custom")
        rows[2].append('{"ImportId":"QID500"}')
        for row in rows[3:]:
            row.append("x")

    responses = read_responses(write(tmp_path, edit(data, change)), instrument)
    found = problems(responses.log)
    assert found[["column", "check"]].values.tolist() == [[item, "missing_column"], ["Q_Custom", "extra_column"]]


def test_truncated_line(tmp_path, instrument):
    given = given_answers(instrument, 8)
    data = qualtrics_csv(given, instrument)
    lines = data.decode("utf-8-sig").split("\r\n")
    lines[5] = ",".join(lines[5].split(",")[:25])  # the third respondent (line 6) cut short
    path = write(tmp_path, "\r\n".join(lines).encode("utf-8-sig"))
    export = qualtrics.read(path, path.read_bytes(), instrument)
    assert [(n["row"], n["respondent"], n["check"]) for n in export.notes] == [(6, given["id"][2], "truncated_row")]
    responses = read_responses(path, instrument)
    assert len(responses.data) == 8
    end = data.index(b"\r\n", data.index(given["id"][4].encode()))  # the end of line 8
    cut = write(tmp_path, data[: data.rindex(b",", 0, end - 20) + 1] + b'"abc', "cut.csv")  # an unclosed quote
    with pytest.raises(IasemError, match=r"cut\.csv:8"):
        read_responses(cut, instrument, platform="qualtrics")


def test_header_only_and_malformed_import_ids(tmp_path, instrument):
    given = given_answers(instrument, 3)
    data = qualtrics_csv(given, instrument)
    header = b"\r\n".join(data.split(b"\r\n")[:3]) + b"\r\n"
    responses = read_responses(write(tmp_path, header), instrument, platform="qualtrics")
    assert len(responses.data) == 0

    def break_json(rows):
        rows[2] = [cell.replace('"}', "") for cell in rows[2]]  # not JSON any more, still an ImportId row

    responses = read_responses(write(tmp_path, edit(data, break_json)), instrument, platform="qualtrics")
    pd.testing.assert_frame_equal(responses.data, expected(given, instrument))
