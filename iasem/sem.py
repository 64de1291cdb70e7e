"""``iasem.fit``: lavaan model syntax and a DataFrame in, an :class:`SEMResult` out.

The stages run in lavaan's order, each in its own module: syntax -> parameter table -> sample statistics ->
start values -> matrices -> estimation -> standard errors -> test -> fit measures.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as st

from . import fit_measures as fm
from .engine import fiml, ls, multigroup, robust
from .engine.defined import evaluate_expression
from .engine.estimate import (
    MLState,
    Parameters,
    free_positions,
    group_parameters,
    minimise,
    parameters,
    start_values,
    unsupported_constraints,
)
from .engine.fitted import FittedModel
from .engine.lisrel import represent
from .engine.sample_stats import SampleStats, model_columns, sample_stats
from .engine.standardized import standardize
from .errors import IasemError
from .resources import resource_path
from .results import PARAM_COLUMNS, SEMResult
from .syntax import parse_model, partable, variable_roles

ESTIMATORS = ("ML", "MLR", "GLS", "ULS")
MISSING = ("listwise", "fiml")
# Estimators implemented for one group of complete data only (so far).
SINGLE_GROUP_COMPLETE = ("MLR", "GLS", "ULS")


def fit(
    model: str | Path,
    data: pd.DataFrame,
    *,
    estimator: str = "ML",
    missing: str = "listwise",
    std_lv: bool = False,
    level: float = 0.95,
    group: str | None = None,
    group_equal: tuple[str, ...] | list[str] = (),
) -> SEMResult:
    """Fit a structural equation model written in lavaan syntax.

    Parameters
    ----------
    model : str or Path
        lavaan model syntax, a path to a ``.lav`` file, or the name of a model shipped in ``models/``.
    data : DataFrame
        One row per respondent; the model's observed variables as numeric columns.
    estimator : {"ML", "MLR", "GLS", "ULS"}
        ``"ML"``: maximum likelihood with the biased sample covariance and expected information, as lavaan's
        default. ``"MLR"``: the ML estimates with Huber-White (sandwich) standard errors and the Yuan-Bentler
        scaled chi-square, as lavaan's (single group, complete data; see :mod:`iasem.engine.robust`).
        ``"GLS"`` / ``"ULS"``: generalised / unweighted least squares on the unbiased sample covariance, as
        lavaan's (single group, complete data, no exogenous observed covariates; see :mod:`iasem.engine.ls`).
    missing : {"listwise", "fiml"}
        ``"listwise"``: rows with a missing value in a model variable are dropped. ``"fiml"``: full-information
        maximum likelihood over every row with at least one observed model variable, with intercepts (a
        meanstructure) and standard errors from the observed information, as lavaan's ``missing = "fiml"``.
    std_lv : bool
        Identify factors by fixing their variances to 1 instead of their first loadings.
    level : float
        Confidence level of the Wald intervals ``ci.lower`` and ``ci.upper``.
    group : str, optional
        A column of ``data`` naming each row's group: the model is fitted in every group at once (lavaan's
        ``group =``), with intercepts, groups in order of first appearance. The ``group`` column of
        ``params`` numbers them from 1.
    group_equal : sequence of str
        lavaan's ``group.equal``: kinds of parameters held equal across groups ("loadings", "intercepts",
        "means", "regressions", "residuals", "residual.covariances", "lv.variances", "lv.covariances").

    Returns
    -------
    SEMResult

    Examples
    --------
    >>> import iasem, pandas as pd
    >>> data = pd.read_csv(iasem.resources.resource_path("data") / "holzinger_swineford_1939.csv")
    >>> result = iasem.fit("visual =~ x1 + x2 + x3\\ntextual =~ x4 + x5 + x6\\nspeed =~ x7 + x8 + x9", data)
    >>> round(result.fit_measures["chisq"], 3), result.fit_measures["df"]
    (85.306, 24.0)
    """
    estimator = _check_options(estimator, missing, group, group_equal, level, data)
    text = model_text(model)
    formulas = parse_model(text)
    if group is not None:
        return _fit_groups(text, formulas, data, group, tuple(group_equal), std_lv, level)
    return _fit_single(text, formulas, data, estimator, missing, std_lv, level)


def _check_options(estimator: str, missing: str, group, group_equal, level: float, data) -> str:
    """Refuse, at the boundary and in plain words, any combination the engine cannot compute (yet)."""
    estimator = str(estimator).upper()
    if estimator not in ESTIMATORS:
        raise IasemError(f"estimator {estimator!r} is not available yet; available: {', '.join(ESTIMATORS)}")
    if estimator in SINGLE_GROUP_COMPLETE and (group is not None or missing != "listwise"):
        raise IasemError(f"estimator={estimator!r} is available for one group of complete data only "
                         "(missing='listwise', no group=)")  # fmt: skip
    if missing not in MISSING:
        raise IasemError(f"missing={missing!r} is not available yet; available: {', '.join(MISSING)}")
    if group is not None and missing != "listwise":
        raise IasemError(f"missing={missing!r} with groups is not available yet")
    if group is None and group_equal:
        raise IasemError("group_equal needs group=")
    if not 0 < level < 1:
        raise IasemError(f"level must lie between 0 and 1, not {level}")
    if not isinstance(data, pd.DataFrame):
        raise IasemError("data must be a pandas DataFrame")
    return estimator


def _fit_single(text: str, formulas, data: pd.DataFrame, estimator: str, missing: str, std_lv: bool,
                level: float) -> SEMResult:  # fmt: skip
    """The one-group path: ML (listwise or FIML), MLR, GLS or ULS."""
    least_squares = estimator in ls.ESTIMATORS
    use_fiml = missing == "fiml"
    table = partable(formulas, std_lv=std_lv, meanstructure=use_fiml)
    unsupported = unsupported_constraints(table)
    if unsupported:
        raise IasemError(f"constraint(s) {'; '.join(unsupported)} cannot be imposed yet: only equalities between "
                         "two labels (a == b) are")  # fmt: skip
    roles = variable_roles(formulas)
    if use_fiml and roles.ov_x:
        raise IasemError(f"missing='fiml' with exogenous observed covariates ({', '.join(roles.ov_x)}) is not "
                         "available yet")  # fmt: skip
    if estimator in SINGLE_GROUP_COMPLETE and roles.ov_x:
        raise IasemError(f"estimator={estimator!r} with exogenous observed covariates ({', '.join(roles.ov_x)}) "
                         "is not available yet")  # fmt: skip
    incomplete = fiml.missing_data(data, roles.ov) if use_fiml else None
    stats = incomplete.stats if incomplete else sample_stats(data, roles.ov)
    if least_squares:
        stats = ls.unbiased(stats)
    rep = represent(table, roles.ov, meanstructure=use_fiml)
    params = parameters(rep, table, stats)
    x0 = start_values(params, stats)
    if incomplete:
        optimum = fiml.fit(params, incomplete, x0)
    elif least_squares:
        optimum = ls.fit(params, stats, x0, estimator)
    else:
        optimum = minimise(params, stats, x0)
    warnings = list(incomplete.warnings) if incomplete else []
    if not optimum.converged:
        warnings.append(f"the optimiser did not converge: {optimum.message}")
    state = optimum.state
    vcov, vcov_warning = _vcov(state, stats.n - 1 if least_squares else stats.n)
    warnings += vcov_warning
    if estimator == "MLR":
        centred = model_columns(data, roles.ov).dropna().to_numpy(dtype=float) - stats.mean
        df = stats.p * (stats.p + 1) / 2 - params.n_free
        vcov, scaling, baseline_scaling = robust.mlr(params, stats, state, centred, df)
    estimates = _parameter_table(table, rep, params, state, vcov, stats, level)
    warnings += _heywood(estimates)
    if incomplete:
        measures = fiml.fit_measures(state, incomplete, params.n_free)
    elif least_squares:
        measures = ls.fit_measures(state, stats, params.n_free, estimator)
    else:
        measures = _fit_measures(state, stats, params, roles.ov_x)
        if estimator == "MLR":
            measures.update(robust.robust_measures(measures, scaling, baseline_scaling))
    implied = pd.DataFrame(state.sigma, index=stats.names, columns=stats.names)
    sample = pd.DataFrame(stats.cov, index=stats.names, columns=stats.names)
    vcov_frame = None if vcov is None else pd.DataFrame(vcov)
    engine = FittedModel(table, [rep], [params], [state], [stats], vcov, estimator, missing)
    return SEMResult(text, estimator, stats.n, estimates, measures, implied, sample, optimum.converged,
                     optimum.iterations, warnings, vcov_frame, engine)  # fmt: skip


def model_text(model: str | Path) -> str:
    """lavaan syntax from syntax itself, a ``.lav`` path, or the name of a shipped model."""
    text = str(model)
    if any(op in text for op in ("=~", "~", ":=")):
        return text
    path = Path(text)
    if path.is_file():
        return path.read_text(encoding="utf-8")
    shipped = resource_path("models") / f"{text}.lav"
    if shipped.is_file():
        return shipped.read_text(encoding="utf-8")
    known = sorted(p.stem for p in resource_path("models").glob("*.lav"))
    raise IasemError(f"{text!r} is neither model syntax, a file, nor a shipped model ({', '.join(known) or 'none'})")


def _fit_groups(text: str, formulas, data: pd.DataFrame, group: str, group_equal: tuple[str, ...], std_lv: bool,
                level: float) -> SEMResult:  # fmt: skip
    """The multi-group path (listwise ML): one parameter table for all groups, x shared through equalities."""
    if any(f.op in (":=", "==", "<", ">") for f in formulas):
        raise IasemError("defined parameters and constraints (:=, ==, <, >) with groups are not available yet")
    roles = variable_roles(formulas)
    labels, stats = multigroup.split_groups(data, group, roles.ov)
    n_groups = len(labels)
    table = partable(formulas, std_lv=std_lv, ngroups=n_groups, group_equal=group_equal)
    position, n_free = free_positions(table)
    reps = [represent(table[table["group"] == g], roles.ov, meanstructure=True) for g in range(1, n_groups + 1)]
    params = [group_parameters(rep, s, position, n_free) for rep, s in zip(reps, stats, strict=True)]
    x0 = multigroup.group_start_values(params, stats)
    optimum = minimise(params, stats, x0, evaluator=multigroup.evaluate_groups)  # type: ignore[arg-type]
    warnings = [] if optimum.converged else [f"the optimiser did not converge: {optimum.message}"]
    state = optimum.state
    n = sum(s.n for s in stats)
    vcov, vcov_warning = _vcov(state, n)
    warnings += vcov_warning
    estimates = pd.concat(
        [_parameter_table(table, rep, p, st_g, vcov, s, level, group=g)
         for g, (rep, p, st_g, s) in enumerate(zip(reps, params, state.groups, stats, strict=True), start=1)],
        ignore_index=True,
    )  # fmt: skip
    warnings += _heywood(estimates)
    measures = _fit_measures_groups(state, stats, n_free, roles.ov_x)
    names = stats[0].names
    implied = pd.concat([pd.DataFrame(st_g.sigma, index=names, columns=names) for st_g in state.groups], keys=labels)
    sample = pd.concat([pd.DataFrame(s.cov, index=names, columns=names) for s in stats], keys=labels)
    vcov_frame = None if vcov is None else pd.DataFrame(vcov)
    engine = FittedModel(table, reps, params, state.groups, stats, vcov, "ML", "listwise")
    return SEMResult(text, "ML", n, estimates, measures, implied, sample, optimum.converged, optimum.iterations,
                     warnings, vcov_frame, engine)  # fmt: skip


def _fit_measures_groups(state, stats: list[SampleStats], npar: int, ov_x: list[str]) -> dict[str, float]:
    """Fit measures over groups: chisq = 2 N fmin, df from G sets of means and covariances, the baseline
    and the log-likelihoods summed over groups, RMSEA with the number of groups, SRMR (means included)
    weighted by N_g / N."""
    n = sum(s.n for s in stats)
    p = stats[0].p
    baselines = [_baseline(s, ov_x) for s in stats]
    x = [stats[0].names.index(v) for v in ov_x] or None
    return fm.standard_measures(
        fmin=state.fmin,
        n=n,
        df=len(stats) * (p * (p + 1) / 2 + p) - npar,
        npar=npar,
        baseline_chisq=sum(b[0] for b in baselines),
        baseline_df=sum(b[1] for b in baselines),
        logl=sum(fm.loglik_normal(s.cov, g.sigma, s.n, s.mean, g.mu, fixed_x=x)
                 for s, g in zip(stats, state.groups, strict=True)),
        unrestricted_logl=sum(fm.unrestricted_loglik(s.cov, s.n, fixed_x=x) for s in stats),
        srmr=fm.srmr_multigroup(
            [{"sample_cov": s.cov, "implied_cov": g.sigma, "sample_mean": s.mean, "implied_mean": g.mu}
             for s, g in zip(stats, state.groups, strict=True)],
            [s.n for s in stats],
        ),
        n_groups=len(stats),
    )  # fmt: skip


def _vcov(state: MLState, n: int) -> tuple[np.ndarray | None, list[str]]:
    """(n * information)^-1, with n the sample size the estimator scales by (N, or N - 1 for GLS/ULS)."""
    information = n * state.information
    try:
        vcov = np.linalg.inv(information)
    except np.linalg.LinAlgError:
        return None, ["the information matrix is singular: the model may not be identified; no standard errors"]
    if np.linalg.cond(information) > 1e12 or np.any(np.diag(vcov) < 0):
        return vcov, ["the information matrix is near-singular: the model may not be identified"]
    return vcov, []


def _parameter_table(table, rep, params: Parameters, state: MLState, vcov, stats, level: float,
                     group: int = 1) -> pd.DataFrame:  # fmt: skip
    values = params.row_values(state.x)
    se_free = np.sqrt(np.clip(np.diag(vcov), 0, None)) if vcov is not None else np.full(params.n_free, np.nan)
    se = np.where(params.index >= 0, se_free[np.maximum(params.index, 0)], 0.0)
    model_rows = table["op"].isin(["=~", "~", "~~", "~1"]) & (table["group"] == group)
    rows = rep.rows.iloc[: int(model_rows.sum())]
    out = rows[["lhs", "op", "rhs", "label"]].copy()
    out["group"] = group
    out["est"] = values[: len(out)]
    out["se"] = se[: len(out)]
    out["std.lv"] = standardize(rep, state.mats, state.sigma, out["est"], out, observed_too=False)
    out["std.all"] = standardize(rep, state.mats, state.sigma, out["est"], out, observed_too=True)
    defined = table[table["op"] == ":="]
    if not defined.empty:
        out = pd.concat([out, _defined_rows(defined, out, params, state, vcov, rep)], ignore_index=True)
    z_crit = st.norm.ppf(0.5 + level / 2)
    free = out["se"] > 0
    out["z"] = np.where(free, out["est"] / out["se"].where(free), np.nan)
    out["pvalue"] = np.where(free, 2 * st.norm.sf(np.abs(out["z"])), np.nan)
    out["ci.lower"] = out["est"] - z_crit * out["se"]
    out["ci.upper"] = out["est"] + z_crit * out["se"]
    return out[PARAM_COLUMNS].reset_index(drop=True)


def _defined_rows(defined, model_rows, params: Parameters, state: MLState, vcov, rep) -> pd.DataFrame:
    """Values by the expression, standard errors by the delta method with a central-difference Jacobian."""
    labelled = model_rows[model_rows["label"] != ""]

    def labels(x: np.ndarray) -> dict[str, float]:
        values = params.row_values(x)[: len(model_rows)]
        return {lab: values[k] for k, lab in zip(labelled.index, labelled["label"], strict=True)}

    def std_labels(column: str) -> dict[str, float]:
        return dict(zip(labelled["label"], labelled[column], strict=True))

    rows = []
    for r in defined.itertuples():
        est = evaluate_expression(r.rhs, labels(state.x))
        jac = np.zeros(params.n_free)
        for k in range(params.n_free):
            h = 1e-6 * max(1.0, abs(state.x[k]))
            up, down = state.x.copy(), state.x.copy()
            up[k] += h
            down[k] -= h
            jac[k] = (evaluate_expression(r.rhs, labels(up)) - evaluate_expression(r.rhs, labels(down))) / (2 * h)
        se = float(np.sqrt(max(jac @ vcov @ jac, 0.0))) if vcov is not None else np.nan
        rows.append({"lhs": r.lhs, "op": ":=", "rhs": r.rhs, "label": r.lhs, "group": 0, "est": est, "se": se,
                     "std.lv": evaluate_expression(r.rhs, std_labels("std.lv")),
                     "std.all": evaluate_expression(r.rhs, std_labels("std.all"))})  # fmt: skip
    return pd.DataFrame(rows)


def _heywood(estimates: pd.DataFrame) -> list[str]:
    variances = estimates[(estimates["op"] == "~~") & (estimates["lhs"] == estimates["rhs"])]
    negative = variances[variances["est"] < 0]
    return [f"negative variance (Heywood case): {r.lhs} ~~ {r.rhs} = {r.est:.4f}" for r in negative.itertuples()]


def _fit_measures(state: MLState, stats: SampleStats, params: Parameters, ov_x: list[str]) -> dict[str, float]:
    baseline_chisq, baseline_df = _baseline(stats, ov_x)
    return fm.standard_measures(
        fmin=state.fmin,
        n=stats.n,
        df=stats.p * (stats.p + 1) / 2 - params.n_free,
        npar=params.n_free,
        baseline_chisq=baseline_chisq,
        baseline_df=baseline_df,
        logl=fm.loglik_normal(stats.cov, state.sigma, stats.n),
        unrestricted_logl=fm.unrestricted_loglik(stats.cov, stats.n),
        srmr=fm.srmr(stats.cov, state.sigma),
    )


def _baseline(stats: SampleStats, ov_x: list[str]) -> tuple[float, float]:
    """The independence model: every variable's variance free, no covariances, except among fixed covariates."""
    sigma = np.diag(np.diag(stats.cov))
    x = [stats.names.index(v) for v in ov_x]
    if x:
        sigma[np.ix_(x, x)] = stats.cov[np.ix_(x, x)]
    _, logdet_s = np.linalg.slogdet(stats.cov)
    _, logdet_b = np.linalg.slogdet(sigma)
    chisq = stats.n * (logdet_b + np.trace(stats.cov @ np.linalg.inv(sigma)) - logdet_s - stats.p)
    p, k = stats.p, len(x)
    return float(chisq), float(p * (p - 1) / 2 - k * (k - 1) / 2)


__all__ = ["fit", "model_text"]
