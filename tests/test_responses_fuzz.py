"""Fuzzing the platform readers with malformed exports (issue 6).

Valid exports of a few respondents, made by each platform's test writer (LimeSurvey, Qualtrics, REDCap, KoboToolbox,
ODK Central as CSV and as ZIP, SurveyJS), are mutated: cut at a random byte, columns shuffled (the header and the
cells alike), a column duplicated, binary junk inserted, re-encoded as UTF-16 or Windows-1252, a cell replaced by a
huge number, an emoji, a quote or nothing. Reading the result with ``read_responses(path, instrument)`` (the
platform recognised from the file) gives either an :class:`IasemError` that names the file or a ResponseSet, never
another exception; where the mutation keeps the rows (shuffled columns, a replaced cell, another encoding), the
ResponseSet has every respondent of the original.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

import iasem
from iasem.errors import IasemError
from iasem.responses import read_responses
from tests.platform_writers import limesurvey_csv, qualtrics_csv, qualtrics_ids, redcap_csv
from tests.platform_writers_forms import (
    kobo_csv,
    odk_csv,
    odk_zip,
    surveyjs_data,
    surveyjs_file,
    surveyjs_records,
    with_ids,
)
from tests.responses_support import answers

INSTRUMENT = iasem.load_instrument("relational")
N = 4
#: Qualtrics names a download after the survey and the time: spaces and a comma in the file name.
QUALTRICS_NAME = "Alliance survey_March 5, 2024_10.15.csv"


@dataclass(frozen=True)
class Export:
    """A valid export: its bytes, the file name the platform gives it, and how its table is laid out (None for
    JSON and ZIP files)."""

    data: bytes
    name: str
    delimiter: str | None = None
    header_rows: int = 1
    quote_all: bool = False
    bom: bool = False


def _exports() -> dict[str, Export]:
    given = answers(INSTRUMENT, N, seed=17)
    lime = given.assign(id=[str(k) for k in range(1, N + 1)])
    qualtrics = given.assign(id=qualtrics_ids(N))
    forms = with_ids(given)
    odk = with_ids(given, prefix="uuid:")
    sjs = surveyjs_file(surveyjs_records(forms, surveyjs_data(forms, INSTRUMENT)))
    return {
        "limesurvey": Export(limesurvey_csv(lime, INSTRUMENT), "results-survey123456.csv", ",", 1, True, True),
        "qualtrics": Export(qualtrics_csv(qualtrics, INSTRUMENT), QUALTRICS_NAME, ",", 3, False, True),
        "redcap": Export(redcap_csv(given, INSTRUMENT), "ALLIANCE_DATA_2024-03-05_1015.csv", ",", 1, False, True),
        "kobo": Export(kobo_csv(forms, INSTRUMENT), "relational_-_all_versions_-_2024-03-05.csv", ";", 1, True),
        "odk": Export(odk_csv(odk, INSTRUMENT), "relational.csv", ","),
        "odk-zip": Export(odk_zip(odk_csv(odk, INSTRUMENT), "relational"), "relational.zip"),
        "surveyjs": Export(sjs, "results.json"),
    }


EXPORTS = _exports()
JUNK = hs.binary(min_size=1, max_size=24)
SENTINEL = "XSENTINELX"
CELLS = hs.sampled_from(["9" * 400, "1e308", "-99999999999999999999", "🙂", "🙂🙂 Mee eens", '"', '""', "", " "])


def _rows(export: Export) -> list[list[str]]:
    text = export.data.decode("utf-8-sig")
    return [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=export.delimiter) if row]


def _write(export: Export, rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    quoting = csv.QUOTE_ALL if export.quote_all else csv.QUOTE_MINIMAL
    csv.writer(out, delimiter=export.delimiter, lineterminator="\r\n", quoting=quoting).writerows(rows)
    return ("\ufeff" if export.bom else "").encode("utf-8") + out.getvalue().encode("utf-8")


# ---------------------------------------------------------------------------------------------------------------
# Mutations: (bytes, whether the respondents' rows are all still there)


def cut(export: Export, draw) -> tuple[bytes, bool]:
    return export.data[: draw(hs.integers(0, len(export.data) - 1))], False


def junk(export: Export, draw) -> tuple[bytes, bool]:
    """Binary junk inserted at a random place, or written over the bytes there (which keeps a ZIP's offsets
    valid, so its compressed data are damaged rather than its directory)."""
    at, junk = draw(hs.integers(0, len(export.data))), draw(JUNK)
    over = draw(hs.booleans())
    return export.data[:at] + junk + export.data[at + (len(junk) if over else 0) :], False


def reencode(export: Export, draw) -> tuple[bytes, bool]:
    if export.delimiter is None and export.name.endswith(".zip"):
        return export.data, True
    text = export.data.decode("utf-8-sig")
    encoding = draw(hs.sampled_from(["utf-16", "utf-16-le", "cp1252"]))
    data = text.encode(encoding, errors="replace")
    # UTF-16 without a byte order mark is not a text export iasem can recognise: an error is the right answer.
    return data, encoding != "utf-16-le"


def shuffle(export: Export, draw) -> tuple[bytes, bool]:
    if export.name.endswith(".json"):
        records = json.loads(export.data)
        order = draw(hs.permutations(sorted({k for r in records for k in r})))
        return json.dumps([{k: r[k] for k in order if k in r} for r in records], indent=2).encode("utf-8"), True
    if export.delimiter is None:
        return export.data, True
    rows = _rows(export)
    order = draw(hs.permutations(range(len(rows[0]))))
    return _write(export, [[row[k] for k in order] for row in rows]), True


def duplicate(export: Export, draw) -> tuple[bytes, bool]:
    if export.name.endswith(".json"):
        text = export.data.decode("utf-8")
        lines = text.splitlines()
        keys = [k for k, line in enumerate(lines) if line.strip().startswith('"') and line.rstrip().endswith(",")]
        k = draw(hs.sampled_from(keys))
        return "\n".join([*lines[: k + 1], lines[k], *lines[k + 1 :]]).encode("utf-8"), True
    if export.delimiter is None:
        return export.data, True
    rows = _rows(export)
    width = len(rows[0])
    source, at = draw(hs.integers(0, width - 1)), draw(hs.integers(0, width))
    return _write(export, [[*row[:at], row[source], *row[at:]] for row in rows]), True


def replace_cell(export: Export, draw) -> tuple[bytes, bool]:
    value = draw(CELLS)
    if export.name.endswith(".json"):
        records = json.loads(export.data)
        record = records[draw(hs.integers(0, len(records) - 1))]
        key = draw(hs.sampled_from(sorted(record)))
        if isinstance(record[key], dict) and record[key]:
            record = record[key]
            key = draw(hs.sampled_from(sorted(record)))
        record[key] = int(value) if value.lstrip("-").isdigit() else value
        return json.dumps(records, ensure_ascii=False).encode("utf-8"), True
    if export.delimiter is None:
        return export.data, True
    rows = _rows(export)
    row = draw(hs.integers(export.header_rows, len(rows) - 1))
    column = draw(hs.integers(0, len(rows[row]) - 1))
    if not draw(hs.booleans()):
        rows[row][column] = value  # written as the platform writes a cell (quoted where needed)
        return _write(export, rows), True
    # Written bare, unquoted, as a hand edit would: a lone quote or a separator breaks the line.
    rows[row][column] = SENTINEL
    written = _write(export, rows)
    return written.replace(b'"' + SENTINEL.encode() + b'"' if export.quote_all else SENTINEL.encode(),
                           value.encode("utf-8")), False  # fmt: skip


MUTATIONS = {"cut": cut, "junk": junk, "reencode": reencode, "shuffle": shuffle, "duplicate": duplicate,
             "replace_cell": replace_cell}  # fmt: skip


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def test_the_originals_are_read_whole(folder):
    for platform, export in EXPORTS.items():
        path = folder / export.name
        path.write_bytes(export.data)
        responses = read_responses(path, INSTRUMENT)
        assert responses.platform == platform.removesuffix("-zip"), platform
        assert len(responses.data) == N


@pytest.mark.parametrize("platform", list(EXPORTS))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutation=hs.sampled_from(list(MUTATIONS)), data=hs.data())
def test_malformed_exports_give_an_iasem_error_or_every_row(folder, platform, mutation, data):
    export = EXPORTS[platform]
    mutated, rows_kept = MUTATIONS[mutation](export, data.draw)
    path = folder / export.name
    path.write_bytes(mutated)
    try:
        responses = read_responses(path, INSTRUMENT)
    except IasemError as exc:
        assert export.name in str(exc), str(exc)  # a clear error names the file
        return
    if rows_kept:
        assert len(responses.data) == N, responses.log.to_string()  # no row silently dropped
        assert len(responses.raw) == N
