"""Bootstrap refits of a multi-group ML model (lavaan's ``se = "bootstrap"`` with ``group =``).

lavaan resamples each group's rows within that group and refits the whole multi-group model on every
resample; :func:`refitter` gives that refit for :func:`~iasem.engine.bootstrap.draw`, whose resamples run
group after group (rows ``offset_g .. offset_g + N_g - 1`` are group g's).

When the groups share no free parameter and each group's mean structure is saturated (every observed
variable has its own free intercept, latent means fixed at zero: the configural model, e.g. with group-specific
labels ``c(a1, a2)*x``), the multi-group ML problem splits into one covariance-structure problem per group
whose intercepts are the group's sample means. The refits then run batched per group
(:mod:`~iasem.engine.batched`), which is what makes a thousand draws of a large model take seconds; the
estimates are the same as the joint refit's (to the convergence tolerance), as the tests check.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import pandas as pd

from ..parallel import map_tasks
from . import batched, multigroup
from .estimate import Parameters, minimise
from .lisrel import MODEL_OPERATORS, represent
from .sample_stats import moments

Values = Callable[[np.ndarray], np.ndarray]
#: Iterations between fresh information matrices in the batched refits (batched.minimise's chord method):
#: the resamples start at the full-sample optimum, close to their own, where the information barely changes.
REFRESH = 3


@dataclass(frozen=True)
class _GroupPart:
    """One group's covariance structure as a one-group problem, and where its pieces sit in the joint x."""

    params: Parameters  # the group's rows less its intercepts, on their own x
    to_joint: np.ndarray  # joint x position of each element of the group's own x
    intercepts: np.ndarray  # joint x position of each observed variable's intercept, in the data's order
    x_hat: np.ndarray  # the group's own x at the full-sample estimates


def refitter(table: pd.DataFrame, reps: Sequence, params: Sequence[Parameters], values: Sequence[np.ndarray],
             names: list[str], x_hat: np.ndarray, defined: Values | None, tolerances: dict[str, float]):  # fmt: skip
    """rows -> the joint x (and the ``:=`` values) refitted on those rows (group after group), or None when
    the refit fails; with ``.batch`` set when the groups separate (module docstring)."""
    stacked = np.vstack(values)
    offsets = np.cumsum([0, *(len(v) for v in values)])

    def extend(x: np.ndarray) -> np.ndarray:
        return x if defined is None else np.concatenate([x, defined(x)])

    def refit(rows: np.ndarray) -> np.ndarray | None:
        # A resample has its group's full size, which the fit's own sample statistics already accepted.
        stats = [moments(stacked[rows[a:b]], names) for a, b in pairwise(offsets)]
        try:
            optimum = minimise(
                list(params), stats, x_hat, evaluator=multigroup.evaluate_groups, limit_steps=True, **tolerances
            )
        except (np.linalg.LinAlgError, ValueError, FloatingPointError):
            return None
        return extend(optimum.state.x) if optimum.converged else None

    parts = _separate(table, reps, params, names, x_hat)

    def refit_group(part: _GroupPart, a: int, b: int, indices: np.ndarray):
        cov, mean = batched.sample_moments(stacked[a:b], indices[:, a:b] - a)
        return batched.minimise(part.params, cov, part.x_hat, "ML", refresh=REFRESH, n_jobs=1, **tolerances), mean

    def refit_batch(indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = np.repeat(x_hat[None, :], len(indices), axis=0)
        failed = np.zeros(len(indices), dtype=bool)
        # One thread per group, the smallest groups first: their resamples are the furthest from the estimates
        # and take the most iterations, and a group's last few replicates would otherwise leave a core idle.
        order = np.argsort(np.diff(offsets), kind="stable")
        tasks = [(parts[g], offsets[g], offsets[g + 1], indices) for g in order]
        for g, (fitted, mean) in zip(order, map_tasks(refit_group, tasks, threads=True, progress=False), strict=True):
            x[:, parts[g].to_joint] = fitted.x
            x[:, parts[g].intercepts] = mean
            failed |= fitted.failed
        if defined is None:
            return x, failed
        extra = np.full((len(x), len(defined(x_hat))), np.nan)
        for d in np.flatnonzero(~failed):
            extra[d] = defined(x[d])
        return np.hstack([x, extra]), failed

    refit.batch = refit_batch if batched.ENABLED and parts is not None else None  # type: ignore[attr-defined]
    return refit


def _separate(table: pd.DataFrame, reps: Sequence, params: Sequence[Parameters], names: list[str],
              x_hat: np.ndarray) -> list[_GroupPart] | None:  # fmt: skip
    """Each group's :class:`_GroupPart`, or None when the groups do not separate: a free parameter in two
    groups, or a mean structure that is not saturated."""
    owner = np.full(len(x_hat), -1)
    for g, p in enumerate(params):
        if np.any(owner[p.active] >= 0):
            return None
        owner[p.active] = g
    parts = []
    for g, (rep, p) in enumerate(zip(reps, params, strict=True), start=1):
        rows = rep.rows
        op, lhs = rows["op"].to_numpy(), rows["lhs"].to_numpy()
        is_mean = op == "~1"
        observed_mean = is_mean & np.isin(lhs, names)
        index = p.index[: len(rows)]
        # Saturated: one free intercept per observed variable, each its own parameter; latent means at zero.
        intercepts = {lhs[k]: index[k] for k in np.flatnonzero(observed_mean)}
        if sorted(intercepts) != sorted(names) or min(intercepts.values()) < 0:
            return None
        if np.any(p.fixed_values[is_mean & ~observed_mean] != 0) or np.any(index[is_mean & ~observed_mean] >= 0):
            return None
        own = index[~is_mean]
        if np.isin(list(intercepts.values()), own).any() or len(set(intercepts.values())) < len(names):
            return None
        group_table = table[(table["group"] == g) & table["op"].isin(MODEL_OPERATORS) & (table["op"] != "~1")]
        group_rep = represent(group_table, names, meanstructure=False)
        to_joint = np.unique(own[own >= 0])
        local = np.where(own >= 0, np.searchsorted(to_joint, own), -1)
        local_params = Parameters(group_rep, p.fixed_values[: len(rows)][~is_mean], local, len(to_joint))
        if not batched.supported(local_params, "ML"):
            return None
        parts.append(_GroupPart(local_params, to_joint, np.array([intercepts[v] for v in names]), x_hat[to_joint]))
    return parts
