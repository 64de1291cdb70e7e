"""Standardized and normalized residuals, as lavaan's ``residuals(fit, type = "standardized" / "normalized")``.

For each group, the raw residuals ``r = (m - mu, vech(S - Sigma))`` (means only with a meanstructure; S the
biased sample covariance, as ML uses it) are divided by an asymptotic standard error. lavaan 0.6.14 (and
Bentler 1995, EQS's standardized residuals) take it from the difference between the covariance of the
unrestricted sample moments and that of the model-implied ones:

    Gamma    = the normal-theory covariance of the sample moments at the sample values (one observation):
               Cov(s_ij, s_kl) = s_ik s_jl + s_il s_jk,   Cov(m) = S,   Cov(m, s) = 0
    A1       = the expected information of the saturated model at the *implied* moments:
               0.5 D' (Sigma^-1 (x) Sigma^-1) D for vech(Sigma), Sigma^-1 for mu
    Delta    = d(mu, vech Sigma) / dx at the estimates;  I = sum_g (N_g / N) Delta_g' A1_g Delta_g
    Q        = 1 - (N_g / N) Delta_g I^+ Delta_g' A1_g
    ACOV(r)  = Q (Gamma / N_g) Q'
    standardized = r / sqrt(diag ACOV(r)),   normalized = r / sqrt(diag Gamma / N_g)

``I^+`` is the Moore-Penrose inverse, and equality constraints are in x already. As lavaan, a residual
whose variance is negative or not finite gets NaN, and a residual below 1e-5 in absolute value is not divided
(it is reported as it is, so the ~0 residuals of saturated parts stay ~0 instead of 0/0).

References
----------
Bentler, P. M. (1995). *EQS structural equations program manual*. Multivariate Software.
Ogasawara, H. (2001). Standard errors of fit indices using residuals in structural equation modeling.
*Psychometrika*, 66(3), 421-436.
lavaan 0.6.14: ``lav_residuals()``, ``lav_residuals_acov()``, ``lav_residuals_se()``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import IasemError
from .estimate import unsupported_constraints
from .fitted import FittedModel
from .lisrel import derivatives
from .robust import duplication_sandwich

KINDS = ("standardized", "normalized")
NEAR_ZERO = 1e-5  # lavaan: residuals smaller than this are not divided by their standard error
PINV_RCOND = np.finfo(float).eps ** 0.75  # MASS::ginv's tolerance, as lavaan inverts the information


class ResidualMatrices(dict):
    """The ``residuals`` of a result: a dict of DataFrames whose missing standardized entries say why."""

    def __init__(self, *args, unavailable: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.unavailable = unavailable

    def __missing__(self, key):
        if self.unavailable and str(key).split(".")[0] in KINDS:
            raise IasemError(self.unavailable)
        raise KeyError(key)


def unavailable_reason(fitted: FittedModel | None) -> str | None:
    """Why standardized residuals cannot be computed for this fit (None when they can)."""
    if fitted is None:
        return "standardized residuals need the fitted model (this result has no engine)"
    if fitted.estimator != "ML":
        return f"standardized residuals are available for estimator='ML', not {fitted.estimator!r} yet"
    if fitted.missing != "listwise":
        return f"standardized residuals with missing={fitted.missing!r} are not available yet"
    constraints = unsupported_constraints(fitted.table)
    if constraints:
        return (f"standardized residuals with the constraint(s) {'; '.join(constraints)} are not available yet: "
                "only equalities through shared labels are")  # fmt: skip
    exogenous = fitted.table[(fitted.table["exo"] == 1) & (fitted.table["op"] == "~~")]
    if not exogenous.empty:
        names = ", ".join(dict.fromkeys(exogenous["lhs"]))
        return f"standardized residuals with fixed exogenous covariates ({names}) are not available yet"
    return None


def residuals(fitted: FittedModel, kind: str = "standardized") -> list[dict[str, pd.DataFrame | pd.Series]]:
    """lavaan's ``residuals(fit, type = kind)`` for an ML fit of complete data: one dict per group with the
    covariance residuals (``"cov"``, a DataFrame) and, where the model has a meanstructure, the mean
    residuals (``"mean"``, a Series), each divided by its standard error.

    Parameters
    ----------
    fitted : FittedModel
        The engine's view of an ML fit (one group or several; listwise complete data).
    kind : {"standardized", "normalized"}
        ``"standardized"``: the standard error of the residual, from the difference of the sample and the
        implied moments' asymptotic covariances. ``"normalized"``: the standard error of the sample moment only
        (smaller z's, as the model's own uncertainty is ignored).

    Examples
    --------
    >>> import iasem, pandas as pd
    >>> from iasem.resources import resource_path
    >>> data = pd.read_csv(resource_path("data") / "holzinger_swineford_1939.csv")
    >>> fit = iasem.fit("visual =~ x1 + x2 + x3\\ntextual =~ x4 + x5 + x6\\nspeed =~ x7 + x8 + x9", data)
    >>> z = residuals(fit.engine)[0]["cov"]
    >>> print(z.loc[["x7", "x1"], ["x8", "x9"]].round(3))
           x8     x9
    x7  4.823 -2.325
    x1 -1.380  4.077
    """
    if kind not in KINDS:
        raise IasemError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    reason = unavailable_reason(fitted)
    if reason:
        raise IasemError(reason)
    n_total = fitted.ntotal
    deltas = [_delta(fitted, g) for g in range(len(fitted.reps))]
    structured = [_h1_information(state.sigma, rep.meanstructure)
                  for rep, state in zip(fitted.reps, fitted.states, strict=True)]  # fmt: skip
    information = sum(s.n / n_total * d.T @ a @ d for s, d, a in zip(fitted.stats, deltas, structured, strict=True))
    information_inv = np.linalg.pinv(information, rcond=PINV_RCOND, hermitian=True)
    if not _standard_vcov(fitted, information_inv / n_total):
        raise IasemError("standardized residuals are available with the expected-information standard errors "
                         "(se='standard' or 'none'); with robust or bootstrap standard errors lavaan uses other "
                         "asymptotic covariances, not available yet")  # fmt: skip
    out = []
    for rep, state, stats, delta, a1 in zip(fitted.reps, fitted.states, fitted.stats, deltas, structured,
                                            strict=True):  # fmt: skip
        gamma = _gamma(stats.cov, rep.meanstructure) / stats.n
        if kind == "standardized":
            q = np.eye(len(gamma)) - stats.n / n_total * delta @ information_inv @ delta.T @ a1
            gamma = q @ gamma @ q.T
        raw = _moments(stats.cov - state.sigma, stats.mean - state.mu, rep.meanstructure)
        z = z_statistics(raw, np.diag(gamma))
        p = stats.p
        names = stats.names
        cov = np.full((p, p), np.nan)
        rows, cols = _vech_indices(p)
        start = p if rep.meanstructure else 0
        cov[rows, cols] = cov[cols, rows] = z[start:]
        group = {"cov": pd.DataFrame(cov, index=names, columns=names)}
        if rep.meanstructure:
            group["mean"] = pd.Series(z[:p], index=names)
        out.append(group)
    return out


def with_standardized(fitted: FittedModel | None, matrices: dict[str, pd.DataFrame],
                      labels: list[str] | None = None) -> ResidualMatrices:  # fmt: skip
    """``matrices`` (raw and correlation residuals) plus the standardized and normalized ones, stacked by
    group label as the others when there are several groups; mean residuals, with a meanstructure, as
    ``"standardized.mean"`` / ``"normalized.mean"`` (one row per group). When they cannot be computed, the
    result says why on access."""
    reason = unavailable_reason(fitted)
    if reason:
        return ResidualMatrices(matrices, unavailable=reason)
    out = ResidualMatrices(matrices)
    for kind in KINDS:
        try:
            groups = residuals(fitted, kind)  # type: ignore[arg-type]
        except IasemError as exc:
            return ResidualMatrices(matrices, unavailable=str(exc))
        if labels is None:
            out[kind] = groups[0]["cov"]
            if "mean" in groups[0]:
                out[f"{kind}.mean"] = groups[0]["mean"].to_frame("mean").T
        else:
            out[kind] = pd.concat([grp["cov"] for grp in groups], keys=labels)
            if "mean" in groups[0]:
                out[f"{kind}.mean"] = pd.DataFrame([grp["mean"] for grp in groups], index=labels)
    return out


def _standard_vcov(fitted: FittedModel, expected: np.ndarray) -> bool:
    """Whether the fit's standard errors are the expected-information ones (or were not computed): the
    fitted model does not record the ``se`` option, so its vcov is compared with (N I)^-1."""
    se = getattr(fitted, "se", None)
    if se is not None:
        return se in ("standard", "none")
    if fitted.vcov is None:
        return True
    scale = np.max(np.abs(expected))
    return bool(np.allclose(fitted.vcov, expected, rtol=1e-6, atol=1e-8 * scale))


def z_statistics(raw: np.ndarray, variance: np.ndarray) -> np.ndarray:
    """raw / sqrt(variance) with lavaan's rules: NaN where the variance is negative or not finite; a raw value
    below 1e-5 in size is returned undivided.

    >>> z_statistics(np.array([0.5, 0.5, 1e-6, 0.5]), np.array([0.04, -0.01, 0.0, np.inf])).tolist()
    [2.5, nan, 1e-06, nan]
    """
    variance = np.where(np.isfinite(variance) & (variance >= 0), variance, np.nan)
    se = np.where(np.abs(raw) < NEAR_ZERO, 1.0, np.sqrt(variance))
    return raw / se


def _vech_indices(p: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of each element of lavaan's vech (the lower triangle, column by column)."""
    cols, rows = np.triu_indices(p)
    return rows, cols


