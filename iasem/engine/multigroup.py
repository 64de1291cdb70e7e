"""Several groups (lavaan's ``group =``): one parameter vector x shared by the groups' models.

Each group g has its own sample statistics (N_g rows) and its own rows of the parameter table; equality
constraints across groups (``group.equal`` or shared labels) map rows of different groups onto the same
element of x. As lavaan's ML:

    fmin = sum_g (N_g / N) fmin_g

and the gradient and expected information are the same weighted sums, so that the standard errors come from
(N * information)^-1, and chisq = 2 N fmin is the sum of the groups' chi-squares. MLR over groups is in
:func:`iasem.engine.robust.mlr_groups` (it needs every group's rows: :func:`group_values`), FIML over groups
in :func:`iasem.engine.fiml.evaluate_groups`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import IasemError
from .estimate import MLState, Parameters, evaluate, start_values
from .sample_stats import SampleStats, model_columns, sample_stats


@dataclass
class MultiState:
    """The groups' states at x and their weighted sums (same fields as :class:`MLState` where they apply)."""

    x: np.ndarray
    groups: list[MLState]
    fmin: float
    gradient: np.ndarray = field(repr=False)
    information: np.ndarray = field(repr=False)


def group_labels(data: pd.DataFrame, group: str) -> list:
    """The values of the group column in order of first appearance (as lavaan orders the groups), missing
    values left out; at least two."""
    if group not in data.columns:
        raise IasemError(f"the data have no group column {group!r}")
    column = data[group]
    labels = list(dict.fromkeys(column[column.notna()]))
    if len(labels) < 2:
        raise IasemError(f"the group column {group!r} has {len(labels)} group(s); at least 2 are needed")
    return labels


def split_groups(data: pd.DataFrame, group: str, names: list[str]) -> tuple[list[str], list[SampleStats]]:
    """Listwise-complete sample statistics per group, groups in order of first appearance in ``data`` (as
    lavaan orders them); rows with a missing group are dropped."""
    labels = group_labels(data, group)
    model_columns(data, names)
    column = data[group]
    stats = [sample_stats(data[column == label], names) for label in labels]
    return [str(label) for label in labels], stats


def group_values(data: pd.DataFrame, group: str, names: list[str]) -> list[np.ndarray]:
    """Every group's listwise-complete rows of ``names`` (N_g, p), in the order of :func:`split_groups`: the
    casewise scores of the robust standard errors and tests need the rows themselves."""
    column = data[group]
    return [model_columns(data[column == label], names).dropna().to_numpy(dtype=float)
            for label in group_labels(data, group)]  # fmt: skip


def evaluate_groups(params: list[Parameters], stats: list[SampleStats], x: np.ndarray, *,
                    derivs: bool | str = True) -> MultiState | None:  # fmt: skip
    """The evaluator :func:`~iasem.engine.estimate.minimise` takes: F, gradient and information summed over
    the groups with weights N_g / N."""
    n = sum(s.n for s in stats)
    states = (evaluate(p, s, x, derivs=derivs) for p, s in zip(params, stats, strict=True))
    return weighted_groups(x, states, [s.n / n for s in stats], derivs=derivs)


def weighted_groups(x: np.ndarray, states: Iterable[MLState | None], weights: Sequence[float], *,
                    derivs: bool | str) -> MultiState | None:  # fmt: skip
    """The groups' states at x and their fmin, gradient and information summed with ``weights``; None as soon
    as one group's state is None (an inadmissible point).

    ``states`` is consumed lazily, so that a generator of the groups' evaluations stops at the first failure
    rather than evaluating the remaining groups.
    """
    evaluated = []
    for state in states:
        if state is None:
            return None
        evaluated.append(state)
    fmin = sum(w * st.fmin for w, st in zip(weights, evaluated, strict=True))
    if not derivs:
        return MultiState(x, evaluated, fmin, np.empty(0), np.empty(0))
    gradient = sum(w * st.gradient for w, st in zip(weights, evaluated, strict=True))
    if derivs == "gradient":
        return MultiState(x, evaluated, fmin, gradient, np.empty(0))  # type: ignore[arg-type]
    information = sum(w * st.information for w, st in zip(weights, evaluated, strict=True))
    return MultiState(x, evaluated, fmin, gradient, information)  # type: ignore[arg-type]


def group_start_values(params: list[Parameters], stats: list[SampleStats]) -> np.ndarray:
    """Each group's start values; a parameter shared by several groups starts from the first group's."""
    return first_group_values(params, [start_values(p, s) for p, s in zip(params, stats, strict=True)])


def first_group_values(params: list[Parameters], values: list[np.ndarray]) -> np.ndarray:
    """One vector of the free parameters from per-group vectors ``values`` (each of length n_free): a parameter
    takes its value from the first group whose model has it (shared parameters appear in several groups)."""
    x = np.zeros(params[0].n_free)
    done = np.zeros(params[0].n_free, dtype=bool)
    for p, xg in zip(params, values, strict=True):
        present = np.zeros(p.n_free, dtype=bool)
        present[p.index[p.index >= 0]] = True
        new = present & ~done
        x[new], done[new] = xg[new], True
    return x
