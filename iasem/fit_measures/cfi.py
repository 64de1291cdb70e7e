"""Incremental fit indices: CFI and TLI (NNFI), as lavaan's ``lav_fit_cfi.R`` computes them.

Both compare the model's test statistic with that of the baseline (independence) model. Only the standard
(non-robust) versions are here: lavaan's ``c.hat`` scaling for robust CFI/TLI is not implemented.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["cfi", "tli"]

# R's all.equal(x, 0) tolerance, sqrt(.Machine$double.eps): lavaan calls CFI exactly 1 when both
# noncentrality estimates are within it of zero.
_ALL_EQUAL_TOL = math.sqrt(np.finfo(float).eps)


def _any_nan(*values: float) -> bool:
    return any(math.isnan(float(v)) for v in values)


def cfi(chisq: float, df: float, baseline_chisq: float, baseline_df: float) -> float:
    r"""Comparative fit index (CFI).

    .. math::

        \mathrm{CFI} = 1 - \frac{\max(T - df,\ 0)}{\max(T - df,\ T_0 - df_0,\ 0)}

    with :math:`T, df` the model's chi-square and degrees of freedom and :math:`T_0, df_0` those of the
    baseline model. lavaan conventions (``lav_fit_cfi``, lavaan 0.6.14):

    - the ``max(., 0)`` terms keep CFI in [0, 1] (numerator <= denominator, both >= 0);
    - when numerator and denominator are both zero in the sense of R's ``all.equal(x, 0)`` (that is,
      ``<= sqrt(machine epsilon)`` ~ 1.49e-8), CFI is 1: a model that fits at least as well as its
      degrees of freedom predict, e.g. a saturated model with ``chisq = df = 0``;
    - any ``nan`` input gives ``nan``.

    Parameters
    ----------
    chisq, df : float
        Test statistic and degrees of freedom of the model.
    baseline_chisq, baseline_df : float
        Test statistic and degrees of freedom of the baseline (independence) model.

    Returns
    -------
    float
        CFI in [0, 1], or ``nan``.

    References
    ----------
    Bentler, P. M. (1990). Comparative fit indexes in structural models. *Psychological Bulletin*, 107(2),
    238-246.

    Examples
    --------
    Holzinger & Swineford (1939) CFA (lavaan: ``cfi = 0.9305596518``):

    >>> print(f"{cfi(85.30552177, 24, 918.8515893, 36):.10f}")
    0.9305596518
    >>> cfi(20.0, 24, 918.8515893, 36)  # chisq < df: no misfit left, clamped to 1
    1.0
    >>> cfi(0.0, 0, 918.8515893, 36)  # saturated model
    1.0
    """
    if _any_nan(chisq, df, baseline_chisq, baseline_df):
        return math.nan
    t1 = max(chisq - df, 0.0)
    t2 = max(chisq - df, baseline_chisq - baseline_df, 0.0)
    if t1 <= _ALL_EQUAL_TOL and t2 <= _ALL_EQUAL_TOL:
        return 1.0
    return float(1.0 - t1 / t2)


def tli(chisq: float, df: float, baseline_chisq: float, baseline_df: float) -> float:
    r"""Tucker-Lewis index (TLI), also called the non-normed fit index (NNFI).

    lavaan (since 0.5-21) uses the algebraically equivalent form

    .. math::

        \mathrm{TLI} = 1 - \frac{(T - df)\, df_0}{(T_0 - df_0)\, df}
                     = \frac{T_0/df_0 - T/df}{T_0/df_0 - 1}

    with :math:`T, df` the model's chi-square and degrees of freedom and :math:`T_0, df_0` those of the
    baseline model. lavaan conventions (``lav_fit_tli``, lavaan 0.6.14):

    - it is *not* clamped: TLI exceeds 1 when ``chisq < df`` and can be negative;
    - when ``df == 0`` or the denominator is exactly 0, TLI is 1 (``nan`` if a term is not finite);
    - any ``nan`` input gives ``nan``.

    Parameters
    ----------
    chisq, df : float
        Test statistic and degrees of freedom of the model.
    baseline_chisq, baseline_df : float
        Test statistic and degrees of freedom of the baseline (independence) model.

    Returns
    -------
    float
        TLI (unbounded), or ``nan``.

    References
    ----------
    Tucker, L. R., & Lewis, C. (1973). A reliability coefficient for maximum likelihood factor analysis.
    *Psychometrika*, 38(1), 1-10.

    Bentler, P. M., & Bonett, D. G. (1980). Significance tests and goodness of fit in the analysis of
    covariance structures. *Psychological Bulletin*, 88(3), 588-606.

    Examples
    --------
    Holzinger & Swineford (1939) CFA (lavaan: ``tli = 0.8958394777``):

    >>> print(f"{tli(85.30552177, 24, 918.8515893, 36):.10f}")
    0.8958394777
    >>> tli(20.0, 24, 918.8515893, 36) > 1  # not clamped
    True
    >>> tli(0.0, 0, 918.8515893, 36)
    1.0
    """
    if _any_nan(chisq, df, baseline_chisq, baseline_df):
        return math.nan
    t1 = (chisq - df) * baseline_df
    t2 = (baseline_chisq - baseline_df) * df
    if df > 0 and abs(t2) > 0:
        return float(1.0 - t1 / t2)
    if not (math.isfinite(t1) and math.isfinite(t2)):
        return math.nan
    return 1.0
