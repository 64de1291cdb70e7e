"""Pieces every exporter shares: delimited text with formula-safe cells, and language checks."""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Iterable, Sequence

from ...files import FORMULA_TRIGGERS, safe_cell
from ..schema import LANGUAGES


def delimited(rows: Iterable[Sequence[object]], delimiter: str = ",", *, bom: bool = False) -> bytes:
    """Rows as CSV/TSV bytes (UTF-8, CRLF as RFC 4180 asks), every text cell made formula-safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    for row in rows:
        writer.writerow(["" if cell is None else safe_cell(cell) for cell in row])
    return (("\ufeff" if bom else "") + buffer.getvalue()).encode("utf-8")


def other_languages(lang: str) -> list[str]:
    return [other for other in LANGUAGES if other != lang]


LANGUAGE_NAMES = {"nl": ("Nederlands", "Dutch"), "en": ("English", "English")}


def html_label(value: str, reserved: str = "") -> str:
    """A user text as one line of platform label HTML.

    HTML is escaped, each character of ``reserved`` (a platform's piping or expression syntax, e.g. ``[]`` in
    REDCap, ``{}`` in LimeSurvey) becomes a numeric entity, and so does a leading formula trigger, so the label
    shows exactly what was written but can neither open a tag, pipe a value nor run as a spreadsheet formula.
    """
    escaped = html.escape(" ".join(value.split()), quote=False)
    escaped = "".join(f"&#{ord(char)};" if char in reserved else char for char in escaped)
    if escaped.startswith(FORMULA_TRIGGERS):
        escaped = f"&#{ord(escaped[0])};{escaped[1:]}"
    return escaped


def claim_name(base: str, taken: set[str], *, separator: str = "_", max_length: int | None = None) -> str:
    """``base``, or ``base`` with the first free counter (``rsa_2``), not yet in ``taken``; adds it to ``taken``.

    With ``max_length`` the base is shortened so the counter still fits.
    """
    name, n = base, 1
    while name in taken:
        n += 1
        suffix = f"{separator}{n}"
        name = (base[: max_length - len(suffix)] if max_length else base) + suffix
    taken.add(name)
    return name
