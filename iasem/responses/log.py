"""The decision log: every decision iasem takes about a response, with its row, column and reason.

Nothing is dropped or changed silently: a value read as missing, a label recoded, an item reverse-scored, a
respondent flagged or excluded each leave one entry, and the log travels with the data
(``ResponseSet.log``) and into the import report.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

#: The columns of a log table.
LOG_COLUMNS = ["row", "respondent", "column", "check", "action", "value", "reason"]
#: What a decision did: nothing to the data (flagged, noted), a value (recoded, set_missing, scored), the
#: columns (mapped, ignored, missing), or a respondent (excluded).
ACTIONS = ("noted", "flagged", "recoded", "set_missing", "scored", "mapped", "ignored", "missing", "excluded")


@dataclass(frozen=True)
class Decision:
    """One entry: ``row`` is the 1-based data row of the file (None for a whole column or the file),
    ``respondent`` the respondent's id, ``column`` the file's column (or the item code)."""

    row: int | None
    respondent: str | None
    column: str | None
    check: str
    action: str
    value: str | None
    reason: str


class DecisionLog:
    """An append-only list of :class:`Decision`.

    >>> log = DecisionLog()
    >>> log.add("out_of_range", "set_missing", "9 is not a value of agree5 (1-5)", row=3, respondent="R3",
    ...         column="rsa1", value="9")
    >>> log.table()[["row", "column", "check", "action"]].to_dict("records")
    [{'row': 3, 'column': 'rsa1', 'check': 'out_of_range', 'action': 'set_missing'}]
    """

    def __init__(self) -> None:
        self._entries: list[Decision] = []

    def add(self, check: str, action: str, reason: str, *, row: int | None = None, respondent: object = None,
            column: str | None = None, value: object = None) -> None:  # fmt: skip
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        self._entries.append(Decision(
            None if row is None else int(row),
            None if respondent is None else str(respondent),
            column,
            check,
            action,
            None if value is None else str(value),
            reason,
        ))  # fmt: skip

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self):
        return iter(self._entries)

    def table(self) -> pd.DataFrame:
        """The log as a DataFrame with :data:`LOG_COLUMNS`."""
        frame = pd.DataFrame([asdict(d) for d in self._entries], columns=LOG_COLUMNS)
        return frame.astype({"row": "Int64"})
