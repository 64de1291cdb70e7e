"""RMSEA, its confidence interval and the test of close fit, as lavaan's ``lav_fit_rmsea.R`` computes them.

lavaan 0.6.14 conventions:

- **N, not N - 1.** ``N`` is the total sample size over all groups (``lav_utils_get_ntotal``) when the
  estimator is ML (or PML, FML, catML) with ``likelihood = "normal"``, which is lavaan's default for ML.
  Only with ``likelihood = "wishart"`` (``mimic = "EQS"``, ``"LISREL"`` or ``"AMOS"``) or other estimators
  (GLS, WLS, ULS, DWLS, ...) does lavaan use ``N - G`` (G = number of groups). These functions take the
  sample size as given: pass ``n - n_groups`` to get the latter.
- **Multiple groups.** The point estimate and both CI bounds are multiplied by ``sqrt(G)``; in the test of
  close fit the noncentrality is divided by G (Steiger 1998; Dudgeon 2004, eq. 16).
- ``df == 0`` gives RMSEA 0 and CI (0, 0); ``df < 1`` gives CI (0, 0); the p-value needs ``df > 0``.

The robust RMSEA (Brosseau-Liard, Savalei & Li, 2012; Savalei, 2018) and its interval and test take
lavaan's ``c.hat``, the scaling factor of the robust test, through the ``c_hat`` argument (1: the standard
versions).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import special

__all__ = ["rmsea", "rmsea_ci", "rmsea_pvalue"]

_EPS = float(np.finfo(float).eps)
# R's uniroot() default tolerance, .Machine$double.eps^0.25, which lavaan does not override. With it the
# noncentrality parameter is only found to about 1e-4 (absolute), so the CI bounds are reproduced by
# running the same root finder from the same brackets, not by solving to full precision.
_UNIROOT_TOL = _EPS**0.25
_UNIROOT_MAXITER = 1000


def _ncx2_cdf(x: float, df: float, ncp: float) -> float:
    """``scipy.stats.ncx2.cdf`` for scalars, by the same special functions (so the same numbers), without the
    distribution machinery that costs ~50x more per call; the CI's root search calls it some 30 times."""
    if math.isnan(x) or not (df > 0 and math.isfinite(df) and ncp >= 0):
        return math.nan
    if x <= 0.0:
        return 0.0
    if x == math.inf:
        return 1.0
    return float(special.chndtr(x, df, ncp)) if ncp != 0 else float(special.chdtr(df, x))


def _finite(*values: float) -> bool:
    return all(math.isfinite(float(v)) for v in values)


def _zeroin(f: Callable[[float], float], lower: float, upper: float, tol: float = _UNIROOT_TOL) -> float:
    """Brent's (1973) root finder as R's ``uniroot()`` runs it: same iterates, so the same root as lavaan.

    Returns ``nan`` where R's ``uniroot()`` stops with an error (lavaan's ``try()`` turns that into NA):
    ``f`` not of opposite signs at the ends, or not finite there.
    """
    f_lower, f_upper = f(lower), f(upper)
    if not _finite(f_lower, f_upper) or f_lower * f_upper > 0:
        return math.nan
    if f_lower == 0.0:
        return lower
    if f_upper == 0.0:
        return upper
    # b: the best estimate so far; a: the previous one; c: the point that brackets the root with b.
    a, fa, b, fb = lower, f_lower, upper, f_upper
    c, fc = a, fa
    for _ in range(_UNIROOT_MAXITER + 1):
        previous_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_here = 2.0 * _EPS * abs(b) + tol / 2.0
        step = (c - b) / 2.0  # bisection, unless interpolation is accepted below
        if abs(step) <= tol_here or fb == 0.0:
            return b
        if abs(previous_step) >= tol_here and abs(fa) > abs(fb):
            cb = c - b
            if a == c:  # two distinct points: secant
                ratio_ba = fb / fa
                p = cb * ratio_ba
                q = 1.0 - ratio_ba
            else:  # three points: inverse quadratic interpolation
                ratio_ac, ratio_bc, ratio_ba = fa / fc, fb / fc, fb / fa
                p = ratio_ba * (cb * ratio_ac * (ratio_ac - ratio_bc) - (b - a) * (ratio_bc - 1.0))
                q = (ratio_ac - 1.0) * (ratio_bc - 1.0) * (ratio_ba - 1.0)
            if p > 0.0:
                q = -q
            else:
                p = -p
            if p < 0.75 * cb * q - abs(tol_here * q) / 2.0 and p < abs(previous_step * q / 2.0):
                step = p / q
        if abs(step) < tol_here:
            step = tol_here if step > 0.0 else -tol_here
        a, fa = b, fb
        b += step
        fb = f(b)
        if (fb > 0.0 and fc > 0.0) or (fb < 0.0 and fc < 0.0):
            c, fc = a, fa
    return b  # R warns that maxiter was reached and returns the last estimate


