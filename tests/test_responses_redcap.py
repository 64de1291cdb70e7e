"""REDCap data exports read back (iasem/responses/platforms/redcap.py): round trips from iasem's own data
dictionary (raw and label exports, Dutch and English), and malformed exports."""

from __future__ import annotations

import pandas as pd
import pytest

import iasem
from iasem.errors import IasemError
from iasem.responses import read_responses
from iasem.responses.platforms import HEAD_BYTES, detect, limesurvey, qualtrics, redcap

from .platform_writers import edit, none_chosen, redcap_csv
from .responses_support import answers, expected, problems

VARIANTS = {
    "raw": {},
    "labels-nl": {"labels": True, "lang": "nl"},
    "labels-en": {"labels": True, "lang": "en"},
    "raw-en-no-survey": {"lang": "en", "survey": False},
}


@pytest.fixture(scope="module", params=["relational", "intersectoral"])
def instrument(request):
    return iasem.load_instrument(request.param)


def given_answers(instrument, n=25, seed=1):
    given = answers(instrument, n, seed)
    given["id"] = [str(k) for k in range(1, n + 1)]  # REDCap record ids
    return given


def write(tmp_path, data: bytes, name: str = "PROJECT_DATA_2024-03-01.csv"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def want(given, instrument):
    # A checkbox exports 0/Unchecked for every option not ticked, so "none chosen" reads as False for every
    # option (REDCap cannot tell it from "not answered").
    return none_chosen(expected(given, instrument), given, instrument, range(len(given)))


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("platform", ["auto", "redcap"])
def test_round_trip(tmp_path, instrument, variant, platform):
    given = given_answers(instrument)
    path = write(tmp_path, redcap_csv(given, instrument, **VARIANTS[variant]))
    responses = read_responses(path, instrument, platform=platform)
    assert responses.platform == "redcap"
    pd.testing.assert_frame_equal(responses.data, want(given, instrument))
    n = len(given)
    assert list(responses.data.index) == list(given["id"])
    assert responses.meta["complete"].tolist() == [True] * (n - 1) + [False]
    assert responses.meta["duration"].isna().all()  # REDCap exports no duration
    assert responses.meta["line"].tolist() == list(range(2, n + 2))
    assert problems(responses.log).empty, problems(responses.log).to_string()


def test_detected_and_not_claimed_by_others(tmp_path, instrument):
    given = given_answers(instrument, 5)
    for options in VARIANTS.values():
        data = redcap_csv(given, instrument, **options)
        path = write(tmp_path, data)
        head = data[:HEAD_BYTES]
        assert redcap.sniff(path, head)
        assert not qualtrics.sniff(path, head)
        assert not limesurvey.sniff(path, head)
        assert detect(path, head) == "redcap"
    plain_csv = write(tmp_path, b"id,rsa1,rsa2,duration\nR1,4,5,300\n", "plain.csv")
    assert not redcap.sniff(plain_csv, plain_csv.read_bytes())


@pytest.mark.parametrize(("raw", "label", "complete"), [("0", "Incomplete", False), ("1", "Unverified", True),
                                                        ("2", "Complete", True), ("", "", None)])  # fmt: skip
def test_form_status(tmp_path, instrument, raw, label, complete):
    given = given_answers(instrument, 3)
    for labels, value in ((False, raw), (True, label)):
        data = redcap_csv(given, instrument, labels=labels)

        def status(rows, value=value):
            for row in rows[1:]:
                row[-1] = value

        responses = read_responses(write(tmp_path, edit(data, status)), instrument)
        assert responses.meta["complete"].tolist() == [pd.NA if complete is None else complete] * 3


def test_out_of_range_code(tmp_path, instrument):
    given = given_answers(instrument, 8)
    item = instrument.likert_questions[3]
    given.loc[2, item.code] = 6
    responses = read_responses(write(tmp_path, redcap_csv(given, instrument)), instrument)
    entry = problems(responses.log)
    assert entry[["row", "respondent", "column", "check", "value"]].values.tolist() == [
        [4, "3", item.code, "out_of_range", "6"]
    ]


def test_unknown_label(tmp_path, instrument):
    given = given_answers(instrument, 8)
    data = redcap_csv(given, instrument, labels=True, lang="en")
    item = instrument.likert_questions[0]

    def garble(rows):
        rows[6][rows[0].index(item.text.en)] = "Sort of"

    responses = read_responses(write(tmp_path, edit(data, garble)), instrument)
    entry = problems(responses.log)
    assert entry[["row", "column", "check", "value"]].values.tolist() == [[7, item.text.en, "unknown_label", "Sort of"]]


def test_unknown_checkbox_mark(tmp_path, instrument):
    if not any(q.scale.type == "multiple" for q in instrument.questions):
        pytest.skip("no multiple-choice question")
    given = given_answers(instrument, 8)
    data = redcap_csv(given, instrument)

    def garble(rows):
        rows[1][rows[0].index("goals___2")] = "maybe"

    responses = read_responses(write(tmp_path, edit(data, garble)), instrument)
    entry = problems(responses.log)
    assert entry[["row", "column", "check"]].values.tolist() == [[2, "goals___2", "unknown_label"]]


def test_duplicate_record_id(tmp_path, instrument):
    given = given_answers(instrument, 8)
    given.loc[7, "id"] = "1"
    responses = read_responses(write(tmp_path, redcap_csv(given, instrument)), instrument)
    entry = problems(responses.log)
    assert set(entry["check"]) == {"duplicate_id"}
    assert sorted(entry["row"].tolist()) == [2, 9]
    assert len(responses.data) == 8


def test_missing_and_extra_columns(tmp_path, instrument):
    given = given_answers(instrument, 8)
    data = redcap_csv(given, instrument)
    item = instrument.likert_questions[2].code

    def change(rows):
        k = rows[0].index(item)
        for row in rows:
            del row[k]
        rows[0].insert(3, "my_calc")
        for row in rows[1:]:
            row.insert(3, "1")

    responses = read_responses(write(tmp_path, edit(data, change)), instrument)
    found = problems(responses.log)
    assert found[["column", "check"]].values.tolist() == [[item, "missing_column"], ["my_calc", "extra_column"]]


def test_longitudinal_metadata_is_known(tmp_path, instrument):
    given = given_answers(instrument, 4)
    data = redcap_csv(given, instrument)

    def events(rows):
        for name, value in (("redcap_event_name", "baseline_arm_1"), ("redcap_data_access_group", "site_a")):
            rows[0].insert(1, name)
            for row in rows[1:]:
                row.insert(1, value)

    responses = read_responses(write(tmp_path, edit(data, events)), instrument)
    assert problems(responses.log).empty


def test_truncated_line(tmp_path, instrument):
    given = given_answers(instrument, 8)
    data = redcap_csv(given, instrument)
    lines = data.decode("utf-8-sig").split("\r\n")
    lines[3] = ",".join(lines[3].split(",")[:10])
    path = write(tmp_path, "\r\n".join(lines).encode("utf-8-sig"))
    export = redcap.read(path, path.read_bytes(), instrument)
    assert [(n["row"], n["respondent"], n["check"]) for n in export.notes] == [(4, "3", "truncated_row")]
    responses = read_responses(path, instrument)
    assert len(responses.data) == 8
    assert responses.meta.loc["3", "complete"] is pd.NA
    too_long = "\r\n".join([*lines[:5], lines[5] + ",1,2", *lines[6:]]).encode("utf-8-sig")
    with pytest.raises(IasemError, match=r":6: .* cells for"):
        read_responses(write(tmp_path, too_long), instrument, platform="redcap")
