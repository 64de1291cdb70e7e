"""KoboToolbox CSV downloads read back: XML values and label exports (Dutch and English), ``;`` and ``,``, group
paths, select_multiple both ways, metadata; malformed files give logged decisions or errors naming the line."""

from __future__ import annotations

import csv
import io
import math

import pandas as pd
import pytest

from iasem import load_instrument
from iasem.errors import IasemError
from iasem.responses import read_responses
from iasem.responses.platforms import kobo

from .platform_writers_forms import kobo_csv, with_ids
from .responses_support import answers, expected, problems

SPECS = ["relational", "intersectoral"]
VARIANTS = {
    "xml-semicolon": {},
    "xml-comma": {"sep": ","},
    "xml-no-groups": {"groups": False, "start_end": False},
    "xml-summary-only": {"multiple": "summary"},
    "xml-details-only": {"multiple": "details"},
    "xml-dot-separator": {"group_sep": "."},
    "xml-hxl-row": {"hxl": True},
    "labels-nl": {"mode": "nl"},
    "labels-en": {"mode": "en"},
    "labels-en-summary-only": {"mode": "en", "multiple": "summary"},
    "labels-nl-hierarchy-comma": {"mode": "nl", "hierarchy": True, "sep": ","},
    "labels-en-hierarchy-details": {"mode": "en", "hierarchy": True, "multiple": "details"},
}


@pytest.fixture(scope="module", params=SPECS)
def instrument(request):
    return load_instrument(request.param)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_round_trip(tmp_path, instrument, variant):
    options = VARIANTS[variant]
    given = with_ids(answers(instrument, n=30, seed=11))
    path = tmp_path / "kobo_export.csv"
    path.write_bytes(kobo_csv(given, instrument, **options))
    result = read_responses(path, instrument, platform="kobo")
    pd.testing.assert_frame_equal(result.data, expected(given, instrument))
    assert result.platform == "kobo"
    assert problems(result.log).empty, problems(result.log).to_string()
    assert list(result.meta.index) == list(given["id"])
    first = 3 if options.get("hxl") else 2
    assert result.meta["line"].tolist() == list(range(first, first + len(given)))
    if options.get("start_end", True):
        assert result.meta["duration"].tolist() == [float(d) for d in given["duration"]]
    else:
        assert result.meta["duration"].isna().all()
    assert result.meta["complete"].tolist() == [True] * len(given)
    assert len(result.raw) == len(given)


@pytest.mark.parametrize("variant", ["xml-semicolon", "xml-comma", "labels-nl", "labels-en-hierarchy-details"])
def test_auto_detects_kobo(tmp_path, instrument, variant):
    given = with_ids(answers(instrument, n=12, seed=5))
    path = tmp_path / "data.csv"
    path.write_bytes(kobo_csv(given, instrument, **VARIANTS[variant]))
    result = read_responses(path, instrument)
    assert result.platform == "kobo"
    pd.testing.assert_frame_equal(result.data, expected(given, instrument))


def test_sniff_is_specific(tmp_path):
    head = b'"start";"end";"rsa/rsa1";"_id";"_uuid";"_submission_time"\r\n'
    assert kobo.sniff(tmp_path / "x.csv", head)
    assert not kobo.sniff(tmp_path / "x.csv", b"id,rsa1,rsa2,duration\n1,4,5,300\n")
    assert not kobo.sniff(tmp_path / "x.csv", b"SubmissionDate,rsa-rsa1,meta-instanceID,KEY\n")
    assert not kobo.sniff(tmp_path / "x.json", b'[{"rsa": {"rsa1": 4}}]')


# ---------------------------------------------------------------------------------------------------------------
# Malformed exports


@pytest.fixture
def relational():
    return load_instrument("relational")


def _rows(data: bytes, sep: str = ";") -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline=""), delimiter=sep))


def _write(rows: list[list[str]], sep: str = ";") -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=sep, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def _export(relational, tmp_path, edit, **options) -> tuple[pd.DataFrame, object]:
    given = with_ids(answers(relational, n=10, seed=2, missing=0.0))
    rows = _rows(kobo_csv(given, relational, **options))
    edit(rows)
    path = tmp_path / "kobo.csv"
    path.write_bytes(_write(rows))
    return given, read_responses(path, relational, platform="kobo")


def _entries(result, check: str) -> list[dict]:
    return result.log[result.log["check"] == check].to_dict("records")


def test_out_of_range_value_is_logged_with_row_and_column(tmp_path, relational):
    def edit(rows):
        rows[4][rows[0].index("rsa/rsa2")] = "9"

    given, result = _export(relational, tmp_path, edit)
    (entry,) = _entries(result, "out_of_range")
    assert (entry["row"], entry["column"], entry["respondent"]) == (5, "rsa/rsa2", given["id"][3])
    assert entry["action"] == "set_missing" and entry["value"] == "9"
    assert pd.isna(result.data["rsa2"].iloc[3]) and result.raw["rsa/rsa2"].iloc[3] == "9"


