"""SRMR, lavaan's default ``srmr`` (Bentler's version), from ``lav_fit_srmr.R`` and ``lav_residuals.R``.

lavaan 0.6.14 computes it with ``lav_residuals_summary(type = "srmr")``, i.e. from ``lavResiduals(type =
"cor.bentler")``: observed *and* implied moments are both divided by the **observed** standard deviations
(``sqrt(s_ii)``), so the diagonal residuals ``(s_ii - sigma_ii) / s_ii`` count too. This differs from
Bollen's ``crmr``/``srmr_mplus`` (``cov2cor`` of each matrix with its own diagonal). For continuous
single-level data it is ``srmr_bentler`` (with means when the model has a meanstructure), also under
``mimic = "EQS"``; ``mimic = "Mplus"`` with observed information switches to ``srmr_mplus``, not here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["srmr", "srmr_multigroup"]

_EPS = float(np.finfo(float).eps)
# lav_residuals_rescale(): an element below this (in absolute value) is left unscaled.
_NEAR_ZERO = 1e-05


def _standardize(values: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Multiply by ``scale``, except where the value is (near) zero, as lavaan's residual rescaling does."""
    return np.where(np.abs(values) < _NEAR_ZERO, values, values * scale)


def srmr(
    sample_cov: ArrayLike,
    implied_cov: ArrayLike,
    sample_mean: ArrayLike | None = None,
    implied_mean: ArrayLike | None = None,
) -> float:
    r"""Standardized root mean square residual of one group (lavaan's ``srmr``, Bentler's version).

    .. math::

        r_{ij} = \frac{s_{ij} - \hat\sigma_{ij}}{\sqrt{s_{ii}\, s_{jj}}}, \qquad
        r_{i} = \frac{\bar y_i - \hat\mu_i}{\sqrt{s_{ii}}}, \qquad
        \mathrm{SRMR} = \sqrt{\frac{\sum_{i \ge j} r_{ij}^2 + \sum_i r_i^2}{p(p+1)/2 + p}}

    over the lower triangle *including* the diagonal (p = number of observed variables). The mean terms
    (and the extra p in the denominator) are there only when both ``sample_mean`` and ``implied_mean`` are
    given, as lavaan does for a model with a meanstructure; otherwise the denominator is p(p+1)/2. For
    categorical data lavaan leaves means and thresholds out: pass only the polychoric correlation matrices.

    lavaan details reproduced: both matrices are scaled by the *observed* variances; an element whose
    absolute value is below 1e-5 is left unscaled (``lav_residuals_rescale``); a variance below machine
    epsilon makes the result ``nan``. Pass the covariance matrix the estimator fitted, as lavaan does (under
    ML the biased one, divided by N).

    Parameters
    ----------
    sample_cov : array_like, shape (p, p)
        Observed covariance matrix S.
    implied_cov : array_like, shape (p, p)
        Model-implied covariance matrix Sigma.
    sample_mean, implied_mean : array_like, shape (p,), optional
        Observed and model-implied means; give both (meanstructure) or neither.

    Returns
    -------
    float
        SRMR of the group.

    References
    ----------
    Bentler, P. M. (1995). *EQS structural equations program manual*. Multivariate Software.

    Hu, L., & Bentler, P. M. (1999). Cutoff criteria for fit indexes in covariance structure analysis:
    Conventional criteria versus new alternatives. *Structural Equation Modeling*, 6(1), 1-55.

    Examples
    --------
    >>> import numpy as np
    >>> s = np.array([[1.0, 0.5], [0.5, 2.0]])
    >>> sigma = np.array([[1.0, 0.3], [0.3, 2.0]])
    >>> round(srmr(s, sigma), 10)  # sqrt((0.2 / sqrt(2))**2 / 3)
    0.0816496581
    >>> round(srmr(s, sigma, [0.0, 1.0], [0.0, 1.0]), 10)  # with means: same residuals over 3 + 2
    0.0632455532
    """
    s = np.asarray(sample_cov, dtype=float)
    sigma = np.asarray(implied_cov, dtype=float)
    if s.ndim != 2 or s.shape[0] != s.shape[1] or sigma.shape != s.shape:
        raise ValueError(
            f"sample_cov and implied_cov must be square and of the same shape, not {s.shape} and {sigma.shape}"
        )
    if (sample_mean is None) != (implied_mean is None):
        raise ValueError("give both sample_mean and implied_mean (a meanstructure) or neither")
    p = s.shape[0]
    variances = np.diag(s).copy()
    variances[~np.isfinite(variances) | (variances < _EPS)] = np.nan
    inv_sd = 1.0 / np.sqrt(variances)
    rows, cols = np.tril_indices(p)
    scale = np.outer(inv_sd, inv_sd)
    residuals = (_standardize(s, scale) - _standardize(sigma, scale))[rows, cols]
    if sample_mean is not None:
        m = np.asarray(sample_mean, dtype=float).reshape(-1)
        mu = np.asarray(implied_mean, dtype=float).reshape(-1)
        if m.shape != (p,) or mu.shape != (p,):
            raise ValueError(f"sample_mean and implied_mean must have {p} elements, not {m.size} and {mu.size}")
        residuals = np.concatenate([_standardize(m, inv_sd) - _standardize(mu, inv_sd), residuals])
    return float(math.sqrt(np.sum(residuals * residuals) / residuals.size))


def srmr_multigroup(groups: Sequence[Mapping[str, Any] | Sequence[Any]], nobs: Sequence[float]) -> float:
    r"""SRMR over several groups: the per-group SRMRs weighted by group size, as lavaan does.

    .. math:: \mathrm{SRMR} = \sum_g \frac{N_g}{N}\, \mathrm{SRMR}_g, \qquad N = \sum_g N_g

    (a weighted mean of the group SRMRs, not a root of pooled squared residuals; ``lav_fit_srmr_lavobject``,
    lavaan 0.6.14).

    Parameters
    ----------
    groups : sequence
        One item per group with the arguments of :func:`srmr`: either a mapping of its keyword arguments
        (``sample_cov``, ``implied_cov``, and optionally ``sample_mean``, ``implied_mean``) or a sequence of
        its positional arguments.
    nobs : sequence of float
        Number of observations N_g of each group, in the same order.

    Returns
    -------
    float
        The weighted SRMR.

    References
    ----------
    Hu, L., & Bentler, P. M. (1999). Cutoff criteria for fit indexes in covariance structure analysis:
    Conventional criteria versus new alternatives. *Structural Equation Modeling*, 6(1), 1-55.

    Examples
    --------
    >>> import numpy as np
    >>> s = np.array([[1.0, 0.5], [0.5, 2.0]])
    >>> sigma = np.array([[1.0, 0.3], [0.3, 2.0]])
    >>> g1 = {"sample_cov": s, "implied_cov": sigma}
    >>> g2 = (s, s)  # a group that fits perfectly: SRMR 0
    >>> round(srmr_multigroup([g1, g2], [30, 10]), 10)  # 0.75 * 0.0816496581
    0.0612372436
    """
    if len(groups) != len(nobs):
        raise ValueError(f"{len(groups)} groups but {len(nobs)} group sizes")
    per_group = [srmr(**g) if isinstance(g, Mapping) else srmr(*g) for g in groups]
    weights = np.asarray(nobs, dtype=float)
    return float(np.sum(weights / weights.sum() * np.asarray(per_group)))
