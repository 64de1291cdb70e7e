"""SurveyJS: the results a SurveyJS form (survey-core) hands to its host, stored as JSON.

SurveyJS keeps no responses itself: the host page stores ``survey.data`` when the respondent completes the form
(``survey.onComplete.add((sender) => save(sender.data))``; surveyjs.io/form-library/documentation/
handle-survey-results-access). ``survey.data`` is an object keyed by question name
(surveyjs.io/form-library/documentation/api-reference/survey-data-model#data):

- a Single-Select Matrix (``matrix``) gives an object keyed by row value, holding the column value chosen in
  each answered row (QuestionMatrixModel; unanswered rows, and a matrix with no answered row, are absent);
- a ``radiogroup``, ``rating`` or ``text`` question gives its value, a ``checkbox`` the list of chosen values.

iasem's SurveyJS export (:mod:`iasem.instruments.export.surveyjs`) names each matrix after its page, with the item
codes as row values and the option values as column values; the background questions are named by their codes,
and ``consent`` (1/0) comes first. So a result reads ``{"consent": 1, "rsa": {"rsa1": 4, ...}, "atype": 2,
"goals": [1, 3], "npartners": 5}``. Answers given as display text (labels, Dutch or English) are read too.

Files read:

- a JSON array of results, a single result object, or an object holding the array under ``results``,
  ``responses``, ``records`` or ``data``;
- NDJSON / JSON Lines (``.ndjson``, ``.jsonl``, or any file with one JSON object per line);
- each result either ``survey.data`` itself, or a record that wraps it under ``data``, ``surveyResult``,
  ``result`` or ``answers`` next to the host's own fields (an id, a time stamp, ...), all kept in ``.raw``.

Ids: the record's (or its wrapper's) ``id``, ``_id``, ``respondent``, ``respondent_id``, ``responseId``,
``response_id``, ``resultId``, ``postId`` or ``uuid``, else the record number. Duration: ``duration`` or
``timeSpent`` (seconds; survey-core's ``survey.timeSpent``). Complete: ``isCompleted``, ``isComplete``,
``completed`` or ``complete`` (or the opposite of ``isPartialCompleted``, the flag of SurveyJS's
``sendResult``), where the records have one.

Columns (``.raw``): a matrix row becomes ``<matrix>.<row>`` (``rsa.rsa1``, as SurveyJS expressions address it),
a checkbox answer a list; ``.meta.line`` is the record's number in a JSON array, or its line in NDJSON, and errors
in a malformed file name both the line and the record. A key repeated within one object is kept as
``<key> (2)``, which the import reports as an extra column.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pandas as pd

from ...errors import IasemError
from ...instruments.export.surveyjs import CONSENT
from ...instruments.instrument import Instrument
from . import PlatformExport
from .table import decode

NAME = "surveyjs"
SUFFIXES = (".json", ".ndjson", ".jsonl")
LIST_KEYS = ("results", "responses", "records", "data")
DATA_KEYS = ("data", "surveyResult", "result", "answers")
ID_KEYS = ("id", "_id", "respondent", "respondent_id", "responseId", "response_id", "resultId", "postId", "uuid")
DURATION_KEYS = ("duration", "timeSpent")
COMPLETE_KEYS = ("isCompleted", "isComplete", "completed", "complete")
PARTIAL_KEYS = ("isPartialCompleted",)
TRUE = {"true", "1", "yes"}
FALSE = {"false", "0", "no"}


def sniff(path: Path, head: bytes) -> bool:
    if path.suffix.lower() in SUFFIXES:
        return True
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return start in (b"[", b"{")


class _Record:
    """One result: where it is (line, record number), its answers, and the wrapper's fields."""

    def __init__(self, line: int, number: int, value: object, path: Path) -> None:
        if not isinstance(value, dict):
            raise IasemError(f"{path}:{line}: record {number} is a JSON {_kind(value)}, not a result object")
        self.line, self.number = line, number
        self.wrapper: dict = {}
        self.data = value


