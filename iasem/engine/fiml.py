"""Full-information maximum likelihood (lavaan's ``missing = "fiml"``, internally ``"ml"``) for incomplete data.

The rows are grouped by their pattern of observed variables. Each pattern k (n_k rows, observed set o) only
needs its own mean ybar_k and biased covariance S_k, and contributes the normal log-likelihood of the observed
part of the implied moments:

    logl = -1/2 sum_k n_k [p_o log(2 pi) + log|Sigma_oo| + tr(Sigma_oo^-1 (S_k + (ybar_k - mu_o)(ybar_k - mu_o)'))]

lavaan's fmin is (logl_h1 - logl) / N, so that chisq = 2 N fmin = -2 (logl - logl_h1); logl_h1 is the
log-likelihood of the saturated model, whose moments are found by EM (``lav_mvnorm_missing_h1_estimate_moments``).
The estimates come from Fisher scoring with the (pattern-wise) expected information; the standard errors, as
lavaan's default for FIML (``information = "observed"``, ``observed.information = "hessian"``), from the
observed information: lavaan's 4-point Richardson differences (h = 1e-6) of the analytic gradient
(``lav_model_hessian``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import fit_measures as fm
from ..errors import IasemError
from .estimate import MLState, Optimum, Parameters, minimise
from .lisrel import derivatives, fill
from .sample_stats import SampleStats, model_columns

_LOG_2PI = math.log(2.0 * math.pi)


@dataclass(frozen=True)
class Pattern:
    """The rows sharing one set of observed variables, by their sufficient statistics."""

    observed: np.ndarray  # indices of the observed variables
    n: int
    mean: np.ndarray
    cov: np.ndarray  # biased (divide by n)


@dataclass
class MissingData:
    """The incomplete data as patterns, with the saturated (h1) moments and log-likelihood."""

    names: list[str]
    n: int  # rows used: all rows with at least one observed model variable
    patterns: list[Pattern]
    h1_mean: np.ndarray = field(repr=False)
    h1_cov: np.ndarray = field(repr=False)
    h1_logl: float
    warnings: list[str]

    @property
    def stats(self) -> SampleStats:
        """The EM moments as sample statistics, as lavaan's ``lavsamplestats`` holds them under FIML (they give
        the start values and the "sample" side of the SRMR and residuals)."""
        return SampleStats(self.names, self.n, self.h1_cov, self.h1_mean)


def missing_data(data: pd.DataFrame, names: list[str]) -> MissingData:
    """Group the rows by missingness pattern and fit the saturated model by EM. Rows with every model variable
    missing are dropped, with a warning, as lavaan does."""
    values = model_columns(data, names).to_numpy(dtype=float)
    seen = ~np.isnan(values)
    empty = ~seen.any(axis=1)
    warnings = []
    if empty.any():
        warnings.append(f"{int(empty.sum())} row(s) with every model variable missing were dropped")
        values, seen = values[~empty], seen[~empty]
    n, p = values.shape
    if n <= p:
        raise IasemError(f"only {n} rows with data for {p} variables; too few for FIML")
    patterns = []
    keys, which = np.unique(seen, axis=0, return_inverse=True)
    for k, key in enumerate(keys):
        observed = np.flatnonzero(key)
        rows = values[np.ix_(which.ravel() == k, observed)]
        mean = rows.mean(axis=0)
        centred = rows - mean
        patterns.append(Pattern(observed, rows.shape[0], mean, centred.T @ centred / rows.shape[0]))
    h1_mean, h1_cov = _em(patterns, values, seen)
    return MissingData(list(names), n, patterns, h1_mean, h1_cov, loglik(patterns, h1_mean, h1_cov), warnings)


def _em(patterns: list[Pattern], values: np.ndarray, seen: np.ndarray, *, tol: float = 1e-12, max_iter: int = 10000):
    """EM for the saturated mean and covariance; starts, like lavaan's, from the available-case means and
    variances with zero covariances. Iterated to a far tighter tolerance than lavaan's (1e-5), so that the
    result is the maximum itself."""
    n, p = values.shape
    counts = seen.sum(axis=0)
    mean = np.nansum(values, axis=0) / counts
    cov = np.diag(np.nansum((values - mean) ** 2, axis=0) / counts)
    for _ in range(max_iter):
        t1, t2 = np.zeros(p), np.zeros((p, p))
        for pat in patterns:
            o = pat.observed
            m = np.setdiff1d(np.arange(p), o)
            # Every row's completed vector is A y_o + c, with E[y_m | y_o] = mu_m + B (y_o - mu_o).
            b = np.linalg.solve(cov[np.ix_(o, o)], cov[np.ix_(o, m)]).T
            a = np.zeros((p, len(o)))
            a[o, np.arange(len(o))] = 1.0
            a[m] = b
            c = np.zeros(p)
            c[m] = mean[m] - b @ mean[o]
            total = pat.n * pat.mean
            cross = pat.n * (pat.cov + np.outer(pat.mean, pat.mean))
            t1 += a @ total + pat.n * c
            t2 += a @ cross @ a.T + np.outer(a @ total, c) + np.outer(c, a @ total) + pat.n * np.outer(c, c)
            t2[np.ix_(m, m)] += pat.n * (cov[np.ix_(m, m)] - b @ cov[np.ix_(o, m)])
        new_mean = t1 / n
        new_cov = t2 / n - np.outer(new_mean, new_mean)
        delta = max(np.max(np.abs(new_mean - mean)), np.max(np.abs(new_cov - cov)))
        mean, cov = new_mean, new_cov
        if delta < tol:
            break
    return mean, cov


def loglik(patterns: list[Pattern], mu: np.ndarray, sigma: np.ndarray) -> float:
    """The casewise normal log-likelihood, summed pattern by pattern (lavaan's ``logl`` under FIML)."""
    total = 0.0
    for pat in patterns:
        o = pat.observed
        s_oo = sigma[np.ix_(o, o)]
        resid = pat.mean - mu[o]
        _, logdet = np.linalg.slogdet(s_oo)
        quad = np.trace(np.linalg.solve(s_oo, pat.cov + np.outer(resid, resid)))
        total -= 0.5 * pat.n * (len(o) * _LOG_2PI + logdet + quad)
    return total


def evaluate(params: Parameters, data: MissingData, x: np.ndarray, *, derivs: bool = True) -> MLState | None:
    """fmin = (logl_h1 - logl) / N at x, with its analytic gradient and the expected information of one
    observation (pattern-weighted), which Fisher scoring uses for its steps."""
    mats = fill(params.rep, params.row_values(x))
    sigma, mu = mats.implied_cov(), mats.implied_mean()
    if np.any(np.linalg.eigvalsh(sigma) <= 0):
        return None
    fmin = (data.h1_logl - loglik(data.patterns, mu, sigma)) / data.n
    state = MLState(x, mats, sigma, mu, fmin, np.empty(0), np.empty(0))
    if not derivs:
        return state
    d_sigma, d_mu = derivatives(params.rep, mats)
    d_sigma, d_mu = params.reduce(d_sigma), params.reduce(d_mu)
    g_sigma, g_mu = np.zeros_like(sigma), np.zeros_like(mu)
    information = np.zeros((params.n_free, params.n_free))
    for pat in data.patterns:
        o, w = pat.observed, pat.n / data.n
        inv = np.linalg.inv(sigma[np.ix_(o, o)])
        resid = pat.mean - mu[o]
        g_sigma[np.ix_(o, o)] += 0.5 * w * (inv - inv @ (pat.cov + np.outer(resid, resid)) @ inv)
        g_mu[o] -= w * inv @ resid
        v = inv @ d_sigma[:, o][:, :, o]
        dm = d_mu[:, o]
        information += w * (0.5 * np.einsum("kab,lba->kl", v, v) + dm @ inv @ dm.T)
    state.gradient = np.einsum("ab,kab->k", g_sigma, d_sigma) + d_mu @ g_mu
    state.information = information
    return state


def observed_information(params: Parameters, data: MissingData, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """The Hessian of fmin (the observed information of one observation) as lavaan computes it: 4-point
    Richardson differences of the analytic gradient with a fixed step h, then symmetrised."""

    def gradient(x_: np.ndarray) -> np.ndarray:
        state = evaluate(params, data, x_)
        if state is None:
            return np.full(params.n_free, np.nan)
        return state.gradient

    hessian = np.zeros((params.n_free, params.n_free))
    for j in range(params.n_free):
        step = np.zeros(params.n_free)
        step[j] = h
        left2, left, right, right2 = (gradient(x + t * step) for t in (-2, -1, 1, 2))
        hessian[:, j] = (left2 - 8 * left + 8 * right - right2) / (12 * h)
    return (hessian + hessian.T) / 2


def fit(params: Parameters, data: MissingData, x0: np.ndarray) -> Optimum:
    """Fisher scoring to a tight optimum, then the observed information in place of the expected one."""
    optimum = minimise(params, data, x0, gtol=1e-9, evaluator=evaluate)  # type: ignore[arg-type]
    if optimum.state is not None and optimum.state.information.size:
        optimum.state.information = observed_information(params, data, optimum.state.x)
    return optimum


def fit_measures(state: MLState, data: MissingData, npar: int) -> dict[str, float]:
    """lavaan's fit measures under FIML: the chi-square against the EM saturated model, the baseline fitted by
    FIML too, the SRMR with the EM moments (means included) as the sample side."""
    n, p = data.n, len(data.names)
    return fm.standard_measures(
        fmin=state.fmin,
        n=n,
        df=p * (p + 1) / 2 + p - npar,
        npar=npar,
        baseline_chisq=2 * (data.h1_logl - _independence_loglik(data)),
        baseline_df=p * (p - 1) / 2,
        logl=data.h1_logl - n * state.fmin,
        unrestricted_logl=data.h1_logl,
        srmr=fm.srmr(data.h1_cov, state.sigma, data.h1_mean, state.mu),
    )


def _independence_loglik(data: MissingData) -> float:
    """The baseline model (means and variances free, no covariances) factorises over the variables, so its
    FIML estimates are each variable's mean and biased variance over the rows where it is observed."""
    p = len(data.names)
    count, total, squares = np.zeros(p), np.zeros(p), np.zeros(p)
    for pat in data.patterns:
        o = pat.observed
        count[o] += pat.n
        total[o] += pat.n * pat.mean
        squares[o] += pat.n * (np.diag(pat.cov) + pat.mean**2)
    variance = squares / count - (total / count) ** 2
    return float(-0.5 * np.sum(count * (_LOG_2PI + np.log(variance) + 1.0)))
