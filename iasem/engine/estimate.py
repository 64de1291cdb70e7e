"""Stages 4, 6 and 7: start values, the ML discrepancy function and its minimisation by Fisher scoring.

    F_ML = log|Sigma| + tr(S Sigma^-1) - log|S| - p  [+ (m - mu)' Sigma^-1 (m - mu)]

Fisher scoring uses the expected information, the same matrix that gives the standard errors, so one
implementation serves both. Parameters sharing a label are one parameter (lavaan's equality constraints).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .lisrel import Matrices, Representation, derivatives, fill
from .sample_stats import SampleStats


@dataclass
class Parameters:
    """The free parameters after equality constraints: ``x`` maps onto the model rows through ``index``."""

    rep: Representation
    fixed_values: np.ndarray  # value of every model row when fixed (NaN where free)
    index: np.ndarray  # for every model row, the position in x, or -1 when fixed
    n_free: int

    def row_values(self, x: np.ndarray) -> np.ndarray:
        values = self.fixed_values.copy()
        free = self.index >= 0
        values[free] = x[self.index[free]]
        return values

    def reduce(self, per_row: np.ndarray) -> np.ndarray:
        """Sum per-row derivatives (leading axis) into derivatives with respect to x."""
        out = np.zeros((self.n_free, *per_row.shape[1:]))
        free = self.index >= 0
        np.add.at(out, self.index[free], per_row[free])
        return out


def parameters(rep: Representation, table: pd.DataFrame, stats: SampleStats) -> Parameters:
    position, n_free = free_positions(table)
    return group_parameters(rep, stats, position, n_free)


def _plabel_of(rows: pd.DataFrame) -> dict[str, str]:
    """Name -> plabel: a plabel names its own row, a user label its first row."""
    names = dict(zip(rows["plabel"], rows["plabel"], strict=True))
    for lab, pl in zip(rows["label"], rows["plabel"], strict=True):
        if lab:
            names.setdefault(lab, pl)
    return names


def label_equalities(table: pd.DataFrame) -> list[tuple[str, str]]:
    """Equalities between two free parameters, as pairs of plabels: the ".pA. == .pB." rows the parameter table
    writes for shared labels, and the user's own ``a == b`` between two labels. Other constraints are not here."""
    free = table[table["free"] > 0]
    to_plabel = _plabel_of(free)
    free_plabels = set(free["plabel"])
    pairs = []
    for r in table[table["op"] == "=="].itertuples():
        a, b = to_plabel.get(r.lhs), to_plabel.get(r.rhs)
        if a in free_plabels and b in free_plabels:
            pairs.append((a, b))
    return pairs


def unsupported_constraints(table: pd.DataFrame) -> list[str]:
    """The user's constraints the estimators cannot impose yet (anything but an equality of two labels)."""
    simple = {(a, b) for a, b in label_equalities(table)}
    to_plabel = _plabel_of(table)
    out = []
    for r in table[table["op"].isin(["==", "<", ">"]) & (table["user"] == 1)].itertuples():
        pair = (to_plabel.get(r.lhs, r.lhs), to_plabel.get(r.rhs, r.rhs))
        if r.op != "==" or pair not in simple:
            out.append(f"{r.lhs} {r.op} {r.rhs}")
    return out


def free_positions(table: pd.DataFrame) -> tuple[dict[int, int], int]:
    """Where each free parameter number of ``table`` lands in x once equality constraints (".pA. == .pB." rows
    written by the parameter table) merge them, and the length of x."""
    free_ids = table.loc[table["free"] > 0, "free"].to_numpy(dtype=int)
    plabel_free = dict(zip(table["plabel"], table["free"], strict=True))
    parent = {int(f): int(f) for f in free_ids}

    def root(f: int) -> int:
        while parent[f] != f:
            f = parent[f]
        return f

    for a_name, b_name in label_equalities(table):
        a, b = plabel_free[a_name], plabel_free[b_name]
        parent[root(b)] = root(a)
    roots = sorted({root(f) for f in parent})
    order = {f: k for k, f in enumerate(roots)}
    return {f: order[root(f)] for f in parent}, len(roots)


def group_parameters(rep: Representation, stats: SampleStats, position: dict[int, int], n_free: int) -> Parameters:
    """One group's rows (``rep``) mapped onto x, with fixed exogenous covariates at that group's sample values."""
    rows = rep.rows
    fixed = rows["ustart"].to_numpy(dtype=float).copy()
    # Fixed exogenous covariates (fixed.x) take their sample (co)variances and means.
    o = {v: k for k, v in enumerate(stats.names)}
    for k, r in enumerate(rows.itertuples()):
        if getattr(r, "exo", 0) == 1 and r.free == 0:
            fixed[k] = stats.mean[o[r.lhs]] if r.op == "~1" else stats.cov[o[r.lhs], o[r.rhs]]
    fixed[np.isnan(fixed) & (rows["free"].to_numpy() == 0)] = 0.0
    free_ids = rows["free"].to_numpy(dtype=int)
    index = np.array([position[f] if f > 0 else -1 for f in free_ids], dtype=int)
    fixed[index >= 0] = np.nan
    return Parameters(rep, fixed, index, n_free)


