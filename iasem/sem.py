"""``iasem.fit``: lavaan model syntax and a DataFrame in, an :class:`SEMResult` out.

The stages run in lavaan's order, each in its own module: syntax -> parameter table -> sample statistics ->
start values -> matrices -> estimation -> standard errors -> test -> fit measures.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import special
from scipy import stats as st

from . import fit_measures as fm
from .engine import bootstrap, bootstrap_groups, dwls, fiml, ls, multigroup, ordinal, robust
from .engine.constraints import fit_constrained, has_general_constraints
from .engine.defined import evaluate_expression
from .engine.estimate import (
    MLState,
    Parameters,
    free_positions,
    group_parameters,
    minimise,
    start_values,
    unsupported_constraints,
    well_conditioned,
)
from .engine.fitted import FittedModel
from .engine.lisrel import MODEL_OPERATORS, Representation, represent
from .engine.sample_stats import SampleStats, complete_values, moments
from .engine.standardized import standardize_rows
from .errors import IasemError
from .resources import resource_path
from .results import PARAM_COLUMNS, SEMResult
from .syntax import Formula, parse_model, partable, variable_roles

ESTIMATORS = ("ML", "MLR", "GLS", "ULS", "WLSMV")
MISSING = ("listwise", "fiml")
SE = ("standard", "robust", "bootstrap", "none")
CI = ("percentile", "bca")
# Estimators implemented for one group of complete data only (so far).
SINGLE_GROUP_COMPLETE = ("GLS", "ULS")
# lavaan's default number of bootstrap draws when se = "bootstrap" is asked without a number.
DEFAULT_DRAWS = 1000
# A bootstrap refit starts at the estimates and stops once its steps are below 1e-4: the draws then lie within
# about 3e-4 standard errors of the exact optimum (PolDem), far below the draws' Monte Carlo error, for a third
# fewer iterations.
BOOTSTRAP_TOLERANCES = {"tol": 1e-9, "gtol": 1e-5, "xtol": 1e-4}


@dataclass(frozen=True)
class FitOptions:
    """The options of one fit, checked at the boundary (:func:`check_options`)."""

    estimator: str = "ML"
    missing: str = "listwise"
    ordered: bool | tuple[str, ...] = ()
    group: str | None = None
    group_equal: tuple[str, ...] = ()
    std_lv: bool = False
    se: str = "standard"
    bootstrap: int = 0
    ci: str = "percentile"
    level: float = 0.95
    seed: int | None = None


def fit(
    model: str | Path,
    data: pd.DataFrame,
    *,
    estimator: str = "ML",
    missing: str = "listwise",
    ordered: bool | list[str] | None = None,
    group: str | None = None,
    group_equal: tuple[str, ...] | list[str] = (),
    se: str | None = None,
    bootstrap: int = 0,
    ci: str = "percentile",
    level: float = 0.95,
    seed: int | None = None,
    std_lv: bool = False,
) -> SEMResult:
    """Fit a structural equation model written in lavaan syntax.

    Parameters
    ----------
    model : str or Path
        lavaan model syntax, a path to a ``.lav`` file, or the name of a model shipped in ``models/``.
    data : DataFrame
        One row per respondent; the model's observed variables as numeric columns.
    estimator : {"ML", "MLR", "WLSMV", "GLS", "ULS"}
        ``"ML"``: maximum likelihood with the biased sample covariance and expected information, as lavaan's
        default. ``"MLR"``: the ML estimates with Huber-White (sandwich) standard errors and the Yuan-Bentler
        scaled chi-square, as lavaan's, with groups and with FIML too (see :mod:`iasem.engine.robust`).
        ``"WLSMV"``: for ordered data, diagonally weighted least squares on thresholds and polychoric
        correlations, robust standard errors and the scaled-shifted test, with groups too (see
        :mod:`iasem.engine.dwls`); as in lavaan, ``ordered`` data switch the default ML to WLSMV.
        ``"GLS"`` / ``"ULS"``: generalised / unweighted least squares on the unbiased sample covariance, as
        lavaan's (single group, complete data, no exogenous observed covariates; see :mod:`iasem.engine.ls`).
    missing : {"listwise", "fiml"}
        ``"listwise"``: rows with a missing value in a model variable are dropped. ``"fiml"``: full-information
        maximum likelihood over every row with at least one observed model variable, with intercepts (a
        meanstructure) and standard errors from the observed information, as lavaan's ``missing = "fiml"``
        (with groups, and with fixed exogenous covariates: rows missing a covariate are dropped and said).
    ordered : list of str or True, optional
        The ordered (Likert) columns, or True for all the model's observed variables: each gets thresholds
        and its correlations are polychoric (lavaan's ``ordered =``).
    group : str, optional
        A column of ``data`` naming each row's group: the model is fitted in every group at once (lavaan's
        ``group =``), with intercepts, groups in order of first appearance. The ``group`` column of
        ``params`` numbers them from 1.
    group_equal : sequence of str
        lavaan's ``group.equal``: kinds of parameters held equal across groups ("loadings", "intercepts",
        "means", "regressions", "residuals", "residual.covariances", "lv.variances", "lv.covariances",
        "thresholds"; for ordered data thresholds and intercepts go together, as in lavaan).
    se : {"standard", "robust", "bootstrap", "none"}, optional
        The standard errors; by default those of the estimator (robust for MLR and WLSMV, bootstrap when
        ``bootstrap`` draws are asked for). ``"robust"`` with ML gives lavaan's ``robust.sem`` on complete data
        and MLR's sandwich under FIML.
    bootstrap : int
        Number of bootstrap draws (rows resampled with replacement, each draw refitted): standard errors
        are the draws' standard deviations and ``ci.lower``/``ci.upper`` bootstrap intervals, for the
        ``:=`` rows too. Draws that fail to converge are dropped and reported in ``warnings``.
    ci : {"percentile", "bca"}
        The bootstrap interval: lavaan's percentile interval, or the bias-corrected and accelerated one with
        the acceleration from the jackknife (Efron, 1987).
    level : float
        Confidence level of the intervals ``ci.lower`` and ``ci.upper``.
    seed : int, optional
        Seed of the bootstrap's random draws.
    std_lv : bool
        Identify factors by fixing their variances to 1 instead of their first loadings.

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
    options = check_options(
        estimator=estimator, missing=missing, ordered=ordered, group=group, group_equal=group_equal, se=se,
        bootstrap=bootstrap, ci=ci, level=level, seed=seed, std_lv=std_lv,
    )  # fmt: skip
    if not isinstance(data, pd.DataFrame):
        raise IasemError("data must be a pandas DataFrame")
    text = model_text(model)
    formulas = _parse(text)
    if options.group is not None and options.ordered:
        return _fit_ordered_groups(text, formulas, data, options)
    if options.group is not None:
        return _fit_groups(text, formulas, data, options)
    return _fit_single(text, formulas, data, options)


