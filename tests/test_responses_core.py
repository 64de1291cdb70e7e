"""The response-import core (iasem/responses): plain CSV round trips, answers by value, key or label, the
decision log, the CLI, and fuzzing: a malformed file gives a clear IasemError or logged decisions, never an
unhandled exception and never a silently dropped row."""

from __future__ import annotations

import csv
import hashlib
import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

import iasem
from iasem.cli import main
from iasem.errors import IasemError
from iasem.responses import read_responses
from iasem.responses.answers import AnswerReader
from tests.responses_support import answers, expected

INSTRUMENT = iasem.load_instrument("relational")
GIVEN = answers(INSTRUMENT, 40, 3)


def _flat(given: pd.DataFrame) -> pd.DataFrame:
    flat = given.copy()
    flat["goals"] = [",".join(map(str, v)) for v in given["goals"]]
    return flat


@pytest.fixture
def export(tmp_path):
    path = tmp_path / "export.csv"
    _flat(GIVEN).to_csv(path, index=False)
    return path


def test_plain_csv_round_trip(export):
    before = hashlib.sha256(export.read_bytes()).hexdigest()
    responses = read_responses(export, INSTRUMENT, platform="csv")
    pd.testing.assert_frame_equal(responses.data, expected(GIVEN, INSTRUMENT))
    assert hashlib.sha256(export.read_bytes()).hexdigest() == before  # the input is never modified
    assert responses.meta["duration"].tolist() == GIVEN["duration"].tolist()
    assert responses.meta["line"].tolist() == list(range(2, 42))
    problems = responses.log[responses.log["action"].isin(["set_missing", "missing", "ignored"])]
    assert problems.empty
    scored = responses.log[responses.log["check"] == "reverse_keyed"]
    assert set(scored["column"]) == set(INSTRUMENT.reverse_keyed())
    # The answers as given stay available.
    code = INSTRUMENT.reverse_keyed()[0]
    np.testing.assert_array_equal(responses.answers[code].to_numpy(dtype=float, na_value=np.nan),
                                  GIVEN[code].to_numpy(dtype=float))  # fmt: skip


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_answers_as_labels_in_either_language(tmp_path, lang):
    labelled = _flat(GIVEN)
    for q in INSTRUMENT.questions:
        if q.scale.options and q.scale.type != "multiple":
            labels = {o.value: getattr(o, lang) for o in q.scale.options}
            labelled[q.code] = [labels.get(v) if v is not None and not pd.isna(v) else None for v in GIVEN[q.code]]
    path = tmp_path / "labels.csv"
    labelled.to_csv(path, index=False, sep=";", encoding="utf-8-sig")
    responses = read_responses(path, INSTRUMENT)
    pd.testing.assert_frame_equal(responses.data, expected(GIVEN, INSTRUMENT))
    assert (responses.log["check"] == "labels").sum() > 10


def test_answer_reader_reads_values_keys_and_labels():
    reader = AnswerReader(INSTRUMENT.likert_questions[0].scale)
    assert [reader.read(x).value for x in ["5", "strongly_agree", "Helemaal mee eens", "Strongly  AGREE"]] == [5] * 4
    assert reader.read("6").problem == "out_of_range" and reader.read("3.5").problem == "out_of_range"
    assert reader.read("vaag").problem == "unknown_label"


def test_bad_cells_are_logged_with_row_and_column(tmp_path):
    broken = _flat(GIVEN)
    broken["rsa1"] = broken["rsa1"].astype(object)
    broken.loc[2, "rsa1"] = "7"
    broken.loc[5, "rsa1"] = "misschien"
    broken["npartners"] = broken["npartners"].astype(object)
    broken.loc[1, "npartners"] = "veel"
    broken.loc[7, "id"] = broken.loc[6, "id"]
    broken["remarks"] = "x"
    broken = broken.drop(columns=["trust2"])
    path = tmp_path / "broken.csv"
    broken.to_csv(path, index=False)
    responses = read_responses(path, INSTRUMENT)
    log = responses.log.set_index("check")
    assert len(responses.data) == 40
    bad = responses.log[responses.log["action"] == "set_missing"].sort_values("row")
    assert bad[["row", "column", "check"]].values.tolist() == [
        [3, "npartners", "non_numeric"],
        [4, "rsa1", "out_of_range"],
        [7, "rsa1", "unknown_label"],
    ]
    assert "7" in bad["reason"].iloc[1] and "1-5" in bad["reason"].iloc[1]
    assert log.loc["missing_column", "column"] == "trust2"
    assert log.loc["extra_column", "column"] == "remarks"
    assert sorted(responses.log.loc[responses.log["check"] == "duplicate_id", "row"]) == [8, 9]
    assert responses.data["rsa1"].isna().sum() >= 2


