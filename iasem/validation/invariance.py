"""Measurement invariance across groups: can the constructs be compared between, say, public-private,
public-NGO, public-public and multi-partner alliances?

The same measurement model is fitted in every group with more and more parameters held equal: configural (the
same pattern), metric (loadings), scalar (loadings and intercepts) and strict (also residual variances); for
ordered items configural, thresholds (with the intercepts) and scalar, the thresholds first (Wu & Estabrook, 2016;
see ``ORDERED_STEPS``). Each step is compared with the one before by the chi-square difference test of lavaan's
``lavTestLRT`` (Satorra-Bentler scaled for MLR, Satorra's 2000 scaled-shifted test for WLSMV) and by the changes
in CFI, RMSEA and SRMR, judged by Chen's (2007) rules (:class:`~iasem.validation.cutoffs.Cutoffs`).

References
----------
Chen, F. F. (2007). Sensitivity of goodness of fit indexes to lack of measurement invariance. Structural
Equation Modeling, 14(3), 464-504.

Meredith, W. (1993). Measurement invariance, factor analysis and factorial invariance. Psychometrika, 58(4),
525-543.

Wu, H., & Estabrook, R. (2016). Identification of confirmatory factor analysis models of different levels of
invariance for ordered categorical outcomes. Psychometrika, 81(4), 1014-1045.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import fit_measures as fm
from ..errors import IasemError
from ..instruments.instrument import Instrument
from ..parallel import map_tasks, workers
from ..results import SEMResult
from ..sem import fit
from .cutoffs import SOURCES, Cutoffs, as_cutoffs

CONTINUOUS_STEPS = {
    "configural": (),
    "metric": ("loadings",),
    "scalar": ("loadings", "intercepts"),
    "strict": ("loadings", "intercepts", "residuals"),
}
# Ordered items, in lavaan's delta parameterization (group_equal = lavaan's group.equal). lavaan fixes the
# intercepts of ordered items at 0 in every group, and equal thresholds free the scale factors (~*~) and latent
# means of the later groups; "thresholds" and "intercepts" pull each other in (iasem.fit pairs them the same way),
# so both are named here and the table's `equal` column says what is held equal. Hence:
# - "thresholds" holds thresholds AND intercepts equal, loadings free (df + (K - 2) p - m per later group: p items
#   with K categories, m factors). This is identified but it is not Wu & Estabrook's (2016) threshold-invariance
#   model, which frees the intercepts of the later groups (df + (K - 3) p; semTools::measEq.syntax's default) and
#   cannot be written as a group.equal option: a misfit of this step can come from the intercepts (HS39 ordinal
#   by school: W&E's threshold step p = .086, this one p < 1e-9; tests/fixtures/lavaan/invariance_ordinal_*).
# - adding "loadings" gives exactly W&E's scalar model (thresholds, loadings and intercepts equal, latent means
#   free: same chisq and df as measEq.syntax's, checked in tests/test_invariance_ordinal.py), so the step is
#   "scalar", not "metric" (its earlier name): latent means are comparable once it holds. There is no metric
#   step through group.equal: equal loadings with free thresholds and scale factors fixed at 1 do not test
#   metric invariance of ordered items (Wu & Estabrook, 2016), and W&E's thresholds + loadings model again
#   needs free intercepts.
ORDERED_STEPS = {
    "configural": (),
    "thresholds": ("thresholds", "intercepts"),
    "scalar": ("thresholds", "intercepts", "loadings"),
}
# Steps that constrain intercept-like parameters: Chen's (2007) smaller SRMR change applies.
SCALAR_KINDS = {"intercepts", "residuals", "thresholds"}


@dataclass
class InvarianceResult:
    """The steps of an invariance analysis.

    ``table`` has one row per step: the parameters held equal, chisq, df, pvalue, cfi, tli, rmsea, srmr (the
    scaled or robust versions for robust estimators, see ``measures``), the comparison with the step before
    (chisq.diff, df.diff, pvalue.diff, cfi.diff, rmsea.diff, srmr.diff) and the verdict with its reason.
    ``fits`` holds each step's :class:`SEMResult`.
    """

    table: pd.DataFrame
    fits: dict[str, SEMResult]
    group: str
    estimator: str
    cutoffs: Cutoffs
    measures: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        columns = ["chisq", "df", "cfi", "rmsea", "srmr", "chisq.diff", "df.diff", "pvalue.diff", "cfi.diff",
                   "rmsea.diff", "srmr.diff"]  # fmt: skip
        shown = self.table[columns].copy()
        lines = [f"Measurement invariance across {self.group!r} ({self.estimator})", "",
                 shown.to_string(float_format=lambda v: f"{v:.3f}", na_rep=""), ""]  # fmt: skip
        for step, row in self.table.iterrows():
            lines.append(f"  {step:<11} {row['verdict']}: {row['reason']}")
        if self.measures.get("cfi") == "cfi.scaled" and any("cfi.robust" in f.fit_measures for f in self.fits.values()):
            lines += ["", "CFI, TLI and RMSEA are the scaled ones for every step: not every step has the robust "
                          "ones (lavaan 0.6.14 gives NA for WLSMV fits with equal thresholds)"]  # fmt: skip
        lines += ["", f"Rules: {SOURCES['invariance']}", f"Fit: {SOURCES['cfi']}"]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()


def _fit_step(syntax: str, data: pd.DataFrame, options: dict, group_equal: tuple[str, ...]) -> SEMResult:
    """One step's fit (module level: a process pool pickles it)."""
    return fit(syntax, data, group_equal=group_equal, **options)


