"""Normal-theory log-likelihoods and information criteria, as lavaan reports them (``logl``,
``unrestricted.logl``, ``aic``, ``bic``, ``bic2``).

From lavaan 0.6.14's ``lav_model_loglik.R``, ``lav_h1_logl.R``, ``lav_mvnorm.R``, ``lav_mvnorm_h1.R`` and
``lav_fit_aic.R``. The log-likelihood is the full one (with the ``log(2 pi)`` constant) of complete,
single-level data, computed from sample statistics: S is the *biased* covariance matrix (divided by N),
which is what lavaan's ML stores. For several groups, sum the per-group log-likelihoods; the information
criteria then take the summed logl and the total N. Only valid for estimator ML (lavaan reports NA
otherwise).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["aic", "bic", "bic2", "loglik_normal", "unrestricted_loglik"]

_LOG_2PI = math.log(2.0 * math.pi)


def _square(matrix: ArrayLike, name: str) -> np.ndarray:
    m = np.asarray(matrix, dtype=float)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"{name} must be a square matrix, not of shape {m.shape}")
    return m


def _inverse_logdet(matrix: np.ndarray, name: str) -> tuple[np.ndarray, float]:
    """Inverse and log-determinant of a symmetric positive definite matrix through its eigenvalues (as
    lavaan's ``Sinv.method = "eigen"``)."""
    values, vectors = np.linalg.eigh(matrix)
    if not np.all(values > 0):
        raise ValueError(f"{name} is not positive definite (smallest eigenvalue {values.min():.3g})")
    return (vectors / values) @ vectors.T, float(np.sum(np.log(values)))


def _saturated(sample_cov: np.ndarray, n: float) -> float:
    """The log-likelihood at Sigma = S, mu = mean: -N/2 (p log 2 pi + log|S| + p)."""
    p = sample_cov.shape[0]
    _, logdet = _inverse_logdet(sample_cov, "sample_cov")
    return -n / 2.0 * (p * _LOG_2PI + logdet + p)


def _fixed_x_part(sample_cov: np.ndarray, n: float, fixed_x: Sequence[int] | None) -> float:
    """The marginal log-likelihood of fixed exogenous covariates, which lavaan leaves out of logl."""
    if fixed_x is None or len(fixed_x) == 0:
        return 0.0
    idx = np.asarray(fixed_x, dtype=int)
    return _saturated(sample_cov[np.ix_(idx, idx)], n)


def loglik_normal(
    sample_cov: ArrayLike,
    implied_cov: ArrayLike,
    n: float,
    sample_mean: ArrayLike | None = None,
    implied_mean: ArrayLike | None = None,
    fixed_x: Sequence[int] | None = None,
) -> float:
    r"""Multivariate normal log-likelihood of one group from its sample statistics (lavaan's ``logl``).

    .. math::

        \ell = -\frac{N}{2}\left[p \log(2\pi) + \log|\Sigma| + \operatorname{tr}(S \Sigma^{-1})
               + (\bar y - \mu)^\top \Sigma^{-1} (\bar y - \mu)\right]

    with S the biased sample covariance matrix (divided by N), :math:`\bar y` the sample means, and
    :math:`\Sigma, \mu` the model-implied moments. Without a meanstructure lavaan sets :math:`\mu = \bar y`,
    so the last term vanishes: leave ``implied_mean`` out (``sample_mean`` is then not needed).

    With ``fixed.x = TRUE`` and observed exogenous covariates x, lavaan reports the log-likelihood of the
    other variables given x: it subtracts the marginal log-likelihood of x at its sample moments,
    :math:`-\frac{N}{2}[p_x \log(2\pi) + \log|S_{xx}| + p_x]`. Give their positions in ``fixed_x`` to do
    the same (the result is ``lav_mvnorm_loglik_samplestats`` of lavaan 0.6.14).

    Parameters
    ----------
    sample_cov : array_like, shape (p, p)
        Biased sample covariance matrix S.
    implied_cov : array_like, shape (p, p)
        Model-implied covariance matrix Sigma (must be positive definite).
    n : float
        Number of observations N of the group.
    sample_mean, implied_mean : array_like, shape (p,), optional
        Sample and model-implied means. ``implied_mean`` needs ``sample_mean``.
    fixed_x : sequence of int, optional
        Positions (0-based) of fixed exogenous covariates.

    Returns
    -------
    float
        The log-likelihood.

    References
    ----------
    Jöreskog, K. G. (1969). A general approach to confirmatory maximum likelihood factor analysis.
    *Psychometrika*, 34(2), 183-202.

    Bollen, K. A. (1989). *Structural equations with latent variables*, ch. 4. Wiley.

    Examples
    --------
    >>> import numpy as np
    >>> s = np.array([[2.0, 0.6], [0.6, 1.0]])
    >>> round(loglik_normal(s, s, 100), 6)  # at Sigma = S it equals the saturated log-likelihood
    -308.522519
    >>> round(loglik_normal(s, np.diag(np.diag(s)), 100), 6)  # independence model fits worse
    -318.445066
    >>> round(loglik_normal(s, s, 100, [0.0, 1.0], [0.0, 0.9]), 6)  # mean residual 0.1
    -309.132275
    """
    s = _square(sample_cov, "sample_cov")
    sigma = _square(implied_cov, "implied_cov")
    if sigma.shape != s.shape:
        raise ValueError(f"sample_cov has shape {s.shape} but implied_cov {sigma.shape}")
    p = s.shape[0]
    sigma_inv, logdet = _inverse_logdet(sigma, "implied_cov")
    distance = float(np.sum(sigma_inv * s))  # tr(Sigma^-1 S), both symmetric
    if implied_mean is not None:
        if sample_mean is None:
            raise ValueError("implied_mean needs sample_mean")
        diff = np.asarray(sample_mean, dtype=float).reshape(-1) - np.asarray(implied_mean, dtype=float).reshape(-1)
        if diff.shape != (p,):
            raise ValueError(f"the means must have {p} elements")
        distance += float(diff @ sigma_inv @ diff)
    logl = -n / 2.0 * (p * _LOG_2PI + logdet + distance)
    return float(logl - _fixed_x_part(s, n, fixed_x))


def unrestricted_loglik(sample_cov: ArrayLike, n: float, fixed_x: Sequence[int] | None = None) -> float:
    r"""Log-likelihood of the saturated (unrestricted, H1) model of one group (lavaan's ``unrestricted.logl``).

    .. math:: \ell_1 = -\frac{N}{2}\left[p \log(2\pi) + \log|S| + p\right]

    with S the biased sample covariance matrix; the means drop out (the saturated model reproduces them).
    ``fixed_x`` removes the marginal part of fixed exogenous covariates, as in :func:`loglik_normal`. Under
    ML, the chi-square statistic is :math:`T = -2(\ell - \ell_1) = N F_{ML}`.

    Parameters
    ----------
    sample_cov : array_like, shape (p, p)
        Biased sample covariance matrix S (must be positive definite).
    n : float
        Number of observations N of the group.
    fixed_x : sequence of int, optional
        Positions (0-based) of fixed exogenous covariates.

    Returns
    -------
    float
        The saturated log-likelihood.

    References
    ----------
    Jöreskog, K. G. (1969). A general approach to confirmatory maximum likelihood factor analysis.
    *Psychometrika*, 34(2), 183-202.

    Examples
    --------
    >>> round(unrestricted_loglik([[1.0, 0.0], [0.0, 1.0]], 100), 6)  # -N (log(2 pi) + 1) for p = 2, S = I
    -283.787707
    """
    s = _square(sample_cov, "sample_cov")
    return float(_saturated(s, n) - _fixed_x_part(s, n, fixed_x))


def aic(logl: float, npar: float) -> float:
    r"""Akaike information criterion, as lavaan's ``aic``.

    .. math:: \mathrm{AIC} = -2\ell + 2q

    with :math:`\ell` the model log-likelihood (``logl``) and q the number of free parameters (``npar``,
    net of equality constraints).

    Parameters
    ----------
    logl : float
        Log-likelihood of the model.
    npar : float
        Number of free parameters.

    Returns
    -------
    float
        AIC.

    References
    ----------
    Akaike, H. (1974). A new look at the statistical model identification. *IEEE Transactions on Automatic
    Control*, 19(6), 716-723.

    Examples
    --------
    Holzinger & Swineford (1939) CFA (lavaan: ``aic = 7517.489853``):

    >>> round(aic(-3737.744927, 21), 6)
    7517.489854
    """
    return float(-2.0 * logl + 2.0 * npar)


def bic(logl: float, npar: float, n: float) -> float:
    r"""Bayesian information criterion, as lavaan's ``bic``.

    .. math:: \mathrm{BIC} = -2\ell + q \log N

    with N the total number of observations over all groups.

    Parameters
    ----------
    logl : float
        Log-likelihood of the model.
    npar : float
        Number of free parameters.
    n : float
        Total number of observations.

    Returns
    -------
    float
        BIC.

    References
    ----------
    Schwarz, G. (1978). Estimating the dimension of a model. *The Annals of Statistics*, 6(2), 461-464.

    Examples
    --------
    Holzinger & Swineford (1939) CFA (lavaan: ``bic = 7595.339169``):

    >>> round(bic(-3737.744927, 21, 301), 6)
    7595.33917
    """
    return float(-2.0 * logl + npar * math.log(n))


def bic2(logl: float, npar: float, n: float) -> float:
    r"""Sample-size adjusted BIC, as lavaan's ``bic2`` (``lav_fit_sabic``).

    .. math:: \mathrm{BIC}_2 = -2\ell + q \log\frac{N + 2}{24}

    Parameters
    ----------
    logl : float
        Log-likelihood of the model.
    npar : float
        Number of free parameters.
    n : float
        Total number of observations.

    Returns
    -------
    float
        The sample-size adjusted BIC.

    References
    ----------
    Sclove, S. L. (1987). Application of model-selection criteria to some problems in multivariate
    analysis. *Psychometrika*, 52(3), 333-343.

    Examples
    --------
    >>> round(bic2(-3737.744927, 21, 301), 6)  # 2 * 3737.744927 + 21 * log(303 / 24)
    7528.739112
    """
    return float(-2.0 * logl + npar * math.log((n + 2.0) / 24.0))
