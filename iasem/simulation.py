"""Survey responses simulated from a structural equation model with known population values.

The model is lavaan syntax (or a ``.lav`` file, or a shipped model). Its population values come from the
syntax's fixed values (``0.7*item``), from ``population`` and, for everything left open, from defaults in
the standardized metric. The project's own pipeline turns them into the implied moments (parameter table ->
LISREL matrices -> ``Sigma``, ``mu``: :mod:`iasem.syntax.partable`, :mod:`iasem.engine.lisrel`); latent
responses are drawn from the multivariate normal distribution and cut into Likert categories at thresholds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as st

from .engine.lisrel import MODEL_OPERATORS, Matrices, fill, represent
from .errors import IasemError
from .resources import resource_path
from .sem import model_text
from .syntax import parse_model, partable, variable_roles

#: Defaults for parameters that neither the syntax nor ``population`` fixes.
DEFAULT_LOADING = 0.7
#: Symmetric thresholds span -2.5 .. 2.5 standard deviations of the latent response in K equal steps.
SYMMETRIC_SPAN = 2.5
#: ``thresholds="skewed"`` moves the symmetric thresholds this many standard deviations down.
SKEW_SHIFT = 0.75

Population = Mapping[str, object] | pd.DataFrame


def simulate(
    model: str | Path,
    n: int,
    *,
    seed: int | None,
    population: Population | None = None,
    scale: str | int | None = "agree5",
    thresholds: str | Sequence[float] | None = None,
    groups: Mapping[str, Mapping[object, float]] | None = None,
) -> pd.DataFrame:
    r"""Draw ``n`` survey responses from a model with population values.

    Parameters
    ----------
    model : str or Path
        lavaan syntax, a ``.lav`` file or the name of a shipped model (as :func:`iasem.fit` takes). Values
        fixed in the syntax (``0.7*trust2``) are population values.
    n : int
        The number of respondents (rows), at least 1.
    seed : int or None
        Seed of :func:`numpy.random.default_rng`; the same seed gives the same data. ``None`` draws fresh.
    population : dict or DataFrame, optional
        Population values, overriding the syntax's fixed values. A dict keyed ``"lhs op rhs"`` (``"trust =~
        trust2"``, ``"trust ~ rsa"``, ``"rsa ~~ ksr"``, ``"trust ~1"``) or by a parameter label of the syntax
        (``"a1"``); a key that is a group label of ``groups`` holds a dict of that group's own values, which
        override the others in that group. Or a parameter table with columns ``lhs, op, rhs, est`` (and
        ``group``), such as a fitted ``SEMResult.params``: its group g gives the values of the g-th group.
    scale : str, int or None
        The response scale: the id of an ordered (likert or rating) scale of ``survey_instruments/scales.yaml``
        (``"agree5"`` gives 1..5, ``"agree7"`` 1..7, ``"grade10"`` 1..10), a number of categories K (values
        1..K), or ``None`` for the continuous latent responses.
    thresholds : "symmetric", "skewed" or a list of K - 1 increasing numbers, optional
        Where the latent response, in standard units, is cut into categories (default ``"symmetric"``).
    groups : dict, optional
        ``{column: {label: share}}``: a background variable with these shares (summing to 1), e.g.
        ``{"atype": {"public_private": 0.35, "public_ngo": 0.3, ...}}``; the groups get
        ``round(share * n)`` respondents (largest remainders), in random order.

    Returns
    -------
    DataFrame
        One row per respondent: the group column (if any), then one column per observed variable of the model,
        named as in the model (the instrument's item codes for the shipped models). ``attrs["population"]``
        holds the complete population parameter table (``lhs, op, rhs, group, value``, defaults filled in)
        and ``attrs["thresholds"]`` the thresholds in standard units.

    Notes
    -----
    **Defaults** (the standardized metric): loadings 0.7; regressions, covariances, intercepts and latent
    means 0; variance 1 for exogenous latent and observed variables; and every residual variance (of a
    dependent latent variable and of an item) is chosen so that the variable's total variance is 1,

    .. math:: \psi_{ii} = 1 - [(I - B)^{-1} \Psi (I - B)^{-\top}]_{ii}^{\text{explained}},\qquad
              \theta_{jj} = 1 - [\Lambda \Phi \Lambda^\top]_{jj},

    where :math:`\Phi` is the latent covariance. A dependent variable's residual is found by iterating
    :math:`\psi_{ii} \leftarrow \psi_{ii} + 1 - \Phi_{ii}`, exact after one pass per level of a recursive
    model. With these defaults a loading is the item's correlation with its factor and a regression is a
    standardized (``std.all``) coefficient, so the values read as those of published standardized solutions.

    **Draws.** With :math:`\Sigma = \Lambda (I - B)^{-1} \Psi (I - B)^{-\top} \Lambda^\top + \Theta` and
    :math:`\mu = \nu + \Lambda (I - B)^{-1} \alpha` from :class:`iasem.engine.lisrel.Matrices`, the latent
    responses are :math:`y^* = \mu + L z` with :math:`\Sigma = L L^\top` (Cholesky) and
    :math:`z \sim N(0, I)` from ``Generator.standard_normal``. The Cholesky factor, unlike numpy's SVD-based
    ``multivariate_normal``, is unique, so a seed gives the same data on every platform.

    **Categories.** Item j's response is category k + 1 (the scale's k + 1-th value) when
    :math:`c_{j,k} < y^*_j \le c_{j,k+1}`, with cut points :math:`c_{j,k} = \mu_j + \sigma_j \tau_k` in the
    item's population mean and standard deviation of the first group (lavaan's delta parameterization: the
    thresholds are z-values, and group differences in means and variances shift the categories). The
    symmetric thresholds divide -2.5..2.5 into K equal steps, :math:`\tau_k = -2.5 + 5k/K`, k = 1..K-1: equally
    spaced, as the equally spaced anchors of a Likert scale, with most answers in the middle as for a normal
    latent response, and enough in the end categories (6.7 % each for K = 5, 3.7 % for K = 7) that
    polychoric correlations are estimable at survey sample sizes. For K = 5 they are -1.5, -0.5, 0.5, 1.5,
    proportions .067, .242, .383, .242, .067. Equal-probability thresholds (:math:`\Phi^{-1}(k/K)`) would give a
    flat distribution that agreement items seldom show. ``"skewed"`` moves them 0.75 down: answers pile up
    on the agreement side (K = 5: .012, .094, .295, .372, .227), as satisfaction and alliance-evaluation items
    usually do; the design mirrors the symmetric and asymmetric conditions of simulation studies of ordinal
    CFA (Rhemtulla, Brosseau-Liard & Savalei, 2012).

    **Groups.** Every group has the same model; a group's own values (``population[label]``) change only
    that group, and its defaults are filled in for that group (so its latent responses again have variance 1
    unless variances are given).

    References
    ----------
    Bollen, K. A. (1989). *Structural equations with latent variables*. Wiley (the LISREL model).
    Rhemtulla, M., Brosseau-Liard, P. E., & Savalei, V. (2012). When can categorical variables be treated as
    continuous? *Psychological Methods*, 17(3), 354-373.

    Examples
    --------
    >>> data = simulate("trust =~ 0.8*trust1 + 0.7*trust2 + 0.6*trust3", n=4, seed=1)
    >>> print(data.to_string(index=False))
     trust1  trust2  trust3
          3       2       4
          3       3       4
          3       3       3
          4       3       3
    >>> continuous = simulate("trust =~ trust1 + trust2 + trust3", n=20000, seed=1, scale=None)
    >>> round(float(continuous.corr().loc["trust1", "trust2"]), 2)   # 0.7 * 0.7
    0.49
    """
    design = design_of(model, population=population, scale=scale, thresholds=thresholds, groups=groups)
    return design.draw(n, np.random.default_rng(seed))


@dataclass(frozen=True)
class Design:
    """What :func:`simulate` draws from: the population moments of every group and the categories.

    Attributes
    ----------
    names : list of str
        The observed variables (columns), in the model's order.
    moments : list of (mu, sigma, factor)
        Per group: the implied means and covariance matrix of the latent responses and its Cholesky factor.
    labels : list
        The group labels (``[None]`` without groups); ``column`` their column and ``shares`` their shares.
    tau : numpy.ndarray or None
        The thresholds in standard units (None: continuous responses); ``values`` the scale's values.
    population : DataFrame
        The population parameter table (``lhs, op, rhs, group, value``).
    """

    names: list[str]
    moments: list[tuple[np.ndarray, np.ndarray, np.ndarray]]
    labels: list
    column: str | None
    shares: dict | None
    tau: np.ndarray | None
    values: list[int] | None
    population: pd.DataFrame

    @property
    def cuts(self) -> np.ndarray | None:
        """(p, K - 1) cut points of the latent responses: the thresholds in the first group's item means and
        standard deviations."""
        if self.tau is None:
            return None
        mu0, sigma0, _ = self.moments[0]
        return mu0[:, None] + np.sqrt(np.diag(sigma0))[:, None] * self.tau[None, :]

    def draw(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        """``n`` responses drawn with ``rng``, as :func:`simulate` returns them."""
        values, assignment = self.draw_values(n, rng)
        out = pd.DataFrame(values, columns=self.names)
        if self.column is not None:
            out.insert(0, self.column, pd.Series(np.asarray(self.labels, dtype=object)[assignment]))
        out.attrs["population"] = self.population
        out.attrs["thresholds"] = None if self.tau is None else [float(t) for t in self.tau]
        return out

    def draw_values(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """The responses of :meth:`draw` as an (n, p) array, and each row's group number."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise IasemError(f"n must be a whole number of at least 1, not {n!r}")
        if self.shares and min(_counts(self.shares, n)) < 1:
            raise IasemError(f"with n={n} a group of {self.column!r} gets no respondents; raise n or the share")
        counts = _counts(self.shares, n) if self.shares else [n]
        assignment = rng.permutation(np.repeat(np.arange(len(self.labels)), counts))
        latent = np.empty((n, len(self.names)))
        for g, (mu, _, factor) in enumerate(self.moments):
            rows_g = np.flatnonzero(assignment == g)
            latent[rows_g] = mu + rng.standard_normal((len(rows_g), len(mu))) @ factor.T
        return self.categorize(latent), assignment

    def categorize(self, latent: np.ndarray) -> np.ndarray:
        """Latent responses (..., p) -> the scale's values (unchanged when the responses are continuous)."""
        cuts = self.cuts
        if cuts is None:
            return latent
        index = (latent[..., None] > cuts).sum(axis=-1)
        return np.asarray(self.values)[index]


