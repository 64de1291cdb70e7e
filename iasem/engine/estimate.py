"""Stages 4, 6 and 7: start values, the ML discrepancy function and its minimisation by Fisher scoring.

    F_ML = log|Sigma| + tr(S Sigma^-1) - log|S| - p  [+ (m - mu)' Sigma^-1 (m - mu)]

Fisher scoring uses the expected information, the same matrix that gives the standard errors, so one
implementation serves both. Parameters sharing a label are one parameter (lavaan's equality constraints).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
from scipy.linalg import lapack

from .lisrel import DerivativePlan, Matrices, Representation, derivatives, fill
from .sample_stats import SampleStats


@dataclass
class Parameters:
    """The free parameters after equality constraints: ``x`` maps onto the model rows through ``index``."""

    rep: Representation
    fixed_values: np.ndarray  # value of every model row when fixed (NaN where free)
    index: np.ndarray  # for every model row, the position in x, or -1 when fixed
    n_free: int

    def __post_init__(self) -> None:
        self._free_rows = np.flatnonzero(self.index >= 0)
        targets = self.index[self._free_rows]
        # The derivative plan runs over the free rows sorted by their element of x, so that the rows of one
        # element (shared labels) sit together and sum by a reduceat instead of a scatter-add.
        order = np.argsort(targets, kind="stable")
        self._plan_rows = self._free_rows[order]
        self.active, self._starts = np.unique(targets[order], return_index=True)

    def row_values(self, x: np.ndarray) -> np.ndarray:
        values = self.fixed_values.copy()
        free = self.index >= 0
        values[free] = x[self.index[free]]
        return values

    def reduce(self, per_row: np.ndarray) -> np.ndarray:
        """Sum per-row derivatives (leading axis: every model row) into derivatives with respect to x."""
        return self.reduce_planned(per_row[self._plan_rows])

    @cached_property
    def plan(self) -> DerivativePlan:
        """The rows :meth:`x_derivatives` differentiates: the free rows, ordered by their element of x."""
        return self.rep.plan(self._plan_rows)

    def _reduce_active(self, per_row: np.ndarray) -> np.ndarray:
        if len(self._starts) == len(per_row):
            return per_row
        return np.add.reduceat(per_row, self._starts, axis=0)

    def reduce_planned(self, per_row: np.ndarray) -> np.ndarray:
        """:meth:`reduce` for derivatives of the rows of :attr:`plan` only."""
        summed = self._reduce_active(per_row)
        if len(self.active) == self.n_free:
            return summed
        out = np.zeros((self.n_free, *per_row.shape[1:]))
        out[self.active] = summed
        return out

    def active_derivatives(self, mats: Matrices) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`x_derivatives` for the elements of :attr:`active` only (the elements of x this mapping's
        rows use: a group's own parameters and the shared ones), in that order: with groups, each group's
        derivatives without the other groups' all-zero slices."""
        d_sigma, d_mu = derivatives(self.rep, mats, self.plan)
        return self._reduce_active(d_sigma), self._reduce_active(d_mu)

    def x_derivatives(self, mats: Matrices) -> tuple[np.ndarray, np.ndarray]:
        """dSigma/dx and dmu/dx: ``reduce`` of :func:`derivatives`, computing only the slices that reach x."""
        d_sigma, d_mu = derivatives(self.rep, mats, self.plan)
        return self.reduce_planned(d_sigma), self.reduce_planned(d_mu)


def parameters(rep: Representation, table: pd.DataFrame, stats: SampleStats) -> Parameters:
    position, n_free = free_positions(table)
    return group_parameters(rep, stats, position, n_free)


def _plabel_of(labels: list[str], plabels: list[str]) -> dict[str, str]:
    """Name -> plabel: a plabel names its own row, a user label its first row."""
    names = dict(zip(plabels, plabels, strict=True))
    for lab, pl in zip(labels, plabels, strict=True):
        if lab:
            names.setdefault(lab, pl)
    return names


