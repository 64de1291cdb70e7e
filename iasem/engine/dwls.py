"""lavaan's ``estimator = "WLSMV"`` for ordered data: diagonally weighted least squares on thresholds and
polychoric correlations, robust standard errors and the mean-and-variance adjusted (scaled-shifted) test.

The data enter through the vector of sample statistics s = (thresholds, polychoric correlations below the
diagonal, column by column) with its asymptotic covariance matrix Gamma (N times the covariance of s, see
:mod:`.ordinal`), as in Muthén, du Toit & Spisic (1997). With the model's implied thresholds and correlations
sigma(theta) and the diagonal weight matrix W = diag(Gamma)^-1:

    fmin = 1/2 (s - sigma)' W (s - sigma)

The model follows lavaan's default "delta" parameterization: the latent responses y* have unit variance, so the
residual variance of an ordered indicator is not a free parameter but 1 - diag(Lambda Psi* Lambda'), and the
implied threshold k of variable i is (tau_k - mu_i) delta_i with mu the implied means (zero in one group).

lavaan 0.6.14 conventions, reproduced here:

- Like GLS and ULS (:mod:`.ls`), the sample size is N - 1 (lavaan's N - G outside ML): chisq = 2 (N - 1) fmin,
  and the reported fmin is chisq / (2 N); df = len(s) - npar.
- vcov (``se = "robust.sem"``) = (D'WD)^-1 D'W Gamma W D (D'WD)^-1 / (N - 1), with D = d sigma / d theta.
- The scaled-shifted test (Asparouhov & Muthén, 2010): with U = W - WD(D'WD)^-1 D'W,
  a = sqrt(df / tr((U Gamma)^2)), shift b = df - a tr(U Gamma), chisq.scaled = a chisq + b; lavaan reports
  ``chisq.scaling.factor`` = 1 / a.
- The baseline model keeps the thresholds and sets every correlation to zero, tested the same way.
- The RMSEA and its interval take N - 1 (lavaan's N - G for estimators other than ML).
- ``.robust`` CFI, TLI and RMSEA follow Savalei (2021): the "catML" statistic, the normal-theory ML discrepancy
  between the polychoric matrix R and the implied correlations at the DWLS estimates, XX3 = N F_ML(R, Sigma),
  with c.hat3 = tr(U3' V U3 Gamma_r) / df (V the ML weight matrix of the correlations at Sigma, U3 = I -
  D_r (D'WD)^-1 D_r' W_r on the correlation part) and, for the baseline, XX3_0 = -N log|R| with
  c.hat3_0 = tr(Gamma_r) / df_0.

References
----------
Muthén, B., du Toit, S. H. C., & Spisic, D. (1997). Robust inference using weighted least squares and quadratic
estimating equations in latent variable modeling with categorical and continuous outcomes. Unpublished report.

Asparouhov, T., & Muthén, B. (2010). Simple second order chi-square correction. Mplus technical appendix.

Savalei, V. (2021). Improving fit indices in structural equation modeling with categorical data. Multivariate
Behavioral Research, 56(3), 390-407.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import fit_measures as fm
from .estimate import MLState, Optimum, Parameters, matmul_by_rows, minimise
from .lisrel import Matrices, derivatives, fill
from .ordinal import OrdinalStats


def _implied(params: Parameters, x: np.ndarray, ordered: np.ndarray) -> Matrices:
    """The matrices at x with the residual variances of ordered variables set so that var(y*) = 1 / delta^2."""
    mats = fill(params.rep, params.row_values(x))
    common = mats.implied_cov() - mats.theta
    delta = mats.delta.ravel()
    idx = np.flatnonzero(ordered)
    mats.theta[idx, idx] = 1.0 / delta[idx] ** 2 - common[idx, idx]
    return mats


def implied_statistics(mats: Matrices, stats: OrdinalStats) -> tuple[np.ndarray, np.ndarray]:
    """The implied sigma(theta) in the order of ``stats.s``, and the implied correlation matrix."""
    delta = mats.delta.ravel()
    sigma = mats.implied_cov() * np.outer(delta, delta)
    mu = mats.implied_mean()
    var = stats.threshold_var
    tau = (mats.tau.ravel() - mu[var]) * delta[var]
    rows, cols = stats.pairs
    return np.concatenate([tau, sigma[rows, cols]]), sigma


def jacobian(params: Parameters, mats: Matrices, stats: OrdinalStats) -> np.ndarray:
    """D = d sigma / d x, (len(s), n_free): thresholds, then the correlations (lavaan's Delta).

    With Sigma* = Lambda (I - B)^-1 Psi (I - B)^-T Lambda' + Theta and mu = nu + Lambda (I - B)^-1 alpha the
    moments of the latent responses, the implied statistics are tau*_k = (tau_k - mu_i) delta_i (threshold k
    of variable i) and rho_ij = delta_i delta_j Sigma*_ij (i != j; the diagonal of Theta, which makes
    var(y*_i) = 1 / delta_i^2, never enters them). So, besides the chain rule through Sigma* and mu,

        d tau*_k / d tau_k = delta_i,   d tau*_k / d delta_i = tau_k - mu_i,
        d rho_ij / d delta_i = delta_j Sigma*_ij,

    the scale factors delta being free parameters in groups after the first when thresholds are equal.
    """
    # Only the free rows are differentiated (params.plan): the fixed ones never reach x.
    d_sigma, d_mu = derivatives(params.rep, mats, params.plan)
    delta = mats.delta.ravel()
    var = stats.threshold_var
    tau_rows, tau_index, _ = params.plan.locations["tau"]  # the slices of the thresholds, and their place in tau
    d_tau = -d_mu[:, var] * delta[var]
    d_tau[tau_rows, tau_index] += delta[var[tau_index]]
    rows, cols = stats.pairs
    d_cor = d_sigma[:, rows, cols] * (delta[rows] * delta[cols])
    delta_rows, delta_var, _ = params.plan.locations["delta"]
    if len(delta_rows):
        mu = mats.implied_mean()
        common = mats.implied_cov()[rows, cols]
        for k, i in zip(delta_rows, delta_var, strict=True):
            d_tau[k] = np.where(var == i, mats.tau.ravel() - mu[var], 0.0)
            d_cor[k] = common * (np.where(rows == i, delta[cols], 0.0) + np.where(cols == i, delta[rows], 0.0))
    # Row-major before the transpose, as the products with D have always been taken (the same rounding).
    return np.ascontiguousarray(params.reduce_planned(np.concatenate([d_tau, d_cor], axis=1))).T


def evaluator(stats: OrdinalStats, ordered: np.ndarray) -> Callable[..., MLState | None]:
    """``evaluate(params, stats, x, derivs=...)`` for :func:`estimate.minimise`: fmin, its gradient -D'W r and
    the Gauss-Newton information D'WD."""
    s, w = stats.s, stats.weights

    def evaluate(params: Parameters, _stats, x: np.ndarray, *, derivs: bool = True) -> MLState | None:
        mats = _implied(params, x, ordered)
        sigma_s, sigma = implied_statistics(mats, stats)
        if not np.all(np.isfinite(sigma_s)):
            return None
        resid = s - sigma_s
        state = MLState(x, mats, sigma, mats.implied_mean(), 0.5 * float(resid @ (w * resid)), np.empty(0),
                        np.empty(0))  # fmt: skip
        if not derivs:
            return state
        d = jacobian(params, mats, stats)
        state.gradient = -d.T @ (w * resid)
        state.information = matmul_by_rows(d.T, w[:, None] * d)
        return state

    return evaluate


def fit(params: Parameters, stats: OrdinalStats, x0: np.ndarray, ordered: np.ndarray) -> Optimum:
    """Minimise the DWLS discrepancy from ``x0``."""
    return minimise(params, stats, x0, evaluator=evaluator(stats, ordered))  # type: ignore[arg-type]


def robust_vcov(d: np.ndarray, stats: OrdinalStats) -> np.ndarray:
    """lavaan's ``robust.sem``: (D'WD)^-1 D'W Gamma W D (D'WD)^-1 / (N - 1)."""
    w = stats.weights
    bread = np.linalg.inv(d.T @ (w[:, None] * d))
    wd = w[:, None] * d
    return bread @ (wd.T @ stats.gamma @ wd) @ bread / (stats.n - 1)


def scaled_shifted(chisq: float, df: float, d: np.ndarray, w: np.ndarray, gamma: np.ndarray) -> dict[str, float]:
    """The mean-and-variance adjusted statistic: a chisq + b with a = sqrt(df / tr((U Gamma)^2)) and
    b = df - a tr(U Gamma) (Asparouhov & Muthén, 2010), U = W - W D (D'WD)^-1 D'W.

    U is never formed: with A = WD, M = (D'A)^-1, C = Gamma A and G = A'C (Gamma symmetric),
    tr(U Gamma) = sum_i w_i Gamma_ii - tr(MG) and
    tr((U Gamma)^2) = w'(Gamma o Gamma)w - 2 tr(M C'WC) + tr((MG)^2),
    products with the thin A instead of two dense products of Gamma's size.
    """
    a_mat = w[:, None] * d
    m = np.linalg.inv(d.T @ a_mat)
    c = gamma @ a_mat
    mg = m @ (a_mat.T @ c)
    tr1 = float(w @ np.diag(gamma) - np.trace(mg))
    tr2 = float(w @ (gamma * gamma) @ w - 2.0 * np.sum(m * (c.T @ (w[:, None] * c))) + np.sum(mg * mg.T))
    a = np.sqrt(df / tr2)
    shift = df - a * tr1
    return {"chisq.scaled": a * chisq + shift, "scaling.factor": 1.0 / a, "shift": shift}


def _catml(sigma: np.ndarray, d: np.ndarray, stats: OrdinalStats, df: float) -> tuple[float, float, float, float]:
    """Savalei's (2021) catML statistics for the ``.robust`` indices: (XX3, c.hat3, XX3_0, c.hat3_0)."""
    n, p = stats.n, stats.p
    r = stats.cor
    _, logdet_r = np.linalg.slogdet(r)
    _, logdet_s = np.linalg.slogdet(sigma)
    sigma_inv = np.linalg.inv(sigma)
    xx3 = n * (logdet_s + np.trace(r @ sigma_inv) - logdet_r - p)
    rows, cols = stats.pairs
    n_th = len(stats.thresholds)
    w = stats.weights
    # The ML weight of the correlations: 1/2 D'(Sigma^-1 (x) Sigma^-1)D restricted to off-diagonal elements,
    # i.e. element (ij, kl) = s^ik s^jl + s^il s^jk.
    v = sigma_inv[rows][:, rows] * sigma_inv[cols][:, cols] + sigma_inv[rows][:, cols] * sigma_inv[cols][:, rows]
    w_r = w[n_th:]
    d_r = d[n_th:]
    e_inv = np.linalg.inv(d.T @ (w[:, None] * d))
    u3 = np.eye(len(rows)) - d_r @ e_inv @ d_r.T * w_r[None, :]
    gamma_r = stats.gamma[n_th:, n_th:]
    c_hat3 = float(np.sum((u3.T @ v @ u3) * gamma_r.T)) / df  # the trace of the product, one product fewer
    df0 = p * (p - 1) / 2
    return float(xx3), c_hat3, float(-n * logdet_r), float(np.trace(gamma_r)) / df0


def fit_measures(state: MLState, params: Parameters, stats: OrdinalStats) -> dict[str, float]:
    """lavaan's fit measures for a WLSMV fit: the standard and scaled-shifted tests of the model and the
    baseline, CFI/TLI/RMSEA in their standard, ``.scaled`` and ``.robust`` versions, and the SRMR."""
    n = stats.n
    npar = params.n_free
    k = len(stats.s)
    df = k - npar
    d = jacobian(params, state.mats, stats)
    w = stats.weights
    n_rmsea = n - 1
    chisq = 2.0 * n_rmsea * state.fmin
    model = scaled_shifted(chisq, df, d, w, stats.gamma)
    # The baseline: free thresholds (fitted exactly), all correlations zero.
    n_th = len(stats.thresholds)
    r = stats.s[n_th:]
    b_chisq = n_rmsea * float(r @ (w[n_th:] * r))
    b_df = float(len(r))
    d_b = np.zeros((k, n_th))
    d_b[np.arange(n_th), np.arange(n_th)] = 1.0
    baseline = scaled_shifted(b_chisq, b_df, d_b, w, stats.gamma)
    measures = standard_and_scaled_measures(
        fmin=state.fmin,
        chisq=chisq,
        n=n,
        n_rmsea=n_rmsea,
        df=df,
        npar=npar,
        model=model,
        baseline=baseline,
        baseline_chisq=b_chisq,
        baseline_df=b_df,
        srmr=fm.srmr(stats.cor, state.sigma),
    )
    xx3, c3, xx3_0, c3_0 = _catml(state.sigma, d, stats, df)
    measures.update(robust_cfi_tli(xx3, c3, xx3_0, c3_0, df, b_df))
    measures["rmsea.robust"] = float(np.sqrt(max(0.0, (xx3 - c3 * df) / (n_rmsea * df))))
    return {name: float(value) for name, value in measures.items()}


def standard_and_scaled_measures(*, fmin: float, chisq: float, n: int, n_rmsea: int, df: float, npar: int,
                                  model: dict[str, float], baseline: dict[str, float], baseline_chisq: float,
                                  baseline_df: float, srmr: float, n_groups: int = 1) -> dict[str, float]:  # fmt: skip
    """The standard and ``.scaled`` tests and indices of a WLSMV fit, one group or several.

    ``fmin`` is chisq / (2 (N - G)) as :func:`fit_measures.standard_measures` reads it (the RMSEA takes
    N - G); the reported fmin is chisq / (2 N). ``model`` and ``baseline`` are the scaled-shifted statistics
    (:func:`scaled_shifted`, ``dwls_groups.scaled_shifted``); there is no likelihood, so no logl, AIC or BIC.
    """
    measures = fm.standard_measures(
        fmin=fmin,
        n=n_rmsea,
        df=df,
        npar=npar,
        baseline_chisq=baseline_chisq,
        baseline_df=baseline_df,
        logl=np.nan,
        unrestricted_logl=np.nan,
        srmr=srmr,
        n_groups=n_groups,
    )
    # standard_measures was handed N - G (for chisq and the RMSEA); lavaan reports fmin and ntotal over N.
    measures.update(fmin=chisq / (2.0 * n), ntotal=float(n), aic=np.nan, bic=np.nan)
    scaled, b_scaled = model["chisq.scaled"], baseline["chisq.scaled"]
    measures.update({
        "chisq.scaled": scaled,
        "df.scaled": df,
        "pvalue.scaled": fm.chisq_pvalue(scaled, df),
        "chisq.scaling.factor": model["scaling.factor"],
        "chisq.shift.parameter": model["shift"],
        "baseline.chisq.scaled": b_scaled,
        "baseline.df.scaled": baseline_df,
        "baseline.chisq.scaling.factor": baseline["scaling.factor"],
        "cfi.scaled": fm.cfi(scaled, df, b_scaled, baseline_df),
        "tli.scaled": fm.tli(scaled, df, b_scaled, baseline_df),
        "rmsea.scaled": fm.rmsea(scaled, df, n_rmsea, n_groups),
    })  # fmt: skip
    return measures


def robust_cfi_tli(xx3: float, c3: float, xx3_0: float, c3_0: float, df: float, b_df: float) -> dict[str, float]:
    """``cfi.robust`` and ``tli.robust`` (Savalei, 2021) from the catML statistics (XX3, c.hat3) of the model
    and (XX3_0, c.hat3_0) of the baseline, one group or several; the ``rmsea.robust`` of one group and of
    several differ in how they scale by N, so the callers compute it."""
    t_robust = max(xx3 - c3 * df, 0.0)
    t_robust_0 = max(xx3 - c3 * df, xx3_0 - c3_0 * b_df, 0.0)
    return {
        "cfi.robust": 1.0 - t_robust / t_robust_0 if t_robust_0 > 0 else 1.0,
        "tli.robust": 1.0 - ((xx3 - c3 * df) * b_df) / ((xx3_0 - c3_0 * b_df) * df),
    }