def design_of(
    model: str | Path,
    *,
    population: Population | None = None,
    scale: str | int | None = "agree5",
    thresholds: str | Sequence[float] | None = None,
    groups: Mapping[str, Mapping[object, float]] | None = None,
) -> Design:
    """The :class:`Design` that :func:`simulate` draws from (the arguments are those of :func:`simulate`)."""
    text = model_text(model)
    formulas = parse_model(text)
    roles = variable_roles(formulas)
    table = partable(formulas, std_lv=True, meanstructure=True)
    rep = represent(table, roles.ov, meanstructure=True)
    column, shares = _check_groups(groups)
    labels = list(shares) if shares else [None]
    per_group = _population_values(population, rep.rows, labels)
    tau = _thresholds(scale, thresholds)
    moments, populations = [], []
    for label, given in zip(labels, per_group, strict=True):
        values, mats = _solve(rep, given, label)
        sigma, mu = mats.implied_cov(), mats.implied_mean()
        try:
            factor = np.linalg.cholesky(sigma)
        except np.linalg.LinAlgError:
            smallest = float(np.linalg.eigvalsh(sigma).min())
            where = f" of group {label!r}" if label is not None else ""
            raise IasemError(f"the implied covariance matrix{where} is not positive definite (smallest "
                             f"eigenvalue {smallest:.3g}): check the population values, e.g. for a "
                             "correlation above 1") from None  # fmt: skip
        moments.append((mu, sigma, factor))
        named = rep.rows["lhs"].notna().to_numpy()
        rows = rep.rows.loc[named, ["lhs", "op", "rhs"]].reset_index(drop=True)
        rows["group"] = 1 if label is None else label
        rows["value"] = values[named]
        populations.append(rows)
    return Design(
        names=list(roles.ov),
        moments=moments,
        labels=labels,
        column=column,
        shares=shares,
        tau=tau,
        values=None if tau is None else _scale_values(scale),
        population=pd.concat(populations, ignore_index=True),
    )