def rmsea(chisq: float, df: float, n: float, n_groups: int = 1, *, c_hat: float = 1.0) -> float:
    r"""Root mean square error of approximation (RMSEA).

    .. math::

        \mathrm{RMSEA} = \sqrt{\max\left(\frac{T/N}{df} - \frac{\hat c}{N},\ 0\right)} \cdot \sqrt{G}
                       = \sqrt{\frac{\max(T - \hat c\, df,\ 0)}{N\, df}} \cdot \sqrt{G}

    with T the test statistic, N the total sample size (see the module notes on N versus N - 1), G the
    number of groups and :math:`\hat c` = 1, or the scaling factor of a robust test for the robust RMSEA.
    RMSEA is 0 when ``df == 0`` (lavaan's ``lav_fit_rmsea``).

    Parameters
    ----------
    chisq : float
        The test statistic T (lavaan's ``chisq``).
    df : float
        Its degrees of freedom.
    n : float
        Total sample size N over all groups (lavaan's ``ntotal`` under ML; ``ntotal - G`` otherwise).
    n_groups : int, default 1
        Number of groups G.
    c_hat : float, default 1
        lavaan's ``c.hat``: the scaling factor of the robust test for the robust RMSEA, else 1.

    Returns
    -------
    float
        RMSEA (``nan`` if an input is ``nan``).

    References
    ----------
    Steiger, J. H., & Lind, J. C. (1980). Statistically based tests for the number of common factors.
    Paper presented at the annual meeting of the Psychometric Society, Iowa City, IA.

    Browne, M. W., & Cudeck, R. (1993). Alternative ways of assessing model fit. In K. A. Bollen &
    J. S. Long (Eds.), *Testing structural equation models* (pp. 136-162). Sage.

    Steiger, J. H. (1998). A note on multiple sample extensions of the RMSEA fit index. *Structural
    Equation Modeling*, 5(4), 411-419.

    Examples
    --------
    Holzinger & Swineford (1939) CFA, N = 301 (lavaan: ``rmsea = 0.09212148451``):

    >>> print(f"{rmsea(85.30552177, 24, 301):.11f}")
    0.09212148451
    >>> rmsea(20.0, 24, 301)  # chisq < df
    0.0
    """
    if any(math.isnan(float(v)) for v in (chisq, df, n)):
        return math.nan
    if df <= 0:
        return 0.0  # lavaan's ifelse(df > 0, ..., 0): also when c.hat is NA
    return float(math.sqrt(max((chisq / n) / df - c_hat / n, 0.0)) * math.sqrt(n_groups))