def read(path: Path, data: bytes, instrument: Instrument) -> PlatformExport:
    text = decode(path, data)
    if not text.strip():
        raise IasemError(f"{path}: the file is empty")
    records, ndjson = _records(path, text)
    names = _names(instrument)
    for record in records:
        _unwrap(record, names)
    rows, wrapper_keys = [], []
    for record in records:
        row = {key: _cell(value) for key, value in record.wrapper.items()}
        wrapper_keys += [k for k in record.wrapper if k not in wrapper_keys]
        row.update(_flatten(record.data))
        rows.append(row)
    order: dict[str, None] = {}
    for row in rows:
        order.update(dict.fromkeys(row))
    frame = pd.DataFrame([[row.get(c, "") for c in order] for row in rows], columns=list(order), dtype=object)
    lines = pd.Series([r.line if ndjson else r.number for r in records], dtype=int)
    columns, metadata = {}, list(wrapper_keys)
    for column in frame.columns:
        if column in wrapper_keys:
            continue
        code = names.get(column.casefold())
        if code == CONSENT or column in ID_KEYS + DURATION_KEYS + COMPLETE_KEYS + PARTIAL_KEYS:
            metadata.append(column)
        elif code is not None:
            columns[column] = code
    return PlatformExport(NAME, frame, _ids(frame, lines), lines, columns, {}, None, metadata, _duration(frame),
                          _complete(frame))  # fmt: skip


# ---------------------------------------------------------------------------------------------------------------
# JSON


def _records(path: Path, text: str) -> tuple[list[_Record], bool]:
    """The results in the file, and whether it is NDJSON."""
    body = text.lstrip()
    if not body.startswith(("[", "{")):
        line = _line_of(text, len(text) - len(body))
        raise IasemError(f"{path}:{line}: not SurveyJS results (a JSON array or object of results, or NDJSON); the "
                         f"file starts with {body[:20]!r}")  # fmt: skip
    if path.suffix.lower() in (".ndjson", ".jsonl"):
        return _ndjson(path, text), True
    if body.startswith("["):
        return _array(path, text, text.index("[")), False
    decoder = _decoder()
    start = text.index("{")
    try:
        value, end = decoder.raw_decode(text, start)
    except json.JSONDecodeError as exc:
        raise IasemError(f"{path}:{exc.lineno}: invalid JSON in record 1 ({exc.msg}, column {exc.colno})") from None
    if text[end:].strip():
        return _ndjson(path, text), True  # one object per line
    for key in LIST_KEYS:
        if isinstance(value.get(key), list) and len(value) <= 3:
            inner = text.index("[", _find_key(text, key, start))
            return _array(path, text, inner, whole=False), False
    return [_Record(_line_of(text, start), 1, value, path)], False


def _array(path: Path, text: str, start: int, *, whole: bool = True) -> list[_Record]:
    """The elements of the JSON array at ``text[start] == "["``, one by one, so an error names its record;
    ``whole``: the array is the whole file (nothing may follow it)."""
    decoder = _decoder()
    records: list[_Record] = []
    i = _skip(text, start + 1)
    expect_value = True
    while True:
        if i >= len(text):
            raise IasemError(f"{path}:{_line_of(text, len(text))}: the JSON array ends early, after record "
                             f"{len(records)} (a truncated file?)")  # fmt: skip
        if text[i] == "]" and (not records or not expect_value):
            if whole and text[i + 1 :].strip():
                raise IasemError(f"{path}:{_line_of(text, _skip(text, i + 1))}: more text after the JSON array")
            return records
        if not expect_value:
            if text[i] != ",":
                raise IasemError(f"{path}:{_line_of(text, i)}: expected ',' or ']' after record {len(records)}, "
                                 f"found {text[i:i + 12]!r}")  # fmt: skip
            i = _skip(text, i + 1)
            expect_value = True
            continue
        number = len(records) + 1
        try:
            value, end = decoder.raw_decode(text, i)
        except json.JSONDecodeError as exc:
            raise IasemError(f"{path}:{exc.lineno}: invalid JSON in record {number} ({exc.msg}, column "
                             f"{exc.colno})") from None  # fmt: skip
        records.append(_Record(_line_of(text, i), number, value, path))
        i = _skip(text, end)
        expect_value = False