def _solve(rep, given: dict[int, float], label) -> tuple[np.ndarray, Matrices]:
    """Every model row's population value: given, else the default; residual variances solved for unit
    total variance."""
    rows = rep.rows
    values = np.full(len(rows), np.nan)
    user_fixed = (rows["user"] == 1) & (rows["free"] == 0) & rows["ustart"].notna()
    values[user_fixed.to_numpy()] = rows.loc[user_fixed, "ustart"].to_numpy(dtype=float)
    promoted = rows["lhs"].isna()  # represent's loading of 1 for an observed variable in a regression
    values[promoted.to_numpy()] = 1.0
    for k, value in given.items():
        values[k] = value
    op = rows["op"].to_numpy()
    variance = (op == "~~") & (rows["lhs"] == rows["rhs"]).to_numpy()
    open_ = np.isnan(values)
    values[open_ & (op == "=~")] = DEFAULT_LOADING
    values[open_ & ~variance & (op != "=~")] = 0.0
    solve = open_ & variance
    mats = fill(rep, np.where(solve, 0.0, values))
    where = f" in group {label!r}" if label is not None else ""
    k, i, _ = rep.locations["psi"]
    unknown_psi = [(kk, ii) for kk, ii in zip(k, i, strict=True) if solve[kk]]
    if unknown_psi:
        idx = np.array([ii for _, ii in unknown_psi])
        for _ in range(len(rep.lv) + 1):
            mats.psi[idx, idx] += 1.0 - np.diag(mats.latent_cov())[idx]
        if np.abs(np.diag(mats.latent_cov())[idx] - 1.0).max() > 1e-9:
            raise IasemError(f"the default residual variances{where} cannot be found (a non-recursive model?): "
                             "give the variances in population")  # fmt: skip
        for kk, ii in unknown_psi:
            if mats.psi[ii, ii] <= 0:
                raise IasemError(f"the regressions of {rep.lv[ii]}{where} explain {1 - mats.psi[ii, ii]:.3g} "
                                 "of its unit variance: its residual variance would not be positive; lower "
                                 "the regression coefficients or the covariances of its predictors")  # fmt: skip
            values[kk] = mats.psi[ii, ii]
    k, i, _ = rep.locations["theta"]
    common = np.diag(mats.lam @ mats.latent_cov() @ mats.lam.T)
    for kk, ii in zip(k, i, strict=True):
        if solve[kk]:
            residual = 1.0 - common[ii]
            if residual <= 0:
                raise IasemError(
                    f"the loadings of {rep.ov[ii]}{where} explain {common[ii]:.3g} of its unit "
                    "variance: its residual variance would not be positive; lower the loadings"
                )
            values[kk] = residual
            mats.theta[ii, ii] = residual
    return values, mats


