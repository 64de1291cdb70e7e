"""Least-squares estimators: lavaan's ``estimator = "GLS"`` and ``"ULS"`` for one group of complete data.

Both are weighted least squares on the non-duplicated elements s = vech(S), sigma = vech(Sigma):

    fmin = 1/2 (s - sigma)' W (s - sigma)

- ULS: W = I, so fmin = 1/2 sum_{i >= j} (S - Sigma)_ij^2.
- GLS: W = 1/2 D' (S^-1 (x) S^-1) D (the inverse of the normal-theory Gamma at S), so
  fmin = 1/4 tr[(S^-1 (S - Sigma))^2].

lavaan 0.6.14 conventions, reproduced here:

- S is the **unbiased** sample covariance (divide by N - 1), as lavaan's sample statistics hold it for
  estimators other than ML.
- The test statistic is chisq = 2 (N - 1) fmin ("N - G"), and the RMSEA uses N - 1. The reported fmin is
  lavaan's, chisq / (2 N).
- Standard errors (``se = "standard"``, ``information = "expected"``): vcov = (Delta' W Delta)^-1 / (N - 1),
  for ULS too (lavaan uses the unit weight matrix as the "information", not a sandwich).
- The baseline is the independence model fitted by the same estimator: for ULS Sigma = diag(S), for GLS the
  diagonal d that solves (S^-1 o S^-1) d = diag(S^-1) (the least-squares solution in closed form).
- There is no likelihood: logl, unrestricted.logl, aic and bic are NaN; for ULS the chi-square has no
  p-value (lavaan reports NA), nor has the baseline chi-square.

Estimation is Gauss-Newton (Fisher scoring with Delta' W Delta) through :func:`estimate.minimise`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from .. import fit_measures as fm
from .estimate import MLState, Optimum, Parameters, minimise
from .lisrel import derivatives, fill
from .sample_stats import SampleStats

ESTIMATORS = ("GLS", "ULS")


def unbiased(stats: SampleStats) -> SampleStats:
    """The sample statistics with the covariance matrix divided by N - 1, as lavaan's GLS and ULS use it."""
    return replace(stats, cov=stats.cov * stats.n / (stats.n - 1))


def _offdiagonal_half(p: int) -> np.ndarray:
    """Weights that turn a sum over all (i, j) into a sum over i >= j for symmetric matrices."""
    return np.where(np.eye(p, dtype=bool), 1.0, 0.5)


def evaluator(estimator: str, stats: SampleStats) -> Callable[..., MLState | None]:
    """``evaluate(params, stats, x, derivs=...)`` for :func:`estimate.minimise`: the LS discrepancy, its
    gradient and the Gauss-Newton information Delta' W Delta (unit: fmin). ``stats`` must be :func:`unbiased`."""
    estimator = estimator.upper()
    if estimator not in ESTIMATORS:
        raise ValueError(f"not a least-squares estimator: {estimator}")
    s_inv = np.linalg.inv(stats.cov)
    half = _offdiagonal_half(stats.p)

    def evaluate(params: Parameters, stats: SampleStats, x: np.ndarray, *, derivs: bool = True) -> MLState | None:
        rep = params.rep
        mats = fill(rep, params.row_values(x))
        sigma = mats.implied_cov()
        if not np.all(np.isfinite(sigma)):
            return None
        resid = stats.cov - sigma
        if estimator == "ULS":
            f = 0.5 * float(np.sum(half * resid * resid))
        else:
            v_resid = s_inv @ resid
            f = 0.25 * float(np.einsum("ab,ba->", v_resid, v_resid))
        state = MLState(x, mats, sigma, stats.mean, f, np.empty(0), np.empty(0))
        if not derivs:
            return state
        d_sigma, _ = derivatives(rep, mats)
        d_sigma = params.reduce(d_sigma)
        if estimator == "ULS":
            gradient = -np.einsum("ab,kab->k", half * resid, d_sigma)
            information = np.einsum("ab,kab,lab->kl", half, d_sigma, d_sigma)
        else:
            gradient = -0.5 * np.einsum("ab,kab->k", s_inv @ resid @ s_inv, d_sigma)
            v = s_inv @ d_sigma
            information = 0.5 * np.einsum("kab,lba->kl", v, v)
        state.gradient, state.information = gradient, information
        return state

    return evaluate


def fit(params: Parameters, stats: SampleStats, x0: np.ndarray, estimator: str, **tolerances: float) -> Optimum:
    """Minimise the GLS or ULS discrepancy from ``x0``; ``stats`` must be :func:`unbiased`; ``tolerances`` go
    to :func:`estimate.minimise`."""
    return minimise(params, stats, x0, evaluator=evaluator(estimator, stats), **tolerances)


def baseline(stats: SampleStats, estimator: str) -> tuple[float, float]:
    """The independence model's fmin by the same estimator, as (chisq, df); ``stats`` must be :func:`unbiased`."""
    p = stats.p
    if estimator.upper() == "ULS":
        d = np.diag(stats.cov)
        f = 0.5 * float(np.sum(np.tril(stats.cov, -1) ** 2))
    else:
        s_inv = np.linalg.inv(stats.cov)
        d = np.linalg.solve(s_inv * s_inv, np.diag(s_inv))
        v_resid = s_inv @ (stats.cov - np.diag(d))
        f = 0.25 * float(np.einsum("ab,ba->", v_resid, v_resid))
    return 2.0 * (stats.n - 1) * f, p * (p - 1) / 2


def fit_measures(state: MLState, stats: SampleStats, npar: int, estimator: str) -> dict[str, float]:
    """lavaan's fit measures for a GLS or ULS fit (``stats`` :func:`unbiased`): chisq = 2 (N - 1) fmin, the
    RMSEA with N - 1, no likelihood-based measures."""
    n1 = stats.n - 1
    baseline_chisq, baseline_df = baseline(stats, estimator)
    chisq = 2.0 * n1 * state.fmin
    df = stats.p * (stats.p + 1) / 2 - npar
    # standard_measures takes chisq = 2 n fmin: hand it the sample size N - 1 for chisq and the RMSEA.
    measures = fm.standard_measures(
        fmin=state.fmin,
        n=n1,
        df=df,
        npar=npar,
        baseline_chisq=baseline_chisq,
        baseline_df=baseline_df,
        logl=np.nan,
        unrestricted_logl=np.nan,
        srmr=fm.srmr(stats.cov, state.sigma),
    )
    measures.update(fmin=chisq / (2.0 * stats.n), ntotal=float(stats.n), aic=np.nan, bic=np.nan)
    if estimator.upper() == "ULS":
        measures["pvalue"] = np.nan
    return measures
