"""Reliability of each construct: coefficient alpha with its confidence interval, and omega, composite
reliability and the average variance extracted from the measurement model (a CFA with one factor per
construct), as psych::alpha and semTools::compRelSEM / AVE compute them.

Missing values
--------------
``missing="listwise"`` (the default): alpha of a construct uses the rows that answer all of *its* items (``n``);
the measurement model uses the rows that answer every item of every construct (``n_cfa``).
``missing="pairwise"``: alpha uses pairwise-complete covariances (psych::alpha's default, ``use = "pairwise"``),
and ``n`` counts the rows that answer at least one of the construct's items; the measurement model is fitted by
full-information ML (``iasem.fit(missing="fiml")``, lavaan's ``missing = "ml"``), whose EM covariance matrix is
the "sample covariance" of omega and AVE (as semTools reads ``lavInspect(fit, "sampstat")``).
Rows that are dropped are reported with a :class:`~iasem.validation.constructs.ValidationWarning`, and the
policy is stored in ``DataFrame.attrs["missing"]``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats as st
from scipy.special import ndtr

from ..engine.ordinal import bivariate_normal_cdf
from ..errors import IasemError
from ..instruments.instrument import Instrument
from ..sem import fit as sem_fit
from .constructs import (
    Constructs,
    as_constructs,
    check_level,
    check_missing,
    check_ordinal,
    constant_items,
    item_frame,
    warn,
)

CI_METHODS = ("feldt", "duhachek")
# ordinal=True refuses items with more distinct answers than this: they are hardly ordered categories.
MAX_CATEGORIES = 15


# ---------------------------------------------------------------------------------------------------------------
# Coefficient alpha
# ---------------------------------------------------------------------------------------------------------------
def alpha_from_cov(cov: np.ndarray) -> float:
    """Cronbach's alpha of the items with covariance matrix ``cov``: k / (k - 1) (1 - tr(C) / 1'C1)."""
    k = cov.shape[0]
    return float(k / (k - 1) * (1.0 - np.trace(cov) / cov.sum()))


def construct_cov(frame: pd.DataFrame, missing: str) -> tuple[np.ndarray, int]:
    """The covariance matrix (divisor n - 1) of one construct's items and the number of rows behind it:
    the complete rows (listwise), or pairwise-complete covariances and the rows with at least one answer."""
    if missing == "listwise":
        complete = frame.dropna()
        if len(complete) < 2:
            return np.full((frame.shape[1],) * 2, np.nan), len(complete)
        return complete.cov().to_numpy(), len(complete)
    return frame.cov(min_periods=2).to_numpy(), int(frame.notna().any(axis=1).sum())


def alpha_interval(alpha: float, n: int, k: int, cov: np.ndarray, method: str, level: float) -> tuple[float, float]:
    """The confidence interval of alpha: Feldt's F interval or Duhachek & Iacobucci's normal one."""
    if method == "feldt":
        df1, df2 = n - 1, (n - 1) * (k - 1)
        p = 1.0 - level
        return (1 - (1 - alpha) * st.f.ppf(1 - p / 2, df1, df2), 1 - (1 - alpha) * st.f.ppf(p / 2, df1, df2))
    ase = alpha_standard_error(cov, n)
    z = st.norm.ppf(0.5 + level / 2)
    return alpha - z * ase, alpha + z * ase


def alpha_standard_error(cov: np.ndarray, n: int) -> float:
    """The asymptotic standard error of alpha (van Zyl, Neudecker & Nel, 2000; Duhachek & Iacobucci, 2004):
    sqrt(Q / n), Q = 2 k^2 / ((k - 1)^2 (1'C1)^3) [1'C1 (tr(C^2) + tr(C)^2) - 2 tr(C) 1'C^2 1]."""
    k = cov.shape[0]
    total, trace = cov.sum(), np.trace(cov)
    cov2 = cov @ cov
    q = 2 * k**2 / ((k - 1) ** 2 * total**3) * (total * (np.trace(cov2) + trace**2) - 2 * trace * cov2.sum())
    return float(np.sqrt(q / n))


def cronbach_alpha(
    data: pd.DataFrame,
    constructs: Mapping[str, Sequence[str]] | Instrument | str,
    *,
    missing: str = "listwise",
    ci: str = "feldt",
    level: float = 0.95,
) -> pd.DataFrame:
    """Coefficient alpha of each construct, with a confidence interval.

    alpha = k / (k - 1) * (1 - sum_i var(x_i) / var(sum_i x_i))  (Cronbach, 1951), from the covariance
    matrix C of the construct's k items: k / (k - 1) * (1 - tr(C) / 1'C1).

    The interval is, with ``ci="feldt"`` (the one psych::alpha stores, ``alpha.ci``), Feldt's (1965):
    [1 - (1 - alpha) F(1 - p/2; n - 1, (n - 1)(k - 1)),  1 - (1 - alpha) F(p/2; n - 1, (n - 1)(k - 1))],
    p = 1 - level; with ``ci="duhachek"``, alpha -/+ z * ASE with the distribution-free asymptotic standard error
    of van Zyl, Neudecker & Nel (2000) (Duhachek & Iacobucci, 2004; psych prints it as "Duhachek" with
    z = 1.96, iasem uses the exact normal quantile).

    Parameters
    ----------
    data : DataFrame
        One row per respondent, the items as numeric columns.
    constructs : dict, Instrument or str
        ``{construct: [items]}``, an :class:`iasem.Instrument`, or lavaan ``=~`` syntax; at least 2 items each.
    missing : {"listwise", "pairwise"}
        Rows complete on the construct's items, or pairwise-complete covariances (psych's default); see the
        module docstring.
    ci : {"feldt", "duhachek"}
        The confidence interval.
    level : float
        Its confidence level.

    Returns
    -------
    DataFrame
        Indexed by construct: ``n_items``, ``n`` (the rows used), ``alpha``, ``alpha.ci.lower``,
        ``alpha.ci.upper``.

    References
    ----------
    Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests. Psychometrika, 16, 297-334.
    Feldt, L. S. (1965). The approximate sampling distribution of Kuder-Richardson reliability coefficient
    twenty. Psychometrika, 30, 357-370.
    Duhachek, A., & Iacobucci, D. (2004). Alpha's standard error (ASE): an accurate and precise confidence
    interval estimate. Journal of Applied Psychology, 89, 792-808.

    Examples
    --------
    >>> import iasem, pandas as pd
    >>> data = pd.read_csv(iasem.resources.resource_path("data") / "holzinger_swineford_1939.csv")
    >>> print(iasem.cronbach_alpha(data, {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"]}).round(3))
             n_items    n  alpha  alpha.ci.lower  alpha.ci.upper
    visual         3  301  0.626           0.547           0.694
    textual        3  301  0.883           0.858           0.904
    """
    parsed = as_constructs(constructs, data, min_items=2)
    missing, level = check_missing(missing), check_level(level)
    if ci not in CI_METHODS:
        raise IasemError(f"ci={ci!r} is not available; available: {', '.join(CI_METHODS)}")
    frame = item_frame(data, parsed)
    return _alpha_table(frame, parsed, missing, ci, level, "cronbach_alpha")


def _alpha_table(frame: pd.DataFrame, parsed: Constructs, missing: str, ci: str, level: float, caller: str):
    rows = []
    for construct, items in parsed.items():
        part = frame[items]
        _refuse_constant(part, construct, items, missing)
        cov, n = construct_cov(part, missing)
        if n < 3 or np.isnan(cov).any():
            raise IasemError(_too_few_rows(construct, items, part, missing))
        _report_dropped(caller, construct, part, n, missing)
        alpha = alpha_from_cov(cov)
        lower, upper = alpha_interval(alpha, n, len(items), cov, ci, level)
        rows.append({"construct": construct, "n_items": len(items), "n": n, "alpha": alpha,
                     "alpha.ci.lower": lower, "alpha.ci.upper": upper})  # fmt: skip
    table = pd.DataFrame(rows).set_index("construct")
    table.index.name = None
    table.attrs["missing"] = _policy(missing)
    table.attrs["ci"] = f"{ci} ({level:.0%})"
    return table


def _refuse_constant(part: pd.DataFrame, construct: str, items: list[str], missing: str) -> None:
    rows = part.dropna() if missing == "listwise" else part
    messages = constant_items(rows, {construct: items})
    if messages:
        raise IasemError("\n".join(messages))


def _too_few_rows(construct: str, items: list[str], part: pd.DataFrame, missing: str) -> str:
    answered = ", ".join(f"{item} {int(part[item].notna().sum())}" for item in items)
    if missing == "listwise":
        return (
            f"construct {construct!r}: only {len(part.dropna())} rows answer all of its items (answers per item: "
            f"{answered}); alpha needs at least 3; try missing='pairwise'"
        )
    return (
        f"construct {construct!r}: some pairs of its items are answered together by fewer than 2 rows (answers "
        f"per item: {answered}); the pairwise covariances are not defined"
    )


def _report_dropped(caller: str, construct: str, part: pd.DataFrame, n: int, missing: str) -> None:
    if missing == "listwise" and n < len(part):
        warn(
            f"{caller}: construct {construct!r}: {len(part) - n} of {len(part)} rows have missing answers; "
            f"alpha uses the {n} complete rows (missing='listwise')"
        )


def _policy(missing: str) -> str:
    if missing == "listwise":
        return (
            "listwise: alpha uses the rows that answer all of the construct's items (n); the measurement model "
            "the rows that answer every item (n_cfa)"
        )
    return (
        "pairwise: alpha uses pairwise-complete covariances (n: rows answering at least one of the construct's "
        "items); the measurement model is fitted by full-information ML (n_cfa: rows answering at least one item)"
    )


# ---------------------------------------------------------------------------------------------------------------
# The measurement model
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class Measurement:
    """What the reliability and discriminant-validity statistics read from the fitted measurement model (one
    factor per construct, the factors correlated), in the user's names.

    ``loadings`` / ``std_loadings`` / ``std_residuals``: per construct, its items' unstandardized loadings,
    standardized loadings and standardized residual variances (std.all); ``phi``: the factor covariance matrix;
    ``cor_lv``: the factor correlations; ``sample_cov``: the covariance matrix the model was fitted to (for an
    ordinal fit: the polychoric correlations); ``thresholds`` / ``scales``: per ordered item (ordinal fits).
    ``error`` says why the model could not be used (then the numbers are empty).
    """

    n: int
    loadings: dict[str, np.ndarray] = field(default_factory=dict)
    std_loadings: dict[str, np.ndarray] = field(default_factory=dict)
    std_residuals: dict[str, np.ndarray] = field(default_factory=dict)
    phi: pd.DataFrame | None = None
    cor_lv: pd.DataFrame | None = None
    sample_cov: pd.DataFrame | None = None
    thresholds: dict[str, np.ndarray] = field(default_factory=dict)
    scales: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None


def measurement_model(frame: pd.DataFrame, parsed: Constructs, *, missing: str, ordinal: bool = False) -> Measurement:
    """Fit the measurement model of ``parsed`` to ``frame`` with iasem.fit: ML (listwise, or FIML with
    ``missing="pairwise"``), or WLSMV on ordered items with ``ordinal=True``.

    Constructs and items are renamed (f1, f2, ...; v1, v2, ...) for the fit, so any column name works.
    """
    factor = {construct: f"f{i}" for i, construct in enumerate(parsed, start=1)}
    items = [item for group in parsed.values() for item in group]
    variable = {item: f"v{i}" for i, item in enumerate(items, start=1)}
    if len(parsed) == 1 and len(items) < 3:
        return Measurement(
            n=0,
            error=f"a one-factor model of {len(items)} items is not identified (it needs 3 items, or a second "
            "construct to correlate with)",
        )
    syntax = "\n".join(f"{factor[c]} =~ {' + '.join(variable[i] for i in group)}" for c, group in parsed.items())
    renamed = frame[items].rename(columns=variable)
    user_names = {**{f: c for c, f in factor.items()}, **{v: i for i, v in variable.items()}}

    def in_user_names(text: str) -> str:
        return re.sub(r"\b[fv]\d+\b", lambda m: user_names.get(m.group(0), m.group(0)), text)

    try:
        if ordinal:
            result = sem_fit(syntax, renamed, ordered=True)
        else:
            result = sem_fit(syntax, renamed, missing="fiml" if missing == "pairwise" else "listwise")
    except IasemError as error:
        return Measurement(n=0, error=f"the model could not be fitted: {in_user_names(str(error))}")
    params = result.params
    notes = [f"the measurement model ({result.estimator}, n = {result.nobs}): {in_user_names(w)}"
             for w in result.warnings]  # fmt: skip
    stats = getattr(result.engine, "stats", None) or []
    notes += [f"the polychoric correlations: {in_user_names(w)}" for s in stats for w in getattr(s, "warnings", [])]
    if not result.converged:
        return Measurement(n=result.nobs, warnings=notes, error="the measurement model did not converge")
    # Read everything in the fit's own names (a construct may share its name with an item), then rename.
    out = Measurement(n=result.nobs, warnings=notes)
    load = params[params["op"] == "=~"]
    variances = params[(params["op"] == "~~") & (params["lhs"] == params["rhs"])].set_index("lhs")
    for construct, group in parsed.items():
        own = [variable[item] for item in group]
        rows = load[load["lhs"] == factor[construct]].set_index("rhs").loc[own]
        out.loadings[construct] = rows["est"].to_numpy()
        out.std_loadings[construct] = rows["std.all"].to_numpy()
        out.std_residuals[construct] = variances.loc[own, "std.all"].to_numpy()
    names = list(parsed)
    phi = pd.DataFrame(np.nan, index=names, columns=names)
    cor = phi.copy()
    name_of = {f: c for c, f in factor.items()}
    lv = params[(params["op"] == "~~") & params["lhs"].isin(name_of) & params["rhs"].isin(name_of)]
    for row in lv.to_dict("records"):
        a, b = name_of[row["lhs"]], name_of[row["rhs"]]
        phi.loc[a, b] = phi.loc[b, a] = row["est"]
        cor.loc[a, b] = cor.loc[b, a] = row["std.all"]
    out.phi, out.cor_lv = phi, cor
    item_of = {v: i for i, v in variable.items()}
    out.sample_cov = result.sample_cov.rename(index=item_of, columns=item_of)
    if ordinal:
        tau = params[params["op"] == "|"]
        scale_rows = params[params["op"] == "~*~"].set_index("lhs")["est"]
        for item in items:
            out.thresholds[item] = tau.loc[tau["lhs"] == variable[item], "est"].to_numpy()
            out.scales[item] = float(scale_rows.get(variable[item], 1.0))
    return out


def omega(m: Measurement, construct: str, items: list[str]) -> float:
    """compRelSEM's omega: 1' L phi L' 1 / 1' S 1 over the construct's items, S the sample covariance."""
    lam = m.loadings[construct]
    return float(lam.sum() ** 2 * m.phi.loc[construct, construct] / m.sample_cov.loc[items, items].to_numpy().sum())


def composite_reliability(m: Measurement, construct: str) -> float:
    """(sum of standardized loadings)^2 / ((sum of standardized loadings)^2 + sum of standardized residual
    variances)."""
    common = m.std_loadings[construct].sum() ** 2
    return float(common / (common + m.std_residuals[construct].sum()))


def average_variance_extracted(m: Measurement, construct: str, items: list[str]) -> float:
    """semTools' AVE: phi * sum of squared loadings / sum of the items' sample variances."""
    lam = m.loadings[construct]
    variances = np.diag(m.sample_cov.loc[items, items].to_numpy())
    return float(m.phi.loc[construct, construct] * np.sum(lam**2) / variances.sum())


def _ordinal_coefficients(m: Measurement, construct: str, items: list[str]) -> dict[str, float]:
    """Ordinal alpha, omega on the latent-response scale and the categorical omega (Green & Yang, 2009)."""
    scales = np.array([m.scales[i] for i in items])
    total = m.sample_cov.loc[items, items].to_numpy() / np.outer(scales, scales)
    lam = m.loadings[construct]
    common = np.outer(lam, lam) * m.phi.loc[construct, construct]
    k = len(items)
    return {
        "alpha.ordinal": alpha_from_cov(total) if k > 1 else np.nan,
        "omega.ordinal": float(common.sum() / total.sum()),
        "omega.categorical": _omega_categorical(common, total, [m.thresholds[i] for i in items], scales),
    }


def _omega_categorical(common: np.ndarray, total: np.ndarray, thresholds: list[np.ndarray], scales: np.ndarray):
    """Green & Yang's (2009) omega of the sum of the observed ordinal answers, as semTools' omegaCat:
    sum_jj' [sum_cc' Phi2(t_jc, t_j'c'; R_jj') - sum_c Phi(t_jc) sum_c' Phi(t_j'c')] over the same with the
    polychoric correlations in place of R = D common D (the model's common part)."""
    model = np.outer(scales, scales) * common
    sd = np.sqrt(np.diag(total))
    observed = total / np.outer(sd, sd)
    tau = [t * s for t, s in zip(thresholds, scales, strict=True)]
    numerator = denominator = 0.0
    for j in range(len(tau)):
        for jj in range(len(tau)):
            h, k = np.meshgrid(tau[j], tau[jj], indexing="ij")
            margins = ndtr(tau[j]).sum() * ndtr(tau[jj]).sum()
            numerator += bivariate_normal_cdf(h, k, model[j, jj]).sum() - margins
            denominator += bivariate_normal_cdf(h, k, observed[j, jj]).sum() - margins
    return float(numerator / denominator)


# ---------------------------------------------------------------------------------------------------------------
# reliability()
# ---------------------------------------------------------------------------------------------------------------
def reliability(
    data: pd.DataFrame,
    constructs: Mapping[str, Sequence[str]] | Instrument | str,
    *,
    ordinal: bool = False,
    missing: str = "listwise",
    ci: str = "feldt",
    level: float = 0.95,
) -> pd.DataFrame:
    """The reliability of each construct: alpha with its interval, omega, composite reliability and AVE.

    For construct c with k items, item covariance matrix S (the sample's) and, from the measurement model (a
    CFA with one factor per construct, the factors correlated, fitted by ML with :func:`iasem.fit`), loadings
    lambda, factor variance phi and standardized loadings l_i with standardized residual variances e_i:

    - ``alpha`` = k / (k - 1) (1 - tr(S) / 1'S1) (Cronbach, 1951), with Feldt's (1965) or Duhachek &
      Iacobucci's (2004) confidence interval (see :func:`cronbach_alpha`): psych::alpha's ``raw_alpha``;
    - ``omega`` = (sum lambda)^2 phi / 1'S1 (McDonald, 1999), the model's common variance of the sum score over
      its observed variance: semTools::compRelSEM(fit) (``obs.var = TRUE``);
    - ``cr`` = (sum l_i)^2 / ((sum l_i)^2 + sum e_i), the composite reliability of the standardized solution
      (Jöreskog, 1971; Fornell & Larcker, 1981);
    - ``ave`` = phi sum lambda_i^2 / sum S_ii, the average variance extracted as semTools::AVE computes it: the
      share of the items' total observed variance that the factor explains, a variance-weighted form of Fornell
      & Larcker's mean squared standardized loading (the two agree when the items have equal variances and the
      model reproduces them).

    With ``ordinal=True`` the measurement model is also fitted to the items as ordered categories (WLSMV on
    polychoric correlations, ``iasem.fit(ordered=True)``), and three columns are added, all on the polychoric
    matrix P of the construct's items and that fit's loadings:

    - ``alpha.ordinal`` = k / (k - 1) (1 - k / 1'P1), ordinal alpha (Zumbo, Gadermann & Zeisser, 2007):
      semTools::compRelSEM(fit, tau.eq = TRUE, ord.scale = FALSE);
    - ``omega.ordinal`` = (sum lambda)^2 phi / 1'P1, omega of the latent responses:
      compRelSEM(fit, ord.scale = FALSE);
    - ``omega.categorical``: Green & Yang's (2009) omega of the sum of the observed categories, from the
      thresholds and bivariate normal probabilities: compRelSEM(fit) (its default for ordered items).

    Parameters
    ----------
    data : DataFrame
        One row per respondent, the items as numeric columns (with ``ordinal=True``: category codes).
    constructs : dict, Instrument or str
        ``{construct: [items]}``, an :class:`iasem.Instrument` (its measurement model), or lavaan ``=~``
        syntax; at least 2 items per construct, each item in one construct.
    ordinal : bool
        Add ordinal alpha and the ordinal omegas (complete rows only; at most 15 categories per item).
    missing : {"listwise", "pairwise"}
        See the module docstring: ``"listwise"`` drops incomplete rows (per construct for alpha, over all items
        for the model); ``"pairwise"`` uses pairwise covariances for alpha and FIML for the model.
    ci : {"feldt", "duhachek"}
        The confidence interval of alpha.
    level : float
        Its confidence level.

    Returns
    -------
    DataFrame
        Indexed by construct: ``n_items``, ``n`` (rows behind alpha), ``alpha``, ``alpha.ci.lower``,
        ``alpha.ci.upper``, ``omega``, ``cr``, ``ave``, ``n_cfa`` (rows behind the measurement model), and with
        ``ordinal=True`` ``alpha.ordinal``, ``omega.ordinal``, ``omega.categorical``. ``attrs["missing"]``
        states the missing-data policy, ``attrs["notes"]`` anything that left a value out.

    Raises
    ------
    IasemError
        For a column that is missing or not numeric, a construct with fewer than 2 items, an item without
        variance (naming construct and item), too few complete rows.

    Warns
    -----
    ValidationWarning
        When rows are dropped for missing values, and when the measurement model cannot be fitted (a single
        construct of 2 items is not identified), does not converge or has a Heywood case; omega, cr and ave
        are then NaN and ``attrs["notes"]`` says why.

    References
    ----------
    Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests. Psychometrika, 16, 297-334.
    Feldt, L. S. (1965). The approximate sampling distribution of Kuder-Richardson reliability coefficient
    twenty. Psychometrika, 30, 357-370.
    McDonald, R. P. (1999). Test theory: a unified treatment. Mahwah, NJ: Erlbaum.
    Jöreskog, K. G. (1971). Statistical analysis of sets of congeneric tests. Psychometrika, 36, 109-133.
    Fornell, C., & Larcker, D. F. (1981). Evaluating structural equation models with unobservable variables
    and measurement error. Journal of Marketing Research, 18, 39-50.
    Zumbo, B. D., Gadermann, A. M., & Zeisser, C. (2007). Ordinal versions of coefficients alpha and theta for
    Likert rating scales. Journal of Modern Applied Statistical Methods, 6, 21-29.
    Green, S. B., & Yang, Y. (2009). Reliability of summed item scores using structural equation modeling: an
    alternative to coefficient alpha. Psychometrika, 74, 155-167.

    Examples
    --------
    >>> import iasem, pandas as pd
    >>> data = pd.read_csv(iasem.resources.resource_path("data") / "holzinger_swineford_1939.csv")
    >>> model = "visual =~ x1 + x2 + x3\\ntextual =~ x4 + x5 + x6\\nspeed =~ x7 + x8 + x9"
    >>> print(iasem.reliability(data, model).round(3).to_string())
             n_items    n  alpha  alpha.ci.lower  alpha.ci.upper  omega     cr    ave  n_cfa
    visual         3  301  0.626           0.547           0.694  0.612  0.626  0.371    301
    textual        3  301  0.883           0.858           0.904  0.885  0.885  0.721    301
    speed          3  301  0.688           0.622           0.745  0.686  0.691  0.424    301
    """
    parsed = as_constructs(constructs, data, min_items=2)
    missing, level = check_missing(missing), check_level(level)
    if ci not in CI_METHODS:
        raise IasemError(f"ci={ci!r} is not available; available: {', '.join(CI_METHODS)}")
    check_ordinal(ordinal, missing, "WLSMV of incomplete data is not available")
    frame = item_frame(data, parsed)
    table = _alpha_table(frame, parsed, missing, ci, level, "reliability")
    notes: list[str] = []
    model = _model(frame, parsed, missing, notes, ordinal=False)
    for construct, items in parsed.items():
        ok = model.error is None
        table.loc[construct, "omega"] = omega(model, construct, items) if ok else np.nan
        table.loc[construct, "cr"] = composite_reliability(model, construct) if ok else np.nan
        table.loc[construct, "ave"] = average_variance_extracted(model, construct, items) if ok else np.nan
    table["n_cfa"] = model.n
    if ordinal:
        _check_categories(frame, parsed)
        ordered = _model(frame, parsed, missing, notes, ordinal=True)
        for construct, items in parsed.items():
            values = _ordinal_coefficients(ordered, construct, items) if ordered.error is None else {}
            for column in ("alpha.ordinal", "omega.ordinal", "omega.categorical"):
                table.loc[construct, column] = values.get(column, np.nan)
    table.attrs["notes"] = notes
    return table


def _model(frame: pd.DataFrame, parsed: Constructs, missing: str, notes: list[str], *, ordinal: bool) -> Measurement:
    """The measurement model, its problems turned into warnings and notes."""
    what = "the ordinal measurement model (WLSMV)" if ordinal else "the measurement model"
    rows = frame.dropna() if (missing == "listwise" or ordinal) else frame[frame.notna().any(axis=1)]
    messages = constant_items(rows, parsed)
    if messages:
        raise IasemError("\n".join(messages))
    if missing == "listwise" and len(rows) < len(frame) and not ordinal:
        warn(
            f"reliability: {len(frame) - len(rows)} of {len(frame)} rows miss an answer to some item; {what} uses "
            f"the {len(rows)} complete rows (missing='listwise')"
        )
    model = measurement_model(frame, parsed, missing=missing, ordinal=ordinal)
    for message in model.warnings:
        warn(f"reliability: {message}")
    if model.error is not None:
        column = "the ordinal columns" if ordinal else "omega, cr and ave"
        note = f"{column} are not reported: {model.error}"
        notes.append(note)
        warn(f"reliability: {note}")
    return model


def _check_categories(frame: pd.DataFrame, parsed: Constructs) -> None:
    problems = []
    for construct, items in parsed.items():
        for item in items:
            count = frame[item].nunique()
            if count > MAX_CATEGORIES:
                problems.append(
                    f"construct {construct!r}: item {item!r} has {count} distinct answers; ordinal=True treats "
                    f"every item as ordered categories (at most {MAX_CATEGORIES})"
                )
    if problems:
        raise IasemError("\n".join(problems))
