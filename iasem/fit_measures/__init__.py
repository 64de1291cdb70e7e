"""Fit indices of structural equation models, computed as lavaan 0.6.14 computes them.

One small module per index, in the style of lavaan's ``R/lav_fit_*.R``; every function is a pure function
of numbers and numpy arrays, independent of any estimation engine:

- :mod:`.chisq`: :func:`chisq_pvalue`
- :mod:`.cfi`: :func:`cfi`, :func:`tli`
- :mod:`.rmsea`: :func:`rmsea`, :func:`rmsea_ci`, :func:`rmsea_pvalue`
- :mod:`.srmr`: :func:`srmr`, :func:`srmr_multigroup`
- :mod:`.information`: :func:`loglik_normal`, :func:`unrestricted_loglik`, :func:`aic`, :func:`bic`,
  :func:`bic2`

Sample size: lavaan's ML (``likelihood = "normal"``, the default) uses N, the total number of observations,
in the chi-square (``T = N F_ML``), RMSEA and its interval and test, and BIC.
"""

from .cfi import cfi, tli
from .chisq import chisq_pvalue
from .information import aic, bic, bic2, loglik_normal, unrestricted_loglik
from .measures import standard_measures
from .rmsea import rmsea, rmsea_ci, rmsea_pvalue
from .srmr import srmr, srmr_multigroup

__all__ = [
    "aic",
    "bic",
    "bic2",
    "cfi",
    "chisq_pvalue",
    "loglik_normal",
    "rmsea",
    "rmsea_ci",
    "rmsea_pvalue",
    "srmr",
    "srmr_multigroup",
    "standard_measures",
    "tli",
    "unrestricted_loglik",
]
