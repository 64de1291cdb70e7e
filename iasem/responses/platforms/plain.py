"""Plain CSV (or TSV, or ``;``-separated): one row per respondent, the instrument's item codes as column
names, an optional ``id`` column and optional ``duration`` (seconds). This is also what ``iasem simulate``
writes and what ``iasem responses import`` writes back.

A multiple-choice question is one column of chosen values separated by commas (``goals = "1,3"``), or one
column per option named ``<code>_<option key>`` holding 1/0.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ...instruments.instrument import Instrument
from . import PlatformExport
from .table import read_table

NAME = "csv"
ID_COLUMNS = ("id", "respondent", "respondent_id", "responseid", "response_id")


def sniff(path: Path, head: bytes) -> bool:
    return path.suffix.lower() in (".csv", ".tsv", ".txt")


def read(path: Path, data: bytes, instrument: Instrument) -> PlatformExport:
    frame, lines, _, notes = read_table(path, data)
    return mapped(NAME, frame, lines, instrument, separator=",", notes=notes)


def mapped(name: str, frame: pd.DataFrame, lines: pd.Series, instrument: Instrument, *,
           separator: str | None, metadata: list[str] | None = None, rename=lambda column: column,
           notes: list[dict] | None = None) -> PlatformExport:  # fmt: skip
    """The export of a table whose columns are (after ``rename``) the question codes, ``<code>_<key>``
    option columns, an id column and ``duration``."""
    codes = {q.code.casefold(): q for q in instrument.questions}
    columns, option_columns, meta = {}, {}, list(metadata or [])
    id_column = next((c for c in frame.columns if c.casefold() in ID_COLUMNS), None)
    duration = None
    for column in frame.columns:
        key = rename(column).casefold()
        if key in codes:
            columns[column] = codes[key].code
            continue
        option = _option_column(key, instrument)
        if option:
            option_columns[column] = option
        elif column == id_column or key == "duration":
            meta.append(column)
    if any(c.casefold() == "duration" for c in frame.columns):
        column = next(c for c in frame.columns if c.casefold() == "duration")
        duration = pd.to_numeric(frame[column], errors="coerce")
    ids = frame[id_column].astype(str) if id_column else pd.Series(lines.astype(str).to_numpy(), index=frame.index)
    return PlatformExport(name, frame, ids, lines, columns, option_columns, separator, meta, duration,
                          notes=notes or [])  # fmt: skip


def _option_column(key: str, instrument: Instrument) -> tuple[str, int] | None:
    for q in instrument.questions:
        if q.scale.type != "multiple":
            continue
        for option in q.scale.options:
            if key in (f"{q.code}_{option.key}".casefold(), f"{q.code}_{option.value}".casefold()):
                return q.code, option.value
    return None
