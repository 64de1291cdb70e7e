"""The chi-square test of exact fit, as lavaan reports it (``pvalue``).

Mirrors the ``standard`` test of lavaan's ``lav_test.R``: the statistic itself (``chisq``) comes from the
estimator (under ML with lavaan's default ``likelihood = "normal"`` it is ``T = N * F_ML``, with N the total
sample size, not N - 1); this module only turns it into a p-value.
"""

from __future__ import annotations

import math

from scipy import special

__all__ = ["chisq_pvalue"]


def chisq_pvalue(chisq: float, df: float) -> float:
    r"""Upper-tail p-value of the chi-square test of exact fit.

    .. math:: p = 1 - F_{\chi^2_{df}}(T)

    lavaan conventions (``lav_test.R``, lavaan 0.6.14): the p-value is computed as ``1 - pchisq(T, df)``
    (so it underflows to exactly 0 below about 1e-16, as lavaan's does), and it is ``NA`` (here ``nan``)
    when ``df == 0`` (a saturated model), as lavaan has done since 0.5-17.

    Parameters
    ----------
    chisq : float
        The test statistic T (lavaan's ``chisq``).
    df : float
        Its degrees of freedom (lavaan's ``df``).

    Returns
    -------
    float
        The p-value, or ``nan`` when ``df`` is 0 or negative or either input is not finite.

    References
    ----------
    Jöreskog, K. G. (1969). A general approach to confirmatory maximum likelihood factor analysis.
    *Psychometrika*, 34(2), 183-202.

    Examples
    --------
    The Holzinger & Swineford (1939) three-factor CFA (lavaan: ``pvalue = 8.502553217e-09``):

    >>> print(f"{chisq_pvalue(85.30552177, 24):.9e}")
    8.502553217e-09
    >>> chisq_pvalue(0.0, 0)
    nan
    """
    chisq, df = float(chisq), float(df)
    if not (math.isfinite(chisq) and math.isfinite(df)) or df <= 0:
        return math.nan
    # scipy.stats.chi2.cdf(chisq, df) by its special function (the same numbers, without the distribution
    # machinery): 0 at and below the support's start.
    return 1.0 - (float(special.chdtr(df, chisq)) if chisq > 0 else 0.0)