def invariance(
    model: str | Instrument,
    data: pd.DataFrame,
    group: str,
    *,
    estimator: str = "ML",
    ordered: bool | list[str] | None = None,
    steps: list[str] | None = None,
    cutoffs: Cutoffs | dict[str, float] | None = None,
    missing: str = "listwise",
    n_jobs: int | None = 1,
) -> InvarianceResult:
    """Fit the measurement model in every group with increasing equality constraints and judge each step.

    Parameters
    ----------
    model : str or Instrument
        lavaan syntax, a ``.lav`` file or shipped model name, or an instrument (its measurement model).
    data : DataFrame
        The responses, with the ``group`` column.
    group : str
        The column naming each row's group (e.g. the alliance type).
    estimator : str
        As :func:`iasem.fit`; ``"MLR"`` uses the scaled chi-square difference and the robust CFI/RMSEA.
    ordered : list of str or True, optional
        Ordered items (WLSMV); the steps are then configural, thresholds (thresholds and intercepts equal) and
        scalar (thresholds, intercepts and loadings equal: Wu & Estabrook's 2016 scalar model), see
        ``ORDERED_STEPS``; CFI, TLI and RMSEA are then the scaled ones (``measures``), as the steps with equal
        thresholds have no robust ones.
    steps : list of str, optional
        A subset of the steps, in order; by default all of them.
    cutoffs : Cutoffs or dict, optional
        Chen's (2007) cutoffs and Hu & Bentler's (1999) for the configural fit.
    n_jobs : int, optional
        Processes fitting the steps (each step is its own fit); None: one per core. Worth it for large models
        (seconds per step), not for small ones (a process costs a fraction of a second).

    Returns
    -------
    InvarianceResult

    Examples
    --------
    >>> import iasem, pandas as pd
    >>> data = pd.read_csv(iasem.resources.resource_path("data") / "holzinger_swineford_1939.csv")
    >>> model = "visual =~ x1 + x2 + x3\\ntextual =~ x4 + x5 + x6\\nspeed =~ x7 + x8 + x9"
    >>> result = iasem.invariance(model, data, "school", steps=["configural", "metric", "scalar"])
    >>> print(result.table[["chisq", "df", "chisq.diff", "pvalue.diff"]].round(3).to_string(index_names=False))
                  chisq    df  chisq.diff  pvalue.diff
    configural  115.851  48.0         NaN          NaN
    metric      124.044  54.0       8.192        0.224
    scalar      164.103  60.0      40.059        0.000
    >>> result.table["verdict"].tolist()
    ['poor fit', 'invariant', 'not invariant']
    """
    syntax = model.measurement_model() if isinstance(model, Instrument) else model
    rules = as_cutoffs(cutoffs)
    available = ORDERED_STEPS if ordered else CONTINUOUS_STEPS
    chosen = list(available) if steps is None else list(steps)
    unknown = [s for s in chosen if s not in available]
    if unknown or not chosen:
        raise IasemError(f"unknown invariance step(s) {', '.join(unknown) or '(none given)'}; available"
                         f"{' for ordered items' if ordered else ''}: {', '.join(available)}")  # fmt: skip
    if [s for s in available if s in chosen] != chosen:
        raise IasemError(f"invariance steps must come in the order {', '.join(available)}")
    options = {"estimator": estimator, "ordered": ordered, "group": group, "missing": missing}
    tasks = [(syntax, data, options, available[step]) for step in chosen]
    fits = dict(zip(chosen, map_tasks(_fit_step, tasks, n_jobs=min(workers(n_jobs), len(tasks)), progress=False),
                    strict=True))  # fmt: skip
    names = _measure_names(list(fits.values()))
    rows = []
    previous: tuple[str, SEMResult] | None = None
    for step, result in fits.items():
        row = {"equal": ", ".join(available[step]) or "(none)"}
        row.update({m: result.fit_measures.get(name, np.nan) for m, name in names.items()})
        if previous is None:
            row.update(dict.fromkeys(["chisq.diff", "df.diff", "pvalue.diff", "cfi.diff", "rmsea.diff", "srmr.diff"],
                                     np.nan))  # fmt: skip
            row["verdict"], row["reason"] = _fit_verdict(row, rules)
        else:
            diff = difference_test(previous[1], result)
            row.update({"chisq.diff": diff["chisq.diff"], "df.diff": diff["df.diff"],
                        "pvalue.diff": diff["pvalue.diff"]})  # fmt: skip
            last = rows[-1]
            for m in ("cfi", "rmsea", "srmr"):
                row[f"{m}.diff"] = row[m] - last[m]
            row["verdict"], row["reason"] = _step_verdict(row, set(available[step]) - set(available[previous[0]]),
                                                          rules)  # fmt: skip
            failed = [s for s, r in zip(fits, rows, strict=False) if r["verdict"] == "not invariant"]
            if failed:
                row["reason"] += f"; judged after the failed {failed[0]} step, which it builds on"
        rows.append(row)
        previous = (step, result)
    table = pd.DataFrame(rows, index=pd.Index(chosen, name="step"))
    estimator_used = next(iter(fits.values())).estimator
    return InvarianceResult(table, fits, group, estimator_used, rules, names)