def _key(text: str) -> str:
    return re.sub(r"\s+", "", str(text))


def _population_values(population: Population | None, rows: pd.DataFrame, labels: list) -> list[dict[int, float]]:
    """The given values of each group as {model row: value}."""
    lookup: dict[str, list[int]] = {}
    for k, r in rows.iterrows():
        if pd.isna(r["lhs"]):
            continue
        lookup.setdefault(_key(f"{r['lhs']}{r['op']}{r['rhs']}"), []).append(k)
        if r["op"] == "~~" and r["lhs"] != r["rhs"]:
            lookup.setdefault(_key(f"{r['rhs']}~~{r['lhs']}"), []).append(k)
    user_labels: dict[str, list[int]] = {}
    for k, label in rows["label"].items():
        if isinstance(label, str) and label and not label.startswith(".p"):
            user_labels.setdefault(label, []).append(k)

    def resolve(values: Mapping[str, object], where: str) -> dict[int, float]:
        out: dict[int, float] = {}
        for key, value in values.items():
            targets = lookup.get(_key(key)) or user_labels.get(str(key))
            if not targets:
                examples = ", ".join(repr(k) for k in list(lookup)[:3])
                raise IasemError(f"population key {key!r}{where} is not a parameter of the model (keys are "
                                 f"'lhs op rhs' or labels, e.g. {examples})")  # fmt: skip
            try:
                number = float(value)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise IasemError(f"population value of {key!r}{where} is not a number: {value!r}") from None
            if not np.isfinite(number):
                raise IasemError(f"population value of {key!r}{where} is not finite: {value!r}")
            out.update(dict.fromkeys(targets, number))
        return out

    if population is None:
        return [{} for _ in labels]
    if isinstance(population, pd.DataFrame):
        missing = {"lhs", "op", "rhs", "est"} - set(population.columns)
        if missing:
            raise IasemError(f"a population table needs the columns lhs, op, rhs, est (missing "
                             f"{', '.join(sorted(missing))})")  # fmt: skip
        table = population[population["op"].isin([op for op in MODEL_OPERATORS if op not in ("|", "~*~")])]
        group = table["group"] if "group" in table.columns else pd.Series(1, index=table.index)
        numbers = sorted(set(group.dropna().astype(int)))
        if len(numbers) > len(labels):
            raise IasemError(f"the population table has {len(numbers)} groups and groups= gives {len(labels)}")
        out = []
        for g in range(len(labels)):
            pick = table[group == (numbers[g] if g < len(numbers) else numbers[0])]
            keys = {f"{r.lhs} {r.op} {'' if pd.isna(r.rhs) else r.rhs}": r.est for r in pick.itertuples()}
            out.append(resolve(keys, ""))
        return out
    if not isinstance(population, Mapping):
        raise IasemError(f"population must be a dict or a parameter table, not {type(population).__name__}")
    shared = {k: v for k, v in population.items() if not isinstance(v, Mapping)}
    nested = {k: v for k, v in population.items() if isinstance(v, Mapping)}
    unknown = [k for k in nested if k not in labels]
    if unknown:
        raise IasemError(
            f"population has values for group(s) {', '.join(map(repr, unknown))}, which groups= "
            f"does not name ({', '.join(map(repr, [x for x in labels if x is not None])) or 'none'})"
        )
    base = resolve(shared, "")
    return [{**base, **resolve(nested.get(label, {}), f" (group {label!r})")} for label in labels]