def test_cli_imports_writes_and_refuses_to_overwrite(export, tmp_path, capsys):
    out = tmp_path / "clean"
    args = ["responses", "import", str(export), "--instrument", "relational", "--out", str(out)]
    assert main(args) == 0
    data = pd.read_csv(out / "responses.csv")
    assert len(data) == 40 and data["respondent"].tolist() == GIVEN["id"].tolist()
    assert {"check", "action", "row", "reason"} <= set(pd.read_csv(out / "log.csv").columns)
    report = (out / "screening.md").read_text(encoding="utf-8")
    assert "Little's MCAR test" in report and "Huang" in report
    assert main(args) == 1 and "--force" in capsys.readouterr().err
    assert main([*args, "--force", "--exclude", "attention"]) == 0
    kept = pd.read_csv(out / "responses.csv")
    assert len(kept) == 40 - sum(k % 7 == 0 for k in range(40))
    assert "excluded on request" in (out / "screening.md").read_text(encoding="utf-8")


def test_file_errors_name_the_file_and_line(tmp_path):
    with pytest.raises(IasemError, match="no such file"):
        read_responses(tmp_path / "nope.csv", INSTRUMENT)
    path = tmp_path / "bad.csv"
    path.write_text("id,rsa1,rsa2\nR1,1,2\nR2,1,2,3,4\n", encoding="utf-8")
    with pytest.raises(IasemError, match=r"bad.csv:3: 5 cells for 3 columns"):
        read_responses(path, INSTRUMENT, platform="csv")
    path.write_text("id,rsa1,rsa1\nR1,1,2\n", encoding="utf-8")
    with pytest.raises(IasemError, match=r"bad.csv:1: the header names column 'rsa1' twice"):
        read_responses(path, INSTRUMENT, platform="csv")
    path.write_bytes(b"\x00\x01\x02binary")
    with pytest.raises(IasemError, match="binary"):
        read_responses(path, INSTRUMENT, platform="csv")
    with pytest.raises(IasemError, match="unknown platform"):
        read_responses(path, INSTRUMENT, platform="spss")


def _data_rows(data: bytes) -> int | None:
    """Respondent rows of a delimited file, counted independently of iasem (None if it is not one)."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        return None  # not text in either encoding: iasem must have refused it
    first = text.splitlines()[0] if text.splitlines() else ""
    sep = max(",;\t", key=first.count)
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=True))
    except csv.Error:
        return None
    return sum(1 for row in rows[1:] if any(cell.strip() for cell in row))


HEADER = ["id", *[q.code for q in INSTRUMENT.likert_questions[:6]], "npartners"]
cells = hs.one_of(hs.sampled_from(["1", "3", "5", "", "7", "-1", "99999999999999999999", "1e308", "nan", "Mee eens",
                                   "agree", "🙂", "\"", "a,b", "0x10", " 4 "]),
                  hs.text(max_size=8))  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    header=hs.permutations(HEADER).flatmap(lambda h: hs.lists(hs.sampled_from(h), min_size=1, max_size=10)),
    rows=hs.lists(hs.lists(cells, min_size=0, max_size=10), max_size=6),
    sep=hs.sampled_from([",", ";", "\t"]),
    encoding=hs.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]),
    junk=hs.binary(max_size=20),
    cut=hs.integers(min_value=0, max_value=400),
)
def test_fuzzed_files_give_an_error_or_every_row(tmp_path, header, rows, sep, encoding, junk, cut):
    text = sep.join(header) + "\n" + "\n".join(sep.join(row) for row in rows) + "\n"
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        data = text.encode("utf-8")
    variants = [data, data[:cut], data + junk, junk + data]
    for k, variant in enumerate(variants):
        path = tmp_path / f"fuzz{k}.csv"
        path.write_bytes(variant)
        try:
            responses = read_responses(path, INSTRUMENT, screen=False)
        except IasemError as exc:
            assert str(path) in str(exc)  # a clear error names the file
            continue
        expected_rows = _data_rows(variant)
        if expected_rows is not None and not variant.startswith((b"\xff\xfe", b"\xfe\xff")):
            assert len(responses.data) == expected_rows  # no row is silently dropped
