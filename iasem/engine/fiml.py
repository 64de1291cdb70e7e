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

Exogenous observed covariates (fixed.x, lavaan's ``missing = "ml"``): rows with a missing covariate are dropped
(with lavaan's warning); the covariates' means and (co)variances are fixed at their sample values, which are
also their EM values, so they take no part in df; ``logl`` and ``unrestricted.logl`` leave out the covariates'
own normal log-likelihood at those values, as lavaan does (the chi-square is the same either way).

MLR under FIML (:func:`mlr`, lavaan's ``estimator = "MLR", missing = "ml"``): with the casewise scores of the
observed part of each row, s_i = d logl_i / d(mu, vech(Sigma)) (``lav_mvnorm_missing_scores_mu_vech_sigma``),

- vcov = A^-1 B A^-1 / N, A the observed information above, B = Delta' [1/N sum_i s_i s_i'] Delta at the
  implied moments;
- the Yuan-Bentler (Mplus) scaling factor c = [tr(A1^-1 B1) - tr(A^-1 B)] / df, where h1 is the EM saturated
  model: A1 = -1/N d^2 logl / d(mu, vech Sigma)^2 and B1 the scores' cross-product, both at the EM moments
  (``lav_mvnorm_missing_information_observed_samplestats``, ``..._firstorder``);
- the baseline gets its own factor the same way at its FIML estimates;
- ``cfi.robust``, ``tli.robust`` and ``rmsea.robust`` use Savalei's FIML-corrected statistics instead
  (:func:`corrected_statistics`, lavaan's ``lav_fit_fiml_corrected``), for ML too (version V6, without the
  scaled test); not with fixed covariates (yet).
- ML with ``se = "robust"`` under FIML is lavaan's ``robust.huber.white``: MLR's standard errors.

Several groups (:func:`evaluate_groups`, :func:`fit_groups`, :func:`mlr_groups`): each group has its own
patterns and EM moments; fmin = sum_g (N_g / N) fmin_g, and the observed information is the Hessian of that sum.

References
----------
Yuan, K.-H., & Bentler, P. M. (2000). Three likelihood-based methods for mean and covariance structure
analysis with nonnormal missing data. *Sociological Methodology*, 30, 165-200.

Savalei, V. (2010). Expected versus observed information in SEM with incomplete normal and nonnormal data.
*Psychological Methods*, 15(4), 352-367.

Zhang, X., & Savalei, V. (2023). New computations for RMSEA and CFI following FIML and TS estimation with
missing data. *Psychological Methods*, 28(2), 263-283.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.linalg import block_diag

from .. import fit_measures as fm
from ..errors import IasemError
from . import robust
from .estimate import MLState, Optimum, Parameters, minimise
from .lisrel import derivatives, fill
from .multigroup import MultiState, group_labels, weighted_groups
from .sample_stats import SampleStats, model_columns

_LOG_2PI = math.log(2.0 * math.pi)


@dataclass(frozen=True)
class Pattern:
    """The rows sharing one set of observed variables, by their sufficient statistics."""

    observed: np.ndarray  # indices of the observed variables
    n: int
    mean: np.ndarray
    cov: np.ndarray  # biased (divide by n)
    rows: np.ndarray | None = field(default=None, repr=False)  # the (n, len(observed)) observed values


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
    fixed_x: list[int] = field(default_factory=list)  # indices of exogenous covariates with fixed moments

    @property
    def stats(self) -> SampleStats:
        """The EM moments as sample statistics, as lavaan's ``lavsamplestats`` holds them under FIML (they give
        the start values and the "sample" side of the SRMR and residuals)."""
        return SampleStats(self.names, self.n, self.h1_cov, self.h1_mean)


def missing_data(data: pd.DataFrame, names: list[str], fixed_x: list[str] | None = None, *,
                 tol: float = 1e-12) -> MissingData:  # fmt: skip
    """Group the rows by missingness pattern and fit the saturated model by EM (to ``tol``). Rows with every
    model variable missing are dropped, with a warning, as lavaan does; so are rows with a missing exogenous
    covariate (``fixed_x``, lavaan's fixed.x under ``missing = "ml"``)."""
    values = model_columns(data, names).to_numpy(dtype=float)
    seen = ~np.isnan(values)
    warnings = []
    x = [names.index(v) for v in fixed_x or []]
    if x:
        no_x = ~seen[:, x].all(axis=1)
        if no_x.any():
            warnings.append(f"{int(no_x.sum())} row(s) with a missing exogenous covariate were dropped (fixed.x, as "
                            "lavaan's missing = 'ml')")  # fmt: skip
            values, seen = values[~no_x], seen[~no_x]
    empty = ~seen.any(axis=1)
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
        patterns.append(Pattern(observed, rows.shape[0], mean, centred.T @ centred / rows.shape[0], rows))
    h1_mean, h1_cov = _em(patterns, values, seen, tol=tol)
    if x:  # complete covariates: their EM moments are their sample moments, up to EM's tolerance
        h1_mean[x] = values[:, x].mean(axis=0)
        centred_x = values[:, x] - h1_mean[x]
        h1_cov[np.ix_(x, x)] = centred_x.T @ centred_x / n
    return MissingData(list(names), n, patterns, h1_mean, h1_cov, loglik(patterns, h1_mean, h1_cov), warnings, x)


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

    return richardson_hessian(gradient, x, h)


def richardson_hessian(gradient: Callable[[np.ndarray], np.ndarray], x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """lavaan's ``lav_model_hessian``: (g(x - 2h) - 8 g(x - h) + 8 g(x + h) - g(x + 2h)) / (12 h) column by
    column, symmetrised."""
    k = len(x)
    hessian = np.zeros((k, k))
    for j in range(k):
        step = np.zeros(k)
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
    FIML too, the SRMR with the EM moments (means included) as the sample side. Fixed covariates (k of them)
    take their k (k + 3) / 2 moments out of df and the baseline's df, and their own log-likelihood out of
    ``logl`` and ``unrestricted.logl``."""
    n, p = data.n, len(data.names)
    k = len(data.fixed_x)
    x_logl = _covariate_loglik(data)
    return fm.standard_measures(
        fmin=state.fmin,
        n=n,
        df=p * (p + 1) / 2 + p - k * (k + 3) / 2 - npar,
        npar=npar,
        baseline_chisq=2 * (data.h1_logl - _independence_loglik(data)),
        baseline_df=p * (p - 1) / 2 - k * (k - 1) / 2,
        logl=data.h1_logl - n * state.fmin - x_logl,
        unrestricted_logl=data.h1_logl - x_logl,
        srmr=fm.srmr(data.h1_cov, state.sigma, data.h1_mean, state.mu),
    )


def _covariate_loglik(data: MissingData) -> float:
    """The normal log-likelihood of the (complete) fixed covariates at their sample moments; 0 without any."""
    x = data.fixed_x
    if not x:
        return 0.0
    _, logdet = np.linalg.slogdet(data.h1_cov[np.ix_(x, x)])
    return float(-0.5 * data.n * (len(x) * (_LOG_2PI + 1.0) + logdet))


def _independence_moments(data: MissingData) -> tuple[np.ndarray, np.ndarray]:
    """The FIML estimates of the baseline model: each variable's mean and biased variance over the rows where
    it is observed, no covariances, except among fixed covariates (their sample moments)."""
    p = len(data.names)
    count, total, squares = np.zeros(p), np.zeros(p), np.zeros(p)
    for pat in data.patterns:
        o = pat.observed
        count[o] += pat.n
        total[o] += pat.n * pat.mean
        squares[o] += pat.n * (np.diag(pat.cov) + pat.mean**2)
    mean = total / count
    sigma = np.diag(squares / count - mean**2)
    x = data.fixed_x
    if x:
        sigma[np.ix_(x, x)] = data.h1_cov[np.ix_(x, x)]
    return mean, sigma


def _independence_loglik(data: MissingData) -> float:
    """The baseline model (means and variances free, no covariances) factorises over the variables (and the
    block of fixed covariates), so its log-likelihood is the FIML one at :func:`_independence_moments`."""
    return loglik(data.patterns, *_independence_moments(data))


# --------------------------------------------------------------------------------------------------------------
# MLR: casewise scores, the h1 information of the EM saturated model, the scaled test
# --------------------------------------------------------------------------------------------------------------


def casewise_scores(data: MissingData, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """d logl_i / d(mu, vech(Sigma)) for every row (pattern by pattern), with the observed part of (mu, Sigma):
    z_i = Sigma_oo^-1 (y_io - mu_o) for the means, 1/2 (z_i z_i' - Sigma_oo^-1) for vech(Sigma) (off-diagonal
    elements twice), zero where a variable is missing (lavaan's ``lav_mvnorm_missing_scores_mu_vech_sigma``)."""
    p = len(mu)
    rows, cols = np.tril_indices(p)
    twice = np.where(rows != cols, 2.0, 1.0)
    out = []
    for pat in data.patterns:
        o = pat.observed
        w = np.zeros((p, p))
        w[np.ix_(o, o)] = np.linalg.inv(sigma[np.ix_(o, o)])
        z = np.zeros((pat.n, p))
        z[:, o] = (pat.rows - mu[o]) @ w[np.ix_(o, o)]
        out.append(np.hstack([z, 0.5 * (z[:, rows] * z[:, cols] - w[rows, cols]) * twice]))
    return np.vstack(out)


def h1_information(data: MissingData, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """The observed information of one observation, -1/N d^2 logl / d(mu, vech(Sigma))^2, from the patterns'
    sufficient statistics (lavaan's ``lav_mvnorm_missing_information_observed_samplestats``). Per pattern,
    with W = Sigma_oo^-1, d = ybar_k - mu_o and T = S_k + d d' (embedded in p x p with zeros):

        mu, mu:       n_k W
        mu, vech:     n_k (d' W (x) W) D
        vech, vech:   n_k D' [W T W (x) W - 1/2 W (x) W] D
    """
    p = len(mu)
    d_mat = robust.duplication(p)
    k = d_mat.shape[1]
    out = np.zeros((p + k, p + k))
    for pat in data.patterns:
        o = pat.observed
        w = np.zeros((p, p))
        w[np.ix_(o, o)] = np.linalg.inv(sigma[np.ix_(o, o)])
        d = np.zeros(p)
        d[o] = pat.mean - mu[o]
        t = np.zeros((p, p))
        t[np.ix_(o, o)] = pat.cov + np.outer(pat.mean - mu[o], pat.mean - mu[o])
        out[:p, :p] += pat.n * w
        out[:p, p:] += pat.n * np.kron(d @ w, w) @ d_mat
        out[p:, p:] += pat.n * (robust.duplication_sandwich(w, w @ t @ w) - 0.5 * robust.duplication_sandwich(w, w))
    out[p:, :p] = out[:p, p:].T
    return out / data.n


def _firstorder(data: MissingData, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    scores = casewise_scores(data, mu, sigma)
    return scores.T @ scores / data.n


def _baseline_delta(p: int) -> np.ndarray:
    """d(mu, vech(Sigma)) / d(means, variances) of the independence model."""
    rows, cols = np.tril_indices(p)
    k = len(rows)
    delta = np.zeros((p + k, 2 * p))
    delta[np.arange(p), np.arange(p)] = 1.0
    diagonal = np.flatnonzero(rows == cols)
    delta[p + diagonal, p + rows[diagonal]] = 1.0
    return delta


def mlr(params: Parameters, data: MissingData, state: MLState) -> robust.ScaledTest:
    """Huber-White standard errors and the Yuan-Bentler (Mplus) scaled test under FIML, one group (no fixed
    covariates), at the FIML estimates ``state`` whose ``information`` is the observed one (:func:`fit`)."""
    return mlr_groups([params], [data], MultiState(state.x, [state], state.fmin, state.gradient, state.information))


def mlr_groups(params: Sequence[Parameters], data: Sequence[MissingData], state: MultiState) -> robust.ScaledTest:
    """MLR under FIML over one or more groups, f_g = N_g / N, A = ``state.information`` (the observed
    information of fmin = sum_g f_g fmin_g):

    - vcov = A^-1 B A^-1 / N, B = sum_g f_g Delta_g' B_g Delta_g with B_g the cross-product of the casewise
      scores at the implied moments divided by N_g;
    - tr(U Gamma) = sum_g tr(A1_g^-1 B1_g) - tr(A^-1 B), A1_g and B1_g those of the EM saturated model;
    - the baseline: sum_g [tr(A1_g^-1 B1_g) - tr(A_bg^-1 B_bg)] over its df, at its FIML estimates.
    """
    n = sum(d.n for d in data)
    p = len(data[0].names)
    a_inv = robust.inverse(state.information)
    b = np.zeros_like(a_inv)
    h1 = h1_b = 0.0
    delta_b = _baseline_delta(p)
    for p_g, d_g, st_g in zip(params, data, state.groups, strict=True):
        scores = casewise_scores(d_g, st_g.mu, st_g.sigma) @ robust.model_delta(p_g, st_g)
        b += scores.T @ scores / n
        em = (d_g.h1_mean, d_g.h1_cov)
        h1_g = robust.trace_solve(_firstorder(d_g, *em), h1_information(d_g, *em))
        # The baseline is linear in its means and variances, so its observed information is Delta' H1 Delta.
        mean_b, sigma_b = _independence_moments(d_g)
        b_scores = casewise_scores(d_g, mean_b, sigma_b) @ delta_b
        a_b = delta_b.T @ h1_information(d_g, mean_b, sigma_b) @ delta_b
        h1 += h1_g
        h1_b += h1_g - robust.trace_solve(b_scores.T @ b_scores / d_g.n, a_b)
    h0 = float(np.sum(b * a_inv))
    n_free = state.information.shape[0]
    g = len(data)
    df = g * p * (p + 3) / 2 - n_free
    npar = sum(int((p_g.index >= 0).sum()) for p_g in params)
    c = robust.scaling_from_trace(h1 - h0, df)
    return robust.ScaledTest(a_inv @ b @ a_inv / n, c, h1_b / (g * p * (p - 1) / 2), h1, h0, g * p * (p + 3) // 2, npar)


def _complete_chisq(data: MissingData, mu: np.ndarray, sigma: np.ndarray) -> float:
    """The complete-data ML chi-square of implied moments (mu, Sigma) against the EM moments as sample
    statistics (lavaan's refit with ``sample.cov`` and ``sample.mean`` the EM ones and no optimisation)."""
    s, m = data.h1_cov, data.h1_mean
    sigma_inv = np.linalg.inv(sigma)
    _, logdet = np.linalg.slogdet(sigma)
    _, logdet_s = np.linalg.slogdet(s)
    resid = m - mu
    return float(data.n * (logdet + np.trace(s @ sigma_inv) - logdet_s - len(m) + resid @ sigma_inv @ resid))


def corrected_statistics(params: Parameters, data: MissingData, state: MLState,
                         version: str) -> robust.RobustStatistics:  # fmt: skip
    """:func:`corrected_statistics_groups` for one group."""
    return corrected_statistics_groups([params], [data], [state], version)


def corrected_statistics_groups(params: Sequence[Parameters], data: Sequence[MissingData],
                                states: Sequence[MLState], version: str) -> robust.RobustStatistics:  # fmt: skip
    """Savalei's FIML-corrected statistics behind lavaan's robust CFI, TLI and RMSEA with missing data
    (``lav_fit_fiml_corrected``; version "V3" with a scaled test (MLR), "V6" without).

    With the EM moments as complete data: T = the complete-data ML chi-square of the FIML estimates against
    them (summed over groups); per group Wm and Jm the observed and first-order information of the EM
    saturated model (:func:`h1_information`, scores) and Wc the complete-data one at the EM moments
    (:func:`~iasem.engine.robust.mean_h1_information`), stacked block-diagonally with the weights f_g = N_g / N
    (Wm f_g, Wc f_g, Wm^-1 / f_g, Gamma = Wm^-1 Jm Wm^-1 / f_g); Delta the groups' Jacobians stacked;
    U = Wm - Wm Delta (Delta' Wm Delta)^-1 Delta' Wm, and

        V3: k = tr(U Wm^-1 Wc Wm^-1 U Gamma),    V6: k = tr(Wc Wm^-1 U Wm^-1),

    c.hat = k / df; the baseline's T_b and c.hat_b the same way with its Delta and FIML estimates.
    """
    n = sum(d.n for d in data)
    p = len(data[0].names)
    blocks = {"wm": [], "wm_inv": [], "wc": [], "gamma": []}
    for d_g in data:
        f = d_g.n / n
        wm = h1_information(d_g, d_g.h1_mean, d_g.h1_cov)
        wm_inv = np.linalg.inv(wm)
        blocks["wm"].append(f * wm)
        blocks["wm_inv"].append(wm_inv / f)
        blocks["wc"].append(f * robust.mean_h1_information(d_g.h1_cov))
        blocks["gamma"].append(wm_inv @ _firstorder(d_g, d_g.h1_mean, d_g.h1_cov) @ wm_inv / f)
    wm, wm_inv, wc, gamma = (block_diag(*blocks[key]) for key in ("wm", "wm_inv", "wc", "gamma"))

    def k_hat(delta: np.ndarray) -> float:
        u = wm - wm @ delta @ np.linalg.solve(delta.T @ wm @ delta, delta.T @ wm)
        if version == "V6":
            return float(np.trace(wc @ wm_inv @ u @ wm_inv))
        return float(np.trace(u @ wm_inv @ wc @ wm_inv @ u @ gamma))

    g = len(data)
    n_free = params[0].n_free
    df = g * p * (p + 3) / 2 - n_free
    df_b = g * p * (p - 1) / 2
    t = sum(_complete_chisq(d_g, st_g.mu, st_g.sigma) for d_g, st_g in zip(data, states, strict=True))
    k = k_hat(np.vstack([robust.model_delta(p_g, st_g) for p_g, st_g in zip(params, states, strict=True)]))
    c = k / df if df > 0 else (math.inf if k > 0 else math.nan)  # R: k / 0
    t_b = sum(_complete_chisq(d_g, *_independence_moments(d_g)) for d_g in data)
    c_b = k_hat(block_diag(*[_baseline_delta(p)] * g)) / df_b
    return robust.RobustStatistics(t, c, t / c, t_b, c_b)


# --------------------------------------------------------------------------------------------------------------
# Several groups
# --------------------------------------------------------------------------------------------------------------


def split_groups(data: pd.DataFrame, group: str, names: list[str], fixed_x: list[str] | None = None
                 ) -> tuple[list[str], list[MissingData]]:  # fmt: skip
    """:func:`missing_data` in every group, groups in order of first appearance (as lavaan); the warnings name
    the group."""
    labels = group_labels(data, group)
    column = data[group]
    out = []
    for label in labels:
        d_g = missing_data(data[column == label], names, fixed_x)
        d_g.warnings = [f"group {label}: {w}" for w in d_g.warnings]
        out.append(d_g)
    return [str(label) for label in labels], out


def evaluate_groups(params: list[Parameters], data: list[MissingData], x: np.ndarray, *,
                    derivs: bool = True) -> MultiState | None:  # fmt: skip
    """fmin = sum_g (N_g / N) fmin_g = sum_g (logl_h1,g - logl_g) / N, with the gradient and the expected
    information weighted the same way (the evaluator :func:`~iasem.engine.estimate.minimise` takes)."""
    n = sum(d.n for d in data)
    states = (evaluate(p_g, d_g, x, derivs=derivs) for p_g, d_g in zip(params, data, strict=True))
    return weighted_groups(x, states, [d.n / n for d in data], derivs=derivs)


def fit_groups(params: list[Parameters], data: list[MissingData], x0: np.ndarray) -> Optimum:
    """Fisher scoring over the groups to a tight optimum, then the observed information (lavaan's Hessian of
    the objective) in place of the expected one."""
    optimum = minimise(params, data, x0, gtol=1e-9, evaluator=evaluate_groups)  # type: ignore[arg-type]
    if optimum.state is not None and optimum.state.information.size:

        def gradient(x_: np.ndarray) -> np.ndarray:
            state = evaluate_groups(params, data, x_)
            return np.full(len(x_), np.nan) if state is None else state.gradient

        optimum.state.information = richardson_hessian(gradient, optimum.state.x)
    return optimum


def fit_measures_groups(state: MultiState, data: list[MissingData], npar: int) -> dict[str, float]:
    """:func:`fit_measures` over groups: chi-squares, df, baselines and log-likelihoods summed, RMSEA with the
    number of groups, the SRMR weighted by N_g / N with the EM moments as the sample side."""
    n, p, g = sum(d.n for d in data), len(data[0].names), len(data)
    k = len(data[0].fixed_x)
    x_logl = sum(_covariate_loglik(d) for d in data)
    h1_logl = sum(d.h1_logl for d in data)
    return fm.standard_measures(
        fmin=state.fmin,
        n=n,
        df=g * (p * (p + 1) / 2 + p - k * (k + 3) / 2) - npar,
        npar=npar,
        baseline_chisq=sum(2 * (d.h1_logl - _independence_loglik(d)) for d in data),
        baseline_df=g * (p * (p - 1) / 2 - k * (k - 1) / 2),
        logl=h1_logl - n * state.fmin - x_logl,
        unrestricted_logl=h1_logl - x_logl,
        srmr=fm.srmr_multigroup(
            [{"sample_cov": d.h1_cov, "implied_cov": st.sigma, "sample_mean": d.h1_mean, "implied_mean": st.mu}
             for d, st in zip(data, state.groups, strict=True)],
            [d.n for d in data],
        ),
        n_groups=g,
    )  # fmt: skip