def _ndjson(path: Path, text: str) -> list[_Record]:
    decoder = _decoder()
    records: list[_Record] = []
    for line, content in enumerate(text.splitlines(), start=1):
        if not content.strip():
            continue
        number = len(records) + 1
        try:
            value, end = decoder.raw_decode(content, len(content) - len(content.lstrip()))
        except json.JSONDecodeError as exc:
            raise IasemError(f"{path}:{line}: invalid JSON in record {number} ({exc.msg}, column {exc.colno}); "
                             "a truncated line?") from None  # fmt: skip
        if content[end:].strip():
            raise IasemError(f"{path}:{line}: more than one JSON value on the line of record {number}")
        records.append(_Record(line, number, value, path))
    return records


def _decoder() -> json.JSONDecoder:
    return json.JSONDecoder(object_pairs_hook=_pairs, parse_constant=_constant)


def _pairs(pairs: list[tuple[str, object]]) -> dict:
    """An object; a key given twice keeps both values, the second as ``key (2)``."""
    out: dict = {}
    for key, value in pairs:
        name, n = key, 1
        while name in out:
            n += 1
            name = f"{key} ({n})"
        out[name] = value
    return out


def _constant(name: str) -> float:
    return math.nan  # NaN, Infinity: not JSON, written by some hosts; read as "not a number"


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def _line_of(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def _find_key(text: str, key: str, start: int) -> int:
    match = re.compile(r'"' + re.escape(key) + r'"\s*:').search(text, start)
    return match.end() if match else start


def _kind(value: object) -> str:
    return {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(type(value), "number")


# ---------------------------------------------------------------------------------------------------------------
# Results -> columns


def _names(instrument: Instrument) -> dict[str, str]:
    """Column (casefolded) -> question code: ``<matrix>.<row>`` and the bare codes; plus ``consent``."""
    names = {CONSENT: CONSENT}
    for page in instrument.pages:
        for q in page.questions:
            names[q.code.casefold()] = q.code
            if page.kind == "matrix":
                names[f"{page.name}.{q.code}".casefold()] = q.code
    return names


def _unwrap(record: _Record, names: dict[str, str]) -> None:
    """A record that wraps ``survey.data`` (no key of its own is a question) is split into data and wrapper."""
    matrices = {c.split(".")[0] for c in names if "." in c}
    value = record.data
    own = [k for k in value if k.casefold() in names or k.casefold() in matrices]
    if own:
        return
    for key in DATA_KEYS:
        if isinstance(value.get(key), dict):
            record.wrapper = {k: v for k, v in value.items() if k != key}
            record.data = value[key]
            return


def _flatten(data: dict, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = _cell(value)
    return out


def _cell(value: object) -> object:
    """A cell as text ("" for null); a list (a checkbox answer) as a list of texts."""
    if isinstance(value, list):
        if all(not isinstance(v, (dict, list)) for v in value):
            return [_cell(v) for v in value]
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False) if value else ""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else repr(value)
    return str(value)


def _first(frame: pd.DataFrame, keys: tuple[str, ...]) -> str | None:
    return next((k for k in keys if k in frame.columns), None)


def _ids(frame: pd.DataFrame, lines: pd.Series) -> pd.Series:
    numbers = pd.Series(lines.astype(str).to_numpy(), index=frame.index)
    column = _first(frame, ID_KEYS)
    if column is None:
        return numbers
    ids = pd.Series([c if isinstance(c, str) else json.dumps(c) for c in frame[column]], index=frame.index)
    ids = ids.str.strip()
    return ids.where(ids != "", numbers)


def _duration(frame: pd.DataFrame) -> pd.Series | None:
    column = _first(frame, DURATION_KEYS)
    if column is None:
        return None
    return pd.to_numeric(pd.Series([c if isinstance(c, str) else "" for c in frame[column]], index=frame.index),
                         errors="coerce")  # fmt: skip


def _complete(frame: pd.DataFrame) -> pd.Series | None:
    column, invert = _first(frame, COMPLETE_KEYS), False
    if column is None:
        column, invert = _first(frame, PARTIAL_KEYS), True
    if column is None:
        return None
    out = []
    for cell in frame[column]:
        text = str(cell).strip().casefold() if isinstance(cell, str) else ""
        flag = True if text in TRUE else False if text in FALSE else None
        out.append(pd.NA if flag is None else (not flag if invert else flag))
    return pd.Series(pd.array(out, dtype="boolean"), index=frame.index)
