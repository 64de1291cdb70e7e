"""Batched Fisher scoring: many refits of one model on many sample covariance matrices at once (bootstrap draws).

Every bootstrap replicate b refits the same model, with the same parameter -> matrix mapping
(``Representation.locations``), to its own sample covariance matrix S_b, starting from the full-sample estimate.
Instead of one :func:`estimate.minimise` per replicate, the B minimisations run side by side: each iteration fills
the LISREL matrices of all active replicates as (B, ., .) stacks,

    Sigma_b = Lambda_b (I - B_b)^-1 Psi_b (I - B_b)^-T Lambda_b' + Theta_b,

takes the derivatives dSigma_b / dtheta in factored, rank-two form (:func:`rank_two_factors`), and the gradients
and expected information with batched matrix products; the B scoring steps delta_b = I_b^-1 g_b take one stacked
inverse.

The discrepancy functions (no mean structure: one group of complete data) are those of :mod:`estimate` and
:mod:`ls`, F = fmin:

- ML:  F = 1/2 [log|Sigma| + tr(S Sigma^-1) - log|S| - p],
  g = 1/2 tr[(Sigma^-1 - Sigma^-1 S Sigma^-1) dSigma_k],  I_kl = 1/2 tr(Sigma^-1 dSigma_k Sigma^-1 dSigma_l);
- ULS: F = 1/2 sum_{i >= j} (S - Sigma)_ij^2,  g = -sum_ij h_ij (S - Sigma)_ij dSigma_k,ij,
  I_kl = sum_ij h_ij dSigma_k,ij dSigma_l,ij  (h_ij = 1 on the diagonal, 1/2 off it);
- GLS: F = 1/4 tr[(S^-1 (S - Sigma))^2],  g = -1/2 tr[S^-1 (S - Sigma) S^-1 dSigma_k],
  I_kl = 1/2 tr(S^-1 dSigma_k S^-1 dSigma_l).

The iteration is :func:`estimate.minimise`'s, replicate by replicate: the step delta = I^-1 g (a near-singular
information, cond >= 1e12, takes :func:`estimate._scoring_step`'s ridge, replicate by replicate); the step is
halved, only for the replicates whose trial x - s delta gives no F <= F_old + 1e-12 |F_old| (or a non-positive-
definite Sigma under ML, a non-finite one under GLS/ULS), until s <= 1e-8; a replicate stops when
|F_old - F_new| < tol max(1, |F_old|), max |s delta| < xtol and max |g_new| < gtol, and leaves the active set.
A replicate fails (like a per-draw refit that returns None) when its start gives no admissible Sigma, no step
lowers F, the information cannot be inverted, a matrix inversion fails (singular I - B or S), or it does not
converge in ``max_iter`` iterations.

At most a pool of replicates (as many as fit in ``_CHUNK_BYTES``) iterates at once; each one that converges or
fails makes room for the next, so that the slow tail of the iterations is paid once, not per chunk. The result
does not depend on the pool: each replicate's arithmetic is its own.

Fixed exogenous covariates (fixed.x) take each replicate's own sample (co)variances, as
:func:`estimate.group_parameters` gives them to a per-draw refit: only the fixed values change between
replicates, not the mapping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from ..parallel import map_tasks, workers
from .estimate import Parameters, _scoring_step
from .lisrel import Representation

ESTIMATORS = ("ML", "GLS", "ULS")
# Whether ``iasem.fit``'s bootstrap refits run batched; False forces the per-draw refits (for comparisons).
ENABLED = True
# Matrices that a batched model may not use: mean structure, thresholds, scale factors.
_UNSUPPORTED = ("nu", "alpha", "tau", "delta")
# Memory for the stacks of one pass, in bytes: it sets how many replicates iterate side by side (their factored
# derivatives and information matrices) and how many resamples are gathered at once.
_CHUNK_BYTES = 64 * 2**20
# Fewer replicates than this per thread are not worth a thread.
_MIN_PER_THREAD = 32


@dataclass(frozen=True)
class BatchFit:
    """The outcome of a batched minimisation.

    Attributes
    ----------
    x : numpy.ndarray
        (B, k) estimates; rows of failed replicates hold their last iterate (or NaN), not an optimum.
    failed : numpy.ndarray
        (B,) True where the replicate did not converge (a per-draw refit would return None).
    iterations : numpy.ndarray
        (B,) number of scoring iterations taken.
    """

    x: np.ndarray
    failed: np.ndarray
    iterations: np.ndarray


def supported(params: Parameters, estimator: str) -> bool:
    """Whether :func:`minimise` can refit this model: ML, GLS or ULS on a covariance structure (no mean
    structure, thresholds or scale factors)."""
    rep = params.rep
    if estimator not in ESTIMATORS or rep.meanstructure:
        return False
    return all(rep.locations[name][0].size == 0 for name in _UNSUPPORTED)


def sample_moments(values: np.ndarray, indices: np.ndarray, *, unbiased: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Sample covariance matrices and means of many resamples of the rows of ``values``.

    For resample b with rows i_1..i_n: m_b = (1/n) sum_t x_{i_t} and S_b = (1/d) sum_t (x_{i_t} - m_b)(x_{i_t} -
    m_b)', d = n (ML) or n - 1 (``unbiased``, GLS and ULS).

    Parameters
    ----------
    values : numpy.ndarray
        (N, p) complete data.
    indices : numpy.ndarray
        (B, n) row numbers of each resample.
    unbiased : bool
        Divide by n - 1 instead of n (as :func:`ls.unbiased` does).

    Returns
    -------
    (cov, mean) : tuple of numpy.ndarray
        (B, p, p) and (B, p).
    """
    indices = np.asarray(indices)
    n_draws, n = indices.shape
    n_rows, p = values.shape
    # A resample's moments are weighted moments of the rows, the weights its counts c_b: m_b = c_b X / n and
    # S_b = c_b (x x') / n - m_b m_b'. One (B, N) x (N, p^2) product instead of gathering B x n x p values; the
    # rows are centred at their overall mean first, so that the subtraction loses no digits.
    centre = values.mean(axis=0)
    x = values - centre
    outer = (x[:, :, None] * x[:, None, :]).reshape(n_rows, p * p)
    cov, mean = np.empty((n_draws, p, p)), np.empty((n_draws, p))
    block = max(1, _CHUNK_BYTES // (8 * n_rows))  # resamples counted at once (B x N counts)
    for start in range(0, n_draws, block):
        rows = indices[start : start + block]
        size = len(rows)
        counts = np.bincount((rows + n_rows * np.arange(size)[:, None]).ravel(), minlength=size * n_rows)
        counts = counts.reshape(size, n_rows) / n
        m = counts @ x
        cov[start : start + block] = (counts @ outer).reshape(size, p, p) - m[:, :, None] * m[:, None, :]
        mean[start : start + block] = m + centre
    if unbiased:
        cov = cov * n / (n - 1)
    return cov, mean


def moments(samples: np.ndarray, *, unbiased: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Covariance matrices (divided by n, or n - 1 when ``unbiased``) and means of a (B, n, p) stack of
    samples, as (B, p, p) and (B, p)."""
    n = samples.shape[1]
    mean = samples.mean(axis=1)
    centred = samples - mean[:, None, :]
    return np.matmul(np.swapaxes(centred, 1, 2), centred) / (n - 1 if unbiased else n), mean


def fixed_values(params: Parameters, names: list[str], cov: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Each replicate's value of every model row when fixed: ``params.fixed_values`` with the fixed exogenous
    covariates' (co)variances and means replaced by the replicate's sample moments (as
    :func:`estimate.group_parameters` sets them).

    Returns
    -------
    numpy.ndarray
        (B, q) with q the model rows (NaN where free).
    """
    rows = params.rep.rows
    out = np.repeat(params.fixed_values[None, :], cov.shape[0], axis=0)
    if "exo" not in rows:
        return out
    o = {v: k for k, v in enumerate(names)}
    exo = (rows["exo"].to_numpy() == 1) & (rows["free"].to_numpy() == 0)
    for k in np.flatnonzero(exo):
        r = rows.iloc[k]
        out[:, k] = mean[:, o[r["lhs"]]] if r["op"] == "~1" else cov[:, o[r["lhs"]], o[r["rhs"]]]
    return out


def fill(rep: Representation, values: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """:func:`lisrel.fill` over a leading batch axis: ``values`` (B, q) -> the matrices lambda, theta, psi, beta
    as (B, ., .) stacks, and ``ib_inv`` = (I - B)^-1.

    Returns
    -------
    (matrices, singular) : tuple
        The matrices by name, and a (B,) mask of the replicates whose I - B is singular (their ``ib_inv`` is
        NaN; :func:`lisrel.fill` would raise there).
    """
    n = values.shape[0]
    mats = {}
    for name in ("lambda", "theta", "psi", "beta"):
        matrix = np.zeros((n, *rep.shapes[name]))
        k, i, j = rep.locations[name]
        matrix[:, i, j] = values[:, k]
        if name in ("theta", "psi"):
            matrix[:, j, i] = values[:, k]
        mats[name] = matrix
    m = mats["beta"].shape[1]
    mats["ib_inv"], singular = _stacked(np.linalg.inv, np.eye(m) - mats["beta"])
    return mats, singular


def implied_cov(mats: dict[str, np.ndarray]) -> np.ndarray:
    """Sigma_b = Lambda_b (I - B_b)^-1 Psi_b (I - B_b)^-T Lambda_b' + Theta_b, as a (B, p, p) stack."""
    loadings = mats["lambda"] @ mats["ib_inv"]
    return loadings @ mats["psi"] @ np.swapaxes(loadings, 1, 2) + mats["theta"]


def rank_two_factors(rep: Representation, mats: dict[str, np.ndarray],
                     rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """dSigma_b / d(row value) in factored form: two (B, p, r) stacks P, Q with

        dSigma_b,r = P_b,r Q_b,r' + Q_b,r P_b,r'     (column r of P and Q),

    one column per model row of ``rows`` (positions in ``rep.rows``), in that order. Every derivative of the
    covariance structure has rank two at most (:func:`lisrel.derivatives` spelled as outer products):
    with A = (I - B)^-1, L = Lambda A and m_j the j-th column of Lambda A Psi A' (row j of ``m_lam``), a
    loading lambda_ij gives (e_i, m_j), a regression beta_ij (L_.i, m_j), a covariance psi_ij (L_.i, L_.j) and
    theta_ij (e_i, e_j); a variance (i = j) halves Q, its one outer product counted twice.

    Returns
    -------
    (P, Q, unit) : tuple of numpy.ndarray
        ``unit`` (r,) holds i where column r of P is the unit vector e_i (loadings and residual (co)variances,
        most of a measurement model's rows), else -1: products with those columns are look-ups.
    """
    n = mats["lambda"].shape[0]
    p = len(rep.ov)
    rows = np.asarray(rows, dtype=int)
    slot = np.full(len(rep.rows), -1)
    slot[rows] = np.arange(rows.size)
    a = mats["ib_inv"]
    la = mats["lambda"] @ a  # (B, p, m)
    m_lam = np.swapaxes((a @ mats["psi"] @ np.swapaxes(a, 1, 2)) @ np.swapaxes(mats["lambda"], 1, 2), 1, 2)
    eye = np.eye(p)
    big_p, big_q = np.zeros((n, p, rows.size)), np.zeros((n, p, rows.size))
    unit = np.full(rows.size, -1)
    for name, left, right in (("lambda", None, m_lam), ("theta", None, None), ("psi", la, la), ("beta", la, m_lam)):
        k, i, j = rep.locations[name]
        keep = slot[k] >= 0
        s, i, j = slot[k[keep]], i[keep], j[keep]
        if not s.size:
            continue
        half = np.where(i == j, 0.5, 1.0) if name in ("theta", "psi") else np.ones(s.size)
        if left is None:
            big_p[:, i, s] = 1.0
            unit[s] = i
        else:
            big_p[:, :, s] = left[:, :, i]
        big_q[:, :, s] = (eye[:, j] if right is None else right[:, :, j]) * half
    return big_p, big_q, unit


class _Problem:
    """One model and estimator over B sample covariance matrices: F, its gradient and information by batch.

    The derivatives enter through their rank-two factors (:func:`rank_two_factors`): for a weight matrix W
    (Sigma^-1 under ML, S^-1 under GLS) and dSigma_k = a_k b_k' + b_k a_k',

        1/2 tr(W dSigma_k W dSigma_l) = X_kl X_lk + Y_kl Z_kl,   X = Q'WP, Y = Q'WQ, Z = P'WP,
        1/2 tr(M dSigma_k) = a_k' M b_k,

    so the information costs O(p^2 k + p k^2) per replicate instead of the O(p^2 k^2) of contracting the
    (k, p, p) derivative stack; ULS (W = I, the diagonal counted twice) adds 2 (P o Q)'(P o Q).
    """

    def __init__(self, params: Parameters, cov: np.ndarray, estimator: str, fixed: np.ndarray) -> None:
        self.params, self.rep, self.estimator = params, params.rep, estimator
        self.cov, self.fixed = cov, fixed
        self.p = cov.shape[1]
        self.free = params.index >= 0
        self.free_index = params.index[self.free]
        free_rows = np.flatnonzero(self.free)
        self.unique = np.unique(self.free_index).size == self.free_index.size
        # Without shared labels, the free rows in the order of x give the derivatives by x directly; otherwise
        # rows sharing a label (one parameter) add up: J' (per row), J the (rows, k) incidence.
        self.derivative_rows = free_rows[np.argsort(self.free_index)] if self.unique else free_rows
        self.incidence = np.zeros((free_rows.size, params.n_free))
        self.incidence[np.arange(free_rows.size), self.free_index] = 1.0
        self.half = np.where(np.eye(self.p, dtype=bool), 1.0, 0.5)
        self.error = np.zeros(cov.shape[0], dtype=bool)
        if estimator == "ML":
            self.logdet_s = np.linalg.slogdet(cov)[1]
        elif estimator == "GLS":
            self.s_inv, bad = _stacked(np.linalg.inv, cov)
            self.error |= bad

    def row_values(self, rows: np.ndarray, x: np.ndarray) -> np.ndarray:
        values = self.fixed[rows].copy()
        values[:, self.free] = x[:, self.free_index]
        return values

    def derivatives(self, mats: dict[str, np.ndarray], weight: np.ndarray | None, g_matrix: np.ndarray,
                    information: bool = True) -> tuple[np.ndarray, np.ndarray | None]:  # fmt: skip
        """The gradient 1/2 tr(G dSigma_k) (G = ``g_matrix``, ULS: its diagonal counted twice) and, when
        asked, the information of :meth:`evaluate`, for x."""
        big_p, big_q, unit = rank_two_factors(self.rep, mats, self.derivative_rows)
        gradient = np.einsum("bir,bir->br", big_p, g_matrix @ big_q)
        if weight is None:  # ULS: the diagonal of dSigma_k is 2 a_k o b_k, and h = 1 there (1/2 elsewhere)
            diagonal = big_p * big_q
            gradient = gradient + np.einsum("bi,bir->br", np.diagonal(g_matrix, axis1=1, axis2=2), diagonal)
        if not information:
            return (gradient if self.unique else gradient @ self.incidence), None
        n, p, _ = big_p.shape
        w = np.broadcast_to(np.eye(p), (n, p, p)) if weight is None else weight
        wq = w @ big_q
        q_t = np.swapaxes(big_q, 1, 2)
        # X = Q'WP and Z = P'WP: a unit column e_i of P picks row or column i (the bulk of the work saved).
        u, d = np.flatnonzero(unit >= 0), np.flatnonzero(unit < 0)
        wp = np.empty_like(big_p)
        wp[:, :, u] = w[:, :, unit[u]]
        wp[:, :, d] = w @ big_p[:, :, d]
        x_mat = np.empty((n, unit.size, unit.size))
        x_mat[:, :, u] = np.swapaxes(wq, 1, 2)[:, :, unit[u]]
        x_mat[:, :, d] = q_t @ wp[:, :, d]
        z_mat = np.empty_like(x_mat)
        z_mat[:, u, :] = wp[:, unit[u], :]
        z_mat[:, d, :] = np.swapaxes(big_p[:, :, d], 1, 2) @ wp
        info = x_mat * np.swapaxes(x_mat, 1, 2) + (q_t @ wq) * z_mat
        if weight is None:
            info = info + 2.0 * np.swapaxes(diagonal, 1, 2) @ diagonal
        if self.unique:
            return gradient, info
        j = self.incidence
        return gradient @ j, j.T @ info @ j

    def evaluate(self, rows: np.ndarray, x: np.ndarray, derivs: bool | str) -> tuple[np.ndarray, ...]:
        """F at x for the replicates ``rows``; with ``derivs`` also the gradients and informations (NaN
        informations with ``derivs="gradient"``).

        Returns (f, inadmissible, error[, gradient, information]): f is NaN where the replicate's Sigma is not
        admissible (``inadmissible``, the per-draw evaluator's None) or its evaluation failed (``error``).
        """
        n = rows.size
        f = np.full(n, np.nan)
        error = self.error[rows].copy()
        inadmissible = np.zeros(n, dtype=bool)
        out_g = np.full((n, self.params.n_free), np.nan)
        values = self.row_values(rows, x)
        mats, bad = fill(self.rep, values)
        error |= bad
        sigma = implied_cov(mats)
        good = ~error
        s = self.cov[rows]
        if self.estimator == "ML":
            eye = np.eye(self.p)
            chol, not_pd = _stacked(np.linalg.cholesky, np.where(good[:, None, None], sigma, eye))
            inadmissible = good & not_pd
            good &= ~not_pd
            sigma_inv, bad = _stacked(np.linalg.inv, np.where(good[:, None, None], sigma, eye))
            error |= good & bad
            good &= ~bad
            with np.errstate(divide="ignore", invalid="ignore"):
                logdet = 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
                trace = np.einsum("bij,bji->b", s, sigma_inv)
                f_all = 0.5 * (logdet + trace - self.logdet_s[rows] - self.p)
            weight = sigma_inv
        else:
            finite = np.all(np.isfinite(sigma), axis=(1, 2))
            inadmissible = good & ~finite
            good &= finite
            resid = s - sigma
            if self.estimator == "ULS":
                f_all = 0.5 * np.sum(self.half * resid * resid, axis=(1, 2))
            else:
                v_resid = self.s_inv[rows] @ resid
                f_all = 0.25 * np.einsum("bij,bji->b", v_resid, v_resid)
            weight = self.s_inv[rows] if self.estimator == "GLS" else None
        f[good] = f_all[good]
        if not derivs:
            return f, inadmissible, error
        with_information = derivs is True
        shape = (n, self.params.n_free, self.params.n_free) if with_information else (n, 0, 0)
        out_i = np.full(shape, np.nan)
        if good.any():
            idx = np.flatnonzero(good)
            sub = {name: matrix[idx] for name, matrix in mats.items()}
            if self.estimator == "ML":
                w = weight[idx]
                gradient, information = self.derivatives(sub, w, w - w @ s[idx] @ w, with_information)
            elif self.estimator == "GLS":
                w = weight[idx]
                gradient, information = self.derivatives(sub, w, -(w @ resid[idx] @ w), with_information)
            else:
                gradient, information = self.derivatives(sub, None, -resid[idx], with_information)
            out_g[idx] = gradient
            if with_information:
                out_i[idx] = information
        return f, inadmissible, error, out_g, out_i


def _stacked(func: Callable[[np.ndarray], np.ndarray], stack: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``func`` (a numpy.linalg routine) on a (B, ., .) stack; when it raises LinAlgError for some matrix, matrix
    by matrix, with NaN and a True in the returned mask for those that raise."""
    try:
        return func(stack), np.zeros(stack.shape[0], dtype=bool)
    except np.linalg.LinAlgError:
        pass
    out, bad = np.full(stack.shape, np.nan), np.zeros(stack.shape[0], dtype=bool)
    for b in range(stack.shape[0]):
        try:
            out[b] = func(stack[b])
        except np.linalg.LinAlgError:
            bad[b] = True
    return out, bad


@dataclass
class _Inverses:
    """The information matrices of the active replicates and what :func:`_steps` needs to solve with them."""

    information: np.ndarray  # (a, k, k)
    inverse: np.ndarray  # (a, k, k), NaN where not ``plain``
    plain: np.ndarray  # (a,) cond(I) < 1e12: the step is I^-1 g; else estimate._scoring_step's ridge

    @classmethod
    def of(cls, information: np.ndarray) -> _Inverses:
        """cond_2(I) <= ||I||_F ||I^-1||_F, so where that bound is below 1e12 the plain solve is the one
        :func:`estimate._scoring_step` takes; only the other replicates (rare) pay for the exact condition
        number."""
        inverse, singular = _stacked(np.linalg.inv, information)
        with np.errstate(invalid="ignore", over="ignore"):
            bound = np.linalg.norm(information, axis=(1, 2)) * np.linalg.norm(inverse, axis=(1, 2))
            plain = ~singular & (bound < 1e12)
        unsure = np.flatnonzero(~plain)
        if unsure.size:
            with np.errstate(invalid="ignore"):
                plain[unsure] = np.linalg.cond(information[unsure]) < 1e12
        return cls(information, inverse, plain)

    def take(self, keep: np.ndarray) -> _Inverses:
        return _Inverses(self.information[keep], self.inverse[keep], self.plain[keep])

    def put(self, where: np.ndarray, other: _Inverses) -> None:
        self.information[where], self.inverse[where], self.plain[where] = other.information, other.inverse, other.plain

    @staticmethod
    def join(first: _Inverses, second: _Inverses) -> _Inverses:
        return _Inverses(
            *(np.concatenate([getattr(first, n), getattr(second, n)]) for n in ("information", "inverse", "plain"))
        )

    def steps(self, gradient: np.ndarray) -> np.ndarray:
        """I_b^-1 g_b for every replicate, with :func:`estimate._scoring_step`'s rule: a plain solve where
        cond(I_b) < 1e12, its ridge elsewhere; NaN rows where no ridge helps."""
        steps = np.full(gradient.shape, np.nan)
        plain = self.plain
        if plain.any():
            steps[plain] = (self.inverse[plain] @ gradient[plain][..., None])[..., 0]
        for b in np.flatnonzero(~plain):
            step = _scoring_step(self.information[b], gradient[b])
            if step is not None:
                steps[b] = step
        return steps


def minimise(params: Parameters, cov: np.ndarray, x0: np.ndarray, estimator: str = "ML", *,
             fixed: np.ndarray | None = None, tol: float = 1e-10, gtol: float = 1e-6, xtol: float = 1e-6,
             max_iter: int = 500, refresh: int = 1, n_jobs: int | None = None) -> BatchFit:  # fmt: skip
    """Fisher scoring from ``x0`` for every covariance matrix of ``cov``, as :func:`estimate.minimise` (or
    :func:`ls.fit`) would do one by one.

    Parameters
    ----------
    params : Parameters
        The model's parameter mapping (the full-sample one).
    cov : numpy.ndarray
        (B, p, p) sample covariance matrices: biased (divide by n) for ML, unbiased for GLS and ULS.
    x0 : numpy.ndarray
        (k,) start, the full-sample estimate, or (B, k) one start per replicate.
    estimator : {"ML", "GLS", "ULS"}
        Discrepancy function.
    fixed : numpy.ndarray, optional
        (B, q) fixed values of the model rows per replicate (:func:`fixed_values`, for fixed.x); default
        ``params.fixed_values`` for all.
    tol, gtol, xtol, max_iter
        The convergence rules of :func:`estimate.minimise`.
    refresh : int
        Iterations between fresh information matrices. 1 is Fisher scoring, step for step the iterations of
        :func:`estimate.minimise`. A larger number keeps each replicate's information (and its inverse) for
        that many iterations (the chord method): an iteration then costs one gradient, not a gradient, an
        information matrix and its inverse; it converges linearly, as Fisher scoring does, to the optimum
        that the same convergence rules accept. Monte Carlo replicates, started at the population values,
        take it.
    n_jobs : int, optional
        Threads (default: one per core). The replicates are split between them: the work is numpy on
        stacks of small matrices, which releases the GIL, and each replicate's arithmetic is its own, so the
        split changes no number.

    Returns
    -------
    BatchFit
    """
    if not supported(params, estimator):
        raise ValueError(f"the batched engine cannot fit this model with estimator={estimator!r}")
    cov = np.asarray(cov, dtype=float)
    n, k = cov.shape[0], params.n_free
    fixed = np.repeat(params.fixed_values[None, :], n, axis=0) if fixed is None else np.asarray(fixed, dtype=float)
    x = np.array(np.broadcast_to(x0, (n, k)), dtype=float)
    options = {"tol": tol, "gtol": gtol, "xtol": xtol, "max_iter": max_iter, "refresh": refresh}
    threads = min(workers(n_jobs), n // _MIN_PER_THREAD)
    if threads <= 1:
        return _minimise(params, cov, x, estimator, fixed, **options)
    parts = [part for part in np.array_split(np.arange(n), threads) if part.size]
    tasks = [(params, cov[part], x[part], estimator, fixed[part]) for part in parts]
    fits = map_tasks(partial(_minimise, **options), tasks, n_jobs=threads, threads=True, progress=False)
    return BatchFit(*(np.concatenate([getattr(f, name) for f in fits]) for name in ("x", "failed", "iterations")))


def _minimise(params: Parameters, cov: np.ndarray, x: np.ndarray, estimator: str, fixed: np.ndarray, *,
              tol: float, gtol: float, xtol: float, max_iter: int, refresh: int) -> BatchFit:  # fmt: skip
    """:func:`minimise` in this thread."""
    n, k = cov.shape[0], params.n_free
    # At most ``pool`` replicates iterate at once (memory); one that stops makes room for the next.
    # Per replicate: the factors P, Q and their weighted copies (rows x p each), the informations by row and
    # by parameter (and the inverses), and a few p x p matrices, in doubles.
    rows, p = int((params.index >= 0).sum()), cov.shape[1]
    per_replicate = 8 * (4 * rows * p + 3 * rows**2 + 3 * k**2 + 8 * p**2)
    pool = max(1, _CHUNK_BYTES // per_replicate)
    problem = _Problem(params, cov, estimator, fixed)
    f = np.full(n, np.nan)
    failed = np.zeros(n, dtype=bool)
    iterations = np.zeros(n, dtype=int)
    # The active replicates, with their gradients, informations and ages (iterations since the information
    # was computed) in the same order.
    active = np.zeros(0, dtype=int)
    gradient, solver, age = np.zeros((0, k)), _Inverses.of(np.zeros((0, k, k))), np.zeros(0, dtype=int)
    waiting = 0  # replicates waiting..n-1 have not started
    derivs = True if refresh == 1 else "gradient"
    while True:
        if active.size < pool and waiting < n:
            new = np.arange(waiting, min(n, waiting + pool - active.size))
            waiting = int(new[-1]) + 1
            f_new, inadmissible, bad, g_new, i_new = problem.evaluate(new, x[new], derivs=True)
            lost = inadmissible | bad  # the start gives no admissible Sigma: the refit fails
            failed[new[lost]] = True
            f[new] = f_new
            active = np.concatenate([active, new[~lost]])
            gradient = np.concatenate([gradient, g_new[~lost]])
            solver = _Inverses.join(solver, _Inverses.of(i_new[~lost]))
            age = np.concatenate([age, np.zeros(int((~lost).sum()), dtype=int)])
        if active.size == 0:
            if waiting >= n:
                break
            continue
        iterations[active] += 1
        steps = solver.steps(gradient)
        singular = np.isnan(steps).any(axis=1)  # the information matrix is singular
        failed[active[singular]] = True
        active, steps, gradient = active[~singular], steps[~singular], gradient[~singular]
        solver, age = solver.take(~singular), age[~singular]
        scale, lost, f_new, g_new, i_new = _line_search(problem, active, x, f, steps, derivs)
        failed[active[lost]] = True
        f_old = f[active]
        with np.errstate(invalid="ignore"):
            done = (np.abs(f_old - f_new) < tol * np.maximum(1.0, np.abs(f_old))) & (
                np.max(np.abs(scale[:, None] * steps), axis=1) < xtol
            )
            converged = ~lost & done & (np.max(np.abs(g_new), axis=1) < gtol)
        moved = active[~lost]
        x[moved] = x[moved] - scale[~lost, None] * steps[~lost]
        f[moved] = f_new[~lost]
        exhausted = ~lost & ~converged & (iterations[active] >= max_iter)  # no convergence after max_iter
        failed[active[exhausted]] = True
        keep = ~lost & ~converged & ~exhausted
        active, gradient, age = active[keep], g_new[keep], age[keep] + 1
        if refresh == 1:
            solver = _Inverses.of(i_new[keep])
            continue
        solver = solver.take(keep)
        stale = np.flatnonzero(age >= refresh)
        if stale.size:
            _, _, _, g_s, i_s = problem.evaluate(active[stale], x[active[stale]], derivs=True)
            solver.put(stale, _Inverses.of(i_s))
            gradient[stale], age[stale] = g_s, 0
    return BatchFit(x, failed, iterations)


def information(params: Parameters, cov: np.ndarray, x: np.ndarray, estimator: str = "ML", *,
                fixed: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """The expected information (of F, per observation) of every replicate at its ``x``, (B, k, k): what
    :func:`estimate.evaluate` (or :func:`ls.fit`) gives one fit's standard errors from. NaN where Sigma is not
    admissible."""
    cov = np.asarray(cov, dtype=float)
    n = cov.shape[0]
    fixed = np.repeat(params.fixed_values[None, :], n, axis=0) if fixed is None else np.asarray(fixed, dtype=float)
    return _Problem(params, cov, estimator, fixed).evaluate(np.arange(n), np.asarray(x, dtype=float), derivs=True)[4]


def _line_search(problem: _Problem, active: np.ndarray, x: np.ndarray, f: np.ndarray, steps: np.ndarray,
                 derivs: bool | str = True) -> tuple[np.ndarray, ...]:  # fmt: skip
    """Step halving, replicate by replicate: the largest s in 1, 1/2, 1/4, ... (s > 1e-8) with
    F(x - s delta) <= F(x) + 1e-12 |F(x)|.

    Returns (scale, lost, f, gradient, information) at the accepted points; ``lost`` marks the replicates
    where no step lowers F or an evaluation failed.
    """
    n, k = steps.shape
    scale = np.ones(n)
    f_new, g_new = np.full(n, np.nan), np.full((n, k), np.nan)
    i_new = np.full((n, k, k) if derivs is True else (n, 0, 0), np.nan)
    lost = np.zeros(n, dtype=bool)
    # The full step first, with derivatives: most replicates take it.
    f_try, _, bad, g_try, i_try = problem.evaluate(active, x[active] - steps, derivs=derivs)
    with np.errstate(invalid="ignore"):
        ok = ~bad & (f_try <= f[active] + 1e-12 * np.abs(f[active]))
    f_new[ok], g_new[ok], i_new[ok] = f_try[ok], g_try[ok], i_try[ok]
    lost |= bad
    pending = np.flatnonzero(~ok & ~bad)
    halved = []
    while pending.size:
        scale[pending] /= 2
        lost[pending[scale[pending] <= 1e-8]] = True  # no step lowers the discrepancy function
        pending = pending[scale[pending] > 1e-8]
        if not pending.size:
            break
        rows = active[pending]
        f_try, _, bad = problem.evaluate(rows, x[rows] - scale[pending, None] * steps[pending], derivs=False)
        with np.errstate(invalid="ignore"):
            ok = ~bad & (f_try <= f[rows] + 1e-12 * np.abs(f[rows]))
        lost[pending[bad]] = True
        halved.append(pending[ok])
        pending = pending[~ok & ~bad]
    if halved and (accepted := np.concatenate(halved)).size:
        rows = active[accepted]
        f_try, inadmissible, bad, g_try, i_try = problem.evaluate(
            rows, x[rows] - scale[accepted, None] * steps[accepted], derivs=derivs
        )
        lost[accepted[inadmissible | bad]] = True
        f_new[accepted], g_new[accepted], i_new[accepted] = f_try, g_try, i_try
    return scale, lost, f_new, g_new, i_new
