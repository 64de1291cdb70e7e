"""The readable text of :meth:`SEMResult.summary`, laid out as lavaan's ``summary(fit, fit.measures = TRUE,
standardized = TRUE)``: the fit's header, the model test (standard and, for robust estimators, scaled), the fit
indices, then the parameters by kind, group by group, and the warnings."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from .results import SEMResult

SECTIONS = [("=~", "Latent variables"), ("~", "Regressions"), ("~~", "Covariances and variances"),
            ("~1", "Intercepts"), ("|", "Thresholds"), ("~*~", "Scales y*"), (":=", "Defined parameters")]  # fmt: skip
# (label, standard measure, scaled measure, robust measure)
TEST_ROWS = [("Test statistic", "chisq", "chisq.scaled", None), ("Degrees of freedom", "df", "df.scaled", None),
             ("P-value (chi-square)", "pvalue", "pvalue.scaled", None),
             ("Scaling correction factor", None, "chisq.scaling.factor", None),
             ("Shift parameter", None, "chisq.shift.parameter", None)]  # fmt: skip
FIT_ROWS = [("CFI", "cfi"), ("TLI", "tli"), ("RMSEA", "rmsea"), ("  90% CI lower", "rmsea.ci.lower"),
            ("  90% CI upper", "rmsea.ci.upper"), ("  P-value RMSEA <= 0.05", "rmsea.pvalue"), ("SRMR", "srmr"),
            ("Loglikelihood", "logl"), ("AIC", "aic"), ("BIC", "bic"), ("Number of parameters", "npar")]  # fmt: skip
STANDARD_ERRORS = {"standard": "standard", "robust": "robust", "bootstrap": "bootstrap", "none": "none"}


def summary_text(result: SEMResult) -> str:
    lines = [*_header(result), "", *_tests(result), "", *_parameters(result)]
    if result.warnings:
        lines += ["", "Warnings"] + [f"  - {w}" for w in result.warnings]
    return "\n".join(line.rstrip() for line in lines)


def _header(result: SEMResult) -> list[str]:
    status = f"converged after {result.iterations} iterations" if result.converged else "DID NOT CONVERGE"
    lines = [f"iasem {result.estimator} fit: {status}", "", f"  {'Number of observations':<34}{result.nobs:>12}"]
    options = getattr(result.engine, "options", None)
    if options is not None:
        lines.append(f"  {'Missing data':<34}{options.missing:>12}")
        se = options.se
        if se == "bootstrap":
            drawn = 0 if result.boot is None else len(result.boot)
            se = (
                f"bootstrap, {drawn} draws"
                if drawn == options.bootstrap
                else f"bootstrap, {drawn} of {options.bootstrap} draws"
            )
            lines.append(f"  {'Standard errors':<34}{se:>12}")
            interval = "BCa" if options.ci == "bca" else "percentile"
            lines.append(f"  {'Confidence intervals':<34}{f'{interval}, {options.level:.0%}':>12}")
        else:
            lines.append(f"  {'Standard errors':<34}{STANDARD_ERRORS[se]:>12}")
        if options.group is not None:
            lines.append(f"  {'Groups (' + options.group + ')':<34}{len(result.engine.stats):>12}")
    return lines


def _value(measures: dict[str, float], name: str | None) -> str:
    if name is None or name not in measures:
        return ""
    value = measures[name]
    if value is None or not np.isfinite(value):
        return ""
    return f"{value:.0f}" if name in ("df", "df.scaled", "npar") else f"{value:.3f}"


def _tests(result: SEMResult) -> list[str]:
    measures = result.fit_measures
    scaled = "chisq.scaled" in measures
    robust = "cfi.robust" in measures
    lines = ["Model test", f"  {'':<34}{'Standard':>12}" + (f"{'Scaled':>12}" if scaled else "")]
    for label, standard, scaled_name, _ in TEST_ROWS:
        cells = [_value(measures, standard)] + ([_value(measures, scaled_name)] if scaled else [])
        if any(cells):
            lines.append(f"  {label:<34}" + "".join(f"{c:>12}" for c in cells))
    lines += ["", "Fit indices"]
    if scaled or robust:
        lines.append(f"  {'':<34}{'Standard':>12}" + (f"{'Scaled':>12}" if scaled else "")
                     + (f"{'Robust':>12}" if robust else ""))  # fmt: skip
    for label, name in FIT_ROWS:
        cells = [_value(measures, name)]
        if scaled:
            cells.append(_value(measures, f"{name}.scaled"))
        if robust:
            cells.append(_value(measures, f"{name}.robust"))
        if any(cells):
            lines.append(f"  {label:<34}" + "".join(f"{c:>12}" for c in cells))
    return lines


def _parameters(result: SEMResult) -> list[str]:
    table = result.params
    lines: list[str] = []
    groups = sorted(g for g in table["group"].unique() if g > 0)
    for g in groups:
        if len(groups) > 1:
            lines += [f"Group {g}", ""]
        lines += _sections(table[table["group"] == g], skip=(":=",))
    defined = table[table["op"] == ":="]
    if not defined.empty:
        lines += _sections(defined, skip=())
    return lines


def _sections(table: pd.DataFrame, skip: tuple[str, ...]) -> list[str]:
    lines = []
    for op, title in SECTIONS:
        part = table[table["op"] == op]
        if part.empty or op in skip:
            continue
        lines += [title, f"  {'':<26}{'Estimate':>10}{'Std.Err':>10}{'z-value':>10}{'P(>|z|)':>10}{'Std.all':>10}"]
        for r in part.to_dict("records"):
            name = f"{r['lhs']} {op} {r['rhs']}" if op not in ("~1", ":=", "|") else r["lhs"]
            if op == "|":
                name = f"{r['lhs']}|{r['rhs']}"
            if r["label"] and op != ":=" and not str(r["label"]).startswith("."):
                name += f" ({r['label']})"
            fixed = not r["se"]  # lavaan leaves the SE column blank for fixed parameters
            cells = ["" if fixed and c in ("se", "z", "pvalue") else _num(r[c])
                     for c in ("est", "se", "z", "pvalue", "std.all")]  # fmt: skip
            lines.append(f"  {name:<26}" + "".join(f"{c:>10}" for c in cells))
        lines.append("")
    return lines


def _num(value: float) -> str:
    return "" if value is None or not np.isfinite(value) else f"{value:.3f}"
