"""lavaan's ``estimator = "MLR"`` for one group of complete data: ML estimates, Huber-White standard errors and
the Yuan-Bentler (Mplus variant) scaled test statistic.

lavaan 0.6.14 conventions (``information = "observed"``, ``observed.information = "hessian"``,
``h1.information = "structured"``, ``se = "robust.huber.white"``, ``test = "yuan.bentler.mplus"``), all per
observation and, without a meanstructure, on the covariance part only (the means are the sample means):

- A: the observed information of the model, the Hessian of fmin at the estimates (here: central differences
  of the analytic gradient).
- Scores: for case i with e_i = y_i - ybar, the casewise gradient of the log-likelihood with respect to
  vech(Sigma) is D' vec(G_i), G_i = 1/2 (Sigma^-1 e_i e_i' Sigma^-1 - Sigma^-1), at the implied Sigma. B1 is
  their mean cross-product, and B = Delta' B1 Delta with Delta = d vech(Sigma) / d theta.
- vcov = A^-1 B A^-1 / N.
- The test (lavaan's yuan.bentler.mplus always takes the *unstructured* h1 here): A1 and B1 of the
  unrestricted model at S, A1 = D' [S^-1 (x) S^-1 S S^-1 - 1/2 S^-1 (x) S^-1] D = 1/2 D' (S^-1 (x) S^-1) D,
  B1 from the scores at S; B0 = Delta' B1(implied Sigma) Delta as for the standard errors.
  tr(U Gamma) = tr(A1^-1 B1) - tr(A^-1 B0); the scaling factor c = tr(U Gamma) / df, chisq.scaled = chisq / c
  with df.scaled = df.
- The baseline (independence) model gets its own factor the same way, at Sigma = diag(S).
- ``.scaled`` indices put the scaled statistics into the usual formulas. ``.robust`` ones (Brosseau-Liard &
  Savalei): CFI = 1 - max(T - c df, 0) / max(T - c df, T_b - c_b df_b, 0), TLI = 1 - (T - c df) df_b /
  ((T_b - c_b df_b) df), RMSEA = sqrt(max(0, (T - c df) / (N df))), with T the unscaled chi-squares.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import fit_measures as fm
from .estimate import MLState, Parameters, evaluate
from .lisrel import derivatives
from .sample_stats import SampleStats


def _vech_indices(p: int) -> tuple[np.ndarray, np.ndarray]:
    return np.tril_indices(p)


def _duplication(p: int) -> np.ndarray:
    """D with vec(S) = D vech(S) (column-major vec, vech of the lower triangle)."""
    rows, cols = _vech_indices(p)
    d = np.zeros((p * p, len(rows)))
    for k, (i, j) in enumerate(zip(rows, cols, strict=True)):
        d[j * p + i, k] = 1.0
        d[i * p + j, k] = 1.0
    return d


def h1_information(sigma: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """The observed information of the unrestricted covariance model, per observation, at ``sigma``."""
    p = sigma.shape[0]
    s_inv = np.linalg.inv(sigma)
    w = s_inv @ cov @ s_inv
    d = _duplication(p)
    h = np.kron(s_inv, w) - 0.5 * np.kron(s_inv, s_inv)
    h = 0.5 * (h + h.T)
    return d.T @ h @ d


def h1_scores(sigma: np.ndarray, centred: np.ndarray) -> np.ndarray:
    """Casewise scores of the log-likelihood with respect to vech(Sigma), one row per case."""
    p = sigma.shape[0]
    s_inv = np.linalg.inv(sigma)
    z = centred @ s_inv
    g = 0.5 * (np.einsum("na,nb->nab", z, z) - s_inv)
    rows, cols = _vech_indices(p)
    off = rows != cols
    return g[:, rows, cols] * np.where(off, 2.0, 1.0)


def delta_vech(d_sigma: np.ndarray) -> np.ndarray:
    """(vech, k): d vech(Sigma) / d theta from a (k, p, p) stack."""
    rows, cols = _vech_indices(d_sigma.shape[1])
    return d_sigma[:, rows, cols].T


def numerical_hessian(gradient: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> np.ndarray:
    """Central differences of an analytic gradient, symmetrised."""
    k = len(x)
    h = np.zeros((k, k))
    for j in range(k):
        step = 1e-5 * max(1.0, abs(x[j]))
        up, down = x.copy(), x.copy()
        up[j] += step
        down[j] -= step
        h[:, j] = (gradient(up) - gradient(down)) / (2 * step)
    return 0.5 * (h + h.T)


def sandwich(information: np.ndarray, delta: np.ndarray, b1: np.ndarray, n: int) -> np.ndarray:
    """A^-1 B A^-1 / N with B = Delta' B1 Delta."""
    a_inv = np.linalg.inv(information)
    b = delta.T @ b1 @ delta
    return a_inv @ b @ a_inv / n


