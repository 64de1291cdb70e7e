"""ODK Central CSV downloads read back: ``group-field`` paths or bare names, select_multiple lists and per-choice
columns, the ZIP, Central's metadata; malformed files give logged decisions or errors naming the line."""

from __future__ import annotations

import csv
import io
import zipfile

import pandas as pd
import pytest

from iasem import load_instrument
from iasem.errors import IasemError
from iasem.responses import read_responses
from iasem.responses.platforms import odk

from .platform_writers_forms import odk_csv, odk_zip, with_ids
from .responses_support import answers, expected, problems

SPECS = ["relational", "intersectoral"]
VARIANTS = {
    "groups": {},
    "groups-split": {"split": True},
    "no-group-names": {"groups": False},
    "no-group-names-split-no-start-end": {"groups": False, "split": True, "start_end": False},
}


@pytest.fixture(scope="module", params=SPECS)
def instrument(request):
    return load_instrument(request.param)


def check(result, given, instrument, *, durations: bool = True) -> None:
    pd.testing.assert_frame_equal(result.data, expected(given, instrument))
    assert result.platform == "odk"
    assert problems(result.log).empty, problems(result.log).to_string()
    assert list(result.meta.index) == list(given["id"])
    assert result.meta["line"].tolist() == list(range(2, 2 + len(given)))
    if durations:
        assert result.meta["duration"].tolist() == [float(d) for d in given["duration"]]
    else:
        assert result.meta["duration"].isna().all()
    assert result.meta["complete"].tolist() == [True] * len(given)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_round_trip(tmp_path, instrument, variant):
    options = VARIANTS[variant]
    given = with_ids(answers(instrument, n=30, seed=21), prefix="uuid:")
    path = tmp_path / f"{instrument.id}.csv"
    path.write_bytes(odk_csv(given, instrument, **options))
    check(read_responses(path, instrument, platform="odk"), given, instrument,
          durations=options.get("start_end", True))  # fmt: skip


def test_round_trip_from_the_zip(tmp_path, instrument):
    given = with_ids(answers(instrument, n=20, seed=4), prefix="uuid:")
    path = tmp_path / f"{instrument.id}.zip"
    path.write_bytes(odk_zip(odk_csv(given, instrument, split=True), instrument.id))
    check(read_responses(path, instrument, platform="odk"), given, instrument)


@pytest.mark.parametrize("variant", ["groups", "no-group-names", "zip"])
def test_auto_detects_odk(tmp_path, instrument, variant):
    given = with_ids(answers(instrument, n=12, seed=8), prefix="uuid:")
    table = odk_csv(given, instrument, groups=variant != "no-group-names")
    path = tmp_path / ("export.zip" if variant == "zip" else "export.csv")
    path.write_bytes(odk_zip(table, instrument.id) if variant == "zip" else table)
    result = read_responses(path, instrument)
    assert result.platform == "odk"
    pd.testing.assert_frame_equal(result.data, expected(given, instrument))


def test_sniff_is_specific(tmp_path):
    assert odk.sniff(tmp_path / "x.csv", b"SubmissionDate,start,rsa-rsa1,meta-instanceID,KEY,SubmitterID\n")
    assert not odk.sniff(tmp_path / "x.csv", b"id,rsa1,rsa2,duration\n1,4,5,300\n")
    assert not odk.sniff(tmp_path / "x.csv", b'"rsa/rsa1";"_id";"_uuid";"_submission_time"\r\n')
    assert not odk.sniff(tmp_path / "x.zip", b"PK\x03\x04 not really a zip")


def test_undecrypted_submission_is_kept_and_marked_incomplete(tmp_path):
    instrument = load_instrument("relational")
    given = with_ids(answers(instrument, n=8, seed=3), prefix="uuid:")
    path = tmp_path / "encrypted.csv"
    path.write_bytes(odk_csv(given, instrument, status={2: "not decrypted"}))
    result = read_responses(path, instrument, platform="odk")
    assert len(result.data) == len(given)
    assert result.meta["complete"].tolist() == [k != 2 for k in range(len(given))]
    assert result.meta.index[2] == given["id"][2]  # KEY, where meta-instanceID is empty
    assert result.data.iloc[2][[q.code for q in instrument.likert_questions]].isna().all()
    others = [k for k in range(len(given)) if k != 2]
    pd.testing.assert_frame_equal(result.data.iloc[others], expected(given, instrument).iloc[others])


# ---------------------------------------------------------------------------------------------------------------
# Malformed exports


@pytest.fixture
def relational():
    return load_instrument("relational")