# The parameter table is read column by column as lists: row access to a DataFrame costs more than the fit.
def _columns(table: pd.DataFrame, *names: str) -> list[list]:
    return [table[name].tolist() for name in names]


def label_equalities(table: pd.DataFrame) -> list[tuple[str, str]]:
    """Equalities between two free parameters, as pairs of plabels: the ".pA. == .pB." rows the parameter table
    writes for shared labels, and the user's own ``a == b`` between two labels. Other constraints are not here."""
    lhs, op, rhs, free, label, plabel = _columns(table, "lhs", "op", "rhs", "free", "label", "plabel")
    free_rows = [k for k, f in enumerate(free) if f > 0]
    to_plabel = _plabel_of([label[k] for k in free_rows], [plabel[k] for k in free_rows])
    free_plabels = {plabel[k] for k in free_rows}
    pairs = []
    for k in (k for k, o in enumerate(op) if o == "=="):
        a, b = to_plabel.get(lhs[k]), to_plabel.get(rhs[k])
        if a in free_plabels and b in free_plabels:
            pairs.append((a, b))
    return pairs


def unsupported_constraints(table: pd.DataFrame) -> list[str]:
    """The user's constraints the estimators cannot impose yet (anything but an equality of two labels)."""
    simple = {(a, b) for a, b in label_equalities(table)}
    lhs, op, rhs, user, label, plabel = _columns(table, "lhs", "op", "rhs", "user", "label", "plabel")
    to_plabel = _plabel_of(label, plabel)
    out = []
    for k in (k for k, (o, u) in enumerate(zip(op, user, strict=True)) if o in ("==", "<", ">") and u == 1):
        pair = (to_plabel.get(lhs[k], lhs[k]), to_plabel.get(rhs[k], rhs[k]))
        if op[k] != "==" or pair not in simple:
            out.append(f"{lhs[k]} {op[k]} {rhs[k]}")
    return out


def free_positions(table: pd.DataFrame) -> tuple[dict[int, int], int]:
    """Where each free parameter number of ``table`` lands in x once equality constraints (".pA. == .pB." rows
    written by the parameter table) merge them, and the length of x."""
    free, plabel = _columns(table, "free", "plabel")
    plabel_free = dict(zip(plabel, free, strict=True))
    parent = {int(f): int(f) for f in free if f > 0}

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
    free = rows["free"].to_numpy()
    # Fixed exogenous covariates (fixed.x) take their sample (co)variances and means.
    if "exo" in rows:
        o = {v: k for k, v in enumerate(stats.names)}
        lhs, op, rhs = _columns(rows, "lhs", "op", "rhs")
        for k in np.flatnonzero((rows["exo"].to_numpy() == 1) & (free == 0)):
            fixed[k] = stats.mean[o[lhs[k]]] if op[k] == "~1" else stats.cov[o[lhs[k]], o[rhs[k]]]
    fixed[np.isnan(fixed) & (free == 0)] = 0.0
    free_ids = rows["free"].to_numpy(dtype=int)
    index = np.array([position[f] if f > 0 else -1 for f in free_ids.tolist()], dtype=int)
    fixed[index >= 0] = np.nan
    return Parameters(rep, fixed, index, n_free)


def start_values(params: Parameters, stats: SampleStats) -> np.ndarray:
    """lavaan's "simple" starts: loadings 1, residual variances half the observed variance, latent variances
    0.05, everything else 0; a user's start() wins."""
    x = np.zeros(params.n_free)
    done = np.zeros(params.n_free, dtype=bool)
    ov_index = {v: k for k, v in enumerate(params.rep.ov)}
    columns = _columns(params.rep.rows, "ustart", "matrix", "i", "j")
    for pos, ustart, matrix, i, j in zip(params.index.tolist(), *columns, strict=True):
        if pos < 0 or done[pos]:
            continue
        if not np.isnan(ustart):
            value = ustart
        elif matrix == "lambda":
            value = 1.0
        elif matrix == "theta" and i == j:
            value = 0.5 * stats.cov[i, i]
        elif matrix == "psi" and i == j:
            observed = params.rep.lv[i]
            value = 0.5 * stats.cov[ov_index[observed], ov_index[observed]] if observed in ov_index else 0.05
        elif matrix == "nu":
            value = stats.mean[i]
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