def start_values(params: Parameters, stats: SampleStats) -> np.ndarray:
    """lavaan's "simple" starts: loadings 1, residual variances half the observed variance, latent variances
    0.05, everything else 0; a user's start() wins."""
    rows = params.rep.rows
    x = np.zeros(params.n_free)
    done = np.zeros(params.n_free, dtype=bool)
    ov_index = {v: k for k, v in enumerate(params.rep.ov)}
    for k, r in enumerate(rows.itertuples()):
        pos = params.index[k]
        if pos < 0 or done[pos]:
            continue
        if not np.isnan(r.ustart):
            value = r.ustart
        elif r.matrix == "lambda":
            value = 1.0
        elif r.matrix == "theta" and r.i == r.j:
            value = 0.5 * stats.cov[r.i, r.i]
        elif r.matrix == "psi" and r.i == r.j:
            observed = params.rep.lv[r.i]
            value = 0.5 * stats.cov[ov_index[observed], ov_index[observed]] if observed in ov_index else 0.05
        elif r.matrix == "nu":
            value = stats.mean[r.i]
        else:
            value = 0.0
        x[pos], done[pos] = value, True
    return x


@dataclass
class MLState:
    """Everything one evaluation at x yields: the implied moments, F, its gradient and the information."""

    x: np.ndarray
    mats: Matrices
    sigma: np.ndarray
    mu: np.ndarray
    fmin: float  # F_ML / 2, lavaan's fmin for ML
    gradient: np.ndarray = field(repr=False)
    information: np.ndarray = field(repr=False)  # expected information of one observation (unit: fmin * 2)


def evaluate(params: Parameters, stats: SampleStats, x: np.ndarray, *, derivs: bool = True) -> MLState | None:
    rep = params.rep
    mats = fill(rep, params.row_values(x))
    sigma = mats.implied_cov()
    try:
        chol = np.linalg.cholesky(sigma)
    except np.linalg.LinAlgError:
        return None
    sigma_inv = np.linalg.inv(sigma)
    logdet = 2.0 * np.log(np.diag(chol)).sum()
    _, logdet_s = np.linalg.slogdet(stats.cov)
    mu = mats.implied_mean() if rep.meanstructure else stats.mean
    resid = stats.mean - mu
    f = logdet + np.trace(stats.cov @ sigma_inv) - logdet_s - stats.p + resid @ sigma_inv @ resid
    state = MLState(x, mats, sigma, mu, 0.5 * f, np.empty(0), np.empty(0))
    if not derivs:
        return state
    d_sigma, d_mu = derivatives(rep, mats)
    d_sigma, d_mu = params.reduce(d_sigma), params.reduce(d_mu)
    g_matrix = sigma_inv - sigma_inv @ (stats.cov + np.outer(resid, resid)) @ sigma_inv
    gradient = np.einsum("ab,kab->k", g_matrix, d_sigma) - 2.0 * d_mu @ (sigma_inv @ resid)
    v = sigma_inv @ d_sigma  # (k, p, p)
    information = 0.5 * np.einsum("kab,lba->kl", v, v) + d_mu @ sigma_inv @ d_mu.T
    state.gradient, state.information = 0.5 * gradient, information
    return state


def _scoring_step(information: np.ndarray, gradient: np.ndarray) -> np.ndarray | None:
    """information^-1 gradient; where the information is (near) singular, as it can be at start values that
    leave parameters unidentified (a two-indicator factor uncorrelated with the others), a Levenberg-Marquardt
    ridge on its diagonal keeps the step defined until the iterations reach an identified region."""
    if np.linalg.cond(information) < 1e12:
        return np.linalg.solve(information, gradient)
    diagonal = np.abs(np.diag(information))
    base = max(float(diagonal.max(initial=0.0)), 1e-12)
    for ridge in (1e-8, 1e-6, 1e-4, 1e-2, 1.0):
        damped = information + np.diag(ridge * (diagonal + base))
        if np.linalg.cond(damped) < 1e12:
            return np.linalg.solve(damped, gradient)
    return None


@dataclass
class Optimum:
    state: MLState
    converged: bool
    iterations: int
    message: str


def minimise(
    params: Parameters,
    stats: SampleStats,
    x0: np.ndarray,
    *,
    tol: float = 1e-10,
    gtol: float = 1e-6,
    xtol: float = 1e-6,
    max_iter: int = 500,
    evaluator: Callable[..., MLState | None] = evaluate,
) -> Optimum:
    """Fisher scoring with step halving; stops when the scoring step no longer changes F (relative ``tol``) nor
    x (``xtol``), and the largest gradient element is below ``gtol``.
    ``evaluator(params, stats, x, derivs=...)`` gives F, its gradient and
    the information used for the steps (another discrepancy function, such as FIML's, plugs in here)."""
    evaluate = evaluator
    state = evaluate(params, stats, x0)
    if state is None:
        return Optimum(
            evaluate(params, stats, x0, derivs=False),
            False,
            0,
            "the start values give a non-positive-definite implied covariance matrix",
        )  # type: ignore[arg-type]
    for iteration in range(1, max_iter + 1):
        step = _scoring_step(state.information, state.gradient)
        if step is None:
            return Optimum(state, False, iteration, "the information matrix is singular: is the model identified?")
        scale = 1.0
        while scale > 1e-8:
            trial = evaluate(params, stats, state.x - scale * step)
            if trial is not None and trial.fmin <= state.fmin + 1e-12 * abs(state.fmin):
                break
            scale /= 2
        else:
            return Optimum(state, False, iteration, "no step lowers the discrepancy function")
        done = abs(state.fmin - trial.fmin) < tol * max(1.0, abs(state.fmin)) and np.max(np.abs(scale * step)) < xtol
        state = trial
        if done and np.max(np.abs(state.gradient)) < gtol:
            return Optimum(state, True, iteration, "converged")
    return Optimum(state, False, max_iter, f"no convergence after {max_iter} iterations")
