"""Which items measure which construct, checked against the data once, at the boundary.

Every function of :mod:`iasem.validation` takes ``constructs`` in one of three forms and turns it into one
``{construct: [items]}`` dict with :func:`as_constructs`:

- a dict ``{"visual": ["x1", "x2", "x3"], ...}``;
- an :class:`iasem.Instrument`: its measurement model (``Instrument.measurement_model()``, one
  ``construct =~ items`` line per construct), so the items are the instrument's item codes;
- lavaan syntax with only ``=~`` lines (``"visual =~ x1 + x2 + x3"``), as semTools' ``htmt(model)`` takes.

Errors name the construct and the column. Statistics that need to say something about the data (rows dropped
for missing values, a Heywood case) do so with a :class:`ValidationWarning`.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import IasemError
from ..instruments.instrument import Instrument
from ..syntax import ModelSyntaxError, parse_model

Constructs = dict[str, list[str]]

MISSING = ("listwise", "pairwise")


class ValidationWarning(UserWarning):
    """Something the user should know about a validation statistic: rows dropped for missing values, a
    measurement model that did not converge or has a Heywood case, a statistic that cannot be computed."""


def warn(message: str) -> None:
    """Issue a :class:`ValidationWarning` attributed to the user's call (the first frame outside
    iasem.validation)."""
    frame, level = sys._getframe(1), 2
    while frame is not None and frame.f_globals.get("__name__", "").startswith("iasem.validation"):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, ValidationWarning, stacklevel=level)


def as_constructs(
    constructs: Mapping[str, Sequence[str]] | Instrument | str,
    data: pd.DataFrame | None = None,
    *,
    min_items: int = 1,
) -> Constructs:
    """``constructs`` as ``{construct: [items]}``, checked (and, with ``data``, checked against the data).

    Parameters
    ----------
    constructs : dict, Instrument or str
        ``{construct: [item columns]}``, an :class:`iasem.Instrument` (its measurement model) or lavaan
        syntax made of ``construct =~ item + item`` lines only.
    data : DataFrame, optional
        When given, every item must be a numeric (or boolean) column of ``data`` without infinite values.
    min_items : int
        The fewest items a construct may have for the statistic at hand.

    Returns
    -------
    dict
        ``{construct: [items]}`` in the given order.

    Raises
    ------
    IasemError
        Naming every construct and column that is wrong: an unknown, non-numeric or infinite column, an empty
        construct or one with fewer than ``min_items`` items, an item listed twice or under two constructs.

    Examples
    --------
    >>> as_constructs("visual =~ x1 + x2 + x3\\nspeed =~ x7 + x8 + x9")
    {'visual': ['x1', 'x2', 'x3'], 'speed': ['x7', 'x8', 'x9']}
    """
    if isinstance(constructs, Instrument):
        parsed = _from_syntax(constructs.measurement_model(), f"instrument {constructs.id!r}")
    elif isinstance(constructs, str):
        parsed = _from_syntax(constructs, "the model syntax")
    elif isinstance(constructs, Mapping):
        parsed = _from_mapping(constructs)
    else:
        raise IasemError(
            "constructs must be a dict {construct: [items]}, an iasem.Instrument or lavaan syntax "
            f"('construct =~ item1 + item2'), not {type(constructs).__name__}"
        )
    problems = _structure_problems(parsed, min_items)
    if data is not None:
        if not isinstance(data, pd.DataFrame):
            raise IasemError(f"data must be a pandas DataFrame, not {type(data).__name__}")
        problems += _column_problems(parsed, data)
    if problems:
        raise IasemError("\n".join(problems))
    return parsed


def scale_ends(constructs: Mapping[str, Sequence[str]] | Instrument | str) -> dict[str, tuple[float, float]]:
    """The lowest and highest answer of each item's response scale, where ``constructs`` knows them (an
    Instrument: its questions' scales); empty otherwise."""
    if not isinstance(constructs, Instrument):
        return {}
    ends: dict[str, tuple[float, float]] = {}
    for question in constructs.likert_questions:
        scale = question.scale
        if scale.options:
            values = [option.value for option in scale.options]
            ends[question.code] = (float(min(values)), float(max(values)))
        elif scale.min is not None and scale.max is not None:
            ends[question.code] = (float(scale.min), float(scale.max))
    return ends


def reverse_keyed(constructs: Mapping[str, Sequence[str]] | Instrument | str) -> set[str]:
    """The items an Instrument marks as reverse-keyed (empty for other forms of ``constructs``)."""
    return set(constructs.reverse_keyed()) if isinstance(constructs, Instrument) else set()


def item_frame(data: pd.DataFrame, constructs: Constructs) -> pd.DataFrame:
    """The items of all constructs as a float DataFrame (booleans become 0/1), in construct order."""
    items = [item for group in constructs.values() for item in group]
    return data[items].astype(float)