def _measure_names(results: list[SEMResult]) -> dict[str, str]:
    """Which fit measures the steps report, the same for every step so that the changes compare like with like:
    the scaled chi-square where the estimator has it, and the robust CFI, TLI and RMSEA when every step has them,
    else the scaled ones (WLSMV: lavaan 0.6.14 gives NA robust indices once thresholds are equal, see
    :mod:`iasem.engine.dwls_groups`), else the standard ones."""
    measures = [r.fit_measures for r in results]
    first = measures[0]
    if all(np.isfinite(m.get("cfi.robust", np.nan)) for m in measures):
        kind = ".robust"
    elif all(np.isfinite(m.get("cfi.scaled", np.nan)) for m in measures):
        kind = ".scaled"
    else:
        kind = ""
    return {
        "chisq": "chisq.scaled" if "chisq.scaled" in first else "chisq",
        "df": "df",
        "pvalue": "pvalue.scaled" if "pvalue.scaled" in first else "pvalue",
        "cfi": f"cfi{kind}",
        "tli": f"tli{kind}",
        "rmsea": f"rmsea{kind}",
        "srmr": "srmr",
    }


def difference_test(fit_a: SEMResult, fit_b: SEMResult) -> dict[str, float]:
    """The chi-square difference test of two nested fits, in either order (the one with more degrees of freedom
    is the restricted one), as lavaan's ``lavTestLRT`` with its default method: for ML the plain difference of
    the chi-squares; for MLR the Satorra-Bentler (2001) scaled difference and for WLSMV Satorra's (2000) test with
    the scaled-shifted correction (Asparouhov & Muthén, 2006), both by
    :func:`iasem.fit_measures.difference.scaled_difference_test`."""
    less, more = fit_a, fit_b
    if more.fit_measures["df"] < less.fit_measures["df"]:
        less, more = more, less
    if less.estimator != more.estimator:
        raise IasemError("the two fits to compare use different estimators")
    if less.estimator not in ("ML",):
        from ..fit_measures import difference

        return difference.scaled_difference_test(less, more)
    chisq = more.fit_measures["chisq"] - less.fit_measures["chisq"]
    df = more.fit_measures["df"] - less.fit_measures["df"]
    return {"chisq.diff": chisq, "df.diff": df, "pvalue.diff": fm.chisq_pvalue(chisq, df)}


def _fit_verdict(row: dict, rules: Cutoffs) -> tuple[str, str]:
    """Hu & Bentler (1999) for the configural model."""
    problems = []
    if not row["cfi"] >= rules.cfi:
        problems.append(f"CFI {row['cfi']:.3f} < {rules.cfi:.2f}")
    if not row["tli"] >= rules.tli:
        problems.append(f"TLI {row['tli']:.3f} < {rules.tli:.2f}")
    if not row["rmsea"] <= rules.rmsea:
        problems.append(f"RMSEA {row['rmsea']:.3f} > {rules.rmsea:.2f}")
    if not row["srmr"] <= rules.srmr:
        problems.append(f"SRMR {row['srmr']:.3f} > {rules.srmr:.2f}")
    if problems:
        return "poor fit", "; ".join(problems) + " (Hu & Bentler, 1999)"
    return "acceptable fit", "CFI, TLI, RMSEA and SRMR meet Hu & Bentler's (1999) cutoffs"


def _step_verdict(row: dict, added: set[str], rules: Cutoffs) -> tuple[str, str]:
    """Chen (2007): non-invariant when CFI drops by delta_cfi or more together with RMSEA rising by delta_rmsea
    or more, or SRMR by the step's delta_srmr or more."""
    srmr_limit = rules.delta_srmr_scalar if added & SCALAR_KINDS else rules.delta_srmr_metric
    cfi_drop = -row["cfi.diff"] >= rules.delta_cfi
    rmsea_rise = row["rmsea.diff"] >= rules.delta_rmsea
    srmr_rise = row["srmr.diff"] >= srmr_limit
    changes = (f"dCFI {row['cfi.diff']:+.3f}, dRMSEA {row['rmsea.diff']:+.3f}, dSRMR {row['srmr.diff']:+.3f} "
               f"(Chen 2007: dCFI <= -{rules.delta_cfi:.3f} with dRMSEA >= {rules.delta_rmsea:.3f} or "
               f"dSRMR >= {srmr_limit:.3f})")  # fmt: skip
    if cfi_drop and (rmsea_rise or srmr_rise):
        return "not invariant", changes
    return "invariant", changes