def check_options(*, estimator: str, missing: str, ordered, group, group_equal, se, bootstrap, ci: str,
                  level: float, seed, std_lv: bool) -> FitOptions:  # fmt: skip
    """Refuse, at the boundary and in plain words, any option or combination the engine cannot compute (yet)."""
    estimator = str(estimator).upper()
    if estimator not in ESTIMATORS:
        raise IasemError(f"estimator {estimator!r} is not available; available: {', '.join(ESTIMATORS)}")
    if missing not in MISSING:
        raise IasemError(f"missing={missing!r} is not available; available: {', '.join(MISSING)}")
    if ordered is None or ordered is False:
        ordered = ()
    elif ordered is not True:
        if isinstance(ordered, str) or not all(isinstance(v, str) for v in ordered):
            raise IasemError("ordered must be a list of column names, or True for all observed variables")
        ordered = tuple(ordered)
    if ordered and estimator == "ML":
        estimator = "WLSMV"  # as lavaan: ordered data switch the default estimator
    if ordered and estimator != "WLSMV":
        raise IasemError(f"estimator={estimator!r} cannot fit ordered variables; use estimator='WLSMV'")
    if estimator == "WLSMV" and not ordered:
        raise IasemError("estimator='WLSMV' needs ordered variables: pass ordered=[...] or ordered=True")
    if estimator in SINGLE_GROUP_COMPLETE and (group is not None or missing != "listwise"):
        raise IasemError(f"estimator={estimator!r} is available for one group of complete data only "
                         "(missing='listwise', no group=)")  # fmt: skip
    if estimator == "WLSMV" and missing != "listwise":
        raise IasemError("estimator='WLSMV' is available for complete data only (missing='listwise')")
    if group is None and group_equal:
        raise IasemError("group_equal needs group=")
    if not 0 < level < 1:
        raise IasemError(f"level must lie between 0 and 1, not {level}")
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, int | np.integer) or bootstrap < 0:
        raise IasemError(f"bootstrap must be a whole number of draws (0 for none), not {bootstrap!r}")
    if se is None:
        se = "bootstrap" if bootstrap else "robust" if estimator in ("MLR", "WLSMV") else "standard"
    if se not in SE:
        raise IasemError(f"se={se!r} is not available; available: {', '.join(SE)}")
    if bootstrap and se != "bootstrap":
        raise IasemError(f"bootstrap={bootstrap} draws give bootstrap standard errors, not se={se!r}")
    if se == "bootstrap":
        bootstrap = int(bootstrap) or DEFAULT_DRAWS
        if missing != "listwise" or ordered:
            raise IasemError("bootstrap standard errors are available for complete, continuous data only "
                             "(missing='listwise', no ordered=)")  # fmt: skip
        if estimator == "MLR":
            raise IasemError("bootstrap standard errors need estimator='ML' (MLR's estimates are ML's), as lavaan")
    if se == "robust" and estimator in ("GLS", "ULS"):
        raise IasemError(f"se='robust' is not available for estimator={estimator!r}")
    if ci not in CI:
        raise IasemError(f"ci={ci!r} is not available; available: {', '.join(CI)}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int | np.integer)):
        raise IasemError(f"seed must be a whole number, not {seed!r}")
    return FitOptions(estimator, missing, ordered, group, tuple(group_equal), bool(std_lv), se, int(bootstrap), ci,
                      float(level), None if seed is None else int(seed))  # fmt: skip


def _ordered_names(options: FitOptions, observed: list[str]) -> list[str]:
    if options.ordered is True:
        return list(observed)
    unknown = [v for v in options.ordered if v not in observed]
    if unknown:
        raise IasemError(f"ordered variable(s) {', '.join(unknown)} are not observed variables of the model")
    return list(options.ordered)


@functools.lru_cache(maxsize=64)
def _parse(text: str) -> tuple[Formula, ...]:
    """The formulas of a model text, parsed once per text (they are only read)."""
    return tuple(parse_model(text))


@dataclass(frozen=True)
class _Structure:
    """What one group's fit needs of the model text alone, built once per text and options (:func:`_structure`).
    Shared by every fit of the same text: it must not be changed (the results get a copy of the table)."""

    table: pd.DataFrame
    rep: Representation
    position: dict[int, int]
    n_free: int
    constrained: bool  # general constraints: the user's ==, <, > beyond merged labels


@functools.lru_cache(maxsize=64)
def _structure(text: str, std_lv: bool, *, meanstructure: bool,
               ordered: tuple[tuple[str, int], ...] = ()) -> _Structure:  # fmt: skip
    """The parameter table, its matrices and its free parameters for one group: continuous data (fixed.x), or
    ``ordered`` variables with their numbers of thresholds (no fixed.x, a meanstructure)."""
    formulas = _parse(text)
    roles = variable_roles(list(formulas), fixed_x=not ordered)
    if ordered:
        table = partable(list(formulas), std_lv=std_lv, ordered=dict(ordered), fixed_x=False)
    else:
        table = partable(list(formulas), std_lv=std_lv, meanstructure=meanstructure)
    rep = represent(table, roles.ov, meanstructure=meanstructure)
    position, n_free = free_positions(table)
    # Only the user's ==, <, > can be general constraints (a shared label is merged into one parameter).
    constrained = any(f.op in ("==", "<", ">") for f in formulas) and has_general_constraints(table)
    return _Structure(table, rep, position, n_free, constrained)


def _fit_single(text: str, formulas, data: pd.DataFrame, options: FitOptions) -> SEMResult:
    """The one-group path: ML (listwise or FIML), MLR, GLS, ULS or WLSMV."""
    estimator, missing = options.estimator, options.missing
    least_squares = estimator in ls.ESTIMATORS
    use_fiml = missing == "fiml"
    roles = variable_roles(formulas)
    ordered = _ordered_names(options, roles.ov)
    if ordered:
        return _fit_ordered(text, formulas, data, options, ordered)
    structure = _structure(text, options.std_lv, meanstructure=use_fiml)
    table, rep, constrained = structure.table, structure.rep, structure.constrained
    if constrained and (estimator != "ML" or use_fiml or options.se in ("robust", "bootstrap")):
        _refuse_constraints(table)
    if (estimator in (*SINGLE_GROUP_COMPLETE, "MLR") or options.se == "robust") and roles.ov_x:
        raise IasemError(f"estimator={estimator!r} with exogenous observed covariates ({', '.join(roles.ov_x)}) "
                         "is not available yet")  # fmt: skip
    incomplete = fiml.missing_data(data, roles.ov, roles.ov_x) if use_fiml else None
    complete = None if use_fiml else complete_values(data, roles.ov)  # the listwise-complete rows
    stats = incomplete.stats if incomplete else moments(complete, roles.ov)
    if least_squares:
        stats = ls.unbiased(stats)
    params = group_parameters(rep, stats, structure.position, structure.n_free)
    x0 = start_values(params, stats)
    n_eq = 0
    if constrained:
        optimum, vcov, n_eq, warnings = fit_constrained(table, rep, params, stats)
        state = optimum.state
    else:
        optimum = fiml.fit(params, incomplete, x0) if incomplete else _estimate(params, stats, x0, estimator)
        warnings = list(incomplete.warnings) if incomplete else []
        if not optimum.converged:
            warnings.append(f"the optimiser did not converge: {optimum.message}")
        state = optimum.state
        vcov, vcov_warning = _vcov(state, stats.n - 1 if least_squares else stats.n)
        warnings += vcov_warning
    robust_se = options.se == "robust"
    if incomplete and (robust_se or estimator == "MLR"):
        scaled = fiml.mlr(params, incomplete, state)  # lavaan: ML + se="robust" under FIML is MLR's sandwich
        if robust_se:
            vcov = scaled.vcov
    elif estimator == "MLR":
        df = stats.p * (stats.p + 1) / 2 - params.n_free
        scaled = robust.mlr(params, stats, state, complete - stats.mean, df, observed=robust_se)
        if robust_se:
            vcov = scaled.vcov
    elif robust_se and vcov is not None:  # lavaan: ML + se="robust" on complete data is "robust.sem"
        vcov = robust.robust_sem([params], [stats], [state], [complete], state.information, meanstructure=False)
    if options.se == "none":
        vcov = None
    estimates = _parameter_table(table, rep, params, state, vcov, stats, options.level)
    if options.se == "bootstrap":
        refit = _refitter(table, rep, params, pd.DataFrame(complete, columns=roles.ov), estimator, state.x)
        estimates, vcov, boot_warnings, draws = _bootstrap(estimates, params, refit, len(complete), options)
        warnings += boot_warnings
    warnings += _heywood(estimates)
    if incomplete:
        measures = fiml.fit_measures(state, incomplete, params.n_free)
        corrected = None
        if not incomplete.fixed_x:  # lavaan's robust CFI/RMSEA under FIML: V3 with MLR's test, else V6
            corrected = fiml.corrected_statistics(params, incomplete, state, "V3" if estimator == "MLR" else "V6")
            measures.update(robust.robust_indices(measures, corrected))
        if estimator == "MLR":
            measures.update(robust.robust_measures(measures, scaled, robust=corrected))
    elif least_squares:
        measures = ls.fit_measures(state, stats, params.n_free, estimator)
    else:
        measures = _fit_measures(state, stats, params, roles.ov_x, n_eq)
        if estimator == "MLR":
            measures.update(robust.robust_measures(measures, scaled))
    result = _result(text, estimator, stats, table, [rep], [params], state, [state], [stats], estimates, measures,
                     optimum, warnings, vcov, options)  # fmt: skip
    if options.se == "bootstrap":
        result.boot = draws
    return result


def _estimate(params: Parameters, stats: SampleStats, x0: np.ndarray, estimator: str, **tolerances: float):
    """Minimise the estimator's discrepancy function from ``x0`` (complete, continuous data)."""
    if estimator in ls.ESTIMATORS:
        return ls.fit(params, stats, x0, estimator, **tolerances)
    return minimise(params, stats, x0, **tolerances)


def _refuse_constraints(table: pd.DataFrame) -> None:
    unsupported = unsupported_constraints(table)
    if unsupported:
        raise IasemError(f"constraint(s) {'; '.join(unsupported)} cannot be imposed yet: only equalities between "
                         "two labels (a == b) are")  # fmt: skip


def _fit_ordered(text: str, formulas, data: pd.DataFrame, options: FitOptions, ordered: list[str]) -> SEMResult:
    """WLSMV for ordered variables: thresholds and polychoric correlations, then DWLS."""
    roles = variable_roles(formulas, fixed_x=False)
    continuous = [v for v in roles.ov if v not in ordered]
    if continuous:
        raise IasemError(f"WLSMV with continuous variables next to ordered ones ({', '.join(continuous)}) is not "
                         "available yet: list every observed variable in ordered=")  # fmt: skip
    stats = ordinal.wls_stats(data, roles.ov)
    n_thresholds = tuple((v, int((stats.threshold_var == k).sum())) for k, v in enumerate(stats.names))
    structure = _structure(text, options.std_lv, meanstructure=True, ordered=n_thresholds)
    table, rep = structure.table, structure.rep
    _refuse_constraints(table)
    # One group in the delta parameterization: scales fixed at 1, intercepts and latent means at 0.
    if (table.loc[table["op"].isin(["~*~", "~1"]), "free"] > 0).any():
        raise IasemError("free scale factors (~*~) or intercepts/means with ordered variables are not available yet")
    params = group_parameters(rep, stats, structure.position, structure.n_free)  # type: ignore[arg-type]
    x0 = start_values(params, stats)  # type: ignore[arg-type]
    is_tau = (rep.rows["matrix"] == "tau").to_numpy() & (params.index >= 0)
    x0[params.index[is_tau]] = stats.thresholds[rep.rows["i"].to_numpy()[is_tau]]
    mask = np.isin(roles.ov, ordered)
    optimum = dwls.fit(params, stats, x0, mask)
    warnings = [] if optimum.converged else [f"the optimiser did not converge: {optimum.message}"]
    state = optimum.state
    vcov, vcov_warning = _vcov(state, stats.n - 1)
    warnings += vcov_warning
    if options.se == "robust" and vcov is not None:
        vcov = dwls.robust_vcov(dwls.jacobian(params, state.mats, stats), stats)
    if options.se == "none":
        vcov = None
    estimates = _parameter_table(table, rep, params, state, vcov, stats, options.level)
    warnings += _heywood(estimates)
    measures = dwls.fit_measures(state, params, stats)
    return _result(text, "WLSMV", stats, table, [rep], [params], state, [state], [stats], estimates, measures,
                   optimum, warnings, vcov, options)  # fmt: skip


def _fit_ordered_groups(text: str, formulas, data: pd.DataFrame, options: FitOptions) -> SEMResult:
    """WLSMV for ordered variables in several groups (measurement invariance of Likert items): per-group
    thresholds, polychoric correlations and Gamma, then multi-group DWLS (:mod:`.engine.dwls_groups`)."""
    from .engine import dwls_groups  # imported here: the module-level imports are shared with other paths

    if any(f.op in (":=", "==", "<", ">") for f in formulas):
        raise IasemError("defined parameters and constraints (:=, ==, <, >) with groups are not available yet")
    roles = variable_roles(formulas, fixed_x=False)
    ordered = _ordered_names(options, roles.ov)
    continuous = [v for v in roles.ov if v not in ordered]
    if continuous:
        raise IasemError(f"WLSMV with continuous variables next to ordered ones ({', '.join(continuous)}) is not "
                         "available yet: list every observed variable in ordered=")  # fmt: skip
    labels, stats = dwls_groups.split_groups(data, options.group, roles.ov)  # type: ignore[arg-type]
    n_thresholds = {v: int((stats[0].threshold_var == k).sum()) for k, v in enumerate(stats[0].names)}
    group_equal = tuple(options.group_equal)
    if {"intercepts", "thresholds"} & set(group_equal):  # lavaan's options pair them for ordered data
        group_equal += tuple(kind for kind in ("intercepts", "thresholds") if kind not in group_equal)
    table = partable(formulas, std_lv=options.std_lv, ngroups=len(stats), group_equal=group_equal,
                     ordered=n_thresholds, fixed_x=False)  # fmt: skip
    position, n_free = free_positions(table)
    groups = range(1, len(stats) + 1)
    reps = [represent(table[table["group"] == g], roles.ov, meanstructure=True) for g in groups]
    params = [group_parameters(rep, s, position, n_free) for rep, s in zip(reps, stats, strict=True)]  # type: ignore[arg-type]
    masks = [np.isin(roles.ov, ordered)] * len(stats)
    optimum = dwls_groups.fit(params, stats, dwls_groups.group_start_values(params, stats), masks)
    warnings = [] if optimum.converged else [f"the optimiser did not converge: {optimum.message}"]
    state = optimum.state
    n = sum(s.n for s in stats)
    ds = dwls_groups.jacobians(params, state.groups, stats)
    # lavaan's information weights the groups by N_g / N (the discrepancy by (N_g - 1) / N), and vcov takes N - G.
    vcov, vcov_warning = _vcov(multigroup.MultiState(state.x, state.groups, state.fmin, state.gradient,
                                                     dwls_groups.information(ds, stats)), n - len(stats))  # fmt: skip
    warnings += vcov_warning
    if options.se == "robust" and vcov is not None:
        vcov = dwls_groups.robust_vcov(ds, stats)
    if options.se == "none":
        vcov = None
    # Standardised values use the latent responses' own variances, diag(Sigma*) = 1 / delta^2 (lavaan's).
    unscaled = [MLState(st.x, st.mats, st.mats.implied_cov(), st.mu, st.fmin, st.gradient, st.information)
                for st in state.groups]  # fmt: skip
    estimates = pd.concat(
        [_parameter_table(table, rep, p, st_g, vcov, s, options.level, group=g)
         for g, rep, p, st_g, s in zip(groups, reps, params, unscaled, stats, strict=True)],
        ignore_index=True,
    )  # fmt: skip
    warnings += _heywood(estimates)
    measures = dwls_groups.fit_measures(state.groups, params, stats)
    if np.isnan(measures["cfi.robust"]):
        warnings.append("cfi.robust, tli.robust and rmsea.robust are not available (NaN, as lavaan 0.6.14 gives NA): "
                        "with equal thresholds or intercepts its catML refit fails, or a polychoric correlation "
                        "matrix is not positive definite")  # fmt: skip
    names = stats[0].names
    implied = pd.concat([pd.DataFrame(st.sigma, index=names, columns=names) for st in state.groups], keys=labels)
    sample = pd.concat([pd.DataFrame(s.cor, index=names, columns=names) for s in stats], keys=labels)
    vcov_frame = None if vcov is None else pd.DataFrame(vcov)
    engine = FittedModel(table, reps, params, state.groups, stats, vcov, "WLSMV", options.missing)  # type: ignore[arg-type]
    return SEMResult(text, "WLSMV", n, estimates, measures, implied, sample, optimum.converged, optimum.iterations,
                     warnings, vcov_frame, engine)  # fmt: skip


def _result(text, estimator, stats, table, reps, params, state, states, all_stats, estimates, measures, optimum,
            warnings, vcov, options: FitOptions) -> SEMResult:  # fmt: skip
    """Wrap one fit into an :class:`SEMResult` (one group; the implied and sample moments as DataFrames)."""
    implied = pd.DataFrame(state.sigma, index=stats.names, columns=stats.names)
    sample = pd.DataFrame(stats.cov, index=stats.names, columns=stats.names)
    vcov_frame = None if vcov is None else pd.DataFrame(vcov)
    # A shallow copy: pandas copies on write, so a change to the result's table never reaches the cached one.
    engine = FittedModel(table.copy(deep=False), reps, params, states, all_stats, vcov, estimator, options.missing,
                         options)  # fmt: skip
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


def _fit_groups(text: str, formulas, data: pd.DataFrame, options: FitOptions) -> SEMResult:
    """The multi-group path (ML or MLR, listwise or FIML): one parameter table for all groups, x shared through
    equalities."""
    group, group_equal, std_lv, level = options.group, options.group_equal, options.std_lv, options.level
    if any(f.op in ("==", "<", ">") for f in formulas):
        raise IasemError("constraints (==, <, >) with groups are not available yet; shared labels (and "
                         "group_equal) hold parameters equal across groups")  # fmt: skip
    roles = variable_roles(formulas)
    estimator, robust_se = options.estimator, options.se == "robust"
    if options.se == "bootstrap" and (options.missing == "fiml" or roles.ov_x):
        raise IasemError("bootstrap standard errors with groups are available for complete data without exogenous "
                         "observed covariates (missing='listwise')")  # fmt: skip
    if options.se == "bootstrap" and options.ci == "bca":
        raise IasemError("BCa intervals with groups are not available yet (its jackknife would change a group's "
                         "size); use ci='percentile'")  # fmt: skip
    if (estimator == "MLR" or robust_se) and roles.ov_x:
        raise IasemError(f"estimator={estimator!r} (se={options.se!r}) with exogenous observed covariates "
                         f"({', '.join(roles.ov_x)}) and groups is not available yet")  # fmt: skip
    incomplete = None
    if options.missing == "fiml":
        labels, incomplete = fiml.split_groups(data, group, roles.ov, roles.ov_x)
        stats = [d.stats for d in incomplete]
    else:
        labels, stats = multigroup.split_groups(data, group, roles.ov)
    n_groups = len(labels)
    table = partable(formulas, std_lv=std_lv, ngroups=n_groups, group_equal=group_equal)
    position, n_free = free_positions(table)
    reps = [represent(table[table["group"] == g], roles.ov, meanstructure=True) for g in range(1, n_groups + 1)]
    params = [group_parameters(rep, s, position, n_free) for rep, s in zip(reps, stats, strict=True)]
    x0 = multigroup.group_start_values(params, stats)
    if incomplete:
        optimum = fiml.fit_groups(params, incomplete, x0)
    else:
        optimum = minimise(params, stats, x0, evaluator=multigroup.evaluate_groups, limit_steps=True)  # type: ignore[arg-type]
    warnings = [w for d in incomplete or [] for w in d.warnings]
    if not optimum.converged:
        warnings.append(f"the optimiser did not converge: {optimum.message}")
    state = optimum.state
    n = sum(s.n for s in stats)
    vcov, vcov_warning = _vcov(state, n)
    warnings += vcov_warning
    scaled = None
    if incomplete and (estimator == "MLR" or robust_se):
        scaled = fiml.mlr_groups(params, incomplete, state)  # lavaan: ML + se="robust" under FIML is MLR's
        if robust_se:
            vcov = scaled.vcov
    elif estimator == "MLR" or robust_se:
        values = multigroup.group_values(data, group, roles.ov)
        if estimator == "MLR":
            df = n_groups * stats[0].p * (stats[0].p + 3) / 2 - n_free
            scaled = robust.mlr_groups(params, stats, state, values, df, observed=robust_se)
            if robust_se:
                vcov = scaled.vcov
        elif vcov is not None:  # lavaan: ML + se="robust" on complete data is "robust.sem"
            vcov = robust.robust_sem(params, stats, state.groups, values, state.information, meanstructure=True)
    if options.se == "none":
        vcov = None
    parts = [
        _parameter_table(table, rep, p, st_g, vcov, s, level, group=g, defined=False)
        for g, (rep, p, st_g, s) in enumerate(zip(reps, params, state.groups, stats, strict=True), start=1)
    ]
    stacked = _StackedGroups(params, [len(part) for part in parts])
    expressions = _defined_expressions(table)
    if expressions:  # once, over every group's labelled rows (lavaan's := rows, group 0)
        parts.append(_defined_table(expressions, pd.concat(parts, ignore_index=True), stacked, state.x, vcov, level))
    estimates = pd.concat(parts, ignore_index=True)
    if options.se == "bootstrap":
        values = multigroup.group_values(data, group, roles.ov)
        labels_of_rows = estimates["label"].tolist()[: sum(stacked.sizes)]
        defined = _defined_function(expressions, labels_of_rows, stacked) if expressions else None
        refit = bootstrap_groups.refitter(table, reps, params, values, roles.ov, state.x, defined,
                                          BOOTSTRAP_TOLERANCES)  # fmt: skip
        estimates, vcov, boot_warnings, draws = _bootstrap(estimates, stacked, refit, [len(v) for v in values],
                                                           options)  # fmt: skip
        warnings += boot_warnings
    warnings += _heywood(estimates)
    corrected = None
    if incomplete:
        measures = fiml.fit_measures_groups(state, incomplete, n_free)
        if not roles.ov_x:  # lavaan's robust CFI/RMSEA under FIML: V3 with MLR's test, else V6
            version = "V3" if estimator == "MLR" else "V6"
            corrected = fiml.corrected_statistics_groups(params, incomplete, state.groups, version)
            measures.update(robust.robust_indices(measures, corrected, n_groups))
    else:
        measures = _fit_measures_groups(state, stats, n_free, roles.ov_x)
    if scaled is not None:
        measures.update(robust.robust_measures(measures, scaled, n_groups=n_groups, robust=corrected))
    names = stats[0].names
    implied = pd.concat([pd.DataFrame(st_g.sigma, index=names, columns=names) for st_g in state.groups], keys=labels)
    sample = pd.concat([pd.DataFrame(s.cov, index=names, columns=names) for s in stats], keys=labels)
    vcov_frame = None if vcov is None else pd.DataFrame(vcov)
    engine = FittedModel(table, reps, params, state.groups, stats, vcov, estimator, options.missing, options)
    result = SEMResult(text, estimator, n, estimates, measures, implied, sample, optimum.converged,
                       optimum.iterations, warnings, vcov_frame, engine)  # fmt: skip
    if options.se == "bootstrap":
        result.boot = draws
    return result


def _fit_measures_groups(state, stats: list[SampleStats], npar: int, ov_x: list[str]) -> dict[str, float]:
    """Fit measures over groups: chisq = 2 N fmin, df from G sets of means and covariances (less the k (k + 3) / 2
    fixed moments of k exogenous covariates), the baseline and the log-likelihoods summed over groups, RMSEA
    with the number of groups, SRMR (means included) weighted by N_g / N."""
    n = sum(s.n for s in stats)
    p, k = stats[0].p, len(ov_x)
    baselines = [_baseline(s, ov_x) for s in stats]
    x = [stats[0].names.index(v) for v in ov_x] or None
    return fm.standard_measures(
        fmin=state.fmin,
        n=n,
        df=len(stats) * (p * (p + 1) / 2 + p - k * (k + 3) / 2) - npar,
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
    if not well_conditioned(information) or np.any(np.diag(vcov) < 0):
        return vcov, ["the information matrix is near-singular: the model may not be identified"]
    return vcov, []


def _parameter_table(table, rep, params: Parameters, state: MLState, vcov, stats, level: float,
                     group: int = 1, defined: bool = True) -> pd.DataFrame:  # fmt: skip
    """lavaan's parameterEstimates for one group's model rows, and (``defined``) the ``:=`` rows after them."""
    # Read from the matrices, not x: some fixed rows take computed values (ordered residual variances).
    values = _matrix_values(rep, state.mats)
    se_free = np.sqrt(np.clip(np.diag(vcov), 0, None)) if vcov is not None else np.full(params.n_free, np.nan)
    se_rows = np.where(params.index >= 0, se_free[np.maximum(params.index, 0)], 0.0)
    # The table is assembled column by column (lists and arrays) and becomes a DataFrame once, at the end.
    table_op, table_group = table["op"].tolist(), table["group"].tolist()
    n_model = sum(o in MODEL_OPERATORS and g == group for o, g in zip(table_op, table_group, strict=True))
    lhs, op, rhs, label = (rep.rows[c].tolist()[:n_model] for c in ("lhs", "op", "rhs", "label"))
    est, se = values[:n_model], se_rows[:n_model]
    est_list = est.tolist()
    std_lv = standardize_rows(rep, state.mats, state.sigma, est_list, lhs, op, rhs, observed_too=False)
    std_all = standardize_rows(rep, state.mats, state.sigma, est_list, lhs, op, rhs, observed_too=True)
    groups = [group] * n_model
    expressions = _defined_expressions(table) if defined else []
    if expressions:
        d = _defined_rows(expressions, label, est_list, std_lv.tolist(), std_all.tolist(), params, state.x, vcov)
        lhs, op, rhs, label = lhs + d["lhs"], op + d["op"], rhs + d["rhs"], label + d["label"]
        groups += [0] * len(d["lhs"])
        est, se = np.concatenate([est, d["est"]]), np.concatenate([se, d["se"]])
        std_lv, std_all = np.concatenate([std_lv, d["std.lv"]]), np.concatenate([std_all, d["std.all"]])
    return _with_tests(_columns_of(lhs, op, rhs, label, groups, est, se, std_lv, std_all), level)


def _columns_of(lhs, op, rhs, label, groups, est, se, std_lv, std_all) -> dict:
    return {"lhs": lhs, "op": op, "rhs": rhs, "label": label, "group": np.array(groups, dtype=np.int64),
            "est": np.asarray(est, dtype=float), "se": np.asarray(se, dtype=float),
            "std.lv": np.asarray(std_lv, dtype=float), "std.all": np.asarray(std_all, dtype=float)}  # fmt: skip


def _with_tests(columns: dict, level: float) -> pd.DataFrame:
    """The parameter table with z, p and the Wald interval at ``level`` from est and se."""
    est, se = columns["est"], columns["se"]
    z_crit = special.ndtri(0.5 + level / 2)  # scipy.stats.norm.ppf, by its special function
    free = se > 0
    z = np.where(free, est / np.where(free, se, np.nan), np.nan)
    with np.errstate(invalid="ignore"):
        pvalue = np.where(free, 2 * special.ndtr(-np.abs(z)), np.nan)  # 2 * scipy.stats.norm.sf(|z|)
    columns = {**columns, "z": z, "pvalue": pvalue, "ci.lower": est - z_crit * se, "ci.upper": est + z_crit * se}
    return pd.DataFrame({c: columns[c] for c in PARAM_COLUMNS})


def _defined_expressions(table: pd.DataFrame) -> list[tuple[str, str]]:
    """The (name, expression) of each ``:=`` row of the parameter table."""
    defined = table["op"] == ":="
    return list(zip(table.loc[defined, "lhs"].tolist(), table.loc[defined, "rhs"].tolist(), strict=True))


@dataclass(frozen=True)
class _StackedGroups:
    """Every group's model rows one after the other (the order of the estimates), mapped onto the joint x: what
    the ``:=`` rows and the bootstrap read, as one group's :class:`Parameters` would give it."""

    params: list[Parameters]
    sizes: list[int]

    @property
    def n_free(self) -> int:
        return self.params[0].n_free

    @property
    def index(self) -> np.ndarray:
        return np.concatenate([p.index[:n] for p, n in zip(self.params, self.sizes, strict=True)])

    def row_values(self, x: np.ndarray) -> np.ndarray:
        return np.concatenate([p.row_values(x)[:n] for p, n in zip(self.params, self.sizes, strict=True)])


def _defined_table(expressions: list[tuple[str, str]], model_rows: pd.DataFrame, stacked: _StackedGroups,
                   x: np.ndarray, vcov, level: float) -> pd.DataFrame:  # fmt: skip
    """The ``:=`` rows of a multi-group fit: labels read across all groups (a label shared by several groups
    names one parameter; its standardised value is the first group's, as lavaan's)."""
    d = _defined_rows(expressions, model_rows["label"].tolist(), model_rows["est"].tolist(),
                      model_rows["std.lv"].tolist(), model_rows["std.all"].tolist(), stacked, x, vcov)  # fmt: skip
    return _with_tests(_columns_of(d["lhs"], d["op"], d["rhs"], d["label"], [0] * len(expressions), d["est"],
                                  d["se"], d["std.lv"], d["std.all"]), level)  # fmt: skip


def _matrix_values(rep, mats) -> np.ndarray:
    """The value of every model row as it stands in the matrices."""
    matrices = {"lambda": mats.lam, "theta": mats.theta, "psi": mats.psi, "beta": mats.beta, "nu": mats.nu,
                "alpha": mats.alpha, "tau": mats.tau, "delta": mats.delta}  # fmt: skip
    values = np.empty(len(rep.rows))
    for name, (k, i, j) in rep.locations.items():
        if len(k):
            values[k] = matrices[name][i, j]
    return values


def _defined_function(expressions: list[tuple[str, str]], labels: list[str], params: Parameters):
    """x -> the values of the ``:=`` rows (``expressions``: their (name, expression)), each expression evaluated on
    the labelled model rows (``labels``: the label of every model row, "" for none). ``values.reads`` holds the
    elements of x the expressions can read."""
    positions = [k for k, lab in enumerate(labels) if lab != ""]
    names = [labels[k] for k in positions]
    positions = np.array(positions, dtype=int)

    def values(x: np.ndarray) -> np.ndarray:
        row_values = params.row_values(x)[positions]
        env = dict(zip(names, row_values, strict=True))
        out = []
        for name, expression in expressions:  # a defined parameter may use those defined before it
            env[name] = evaluate_expression(expression, env)
            out.append(env[name])
        return np.array(out)

    index = params.index[positions]
    values.reads = np.unique(index[index >= 0])  # type: ignore[attr-defined]
    return values


def _defined_rows(expressions: list[tuple[str, str]], labels: list[str], est: list[float], std_lv: list[float],
                  std_all: list[float], params: Parameters, x: np.ndarray, vcov) -> dict[str, list]:  # fmt: skip
    """Values by the expression, standard errors by the delta method with a central-difference Jacobian; the
    columns of the ``:=`` rows ((name, expression) pairs), given the model rows' labels, estimates and
    standardised values."""
    values = _defined_function(expressions, labels, params)
    est_defined = values(x)
    jac = np.zeros((len(expressions), params.n_free))
    # Columns of x no expression reads have a zero difference quotient: their zeros are left as they are.
    for k in values.reads:
        h = 1e-6 * max(1.0, abs(x[k]))
        up, down = x.copy(), x.copy()
        up[k] += h
        down[k] -= h
        jac[:, k] = (values(up) - values(down)) / (2 * h)
    if vcov is not None:
        se = np.sqrt(np.clip(np.einsum("dk,kl,dl->d", jac, vcov, jac), 0.0, None))
    else:
        se = np.full(len(expressions), np.nan)
    # A label shared by several rows names the first one (as lavaan).
    first = {}
    for lab, v_lv, v_all in zip(labels, std_lv, std_all, strict=True):
        if lab != "" and lab not in first:
            first[lab] = (v_lv, v_all)
    env_lv = {lab: np.float64(v[0]) for lab, v in first.items()}
    env_all = {lab: np.float64(v[1]) for lab, v in first.items()}
    lhs = [name for name, _ in expressions]
    out: dict[str, list] = {"lhs": lhs, "op": [":="] * len(lhs), "rhs": [e for _, e in expressions], "label": lhs,
                            "est": est_defined, "se": se, "std.lv": [], "std.all": []}  # fmt: skip
    for name, expression in expressions:
        for column, env in (("std.lv", env_lv), ("std.all", env_all)):
            env[name] = evaluate_expression(expression, env)
            out[column].append(env[name])
    return out


def _refitter(table: pd.DataFrame, rep, params: Parameters, complete: pd.DataFrame, estimator: str,
              x_hat: np.ndarray):  # fmt: skip
    """rows -> the free parameters and ``:=`` values refitted on those rows of the complete data (None when the
    refit fails), starting from the estimates: one bootstrap or jackknife replicate."""
    from .engine import batched  # local: only the bootstrap refits need it

    values = complete.to_numpy(dtype=float)
    names = list(complete.columns)
    labels = rep.rows["label"].iloc[: int(table["op"].isin(MODEL_OPERATORS).sum())].tolist()
    defined = table[table["op"] == ":="]
    expressions = list(zip(defined["lhs"].tolist(), defined["rhs"].tolist(), strict=True))
    defined_values = _defined_function(expressions, labels, params) if expressions else None
    position, _ = free_positions(table)
    fixed_x = bool(((table["exo"] == 1) & (table["free"] == 0)).any())

    def refit(rows: np.ndarray) -> np.ndarray | None:
        sample = values[rows]
        mean = sample.mean(axis=0)
        centred = sample - mean
        stats = SampleStats(names, len(rows), centred.T @ centred / len(rows), mean)
        if estimator in ls.ESTIMATORS:
            stats = ls.unbiased(stats)
        try:
            # Fixed exogenous covariates take each sample's own moments; otherwise the mapping is the same.
            boot_params = group_parameters(rep, stats, position, params.n_free) if fixed_x else params
            optimum = _estimate(boot_params, stats, x_hat, estimator, **BOOTSTRAP_TOLERANCES)
        except (np.linalg.LinAlgError, ValueError, FloatingPointError):
            return None
        if not optimum.converged:
            return None
        x = optimum.state.x
        return x if defined_values is None else np.concatenate([x, defined_values(x)])

    def refit_batch(indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # All resamples at once by batched Fisher scoring, the same iterations as refit's (engine/batched.py).
        cov, mean = batched.sample_moments(values, indices, unbiased=estimator in ls.ESTIMATORS)
        fixed = batched.fixed_values(params, names, cov, mean) if fixed_x else None
        fitted = batched.minimise(params, cov, x_hat, estimator, fixed=fixed, **BOOTSTRAP_TOLERANCES)
        x = fitted.x
        if defined_values is not None:
            extra = np.full((len(x), len(defined)), np.nan)
            for b in np.flatnonzero(~fitted.failed):
                extra[b] = defined_values(x[b])
            x = np.hstack([x, extra])
        return x, fitted.failed

    # Complete-data ML, GLS and ULS refits run batched (bootstrap.draw_batched and jackknife_batched).
    refit.batch = refit_batch if batched.ENABLED and batched.supported(params, estimator) else None
    return refit


def _bootstrap(estimates: pd.DataFrame, params: Parameters | _StackedGroups, refit, n_rows: int | list[int],
               options: FitOptions) -> tuple[pd.DataFrame, np.ndarray, list[str], pd.DataFrame]:  # fmt: skip
    """Replace the standard errors and intervals of the free and ``:=`` rows by bootstrap ones (lavaan's
    ``se = "bootstrap"``): standard deviations of the draws, and percentile or BCa intervals."""
    refit_batch = getattr(refit, "batch", None)
    if refit_batch is not None:
        result = bootstrap.draw_batched(n_rows, options.bootstrap, refit_batch, options.seed)
    else:
        result = bootstrap.draw(n_rows, options.bootstrap, refit, options.seed)
    draws = result.draws
    warnings = []
    if result.failed:
        warnings.append(f"{result.failed} of {options.bootstrap} bootstrap draws failed to converge and were dropped")
    free_rows = np.flatnonzero(params.index[: len(estimates)] >= 0)
    free_rows = free_rows[estimates.loc[free_rows, "op"].to_numpy() != ":="]
    defined_rows = np.flatnonzero(estimates["op"].to_numpy() == ":=")
    columns = np.concatenate([params.index[free_rows], params.n_free + np.arange(len(defined_rows))])
    rows = np.concatenate([free_rows, defined_rows])
    point = estimates.loc[rows, "est"].to_numpy(dtype=float)
    picked = draws[:, columns]
    if options.ci == "bca":
        if refit_batch is not None:
            jack = bootstrap.jackknife_batched(n_rows, refit_batch)[:, columns]
        else:
            jack = bootstrap.jackknife(n_rows, refit)[:, columns]
        lower, upper = bootstrap.bca_interval(picked, point, jack, options.level)
    else:
        lower, upper = bootstrap.percentile_interval(picked, options.level)
    # lavaan's divisors: B for the free parameters (times sqrt(N / (N - 1)) for the estimators that scale by
    # N - 1), B - 1 for the := rows.
    scale = np.sqrt(n_rows / (n_rows - 1)) if options.estimator in ls.ESTIMATORS else 1.0
    n_model = len(free_rows)
    se = np.concatenate([scale * bootstrap.se(picked[:, :n_model], ddof=0), bootstrap.se(picked[:, n_model:], ddof=1)])
    out = estimates.copy()
    out.loc[rows, "se"] = se
    out.loc[rows, "ci.lower"] = lower
    out.loc[rows, "ci.upper"] = upper
    free = out["se"] > 0
    out["z"] = np.where(free, out["est"] / out["se"].where(free), np.nan)
    out["pvalue"] = np.where(free, 2 * st.norm.sf(np.abs(out["z"])), np.nan)
    vcov = scale**2 * np.cov(draws[:, : params.n_free], rowvar=False, ddof=0)
    several = out["group"].max() > 1  # a row's name says its group when there are groups
    names = [r.lhs if r.op == ":=" else f"{r.lhs}{r.op}{r.rhs}" + (f".g{r.group}" if several else "")
             for r in out.loc[rows].itertuples()]  # fmt: skip
    return out, vcov, warnings, pd.DataFrame(picked, columns=names)


def _heywood(estimates: pd.DataFrame) -> list[str]:
    lhs, op, rhs, est = (estimates[c].tolist() for c in ("lhs", "op", "rhs", "est"))
    return [f"negative variance (Heywood case): {a} ~~ {b} = {v:.4f}"
            for a, o, b, v in zip(lhs, op, rhs, est, strict=True) if o == "~~" and a == b and v < 0]  # fmt: skip


def _fit_measures(state: MLState, stats: SampleStats, params: Parameters, ov_x: list[str],
                  n_equalities: int = 0) -> dict[str, float]:  # fmt: skip
    """ML's fit measures; each independent equality constraint adds a degree of freedom, and the moments of
    fixed exogenous covariates are neither data nor parameters (as lavaan)."""
    baseline_chisq, baseline_df = _baseline(stats, ov_x)
    x = [stats.names.index(v) for v in ov_x] or None
    k = len(ov_x)
    return fm.standard_measures(
        fmin=state.fmin,
        n=stats.n,
        df=stats.p * (stats.p + 1) / 2 - k * (k + 1) / 2 - params.n_free + n_equalities,
        npar=params.n_free - n_equalities,
        baseline_chisq=baseline_chisq,
        baseline_df=baseline_df,
        logl=fm.loglik_normal(stats.cov, state.sigma, stats.n, fixed_x=x),
        unrestricted_logl=fm.unrestricted_loglik(stats.cov, stats.n, fixed_x=x),
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