def _moments(cov: np.ndarray, mean: np.ndarray, meanstructure: bool) -> np.ndarray:
    rows, cols = _vech_indices(len(cov))
    vech = cov[rows, cols]
    return np.concatenate([mean, vech]) if meanstructure else vech


def _gamma(cov: np.ndarray, meanstructure: bool) -> np.ndarray:
    """The normal-theory covariance of (m, vech S) for one observation, at the sample values."""
    rows, cols = _vech_indices(len(cov))
    gamma = cov[np.ix_(rows, rows)] * cov[np.ix_(cols, cols)] + cov[np.ix_(rows, cols)] * cov[np.ix_(cols, rows)]
    if not meanstructure:
        return gamma
    p, q = len(cov), len(rows)
    out = np.zeros((p + q, p + q))
    out[:p, :p] = cov
    out[p:, p:] = gamma
    return out


def _h1_information(sigma: np.ndarray, meanstructure: bool) -> np.ndarray:
    """The expected information of (mu, vech Sigma) for one observation at Sigma: 0.5 D'(S^-1 (x) S^-1) D."""
    inv = np.linalg.inv(sigma)
    info = 0.5 * duplication_sandwich(inv, inv, _vech_indices(len(sigma)))
    if not meanstructure:
        return info
    p, q = len(sigma), len(info)
    out = np.zeros((p + q, p + q))
    out[:p, :p] = inv
    out[p:, p:] = info
    return out


def _delta(fitted: FittedModel, g: int) -> np.ndarray:
    """d(mu, vech Sigma)/dx of group g at the estimates (lavaan's Delta), rows as the moments."""
    rep, params, state = fitted.reps[g], fitted.params[g], fitted.states[g]
    d_sigma, d_mu = derivatives(rep, state.mats)
    d_sigma, d_mu = params.reduce(d_sigma), params.reduce(d_mu)
    rows, cols = _vech_indices(len(rep.ov))
    delta = d_sigma[:, rows, cols].T
    return np.vstack([d_mu.T, delta]) if rep.meanstructure else delta


__all__ = ["ResidualMatrices", "residuals", "unavailable_reason", "with_standardized", "z_statistics"]