def _check_groups(groups) -> tuple[str | None, dict | None]:
    if groups is None:
        return None, None
    if not isinstance(groups, Mapping) or len(groups) != 1:
        raise IasemError("groups must be one {column: {label: share}} entry")
    ((column, shares),) = groups.items()
    if not isinstance(shares, Mapping) or len(shares) < 1:
        raise IasemError(f"groups[{column!r}] must map each group label to its share")
    values = np.array([float(v) for v in shares.values()])
    if (values <= 0).any() or abs(values.sum() - 1.0) > 1e-6:
        raise IasemError(f"the shares of groups[{column!r}] must be positive and sum to 1 (they sum to "
                         f"{values.sum():.4g})")  # fmt: skip
    return str(column), dict(shares)


def _counts(shares: dict, n: int) -> list[int]:
    """round(share * n) per group by largest remainders, so the counts sum to n."""
    exact = np.array(list(shares.values()), dtype=float) * n
    counts = np.floor(exact).astype(int)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: n - counts.sum()]] += 1
    return [int(c) for c in counts]


def _scales():
    from .instruments.bank import validate_model
    from .instruments.schema import ScalesFile
    from .instruments.yamlsource import load_yaml

    path = resource_path("survey_instruments") / "scales.yaml"
    return validate_model(ScalesFile, load_yaml(path, "survey_instruments/scales.yaml")).scales


