"""All of lavaan's standard fit measures at once, from the few numbers every estimator provides."""

from __future__ import annotations

from .cfi import cfi, tli
from .chisq import chisq_pvalue
from .information import aic, bic
from .rmsea import rmsea, rmsea_ci, rmsea_pvalue


def standard_measures(
    *,
    fmin: float,
    n: int,
    df: float,
    npar: int,
    baseline_chisq: float,
    baseline_df: float,
    logl: float,
    unrestricted_logl: float,
    srmr: float,
    n_groups: int = 1,
) -> dict[str, float]:
    """lavaan's fitMeasures names for one normal-theory fit, with chisq = 2 N fmin (N over all ``n_groups``
    groups; the RMSEA and its interval and test take the number of groups).

    Examples
    --------
    >>> m = standard_measures(fmin=85.30552177 / 602, n=301, df=24, npar=21, baseline_chisq=918.8515893,
    ...                       baseline_df=36, logl=-3737.744927, unrestricted_logl=-3695.092, srmr=0.065)
    >>> round(m["cfi"], 4), round(m["rmsea"], 4)
    (0.9306, 0.0921)
    """
    chisq = 2 * n * fmin
    lower, upper = rmsea_ci(chisq, df, n, n_groups)
    measures = {
        "npar": npar,
        "fmin": fmin,
        "chisq": chisq,
        "df": df,
        "pvalue": chisq_pvalue(chisq, df),
        "baseline.chisq": baseline_chisq,
        "baseline.df": baseline_df,
        "cfi": cfi(chisq, df, baseline_chisq, baseline_df),
        "tli": tli(chisq, df, baseline_chisq, baseline_df),
        "rmsea": rmsea(chisq, df, n, n_groups),
        "rmsea.ci.lower": lower,
        "rmsea.ci.upper": upper,
        "rmsea.pvalue": rmsea_pvalue(chisq, df, n, n_groups),
        "srmr": srmr,
        "logl": logl,
        "unrestricted.logl": unrestricted_logl,
        "aic": aic(logl, npar),
        "bic": bic(logl, npar, n),
        "ntotal": n,
    }
    return {name: float(value) for name, value in measures.items()}