def rmsea_ci(chisq: float, df: float, n: float, n_groups: int = 1, level: float = 0.90, *,
             c_hat: float = 1.0) -> tuple[float, float]:  # fmt: skip
    r"""Confidence interval of the RMSEA from the noncentral chi-square distribution.

    The bounds invert the noncentrality :math:`\lambda` of a noncentral :math:`\chi^2_{df}(\lambda)`:

    .. math::

        F_{\chi^2_{df}(\lambda_L)}(T) = \tfrac{1 + \mathrm{level}}{2}, \qquad
        F_{\chi^2_{df}(\lambda_U)}(T) = \tfrac{1 - \mathrm{level}}{2}, \qquad
        \mathrm{RMSEA}_{L,U} = \sqrt{\frac{\hat c\, \lambda_{L,U}}{N\, df}} \cdot \sqrt{G}

    Following lavaan's ``lav_fit_rmsea_ci`` (0.6.14) exactly:

    - :math:`\lambda_L` is searched in [0, T] and :math:`\lambda_U` in [0, max(N, 4T)], with Brent's method
      at R's ``uniroot()`` default tolerance (``.Machine$double.eps^0.25`` ~ 1.2e-4 in :math:`\lambda`),
      which is what lavaan uses; this function runs the same iterations so it gives lavaan's bounds, not
      the (slightly different) exact roots;
    - the lower bound is 0 when ``df < 1`` or :math:`F_{\chi^2_{df}(0)}(T) < (1 + \mathrm{level})/2`
      (T too small to exclude :math:`\lambda = 0`);
    - the upper bound is 0 when ``df < 1``, when :math:`F_{\chi^2_{df}(0)}(T) < (1 - \mathrm{level})/2`, or
      when even :math:`\lambda = \max(N, 4T)` does not push :math:`F(T)` below :math:`(1 - \mathrm{level})/2`;
    - a failed root search gives ``nan`` for that bound; non-finite inputs give ``(nan, nan)``.

    Parameters
    ----------
    chisq : float
        The test statistic T.
    df : float
        Its degrees of freedom.
    n : float
        Total sample size N over all groups (see :func:`rmsea`).
    n_groups : int, default 1
        Number of groups G.
    level : float, default 0.90
        Confidence level, in [0, 1]. (lavaan warns and falls back to 0.90 for a value outside; this
        function raises ``ValueError``.)
    c_hat : float, default 1
        lavaan's ``c.hat``: for the robust interval, T is the scaled statistic and the bounds of the
        noncentrality are multiplied back by the scaling factor (``rmsea.ci.lower.robust``).

    Returns
    -------
    tuple of float
        ``(lower, upper)`` (lavaan's ``rmsea.ci.lower``, ``rmsea.ci.upper``).

    References
    ----------
    Browne, M. W., & Cudeck, R. (1993). Alternative ways of assessing model fit. In K. A. Bollen &
    J. S. Long (Eds.), *Testing structural equation models* (pp. 136-162). Sage.

    Brent, R. P. (1973). *Algorithms for minimization without derivatives*, ch. 4. Prentice-Hall.

    Examples
    --------
    Holzinger & Swineford (1939) CFA (lavaan: 0.07141849044, 0.1136780168):

    >>> lower, upper = rmsea_ci(85.30552177, 24, 301)
    >>> print(f"{lower:.10f} {upper:.10f}")
    0.0714184904 0.1136780168

    Political Democracy SEM, N = 75 (lavaan: 0, 0.08706785732):

    >>> lower, upper = rmsea_ci(40.17948953, 38, 75)
    >>> print(f"{lower:.1f} {upper:.11f}")
    0.0 0.08706785732
    """
    if not 0.0 <= level <= 1.0:
        raise ValueError(f"level must be between 0 and 1, not {level!r}")
    if not _finite(chisq, df, n):
        return math.nan, math.nan
    chisq, df, n = float(chisq), float(df), float(n)
    upper_p = 1.0 - (1.0 - level) / 2.0
    lower_p = (1.0 - level) / 2.0

    def cdf(ncp: float) -> float:
        return _ncx2_cdf(chisq, df, ncp) if df > 0 else math.nan

    def bound(ncp: float) -> float:
        return math.sqrt(c_hat * ncp / (n * df)) * math.sqrt(n_groups)

    # lower bound: searched in [0, T], and only when lambda = 0 is rejected
    lower = 0.0
    if df >= 1 and cdf(0.0) - upper_p >= 0.0:
        lower = bound(_zeroin(lambda ncp: cdf(ncp) - upper_p, 0.0, chisq))
    # upper bound: searched in [0, max(N, 4T)], and only when that range brackets the root
    upper = 0.0
    ncp_max = max(n, 4.0 * chisq)
    if df >= 1 and cdf(ncp_max) - lower_p <= 0.0 and cdf(0.0) - lower_p >= 0.0:
        upper = bound(_zeroin(lambda ncp: cdf(ncp) - lower_p, 0.0, ncp_max))
    return lower, upper


def rmsea_pvalue(chisq: float, df: float, n: float, n_groups: int = 1, close: float = 0.05, *,
                 c_hat: float = 1.0) -> float:  # fmt: skip
    r"""p-value of the test of close fit, :math:`H_0: \mathrm{RMSEA} \le` ``close``.

    .. math::

        p = 1 - F_{\chi^2_{df}(\lambda_0)}(T), \qquad \lambda_0 = \frac{N\, df\, \varepsilon_0^2}{\hat c\, G}

    with :math:`\varepsilon_0` = ``close`` (lavaan's ``rmsea.close.h0``, 0.05), N the total sample size and
    G the number of groups (Dudgeon 2004, eq. 16). As in lavaan's ``lav_fit_rmsea_closefit`` (0.6.14), the
    p-value is ``1 - pchisq(...)`` and is ``nan`` unless ``df > 0`` and the inputs are finite.

    Parameters
    ----------
    chisq : float
        The test statistic T.
    df : float
        Its degrees of freedom.
    n : float
        Total sample size N over all groups (see :func:`rmsea`).
    n_groups : int, default 1
        Number of groups G.
    close : float, default 0.05
        The RMSEA value of the null hypothesis of close fit.
    c_hat : float, default 1
        lavaan's ``c.hat``: the scaling factor of the robust test (with T the scaled statistic) for
        ``rmsea.pvalue.robust``, else 1.

    Returns
    -------
    float
        The p-value (lavaan's ``rmsea.pvalue``), or ``nan``.

    References
    ----------
    Browne, M. W., & Cudeck, R. (1993). Alternative ways of assessing model fit. In K. A. Bollen &
    J. S. Long (Eds.), *Testing structural equation models* (pp. 136-162). Sage.

    Dudgeon, P. (2004). A note on extending Steiger's (1998) multiple sample RMSEA adjustment to other
    noncentrality parameter-based statistics. *Structural Equation Modeling*, 11(3), 305-319.

    Examples
    --------
    Holzinger & Swineford (1939) CFA (lavaan: ``rmsea.pvalue = 0.0006612367781``):

    >>> print(f"{rmsea_pvalue(85.30552177, 24, 301):.8e}")
    6.61236778e-04
    """
    if not _finite(chisq, df, n) or df <= 0:
        return math.nan
    ncp = (n * df * close**2) / (c_hat * n_groups)
    return float(1.0 - _ncx2_cdf(chisq, df, ncp))