def ordered_scales() -> dict[str, list[int]]:
    """The option values of every ordered (likert or rating) scale of ``survey_instruments/scales.yaml``.

    >>> ordered_scales()["agree5"]
    [1, 2, 3, 4, 5]
    """
    return {k: [o.value for o in s.options] for k, s in _scales().items() if s.is_ordered}


def _scale_values(scale: str | int) -> list[int]:
    if isinstance(scale, (int, np.integer)) and not isinstance(scale, bool):
        if scale < 2:
            raise IasemError(f"scale needs at least 2 categories, not {scale}")
        return list(range(1, int(scale) + 1))
    scales = _scales()
    known = {k: [o.value for o in s.options] for k, s in scales.items() if s.is_ordered}
    if scale in scales and scale not in known:
        raise IasemError(f"scale {scale!r} is a {scales[scale].type} scale; simulate needs an ordered one "
                         f"({', '.join(known)}) or a number of categories")  # fmt: skip
    if scale not in known:
        raise IasemError(
            f"unknown scale {scale!r}: use an ordered scale of survey_instruments/scales.yaml "
            f"({', '.join(known)}), a number of categories, or None for continuous responses"
        )
    return known[scale]  # type: ignore[index]


def _thresholds(scale, thresholds) -> np.ndarray | None:
    """The thresholds in standard units (K - 1 of them), or None for continuous responses."""
    if scale is None:
        if thresholds is not None:
            raise IasemError("thresholds need a categorical scale (scale=None gives continuous responses)")
        return None
    k = len(_scale_values(scale))
    if thresholds is None or (isinstance(thresholds, str) and thresholds in ("symmetric", "skewed")):
        tau = -SYMMETRIC_SPAN + 2 * SYMMETRIC_SPAN * np.arange(1, k) / k
        return tau - SKEW_SHIFT if thresholds == "skewed" else tau
    if isinstance(thresholds, str):
        raise IasemError(f"thresholds {thresholds!r} is not available: use 'symmetric', 'skewed' or a list of "
                         f"{k - 1} increasing numbers")  # fmt: skip
    tau = np.asarray(thresholds, dtype=float).ravel()
    if len(tau) != k - 1 or not np.isfinite(tau).all() or (np.diff(tau) <= 0).any():
        raise IasemError(f"thresholds must be {k - 1} increasing finite numbers for a {k}-category scale, "
                         f"not {list(thresholds)}")  # fmt: skip
    return tau


def category_proportions(thresholds: Sequence[float]) -> np.ndarray:
    r"""The expected share of each category for standard-normal latent responses:
    :math:`\Phi(\tau_{k}) - \Phi(\tau_{k-1})` with :math:`\tau_0 = -\infty`, :math:`\tau_K = \infty`.

    >>> category_proportions([-1.5, -0.5, 0.5, 1.5]).round(3)
    array([0.067, 0.242, 0.383, 0.242, 0.067])
    """
    edges = np.concatenate([[-np.inf], np.asarray(thresholds, dtype=float), [np.inf]])
    return np.diff(st.norm.cdf(edges))


def load_population(path: str | Path) -> dict:
    """Read a population file for :func:`simulate`: a parameter table (``.csv`` with ``lhs, op, rhs, est``,
    such as ``iasem fit``'s params.csv), or YAML with ``population:`` (values as for ``simulate``) and
    optionally ``groups:``. Returns the keyword arguments ``population`` and ``groups``."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise IasemError(f"{path}: no such population file")
    if path.suffix.lower() == ".csv":
        try:
            return {"population": pd.read_csv(path), "groups": None}
        except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise IasemError(f"{path}: cannot read the population table ({exc})") from None
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise IasemError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(content, dict) or set(content) - {"population", "groups"}:
        raise IasemError(f"{path}: a population file holds 'population:' and optionally 'groups:'")
    return {"population": content.get("population") or {}, "groups": content.get("groups")}
