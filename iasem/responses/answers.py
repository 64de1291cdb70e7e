"""Reading one answer: the codes, option keys and option labels (Dutch or English) a platform may export,
turned into the scale's value.

A platform stores either the option's value (``4``), its key (``agree``: Kobo and ODK choice names), or the
text the respondent saw (``Mee eens``, ``Agree``: label exports of Qualtrics, LimeSurvey, REDCap). Labels
are matched without regard to case, surrounding space, repeated spaces or Unicode normal form.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

from ..instruments.schema import Scale


def normal(text: object) -> str:
    """A label as it is compared: NFKC, case-folded, spaces collapsed."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", str(text))).strip().casefold()


@dataclass(frozen=True)
class Reading:
    """What an answer cell said: ``value`` (None when empty or unreadable), and ``problem``: None, or one of
    "non_numeric", "out_of_range", "unknown_label" when the cell held something that is not an answer."""

    value: int | None
    problem: str | None = None
    via: str = "value"  # how it was read: value, key, label


class AnswerReader:
    """Reads the cells of one scale.

    >>> from iasem.instruments.bank import load_bank
    >>> reader = AnswerReader(load_bank().scales["agree5"])
    >>> [reader.read(x).value for x in ["4", "4.0", "agree", "Mee eens", " AGREE ", "", None]]
    [4, 4, 4, 4, 4, None, None]
    >>> reader.read("9").problem, reader.read("maybe").problem
    ('out_of_range', 'unknown_label')
    """

    def __init__(self, scale: Scale) -> None:
        self.scale = scale
        self.values = {o.value for o in scale.options}
        self.tokens: dict[str, tuple[int, str]] = {}
        for option in scale.options:
            self.tokens[normal(option.key)] = (option.value, "key")
            for label in (option.nl, option.en):
                self.tokens.setdefault(normal(label), (option.value, "label"))

    def read(self, cell: object) -> Reading:
        if cell is None or (isinstance(cell, float) and math.isnan(cell)):
            return Reading(None)
        text = str(cell).strip()
        if not text:
            return Reading(None)
        number = _number(text)
        if number is not None:
            return self._number(number)
        found = self.tokens.get(normal(text))
        if found is not None:
            return Reading(found[0], via=found[1])
        if self.scale.type == "integer":
            return Reading(None, "non_numeric")
        return Reading(None, "unknown_label")

    def _number(self, number: float) -> Reading:
        if not number.is_integer():
            return Reading(None, "out_of_range" if self.scale.type != "integer" else "non_numeric")
        value = int(number)
        integer = self.scale.type == "integer"
        ok = self.scale.min <= value <= self.scale.max if integer else value in self.values  # type: ignore[operator]
        return Reading(value) if ok else Reading(None, "out_of_range")

    def describe(self) -> str:
        """The accepted values, for messages: ``1-5`` or ``1, 2, 3`` or ``2-500``."""
        if self.scale.type == "integer":
            return f"{self.scale.min}-{self.scale.max}"
        values = sorted(self.values)
        if values == list(range(values[0], values[-1] + 1)) and len(values) > 2:
            return f"{values[0]}-{values[-1]}"
        return ", ".join(map(str, values))


def _number(text: str) -> float | None:
    try:
        number = float(text.replace(",", ".")) if re.fullmatch(r"[+-]?\d+([.,]\d+)?", text) else None
    except ValueError:
        return None
    if number is None or not math.isfinite(number):
        return None
    return number
