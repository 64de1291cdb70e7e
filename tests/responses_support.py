"""Shared by the response-import tests: answers to an instrument as a respondent gives them, and the
``ResponseSet.data`` that reading them back must give.

Platform writers (in each platform's test module) turn ``answers(...)`` into that platform's export; the
round trip reads the export with ``iasem.read_responses`` and compares with ``expected(...)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from iasem.instruments.instrument import Instrument

#: The log checks that mean a problem with the file (the rest are notes, scoring and screening).
PROBLEMS = {"out_of_range", "non_numeric", "unknown_label", "duplicate_id", "missing_column", "extra_column",
            "truncated_row"}  # fmt: skip


def problems(log: pd.DataFrame) -> pd.DataFrame:
    """The log's entries about problems with the file."""
    return log[log["check"].isin(PROBLEMS)]


def answers(instrument: Instrument, n: int = 25, seed: int = 1, *, missing: float = 0.05) -> pd.DataFrame:
    """``n`` respondents' answers as given: one column per question (the option value, or None when skipped),
    a multiple-choice question as a list of chosen option values, plus ``id`` (R_0001...) and ``duration``
    (seconds). About ``missing`` of the Likert cells are skipped; the last respondent answers nothing after
    the first page (an incomplete response)."""
    rng = np.random.default_rng(seed)
    out: dict[str, list] = {"id": [f"R_{k + 1:04d}" for k in range(n)],
                            "duration": [int(v) for v in rng.integers(200, 1500, n)]}  # fmt: skip
    first_page = {q.code for q in instrument.pages[0].questions}
    for q in instrument.questions:
        values = [o.value for o in q.scale.options]
        column: list = []
        for k in range(n):
            if k == n - 1 and q.code not in first_page:
                column.append([] if q.scale.type == "multiple" else None)
                continue
            if q.scale.type == "multiple":
                column.append(sorted(int(v) for v in rng.choice(values, rng.integers(0, 3), replace=False)))
            elif q.scale.type == "integer":
                column.append(int(rng.integers(q.scale.min, min(q.scale.max, q.scale.min + 40) + 1)))
            elif q.kind == "attention":
                column.append(q.expect if k % 7 else values[0])  # every seventh respondent fails it
            else:
                column.append(None if rng.random() < missing else int(rng.choice(values)))
        out[q.code] = column
    return pd.DataFrame(out)


def expected(given: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """``ResponseSet.data`` for these answers: Likert items as Int64 (reverse-keyed items scored), single
    choice as categoricals of option keys, counts as Int64, multiple choice as boolean columns per option."""
    likert, background = {}, {}
    for q in instrument.questions:
        column = given[q.code]
        if q.scale.type == "multiple":
            answered = [bool(v) for v in column]
            for o in q.scale.options:
                background[f"{q.code}_{o.key}"] = pd.array(
                    [(o.value in v) if a else pd.NA for v, a in zip(column, answered, strict=True)], dtype="boolean"
                )
            continue
        values = pd.array([None if v is None or (isinstance(v, float) and np.isnan(v)) else int(v) for v in column],
                          dtype="Int64")  # fmt: skip
        if q.kind in ("likert", "attention"):
            if q.reverse:
                scale = [o.value for o in q.scale.options]
                values = (min(scale) + max(scale)) - values
            likert[q.code] = values
        elif q.scale.type == "single":
            keys = {o.value: o.key for o in q.scale.options}
            background[q.code] = pd.Categorical([keys.get(v) if v is not pd.NA else None for v in values],
                                                categories=[o.key for o in q.scale.options])  # fmt: skip
        else:
            background[q.code] = values
    frame = pd.concat([pd.DataFrame(likert), pd.DataFrame(background)], axis=1)
    frame.index = pd.Index(given["id"].astype(str).to_numpy(), name="respondent")
    return frame
