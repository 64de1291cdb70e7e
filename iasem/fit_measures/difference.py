r"""The chi-square difference test of two nested models, as lavaan's ``lavTestLRT`` (lavaan 0.6.14).

lavaan's default ``method`` depends on the models' test: without a scaled test (ML) the plain difference of
the two chi-squares; with the Satorra-Bentler, Yuan-Bentler or Yuan-Bentler (Mplus) scaled test, which is
MLR's, ``method = "satorra.bentler.2001"``, the scaled difference of Satorra & Bentler (2001):

.. math::

    c_d = \frac{df_0\, c_0 - df_1\, c_1}{df_0 - df_1}, \qquad
    T_d = \frac{T_0 - T_1}{c_d}, \qquad df_d = df_0 - df_1, \qquad p = 1 - F_{\chi^2_{df_d}}(T_d)

with model 0 the restricted one (more degrees of freedom), T the *unscaled* (ML) chi-squares and c the
scaling factors (``chisq.scaling.factor``); a saturated less restricted model (df_1 = 0) has c_1 = 1. As in
lavaan: a negative c_d gives NaN (lavaan warns "scaling factor is negative"), equal degrees of freedom give
T_0 - T_1 and no p-value. The plain test also reports lavaan's RMSEA of the difference,
sqrt(max(T_d / (N df_d) - 1 / N, 0)) sqrt(G). (lavaan's ``satorra.2000``, its default for the scaled-shifted
test of WLSMV, needs the models themselves and is not here.)

References
----------
Satorra, A., & Bentler, P. M. (2001). A scaled difference chi-square test statistic for moment structure
analysis. *Psychometrika*, 66(4), 507-514.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from scipy import stats

from ..errors import IasemError
from .rmsea import rmsea

__all__ = ["scaled_difference_test"]


def _measures(fit: Any) -> tuple[Mapping[str, float], str, int]:
    """A fit's measures, estimator and number of groups, from an :class:`~iasem.results.SEMResult`."""
    measures = getattr(fit, "fit_measures", None)
    if measures is None:
        raise IasemError("scaled_difference_test compares two results of iasem.fit")
    engine = getattr(fit, "engine", None)
    n_groups = len(engine.stats) if engine is not None and getattr(engine, "stats", None) else 1
    return measures, str(getattr(fit, "estimator", "")), n_groups


def scaled_difference_test(fit0: Any, fit1: Any) -> dict[str, float]:
    """The chi-square difference test of two nested fits, in either order, as lavaan's ``lavTestLRT`` with its
    default method.

    Parameters
    ----------
    fit0, fit1 : SEMResult
        Two fits of nested models to the same data with the same estimator (for example two steps of a
        measurement-invariance analysis). The one with more degrees of freedom is taken as the restricted
        model, as ``lavTestLRT`` orders them.

    Returns
    -------
    dict
        ``chisq.diff`` (lavaan's "Chisq diff"), ``df.diff`` ("Df diff"), ``pvalue.diff`` ("Pr(>Chisq)"),
        ``scaling.factor.diff`` (c_d; NaN for the plain test) and ``rmsea.diff`` (lavaan's "RMSEA" column of
        the plain test; NaN for the scaled one). The method is lavaan's default: "satorra.bentler.2001" when
        both fits have a scaled test (MLR), the plain difference when neither has (ML).

    Raises
    ------
    IasemError
        When the two fits use different estimators, when only one of them has a scaled test, or when the
        scaled test is WLSMV's scaled-shifted one (lavaan's ``satorra.2000``, not available).

    Examples
    --------
    >>> import iasem, pandas as pd
    >>> data = pd.read_csv(iasem.resources.resource_path("data") / "holzinger_swineford_1939.csv")
    >>> model = "visual =~ x1 + x2 + x3\\ntextual =~ x4 + x5 + x6\\nspeed =~ x7 + x8 + x9"
    >>> configural = iasem.fit(model, data, group="school", estimator="MLR")
    >>> metric = iasem.fit(model, data, group="school", group_equal=("loadings",), estimator="MLR")
    >>> test = scaled_difference_test(metric, configural)
    >>> round(test["chisq.diff"], 3), test["df.diff"], round(test["pvalue.diff"], 3)
    (6.567, 6.0, 0.363)
    """
    m_a, est_a, groups_a = _measures(fit0)
    m_b, est_b, groups_b = _measures(fit1)
    if est_a != est_b:
        raise IasemError(f"the two fits use different estimators ({est_a} and {est_b})")
    if "WLSMV" in (est_a, est_b):
        raise IasemError("the difference test of WLSMV fits (lavaan's satorra.2000) is not available yet")
    restricted, free = (m_a, m_b) if m_a["df"] >= m_b["df"] else (m_b, m_a)
    t0, df0, t1, df1 = restricted["chisq"], restricted["df"], free["chisq"], free["df"]
    scaled = ["chisq.scaling.factor" in m for m in (restricted, free)]
    if scaled[0] != scaled[1] and not (scaled[0] and df1 == 0):
        raise IasemError("only one of the two fits has a scaled test statistic; compare fits of one estimator")
    m = df0 - df1
    if not scaled[0]:
        chisq = t0 - t1
        n = restricted["ntotal"]
        rmsea_diff = rmsea(chisq, m, n, max(groups_a, groups_b)) if m > 0 else math.nan
        return _result(chisq, m, math.nan, rmsea_diff)
    if m == 0:
        return _result(t0 - t1, m, math.nan, math.nan)
    c0 = restricted["chisq.scaling.factor"]
    c1 = 1.0 if df1 == 0 else free["chisq.scaling.factor"]
    cd = (df0 * c0 - df1 * c1) / m
    if cd < 0:
        cd = math.nan
    return _result((t0 - t1) / cd, m, cd, math.nan)


def _result(chisq: float, df: float, scaling: float, rmsea_diff: float) -> dict[str, float]:
    # lavaan: pchisq(T_d, df_d, lower.tail = FALSE), so no underflow to 0 at tiny p-values
    pvalue = float(stats.chi2.sf(chisq, df)) if df > 0 and math.isfinite(chisq) else math.nan
    return {
        "chisq.diff": float(chisq),
        "df.diff": float(df),
        "pvalue.diff": float(pvalue),
        "scaling.factor.diff": float(scaling),
        "rmsea.diff": float(rmsea_diff),
    }