def test_unknown_label_is_logged(tmp_path, relational):
    def edit(rows):
        rows[2][rows[0].index(relational.questions[0].text.nl)] = "Misschien"

    _given, result = _export(relational, tmp_path, edit, mode="nl")
    (entry,) = _entries(result, "unknown_label")
    assert (entry["row"], entry["column"], entry["value"]) == (3, relational.questions[0].text.nl, "Misschien")


def test_unknown_choice_in_a_select_multiple_is_logged(tmp_path, relational):
    def edit(rows):
        rows[3][rows[0].index("background/goals")] = "1 7"

    _given, result = _export(relational, tmp_path, edit, multiple="summary")
    (entry,) = [e for e in result.log.to_dict("records") if e["check"] in ("unknown_label", "out_of_range")]
    assert (entry["row"], entry["column"], entry["value"]) == (4, "background/goals", "7")
    assert result.data["goals_cost_control"].iloc[2]


def test_duplicated_id_is_flagged_and_both_rows_kept(tmp_path, relational):
    def edit(rows):
        rows[6][rows[0].index("_uuid")] = rows[2][rows[0].index("_uuid")]

    given, result = _export(relational, tmp_path, edit)
    entries = _entries(result, "duplicate_id")  # the import's entries, and the screening's flags
    assert sorted({e["row"] for e in entries}) == [3, 7]
    assert len(result.data) == len(given)


def test_missing_item_column_is_logged(tmp_path, relational):
    def edit(rows):
        k = rows[0].index("ksr/ksr3")
        for row in rows:
            del row[k]

    _given, result = _export(relational, tmp_path, edit)
    (entry,) = _entries(result, "missing_column")
    assert entry["column"] == "ksr3"
    assert result.data["ksr3"].isna().all()


def test_extra_column_is_logged_and_kept_in_raw(tmp_path, relational):
    def edit(rows):
        rows[0].append("rsa/rsa9")
        for row in rows[1:]:
            row.append("3")

    given, result = _export(relational, tmp_path, edit)
    (entry,) = _entries(result, "extra_column")
    assert entry["column"] == "rsa/rsa9"
    assert result.raw["rsa/rsa9"].tolist() == ["3"] * len(given)


def test_truncated_last_line_keeps_the_row(tmp_path, relational):
    def edit(rows):
        del rows[-1][rows[0].index("fgov/fgov1") :]

    given, result = _export(relational, tmp_path, edit)
    assert len(result.data) == len(given)
    last = result.data.iloc[-1]
    assert result.meta.index[-1] == str(len(given) + 1)  # the id columns were cut off: the line number
    assert pd.isna(last["fgov1"]) and not pd.isna(last["rsa1"])
    assert not math.isnan(result.meta["duration"].iloc[-1])  # start/end come first and survive


def test_file_cut_inside_a_quoted_cell_names_the_line(tmp_path, relational):
    given = with_ids(answers(relational, n=6, seed=2))
    data = kobo_csv(given, relational)
    path = tmp_path / "cut.csv"
    path.write_bytes(data[: data.rindex(b'"submitted_via_web"') + 5])
    with pytest.raises(IasemError, match=r"cut\.csv:7: cannot read the line"):
        read_responses(path, relational, platform="kobo")


def test_row_longer_than_the_header_names_the_line(tmp_path, relational):
    given = with_ids(answers(relational, n=6, seed=2))
    rows = _rows(kobo_csv(given, relational))
    rows[3].append("surplus")
    path = tmp_path / "long.csv"
    path.write_bytes(_write(rows))
    with pytest.raises(IasemError, match=r"long\.csv:4: .* cells for .* columns"):
        read_responses(path, relational, platform="kobo")


def test_repeated_question_header_is_refused(tmp_path, relational):
    given = with_ids(answers(relational, n=4, seed=2))
    rows = _rows(kobo_csv(given, relational))
    rows[0][rows[0].index("rsa/rsa2")] = "rsa/rsa1"
    path = tmp_path / "twice.csv"
    path.write_bytes(_write(rows))
    with pytest.raises(IasemError, match=r"twice\.csv:1: the header names column 'rsa/rsa1' twice"):
        read_responses(path, relational, platform="kobo")


def test_empty_and_binary_files_are_errors(tmp_path, relational):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(IasemError, match="empty"):
        read_responses(empty, relational, platform="kobo")
    junk = tmp_path / "junk.csv"
    junk.write_bytes(b"\x00\x01\x02binary" * 50)
    with pytest.raises(IasemError, match="binary"):
        read_responses(junk, relational, platform="kobo")
