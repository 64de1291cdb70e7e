"""lavaan's ``estimator = "MLR"`` for complete data, one group or several: ML estimates, Huber-White standard
errors and the Yuan-Bentler (Mplus variant) scaled test statistic; the ``.scaled`` and ``.robust`` fit measures
(also for FIML, :mod:`iasem.engine.fiml`); and ML's ``se = "robust"`` (robust.sem).

One group, lavaan 0.6.14 conventions (``information = "observed"``, ``observed.information = "hessian"``,
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
- With ``se = "standard"`` or ``"none"`` lavaan's MLR takes ``information = "expected"``: A is then the expected
  information, in the test as well (``observed=False``).
- ``.scaled`` indices put the scaled statistics into the usual formulas. ``.robust`` ones (Brosseau-Liard &
  Savalei): CFI = 1 - max(T - c df, 0) / max(T - c df, T_b - c_b df_b, 0), TLI = 1 - (T - c df) df_b /
  ((T_b - c_b df_b) df), RMSEA = sqrt(max(0, (T - c df) / (N df))), with T the unscaled chi-squares.

Several groups (:func:`mlr_groups`): every group has a meanstructure, so the casewise scores, A1, B1 and
Delta have a mean part before the vech part. With f_g = N_g / N and fmin = sum_g f_g fmin_g:

- A: the Hessian of fmin (lavaan weights the groups' objectives, ``group.weight = TRUE``).
- B = sum_g f_g Delta_g' B1_g Delta_g, B1_g the mean cross-product of the scores at (mu_g, Sigma_g), the
  scores with respect to mu being Sigma^-1 (y_i - mu) (lavaan's ``lav_mvnorm_scores_mu_vech_sigma``).
- tr(U Gamma) = sum_g tr(A1_g^-1 B1_g) - sum_g f_g tr(A^-1 Delta_g' B1_g Delta_g), the h1 part
  unstructured (at the group's sample mean and covariance), the h0 part at the implied moments
  (``lav_test_yuan_bentler_mplus_trace``). Equality constraints: A and B in the free parameters that remain,
  which equals lavaan's augmented-information form.
- The baseline: independence models (free means and variances) in every group, none shared.

ML with ``se = "robust"`` on complete data is not MLR in lavaan but ``se = "robust.sem"``
(:func:`robust_sem`): the expected information E and the sample fourth moments Gamma_g (``NACOV``),
vcov = E^-1 [sum_g f_g Delta_g' W_g Gamma_g W_g Delta_g] E^-1 / N, W_g the normal-theory h1 information at
the implied moments.

The RMSEAs of a scaled test (``lav_fit_rmsea_lavobject``): ``rmsea.scaled`` and its interval and test use
T with df2 = tr(U Gamma) = c df; the ``.robust`` interval and test use T / c with df and ``c.hat`` = c.

References
----------
Yuan, K.-H., & Bentler, P. M. (2000). Three likelihood-based methods for mean and covariance structure
analysis with nonnormal missing data. *Sociological Methodology*, 30, 165-200.

Brosseau-Liard, P. E., Savalei, V., & Li, L. (2012). An investigation of the sample performance of two
nonnormality corrections for RMSEA. *Multivariate Behavioral Research*, 47(6), 904-930.

Brosseau-Liard, P. E., & Savalei, V. (2014). Adjusting incremental fit indices for nonnormality.
*Multivariate Behavioral Research*, 49(5), 460-470.

Savalei, V. (2018). On the computation of the RMSEA and CFI from the mean-and-variance corrected test
statistic with nonnormal data in SEM. *Multivariate Behavioral Research*, 53(3), 419-429.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .. import fit_measures as fm
from .estimate import MLState, Parameters, evaluate
from .lisrel import derivatives
from .multigroup import MultiState
from .sample_stats import SampleStats


def _vech_indices(p: int) -> tuple[np.ndarray, np.ndarray]:
    return np.tril_indices(p)


def duplication(p: int) -> np.ndarray:
    """D with vec(S) = D vech(S) (column-major vec, vech of the lower triangle)."""
    rows, cols = _vech_indices(p)
    d = np.zeros((p * p, len(rows)))
    for k, (i, j) in enumerate(zip(rows, cols, strict=True)):
        d[j * p + i, k] = 1.0
        d[i * p + j, k] = 1.0
    return d


def duplication_sandwich(a: np.ndarray, b: np.ndarray, vech: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """D' (A (x) B) D for symmetric A and B, without the p^2 x p^2 Kronecker product; ``vech`` gives the row and
    column of each vech element (default :func:`_vech_indices`'s order).

    With vech positions (i, j) and (k, l), D's columns hold ones at vec positions (i, j) and (j, i), so

        [D' (A (x) B) D]_(ij),(kl) = A_jl B_ik + A_jk B_il + A_il B_jk + A_ik B_jl,

    each of the two positions counted once where i = j (or k = l): halve those rows (columns).
    """
    rows, cols = _vech_indices(a.shape[0]) if vech is None else vech
    r, c = rows[:, None], cols[:, None]
    r_, c_ = rows[None, :], cols[None, :]
    out = a[c, c_] * b[r, r_] + a[c, r_] * b[r, c_] + a[r, c_] * b[c, r_] + a[r, r_] * b[c, c_]
    half = np.where(rows == cols, 0.5, 1.0)
    out *= half[:, None] * half[None, :]
    return 0.5 * (out + out.T)


def h1_information(sigma: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """The observed information of the unrestricted covariance model, per observation, at ``sigma``:
    D' [Sigma^-1 (x) Sigma^-1 S Sigma^-1 - 1/2 Sigma^-1 (x) Sigma^-1] D."""
    s_inv = np.linalg.inv(sigma)
    return duplication_sandwich(s_inv, s_inv @ cov @ s_inv) - 0.5 * duplication_sandwich(s_inv, s_inv)


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


def numerical_hessian(gradient: Callable[[np.ndarray], np.ndarray], x: np.ndarray,
                      columns: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """Central differences of an analytic gradient, symmetrised; only the ``columns`` (default all) of x are
    stepped, the Hessian being zero elsewhere (the parameters a group's F does not depend on)."""
    k = len(x)
    h = np.zeros((k, k))
    for j in range(k) if columns is None else columns:
        step = 1e-5 * max(1.0, abs(x[j]))
        up, down = x.copy(), x.copy()
        up[j] += step
        down[j] -= step
        h[:, j] = (gradient(up) - gradient(down)) / (2 * step)
    return 0.5 * (h + h.T)


def _groups_hessian(params: Sequence[Parameters], stats: Sequence[SampleStats], x: np.ndarray) -> np.ndarray:
    """The Hessian of sum_g (N_g / N) F_g, group by group: F_g depends on its own group's parameters only, so
    each group's gradient is differenced over those alone (G times fewer evaluations than differencing the
    summed gradient over all of x)."""
    n = sum(s.n for s in stats)
    total = np.zeros((len(x), len(x)))
    for p, s in zip(params, stats, strict=True):

        def gradient(x_: np.ndarray, p=p, s=s) -> np.ndarray:
            trial = evaluate(p, s, x_, derivs="gradient")
            if trial is None:
                raise np.linalg.LinAlgError("the implied covariance matrix is not positive definite near the estimates")
            return trial.gradient

        total += (s.n / n) * numerical_hessian(gradient, x, p.active)
    return total


def sandwich(information: np.ndarray, delta: np.ndarray, b1: np.ndarray, n: int) -> np.ndarray:
    """A^-1 B A^-1 / N with B = Delta' B1 Delta."""
    a_inv = inverse(information)
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


def scaling_from_trace(trace: float, df: float) -> float:
    """lavaan's scaling factor c = tr(U Gamma) / df, NaN where lavaan has NA: a model without degrees of
    freedom (nothing to scale) or a negative trace."""
    if df <= 0:
        return math.nan
    c = trace / df
    return c if c >= 0 else math.nan


@dataclass
class ScaledTest:
    """The Yuan-Bentler (Mplus) scaled test of a fit and what its fit measures need.

    ``scaling`` is c = tr(U Gamma) / df (lavaan's ``chisq.scaling.factor``), ``baseline_scaling`` the
    baseline model's; ``trace_h1`` and ``trace_h0`` the two parts of tr(U Gamma) (summed over groups),
    ``ndat`` the number of sample moments and ``npar`` lavaan's ``nx.free`` (free parameters before
    equality constraints), so that ``scaling.factor.h1`` = trace_h1 / ndat and ``scaling.factor.h0`` =
    trace_h0 / npar. ``vcov`` is the Huber-White covariance of the free parameters.
    """

    vcov: np.ndarray | None
    scaling: float
    baseline_scaling: float
    trace_h1: float = math.nan
    trace_h0: float = math.nan
    ndat: int = 0
    npar: int = 0


@dataclass(frozen=True)
class RobustStatistics:
    """The statistics behind lavaan's ``.robust`` CFI, TLI and RMSEA: the test statistic T (lavaan's XX3),
    its scaling factor c.hat, the scaled statistic T / c.hat, and the baseline's T and c.hat. Complete data:
    the ML chi-squares with the Yuan-Bentler factors; FIML: Savalei's corrected ones
    (:func:`iasem.engine.fiml.corrected_statistics`)."""

    chisq: float
    c_hat: float
    chisq_scaled: float
    baseline_chisq: float
    baseline_c_hat: float


def _robust_cfi(t: float, df: float, t_b: float, df_b: float, c: float, c_b: float) -> float:
    """lavaan's ``lav_fit_cfi`` with ``c.hat``: 1 - max(T - c df, 0) / max(T - c df, T_b - c_b df_b, 0)."""
    if any(math.isnan(v) for v in (t, df, t_b, df_b, c, c_b)):
        return math.nan
    if not (df > 0 and c != 1 and c_b != 1):
        c = c_b = 1.0
    t1 = max(t - c * df, 0.0)
    t2 = max(t - c * df, t_b - c_b * df_b, 0.0)
    if abs(t1) < 1.5e-8 and abs(t2) < 1.5e-8:  # R's all.equal(., 0)
        return 1.0
    return 1.0 - t1 / t2


def _robust_tli(t: float, df: float, t_b: float, df_b: float, c: float, c_b: float) -> float:
    """lavaan's ``lav_fit_tli`` with ``c.hat``: 1 - (T - c df) df_b / ((T_b - c_b df_b) df)."""
    if any(math.isnan(v) for v in (t, df, t_b, df_b, c, c_b)):
        return math.nan
    if not (df > 0 and c != 1 and c_b != 1):
        c = c_b = 1.0
    t1 = (t - c * df) * df_b
    t2 = (t_b - c_b * df_b) * df
    if df > 0 and abs(t2) > 0:
        return 1.0 - t1 / t2
    return math.nan if not (math.isfinite(t1) and math.isfinite(t2)) else 1.0


def robust_indices(measures: dict[str, float], robust: RobustStatistics, n_groups: int = 1) -> dict[str, float]:
    """lavaan's ``cfi.robust``, ``tli.robust``, ``rmsea.robust`` and the robust RMSEA's 90 % interval and test
    of close fit (``rmsea.ci.lower.robust``, ``rmsea.ci.upper.robust``, ``rmsea.pvalue.robust``).

    With T, c.hat and the baseline's T_b, c_b from ``robust``:

    - CFI = 1 - max(T - c df, 0) / max(T - c df, T_b - c_b df_b, 0), TLI = 1 - (T - c df) df_b /
      ((T_b - c_b df_b) df) (Brosseau-Liard & Savalei, 2014);
    - RMSEA = sqrt(max(T / (N df) - c / N, 0)) sqrt(G) (Brosseau-Liard, Savalei & Li, 2012);
    - its interval and test invert the noncentral chi-square at T / c with df and multiply the
      noncentrality back by c (``lav_fit_rmsea_ci(X2 = XX3.scaled, c.hat = c.hat)``).
    """
    n, df, b_df = measures["ntotal"], measures["df"], measures["baseline.df"]
    t, c, scaled = robust.chisq, robust.c_hat, robust.chisq_scaled
    t_b, c_b = robust.baseline_chisq, robust.baseline_c_hat
    lower, upper = fm.rmsea_ci(scaled, df, n, n_groups, c_hat=c)
    out = {
        "cfi.robust": _robust_cfi(t, df, t_b, b_df, c, c_b),
        "tli.robust": _robust_tli(t, df, t_b, b_df, c, c_b),
        "rmsea.robust": fm.rmsea(t, df, n, n_groups, c_hat=c),
        "rmsea.ci.lower.robust": lower,
        "rmsea.ci.upper.robust": upper,
        "rmsea.pvalue.robust": fm.rmsea_pvalue(scaled, df, n, n_groups, c_hat=c),
    }
    return {name: float(value) for name, value in out.items()}


def scaled_measures(measures: dict[str, float], test: ScaledTest, n_groups: int = 1) -> dict[str, float]:
    """The ``.scaled`` fit measures of the Yuan-Bentler (Mplus) test: the scaled chi-squares of the model and
    the baseline, CFI and TLI from them, and the scaled RMSEA with its interval and test, which lavaan computes
    from the unscaled T with df2 = tr(U Gamma) = c df (``lav_fit_rmsea_lavobject``)."""
    n, df = measures["ntotal"], measures["df"]
    chisq, b_chisq, b_df = measures["chisq"], measures["baseline.chisq"], measures["baseline.df"]
    c, c_b = test.scaling, test.baseline_scaling
    # lavaan: without degrees of freedom the "scaled" statistic is the standard one, with a scaling factor NA
    scaled, b_scaled = chisq if df == 0 else chisq / c, b_chisq / c_b
    df2 = c * df
    lower, upper = fm.rmsea_ci(chisq, df2, n, n_groups) if math.isfinite(df2) else (math.nan, math.nan)
    out = {
        "chisq.scaled": scaled,
        "df.scaled": df,
        "pvalue.scaled": fm.chisq_pvalue(scaled, df),
        "chisq.scaling.factor": c,
        "baseline.chisq.scaled": b_scaled,
        "baseline.df.scaled": b_df,
        "baseline.pvalue.scaled": fm.chisq_pvalue(b_scaled, b_df),
        "baseline.chisq.scaling.factor": c_b,
        "cfi.scaled": fm.cfi(scaled, df, b_scaled, b_df),
        "tli.scaled": fm.tli(scaled, df, b_scaled, b_df),
        "rmsea.scaled": fm.rmsea(chisq, df2, n, n_groups),
        "rmsea.ci.lower.scaled": lower,
        "rmsea.ci.upper.scaled": upper,
        "rmsea.pvalue.scaled": fm.rmsea_pvalue(chisq, df2, n, n_groups),
    }
    if test.ndat and test.npar and math.isfinite(c):
        out["scaling.factor.h1"] = test.trace_h1 / test.ndat
        out["scaling.factor.h0"] = test.trace_h0 / test.npar
    return {name: float(value) for name, value in out.items()}


def robust_measures(measures: dict[str, float], c: float | ScaledTest, c_baseline: float | None = None,
                    n_groups: int = 1, robust: RobustStatistics | None = None) -> dict[str, float]:  # fmt: skip
    """The ``.scaled`` and ``.robust`` fit measures from the ML ones and the scaled test (a :class:`ScaledTest`,
    or the two scaling factors). ``robust`` replaces the statistics of the ``.robust`` indices (FIML: Savalei's
    corrected ones); by default they are the ML chi-squares with the Yuan-Bentler factors."""
    test = c if isinstance(c, ScaledTest) else ScaledTest(None, float(c), float(c_baseline))  # type: ignore[arg-type]
    if robust is None:
        chisq = measures["chisq"]
        scaled = chisq if measures["df"] == 0 else chisq / test.scaling
        robust = RobustStatistics(chisq, test.scaling, scaled, measures["baseline.chisq"], test.baseline_scaling)
    return {**scaled_measures(measures, test, n_groups), **robust_indices(measures, robust, n_groups)}


def mlr(params: Parameters, stats: SampleStats, state: MLState, centred: np.ndarray, df: float, *,
        observed: bool = True) -> ScaledTest:  # fmt: skip
    """The robust vcov and the scaled test (the model's and the baseline's scaling factors) at the ML
    estimates ``state``: one group of complete data without a meanstructure. ``observed=False`` takes the
    expected information (``state.information``) for A, as lavaan does for MLR when the standard errors are
    not the robust ones (its ``information`` is "observed" only with ``se = "robust.huber.white"``)."""

    def gradient(x: np.ndarray) -> np.ndarray:
        trial = evaluate(params, stats, x, derivs="gradient")
        if trial is None:
            raise np.linalg.LinAlgError("the implied covariance matrix is not positive definite near the estimates")
        return trial.gradient

    information = numerical_hessian(gradient, state.x) if observed else state.information
    d_sigma, _ = derivatives(params.rep, state.mats)
    delta = delta_vech(params.reduce(d_sigma))
    n = centred.shape[0]
    scores = h1_scores(state.sigma, centred)
    vcov = sandwich(information, delta, scores.T @ scores / n, stats.n)
    unrestricted = h1_scores(stats.cov, centred)
    trace_h1 = trace_solve(unrestricted.T @ unrestricted / n, h1_information(stats.cov, stats.cov))
    structured = scores @ delta
    trace_h0 = trace_solve(structured.T @ structured / n, information)
    p = stats.p
    baseline = baseline_scaling_factor(stats.cov, centred, p * (p - 1) / 2)
    return ScaledTest(vcov, scaling_from_trace(trace_h1 - trace_h0, df), baseline, trace_h1, trace_h0, p * (p + 1) // 2,
                      int((params.index >= 0).sum()))  # fmt: skip


# --------------------------------------------------------------------------------------------------------------
# With a meanstructure: several groups
# --------------------------------------------------------------------------------------------------------------


def vech_scores(sigma: np.ndarray, centred: np.ndarray) -> np.ndarray:
    """Casewise scores with respect to (mu, vech(Sigma)), one row per case: Sigma^-1 e_i, then
    :func:`h1_scores`, with e_i = y_i - mu (lavaan's ``lav_mvnorm_scores_mu_vech_sigma``)."""
    return np.hstack([centred @ np.linalg.inv(sigma), h1_scores(sigma, centred)])


def mean_h1_information(sigma: np.ndarray) -> np.ndarray:
    """The expected information of one observation of the saturated normal model at (mu, Sigma), in (mu,
    vech(Sigma)): diag(Sigma^-1, 1/2 D' (Sigma^-1 (x) Sigma^-1) D). At the sample moments it is also the
    observed one."""
    p = sigma.shape[0]
    s_inv = np.linalg.inv(sigma)
    k = p * (p + 1) // 2
    out = np.zeros((p + k, p + k))
    out[:p, :p] = s_inv
    out[p:, p:] = 0.5 * duplication_sandwich(s_inv, s_inv)
    return out


def model_delta(params: Parameters, state: MLState) -> np.ndarray:
    """(p + vech, k): d(mu, vech(Sigma)) / d theta at the state, for the free parameters."""
    d_sigma, d_mu = derivatives(params.rep, state.mats)
    return np.vstack([params.reduce(d_mu).T, delta_vech(params.reduce(d_sigma))])


def trace_solve(b: np.ndarray, a: np.ndarray) -> float:
    """tr(A^-1 B) for symmetric A and B."""
    return float(np.sum(b * inverse(a)))


def inverse(information: np.ndarray) -> np.ndarray:
    """A^-1, or NaN everywhere when A is singular (an unidentified model): the robust standard errors and the
    scaling factor then come out NaN, as lavaan's are NA, instead of stopping the fit."""
    try:
        return np.linalg.inv(information)
    except np.linalg.LinAlgError:
        return np.full_like(information, np.nan)


def mlr_groups(params: Sequence[Parameters], stats: Sequence[SampleStats], state: MultiState,
               values: Sequence[np.ndarray], df: float, *, observed: bool = True) -> ScaledTest:  # fmt: skip
    """Huber-White standard errors and the Yuan-Bentler (Mplus) test over several groups of complete data
    with a meanstructure (lavaan's ``estimator = "MLR"`` with ``group =``).

    Parameters
    ----------
    params, stats
        Every group's parameter mapping and sample statistics.
    state
        The ML optimum (:func:`~iasem.engine.multigroup.evaluate_groups`).
    values
        Every group's raw rows (N_g, p), in the order of ``stats``.
    df
        Degrees of freedom of the model's test.
    observed
        A is the Hessian (lavaan's ``information = "observed"``, with robust standard errors); False: the
        expected information ``state.information`` (lavaan's choice for MLR with ``se = "standard"`` or
        ``"none"``). The baseline's two informations coincide at its estimates.
    """
    n = sum(s.n for s in stats)
    information = _groups_hessian(params, stats, state.x) if observed else state.information
    a_inv = inverse(information)
    b = np.zeros_like(information)
    trace_h1 = 0.0
    baseline_trace = 0.0
    for p_g, s_g, st_g, y in zip(params, stats, state.groups, values, strict=True):
        scores = vech_scores(st_g.sigma, y - st_g.mu) @ model_delta(p_g, st_g)
        b += (s_g.n / n) * (scores.T @ scores / s_g.n)
        unrestricted = vech_scores(s_g.cov, y - s_g.mean)
        b1 = unrestricted.T @ unrestricted / s_g.n
        h1_part = trace_solve(b1, mean_h1_information(s_g.cov))
        trace_h1 += h1_part
        baseline_trace += h1_part - _baseline_h0_trace(s_g, y)
    trace_h0 = float(np.sum(b * a_inv))
    p = stats[0].p
    ndat = len(stats) * (p * (p + 1) // 2 + p)
    vcov = a_inv @ b @ a_inv / n
    b_df = len(stats) * p * (p - 1) / 2
    return ScaledTest(vcov, scaling_from_trace(trace_h1 - trace_h0, df), baseline_trace / b_df, trace_h1,
                      trace_h0, ndat, sum(int((p_g.index >= 0).sum()) for p_g in params))  # fmt: skip


def _baseline_h0_trace(stats: SampleStats, values: np.ndarray) -> float:
    """tr(A_b^-1 B_b) of one group's independence model with free means and variances (mu = ybar, Sigma =
    diag(S)): linear in its parameters, so A_b = Delta' H1 Delta exactly, H1 the observed information of the
    saturated model at the baseline's moments (its mean-covariance block vanishes since mu = ybar)."""
    p = stats.p
    sigma = np.diag(np.diag(stats.cov))
    k = p * (p + 1) // 2
    rows, cols = _vech_indices(p)
    delta = np.zeros((p + k, 2 * p))
    delta[np.arange(p), np.arange(p)] = 1.0
    diagonal = np.flatnonzero(rows == cols)
    delta[p + diagonal, p + rows[diagonal]] = 1.0
    h1 = np.zeros((p + k, p + k))
    h1[:p, :p] = np.linalg.inv(sigma)
    h1[p:, p:] = h1_information(sigma, stats.cov)
    scores = vech_scores(sigma, values - stats.mean) @ delta
    return trace_solve(scores.T @ scores / stats.n, delta.T @ h1 @ delta)


def robust_sem(params: Sequence[Parameters], stats: Sequence[SampleStats], states: Sequence[MLState],
               values: Sequence[np.ndarray], information: np.ndarray, meanstructure: bool) -> np.ndarray:  # fmt: skip
    """lavaan's ``se = "robust.sem"`` (what ML with ``se = "robust"`` gives on complete data): the sandwich
    E^-1 [sum_g f_g Delta_g' W_g Gamma_g W_g Delta_g] E^-1 / N with E the expected information
    (``information``, already weighted by f_g = N_g / N), W_g the expected information of the saturated model
    at the implied moments and Gamma_g the sample covariance (divide by N_g) of (y_i, vech((y_i - ybar)
    (y_i - ybar)')) (lavaan's ``NACOV``; without a meanstructure the vech part only).

    References
    ----------
    Satorra, A., & Bentler, P. M. (1994). Corrections to test statistics and standard errors in covariance
    structure analysis. In A. von Eye & C. C. Clogg (Eds.), *Latent variables analysis* (pp. 399-419). Sage.
    """
    n = sum(s.n for s in stats)
    meat = np.zeros_like(information)
    for p_g, s_g, st_g, y in zip(params, stats, states, values, strict=True):
        centred = y - s_g.mean
        rows, cols = _vech_indices(s_g.p)
        z = centred[:, rows] * centred[:, cols]
        z = np.hstack([centred, z - z.mean(axis=0)]) if meanstructure else z - z.mean(axis=0)
        gamma = z.T @ z / s_g.n
        w = mean_h1_information(st_g.sigma)
        delta = model_delta(p_g, st_g)
        if not meanstructure:
            p = s_g.p
            w, delta = w[p:, p:], delta[p:]
        wd = w @ delta
        meat += (s_g.n / n) * wd.T @ gamma @ wd
    e_inv = inverse(information)
    return e_inv @ meat @ e_inv / n
