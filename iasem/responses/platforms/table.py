"""Reading delimited text exports: encodings, BOMs, delimiters, and errors that name the line."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from ...errors import IasemError

#: Tried in this order; cp1252 (Excel on Windows) last. A file none of them decodes is refused.
ENCODINGS = ("utf-8-sig", "utf-16", "cp1252")


def decode(path: Path, data: bytes) -> str:
    """The file's text: UTF-8 (with or without BOM), UTF-16 with a BOM, or Windows-1252."""
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise IasemError(f"{path}: a binary file, not a text export (NUL bytes near the start)")
    for encoding in ENCODINGS:
        if encoding == "utf-16" and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            continue
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise IasemError(f"{path}: cannot decode the file as UTF-8, UTF-16 or Windows-1252")  # pragma: no cover


def delimiter(text: str, allowed: str = ",;\t") -> str:
    """The delimiter of the header line: the allowed character it holds most often (outside quotes)."""
    first = next(iter(text.splitlines()), "")
    try:
        return csv.Sniffer().sniff(first, delimiters=allowed).delimiter
    except csv.Error:
        counts = {d: first.count(d) for d in allowed}
        return max(counts, key=counts.get) if any(counts.values()) else ","


def read_rows(path: Path, text: str, sep: str) -> list[tuple[int, list[str]]]:
    """All rows of the delimited text, as (line where the row starts, cells). Errors name the line."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=True)
    rows = []
    start = 1
    try:
        for row in reader:
            rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise IasemError(f"{path}:{reader.line_num}: cannot read the line ({exc})") from None
    return rows


def frame_of(
    path: Path, header: tuple[int, list[str]], rows: list[tuple[int, list[str]]]
) -> tuple[pd.DataFrame, pd.Series, list[dict]]:
    """A DataFrame of text cells with the header's column names, and each row's line number.

    A row with more cells than the header is an error naming its line; a shorter row (a truncated line) is
    padded with empty cells, which then read as missing answers, and gets a note for the import log.

    Returns
    -------
    (frame, lines, notes)
    """
    header_line, header_cells = header
    names = [h.strip() for h in header_cells]
    seen: dict[str, int] = {}
    for k, name in enumerate(names):
        if not name:
            raise IasemError(f"{path}:{header_line}: column {k + 1} of the header has no name")
        if name in seen:
            raise IasemError(f"{path}:{header_line}: the header names column {name!r} twice (columns "
                             f"{seen[name] + 1} and {k + 1})")  # fmt: skip
        seen[name] = k
    cells, lines, notes = [], [], []
    for line, row in rows:
        if not any(cell.strip() for cell in row):
            continue  # a blank line is not a respondent
        if len(row) > len(names):
            raise IasemError(f"{path}:{line}: {len(row)} cells for {len(names)} columns")
        if len(row) < len(names):
            notes.append({"check": "truncated_row", "action": "noted", "row": line, "column": names[len(row)],
                          "reason": f"line {line} has {len(row)} cells for {len(names)} columns (a truncated "
                          f"line?): the {len(names) - len(row)} cells from column {names[len(row)]!r} on read as "
                          "empty"})  # fmt: skip
        cells.append(row + [""] * (len(names) - len(row)))
        lines.append(line)
    frame = pd.DataFrame(cells, columns=names, dtype=object)
    return frame, pd.Series(lines, dtype=int), notes


def read_table(path: Path, data: bytes, *, header_rows: int = 1,
               allowed: str = ",;\t") -> tuple[pd.DataFrame, pd.Series, list[list[str]], list[dict]]:  # fmt: skip
    """Decode, split and frame a delimited export whose first ``header_rows`` rows are headers (the first
    names the columns). Returns the frame, the line numbers, the header rows' cells and the notes."""
    text = decode(path, data)
    if not text.strip():
        raise IasemError(f"{path}: the file is empty")
    rows = read_rows(path, text, delimiter(text, allowed))
    if len(rows) < header_rows:
        raise IasemError(f"{path}: {len(rows)} line(s), but the export has {header_rows} header lines")
    frame, lines, notes = frame_of(path, rows[0], rows[header_rows:])
    return frame, lines, [cells for _, cells in rows[:header_rows]], notes