def check_missing(missing: str) -> str:
    if missing not in MISSING:
        raise IasemError(f"missing={missing!r} is not available; available: {', '.join(MISSING)}")
    return missing


def check_ordinal(ordinal: bool, missing: str, reason: str) -> bool:
    """``ordinal`` if it is True or False and fits ``missing``: ordered items use the complete rows only, for
    the ``reason`` given in the message (what the caller estimates from them)."""
    if not isinstance(ordinal, bool):
        raise IasemError(f"ordinal must be True or False, not {ordinal!r}")
    if ordinal and missing != "listwise":
        raise IasemError(f"ordinal=True uses the complete rows only ({reason}): use missing='listwise'")
    return ordinal


def check_level(level: float) -> float:
    if isinstance(level, bool) or not isinstance(level, int | float | np.floating) or not 0 < level < 1:
        raise IasemError(f"level must lie between 0 and 1, not {level!r}")
    return float(level)


def constant_items(frame: pd.DataFrame, constructs: Constructs) -> list[str]:
    """One message per item without variance (in the rows given), naming its construct and its value."""
    messages = []
    for construct, items in constructs.items():
        for item in items:
            values = frame[item].dropna()
            if len(values) and values.nunique() == 1:
                messages.append(
                    f"construct {construct!r}: item {item!r} is constant (every one of its {len(values)} answers "
                    f"is {values.iloc[0]:g}), so it has no variance to share; leave it out of the construct "
                    "(item_analysis() shows the item statistics)"
                )
    return messages


def _from_syntax(text: str, where: str) -> Constructs:
    try:
        formulas = parse_model(text)
    except ModelSyntaxError as error:
        raise IasemError(f"{where}: {error}") from error
    other = sorted({f.op for f in formulas if f.op != "=~"})
    if other:
        raise IasemError(
            f"{where}: constructs given as lavaan syntax may only hold '=~' lines (found {', '.join(other)}); "
            "fit other models with iasem.fit"
        )
    modified = [f"{f.lhs} =~ {f.rhs}" for f in formulas if f.modifiers.fixed or f.modifiers.label or f.modifiers.start]
    if modified:
        raise IasemError(
            f"{where}: fixed values, labels and start values ({', '.join(modified)}) are not used by the validation "
            "statistics; list the items only"
        )
    parsed: Constructs = {}
    for f in formulas:
        parsed.setdefault(f.lhs, []).append(f.rhs)
    if not parsed:
        raise IasemError(f"{where} has no 'construct =~ items' line")
    return parsed


def _from_mapping(constructs: Mapping) -> Constructs:
    if not constructs:
        raise IasemError("constructs is empty: give at least one {construct: [items]}")
    parsed: Constructs = {}
    for name, items in constructs.items():
        if not isinstance(name, str) or not name:
            raise IasemError(f"construct names must be non-empty strings, not {name!r}")
        if isinstance(items, str) or not isinstance(items, Sequence | pd.Index | np.ndarray):
            raise IasemError(f"construct {name!r}: give its items as a list of column names, not {items!r}")
        items = list(items)
        bad = [item for item in items if not isinstance(item, str) or not item]
        if bad:
            raise IasemError(f"construct {name!r}: item names must be non-empty strings, not {bad[0]!r}")
        parsed[name] = items
    return parsed


def _structure_problems(parsed: Constructs, min_items: int) -> list[str]:
    problems = []
    owner: dict[str, str] = {}
    for name, items in parsed.items():
        if len(items) < max(min_items, 1):
            problems.append(
                f"construct {name!r} has {len(items)} item{'' if len(items) == 1 else 's'}; this statistic needs "
                f"at least {max(min_items, 1)} per construct"
            )
        for item in items:
            if item in owner:
                where = "twice" if owner[item] == name else f"under construct {owner[item]!r} too"
                problems.append(f"construct {name!r}: item {item!r} is listed {where}; an item measures one construct")
            else:
                owner[item] = name
    return problems


def _column_problems(parsed: Constructs, data: pd.DataFrame) -> list[str]:
    problems = []
    known = ", ".join(map(str, data.columns[:20])) + (", ..." if len(data.columns) > 20 else "")
    for name, items in parsed.items():
        for item in dict.fromkeys(items):
            if item not in data.columns:
                problems.append(f"construct {name!r}: column {item!r} is not in the data (columns: {known})")
                continue
            column = data[item]
            if isinstance(column, pd.DataFrame):
                problems.append(f"construct {name!r}: the data have more than one column named {item!r}")
            elif not (pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)):
                problems.append(
                    f"construct {name!r}: column {item!r} is not numeric (dtype {column.dtype}); code the answers "
                    "as numbers (a pandas Categorical: use .cat.codes + 1, with -1 codes set to missing)"
                )
            elif np.isinf(column.to_numpy(dtype=float, na_value=np.nan)).any():
                problems.append(f"construct {name!r}: column {item!r} has infinite values")
    return problems