def evaluate(params: Parameters, stats: SampleStats, x: np.ndarray, *, derivs: bool | str = True) -> MLState | None:
    """F, and with ``derivs`` its gradient and expected information, at x (None where Sigma is not positive
    definite). ``derivs="gradient"`` skips the information, O(k^2 p^2) of the O(k p^2) work: numerical
    Hessians (the observed information of MLR) need gradients only, at 2k points."""
    rep = params.rep
    mats = fill(rep, params.row_values(x))
    sigma = mats.implied_cov()
    try:
        chol = np.linalg.cholesky(sigma)
    except np.linalg.LinAlgError:
        return None
    sigma_inv = np.linalg.inv(sigma)
    logdet = 2.0 * np.log(np.diag(chol)).sum()
    mu = mats.implied_mean() if rep.meanstructure else stats.mean
    resid = stats.mean - mu
    f = logdet + np.trace(stats.cov @ sigma_inv) - stats.logdet - stats.p
    if abs(f) < _NEAR_PERFECT_FIT:
        f = _near_perfect_fit_discrepancy(chol, stats.cov)
    f += resid @ sigma_inv @ resid
    state = MLState(x, mats, sigma, mu, 0.5 * f, np.empty(0), np.empty(0))
    if not derivs:
        return state
    # Only the parameters this model's rows use (with groups: the group's own and the shared ones); the
    # gradient and information are zero elsewhere.
    active = params.active
    d_sigma, d_mu = params.active_derivatives(mats)
    k, p = len(d_sigma), stats.p
    g_matrix = sigma_inv - sigma_inv @ (stats.cov + np.outer(resid, resid)) @ sigma_inv
    # The traces tr(G dSigma_k) and tr(V_k V_l) as matrix products of the flattened slices (BLAS, not einsum).
    gradient = np.zeros(params.n_free)
    gradient[active] = 0.5 * (d_sigma.reshape(k, p * p) @ g_matrix.ravel() - 2.0 * d_mu @ (sigma_inv @ resid))
    state.gradient = gradient
    if derivs == "gradient":
        return state
    v = sigma_inv @ d_sigma  # (k, p, p)
    block = 0.5 * matmul_by_rows(v.reshape(k, p * p), v.transpose(0, 2, 1).reshape(k, p * p).T)
    block += d_mu @ sigma_inv @ d_mu.T
    if k == params.n_free:
        state.information = block
    else:
        state.information = np.zeros((params.n_free, params.n_free))
        state.information[np.ix_(active, active)] = block
    return state


# OpenBLAS spreads a product over all cores above 65536 * 4 multiply-adds. For the products of one evaluation
# the threads cost more than they save, and when the other core is busy they stall (a 50 us product then takes
# milliseconds), so such products are taken a block of rows at a time, each block below that size.
_SINGLE_THREAD_MULTIPLY_ADDS = 65536 * 4