def _export(relational, tmp_path, edit, **options):
    given = with_ids(answers(relational, n=10, seed=2, missing=0.0), prefix="uuid:")
    rows = list(csv.reader(io.StringIO(odk_csv(given, relational, **options).decode("utf-8"), newline="")))
    edit(rows)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path = tmp_path / "odk.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    return given, read_responses(path, relational, platform="odk")


def _entries(result, check: str) -> list[dict]:
    return result.log[result.log["check"] == check].to_dict("records")


def test_out_of_range_and_non_answer_values_are_logged(tmp_path, relational):
    def edit(rows):
        rows[4][rows[0].index("trust-trust2")] = "6"
        rows[6][rows[0].index("background-atype")] = "publiek"
        rows[7][rows[0].index("background-npartners")] = "veel"

    given, result = _export(relational, tmp_path, edit)
    found = {e["check"]: (e["row"], e["column"], e["respondent"]) for e in result.log.to_dict("records")}
    assert found["out_of_range"] == (5, "trust-trust2", given["id"][3])
    assert found["unknown_label"] == (7, "background-atype", given["id"][5])
    assert found["non_numeric"] == (8, "background-npartners", given["id"][6])
    assert pd.isna(result.data["atype"].iloc[5])


def test_choice_keys_are_read_like_choice_names(tmp_path, relational):
    def edit(rows):
        rows[1][rows[0].index("rsa-rsa1")] = "agree"
        rows[1][rows[0].index("background-goals")] = "cost_control other"

    _given, result = _export(relational, tmp_path, edit)
    assert result.data["rsa1"].iloc[0] == 4
    assert result.data.iloc[0][["goals_cost_control", "goals_other", "goals_knowledge_sharing"]].tolist() == [
        True, True, False]  # fmt: skip
    assert problems(result.log).empty


def test_duplicated_instance_id_is_flagged_and_both_rows_kept(tmp_path, relational):
    def edit(rows):
        for column in ("meta-instanceID", "KEY"):
            rows[8][rows[0].index(column)] = rows[1][rows[0].index(column)]

    given, result = _export(relational, tmp_path, edit)
    assert sorted({e["row"] for e in _entries(result, "duplicate_id")}) == [2, 9]
    assert len(result.data) == len(given)


def test_missing_item_and_extra_column_are_logged(tmp_path, relational):
    def edit(rows):
        k = rows[0].index("igov-igov4")
        for row in rows:
            del row[k]
        rows[0].insert(5, "opmerkingen")
        for row in rows[1:]:
            row.insert(5, "prima")

    _given, result = _export(relational, tmp_path, edit)
    assert [e["column"] for e in _entries(result, "missing_column")] == ["igov4"]
    assert [e["column"] for e in _entries(result, "extra_column")] == ["opmerkingen"]
    assert result.data["igov4"].isna().all()


def test_truncated_line_keeps_the_row(tmp_path, relational):
    def edit(rows):
        del rows[5][rows[0].index("netorg-netw1") :]

    given, result = _export(relational, tmp_path, edit)
    assert len(result.data) == len(given)
    assert result.meta.index[4] == "6"  # meta-instanceID and KEY were cut off: the line number
    assert pd.isna(result.data["netw1"].iloc[4]) and result.data["rsa1"].iloc[4] == given["rsa1"][4]


def test_unterminated_quote_names_the_line(tmp_path, relational):
    given = with_ids(answers(relational, n=5, seed=2), prefix="uuid:")
    text = odk_csv(given, relational).decode("utf-8").splitlines()
    text[3] = text[3].replace(",Veldwerker 1,", ',"Veldwerker 1,')
    path = tmp_path / "quote.csv"
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    with pytest.raises(IasemError, match=r"quote\.csv:\d+: cannot read the line"):
        read_responses(path, relational, platform="odk")


def test_broken_zips_are_errors(tmp_path, relational):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    with pytest.raises(IasemError, match=r"bad\.zip: not a readable ZIP file"):
        read_responses(bad, relational, platform="odk")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("media/photo.jpg", b"\xff\xd8")
    empty = tmp_path / "nocsv.zip"
    empty.write_bytes(buffer.getvalue())
    with pytest.raises(IasemError, match=r"nocsv\.zip: a ZIP file without a CSV table"):
        read_responses(empty, relational, platform="odk")


def test_errors_inside_the_zip_name_the_member_and_line(tmp_path, relational):
    given = with_ids(answers(relational, n=4, seed=2), prefix="uuid:")
    lines = odk_csv(given, relational).decode("utf-8").splitlines()
    lines[2] += ",surplus"
    path = tmp_path / "export.zip"
    path.write_bytes(odk_zip(("\n".join(lines) + "\n").encode("utf-8"), "relational"))
    with pytest.raises(IasemError, match=r"export\.zip:relational\.csv:3: .* cells for .* columns"):
        read_responses(path, relational, platform="odk")