def scaling_factor(sigma: np.ndarray, cov: np.ndarray, centred: np.ndarray, delta: np.ndarray,
                   information: np.ndarray, df: float) -> float:  # fmt: skip
    """The Yuan-Bentler (Mplus) scaling factor tr(U Gamma) / df: tr(A1^-1 B1) with the unrestricted A1 and B1
    (at S), minus tr(A^-1 B0) with B0 from the casewise scores at the implied ``sigma``."""
    n = centred.shape[0]
    unrestricted = h1_scores(cov, centred)
    b1 = unrestricted.T @ unrestricted / n
    trace_h1 = float(np.sum(b1 * np.linalg.inv(h1_information(cov, cov)).T))
    structured = h1_scores(sigma, centred) @ delta
    b0 = structured.T @ structured / n
    trace_h0 = float(np.sum(b0 * np.linalg.inv(information).T))
    return (trace_h1 - trace_h0) / df


def baseline_scaling_factor(cov: np.ndarray, centred: np.ndarray, df: float) -> float:
    """The scaling factor of the independence model (free variances, Sigma = diag(S))."""
    p = cov.shape[0]
    sigma = np.diag(np.diag(cov))
    d_sigma = np.zeros((p, p, p))
    d_sigma[np.arange(p), np.arange(p), np.arange(p)] = 1.0
    delta = delta_vech(d_sigma)
    information = delta.T @ h1_information(sigma, cov) @ delta  # Sigma is linear in the variances
    return scaling_factor(sigma, cov, centred, delta, information, df)


def robust_measures(measures: dict[str, float], c: float, c_baseline: float) -> dict[str, float]:
    """The ``.scaled`` and ``.robust`` fit measures from the ML ones and the two scaling factors."""
    n, df = measures["ntotal"], measures["df"]
    chisq, b_chisq, b_df = measures["chisq"], measures["baseline.chisq"], measures["baseline.df"]
    scaled, b_scaled = chisq / c, b_chisq / c_baseline
    t1 = max(chisq - c * df, 0.0)
    t2 = max(chisq - c * df, b_chisq - c_baseline * b_df, 0.0)
    out = {
        "chisq.scaled": scaled,
        "df.scaled": df,
        "pvalue.scaled": fm.chisq_pvalue(scaled, df),
        "chisq.scaling.factor": c,
        "baseline.chisq.scaled": b_scaled,
        "baseline.df.scaled": b_df,
        "baseline.chisq.scaling.factor": c_baseline,
        "cfi.scaled": fm.cfi(scaled, df, b_scaled, b_df),
        "tli.scaled": fm.tli(scaled, df, b_scaled, b_df),
        "rmsea.scaled": fm.rmsea(scaled, df, n),
        "cfi.robust": 1.0 - t1 / t2 if t2 > 0 else 1.0,
        "tli.robust": 1.0 - ((chisq - c * df) * b_df) / ((b_chisq - c_baseline * b_df) * df),
        "rmsea.robust": float(np.sqrt(max(0.0, (chisq - c * df) / (n * df)))),
    }
    return {name: float(value) for name, value in out.items()}


def mlr(params: Parameters, stats: SampleStats, state: MLState, centred: np.ndarray, df: float
        ) -> tuple[np.ndarray, float, float]:  # fmt: skip
    """The robust vcov, the model's scaling factor and the baseline's, at the ML estimates ``state``."""

    def gradient(x: np.ndarray) -> np.ndarray:
        trial = evaluate(params, stats, x)
        if trial is None:
            raise np.linalg.LinAlgError("the implied covariance matrix is not positive definite near the estimates")
        return trial.gradient

    information = numerical_hessian(gradient, state.x)
    d_sigma, _ = derivatives(params.rep, state.mats)
    delta = delta_vech(params.reduce(d_sigma))
    scores = h1_scores(state.sigma, centred)
    vcov = sandwich(information, delta, scores.T @ scores / centred.shape[0], stats.n)
    c = scaling_factor(state.sigma, stats.cov, centred, delta, information, df)
    p = stats.p
    return vcov, c, baseline_scaling_factor(stats.cov, centred, p * (p - 1) / 2)