def matmul_by_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for 2-d arrays, in blocks of rows small enough for single-threaded BLAS."""
    rows = max(1, _SINGLE_THREAD_MULTIPLY_ADDS // (b.shape[0] * b.shape[1]))
    if rows >= len(a):
        return a @ b
    return np.concatenate([a[start : start + rows] @ b for start in range(0, len(a), rows)])


# Below this F (a saturated or nearly saturated model), log|Sigma| + tr(S Sigma^-1) - log|S| - p has lost its
# digits to cancellation: it is then rounding noise of either sign (about 1e-16), which the fit measures would
# read as a (tiny) misfit.
_NEAR_PERFECT_FIT = 1e-8


def _near_perfect_fit_discrepancy(chol: np.ndarray, cov: np.ndarray) -> float:
    """tr(S Sigma^-1) - log|S Sigma^-1| - p without cancellation: sum(l - 1 - log l) over the eigenvalues l of
    L^-1 S L^-T (Sigma = L L'), each term (l - 1) - log1p(l - 1) >= 0 and accurate where l is near 1."""
    half = np.linalg.solve(chol, cov)
    eigenvalues = np.linalg.eigvalsh(np.linalg.solve(chol, half.T))
    excess = eigenvalues - 1.0
    return float(np.sum(excess - np.log1p(excess)))


def _step_limit(step: np.ndarray, x: np.ndarray) -> float:
    """The first trial fraction of a scoring step: 1, or less where the step would move an element of x by more
    than max(1, |x|). Far from the optimum a near-singular information can propose steps of thousands; with
    several groups, step halving on the summed F alone would accept one that sends a single group into an
    inadmissible region as long as the others gain more, and the fit then never recovers."""
    ratio = float(np.max(np.abs(step) / np.maximum(1.0, np.abs(x)), initial=0.0))
    return 1.0 if ratio <= 1.0 else 1.0 / ratio


def _scoring_step(information: np.ndarray, gradient: np.ndarray) -> np.ndarray | None:
    """information^-1 gradient; where the information is (near) singular, as it can be at start values that
    leave parameters unidentified (a two-indicator factor uncorrelated with the others), a Levenberg-Marquardt
    ridge on its diagonal keeps the step defined until the iterations reach an identified region."""
    chol = _certainly_well_conditioned(information)
    if chol is not None:
        # Solved with the Cholesky factor at hand: two triangular solves, where an LU factorisation would cost
        # more (and, from about 100 parameters on, run over threads that stall when the other core is busy).
        step, _ = lapack.dpotrs(chol, gradient, lower=1)
        return step
    if np.linalg.cond(information) < 1e12:
        return np.linalg.solve(information, gradient)
    diagonal = np.abs(np.diag(information))
    base = max(float(diagonal.max(initial=0.0)), 1e-12)
    for ridge in (1e-8, 1e-6, 1e-4, 1e-2, 1.0):
        damped = information + np.diag(ridge * (diagonal + base))
        if np.linalg.cond(damped) < 1e12:
            return np.linalg.solve(damped, gradient)
    return None


def well_conditioned(information: np.ndarray) -> bool:
    """Whether cond(information) < 1e12."""
    return _certainly_well_conditioned(information) is not None or bool(np.linalg.cond(information) < 1e12)


def _certainly_well_conditioned(information: np.ndarray) -> np.ndarray | None:
    """The Cholesky factor L of ``information`` where a cheap bound shows cond(information) < 1e12, else None
    (an SVD then decides). For a positive definite matrix cond(A) = cond(L)^2 <= (|L|_F |L^-1|_F)^2 (Frobenius
    norms), and a bound below 1e10 leaves no doubt; the SVD costs several times a step's other work."""
    try:
        chol = np.linalg.cholesky(information)
    except np.linalg.LinAlgError:
        return None
    chol_inv, info = lapack.dtrtri(chol, lower=1)
    # Squared Frobenius norms as plain sums (np.linalg.norm's BLAS dot runs over threads for large factors).
    if info == 0 and np.sum(chol * chol) * np.sum(chol_inv * chol_inv) < 1e10:
        return chol
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
    limit_steps: bool = False,
) -> Optimum:
    """Fisher scoring with step halving; stops when the scoring step no longer changes F (relative ``tol``) nor
    x (``xtol``), and the largest gradient element is below ``gtol``. ``limit_steps`` caps each first trial
    step (:func:`_step_limit`; for several groups, whose F is a sum).
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
        scale = _step_limit(step, state.x) if limit_steps else 1.0
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
