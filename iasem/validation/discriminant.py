"""Discriminant validity: the heterotrait-monotrait ratio (HTMT, HTMT2, with bootstrap intervals) and the
Fornell-Larcker criterion.

Missing values
--------------
HTMT: ``missing="listwise"`` (the default, semTools::htmt's via lavCor) correlates the rows that answer every
item of every construct; ``missing="pairwise"`` uses pairwise-complete correlations (R's
``cor(use = "pairwise.complete.obs")``). Fornell-Larcker: the measurement model of :func:`iasem.reliability`
(listwise, or full-information ML with ``missing="pairwise"``). Dropped rows are reported with a
:class:`~iasem.validation.constructs.ValidationWarning`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..engine.ordinal import ordinal_data, polychoric
from ..errors import IasemError
from ..instruments.instrument import Instrument
from ..progress import progress_bar
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
from .reliability import MAX_CATEGORIES, average_variance_extracted, measurement_model

# Bootstrap draws are evaluated in batches of at most this many rows x draws x items (memory bound).
_BATCH_CELLS = 20_000_000


def htmt(
    data: pd.DataFrame,
    constructs: Mapping[str, Sequence[str]] | Instrument | str,
    *,
    htmt2: bool = False,
    absolute: bool = True,
    ordinal: bool = False,
    missing: str = "listwise",
) -> pd.DataFrame:
    """The heterotrait-monotrait ratio of correlations of every pair of constructs, as semTools::htmt.

    With r_ij the item correlations (absolute values with ``absolute=True``), HTMT of constructs A and B is

        HTMT_AB = mean_{i in A, j in B} r_ij / sqrt(mean_{i<i' in A} r_ii' * mean_{j<j' in B} r_jj')

    (Henseler, Ringle & Sarstedt, 2015): the mean heterotrait-heteromethod correlation over the geometric mean
    of the two mean monotrait-heteromethod correlations. ``htmt2=True`` replaces every arithmetic mean by a
    geometric mean (of absolute correlations), HTMT2 (Roemer, Schuberth & Henseler, 2021), which needs no
    tau-equivalence. Values near or above 0.85 (0.90 for conceptually close constructs) question the
    discriminant validity of the pair.

    Note: semTools 0.5.6's ``htmt()`` computes HTMT2 by default (its ``htmt2 = TRUE``); iasem's default is the
    original HTMT: pass ``htmt2=True`` to compare with semTools' default output.

    Parameters
    ----------
    data : DataFrame
        One row per respondent, the items as numeric columns.
    constructs : dict, Instrument or str
        ``{construct: [items]}``, an :class:`iasem.Instrument`, or lavaan ``=~`` syntax; 2 or more items each.
    htmt2 : bool
        Geometric means (HTMT2) instead of arithmetic ones.
    absolute : bool
        Average absolute correlations (semTools' default); always so for HTMT2.
    ordinal : bool
        Polychoric instead of Pearson correlations (semTools' ``ordered =``; complete rows only).
    missing : {"listwise", "pairwise"}
        The rows behind the correlations; see the module docstring.

    Returns
    -------
    DataFrame
        The symmetric constructs x constructs matrix (1 on the diagonal).

    Raises
    ------
    IasemError
        For a missing or non-numeric column, a construct with fewer than 2 items, an item without variance,
        or a construct whose items correlate negatively on average with ``absolute=False``.

    References
    ----------
    Henseler, J., Ringle, C. M., & Sarstedt, M. (2015). A new criterion for assessing discriminant validity in
    variance-based structural equation modeling. Journal of the Academy of Marketing Science, 43, 115-135.
    Roemer, E., Schuberth, F., & Henseler, J. (2021). HTMT2 - an improved criterion for assessing discriminant
    validity in structural equation modeling. Industrial Management & Data Systems, 121, 2637-2650.

    Examples
    --------
    >>> import iasem, pandas as pd
    >>> data = pd.read_csv(iasem.resources.resource_path("data") / "holzinger_swineford_1939.csv")
    >>> model = "visual =~ x1 + x2 + x3\\ntextual =~ x4 + x5 + x6\\nspeed =~ x7 + x8 + x9"
    >>> iasem.htmt(data, model).round(3)
             visual  textual  speed
    visual    1.000    0.424  0.467
    textual   0.424    1.000  0.290
    speed     0.467    0.290  1.000
    >>> iasem.htmt(data, model, htmt2=True).round(3)
             visual  textual  speed
    visual    1.000    0.384  0.387
    textual   0.384    1.000  0.280
    speed     0.387    0.280  1.000
    """
    parsed, frame = _prepare(data, constructs, missing, ordinal, "htmt")
    cor = _correlations(frame, missing, ordinal)
    return _htmt_matrix(cor, parsed, htmt2=htmt2, absolute=absolute)


def htmt_ci(
    data: pd.DataFrame,
    constructs: Mapping[str, Sequence[str]] | Instrument | str,
    *,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int | None = None,
    htmt2: bool = False,
    absolute: bool = True,
    ordinal: bool = False,
    missing: str = "listwise",
    progress: bool | None = None,
) -> pd.DataFrame:
    """HTMT (or HTMT2) of every pair of constructs with percentile bootstrap confidence intervals.

    Each of ``n_boot`` draws resamples the rows with replacement and recomputes the statistic; the interval is
    the (1 - level)/2 and (1 + level)/2 quantiles of the draws (R's default quantile, type 7). For Henseler et
    al.'s (2015) HTMT-inference test, "HTMT < 0.85 (or 0.90)" is supported when the one-sided upper bound is
    below the threshold: the upper bound of the two-sided interval at ``level=0.90`` is the one-sided 95 % one.
    Draws in which an item has no variance (possible in small samples) give no value; they are dropped and
    reported in ``n_boot``.

    Parameters
    ----------
    data, constructs, htmt2, absolute, ordinal, missing
        As :func:`htmt`. With ``ordinal=True`` every draw estimates polychoric correlations, which takes
        seconds per hundred draws.
    n_boot : int
        The number of bootstrap draws.
    level : float
        The confidence level.
    seed : int, optional
        Seed of the random draws (the same seed gives the same intervals).

    progress : bool, optional
        Show a progress bar over the draws (default: on a terminal or in a notebook).

    Returns
    -------
    DataFrame
        One row per pair of constructs, in construct order: ``construct1``, ``construct2``, ``htmt`` (or
        ``htmt2``: the estimate from all the data), ``ci.lower``, ``ci.upper``, ``n_boot`` (the draws that
        gave a value).

    Examples
    --------
    >>> import iasem, pandas as pd
    >>> data = pd.read_csv(iasem.resources.resource_path("data") / "holzinger_swineford_1939.csv")
    >>> model = "visual =~ x1 + x2 + x3\\ntextual =~ x4 + x5 + x6\\nspeed =~ x7 + x8 + x9"
    >>> table = iasem.htmt_ci(data, model, n_boot=500, seed=1)
    >>> table[["construct1", "construct2", "htmt"]].round(3)
      construct1 construct2   htmt
    0     visual    textual  0.424
    1     visual      speed  0.467
    2    textual      speed  0.290
    >>> bool((table["ci.lower"] < table["htmt"]).all() and (table["htmt"] < table["ci.upper"]).all())
    True
    """
    parsed, frame = _prepare(data, constructs, missing, ordinal, "htmt_ci")
    level = check_level(level)
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 1:
        raise IasemError(f"n_boot must be a positive whole number of draws, not {n_boot!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int | np.integer)):
        raise IasemError(f"seed must be a whole number, not {seed!r}")
    estimate = _htmt_matrix(_correlations(frame, missing, ordinal), parsed, htmt2=htmt2, absolute=absolute)
    names = list(parsed)
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]
    draws = _bootstrap(frame, parsed, pairs, int(n_boot), seed, htmt2=htmt2, absolute=absolute, ordinal=ordinal,
                       missing=missing, progress=progress)  # fmt: skip
    ok = np.isfinite(draws).all(axis=1)
    if not ok.all():
        warn(f"htmt_ci: {int((~ok).sum())} of {n_boot} bootstrap draws gave no value (an item without variance in "
             "the draw) and were dropped")  # fmt: skip
    if ok.sum() < 2:
        raise IasemError("htmt_ci: fewer than 2 bootstrap draws gave a value; the data are too few or too uniform")
    lower, upper = np.quantile(draws[ok], [(1 - level) / 2, (1 + level) / 2], axis=0)
    statistic = "htmt2" if htmt2 else "htmt"
    table = pd.DataFrame({
        "construct1": [a for a, _ in pairs],
        "construct2": [b for _, b in pairs],
        statistic: [estimate.loc[a, b] for a, b in pairs],
        "ci.lower": lower,
        "ci.upper": upper,
        "n_boot": int(ok.sum()),
    })  # fmt: skip
    table.attrs["interval"] = f"percentile bootstrap, {level:.0%}, {int(ok.sum())} draws, seed {seed}"
    return table


def fornell_larcker(
    data: pd.DataFrame,
    constructs: Mapping[str, Sequence[str]] | Instrument | str,
    *,
    missing: str = "listwise",
) -> pd.DataFrame:
    """The Fornell-Larcker table: sqrt(AVE) of each construct on the diagonal, the latent (factor)
    correlations below it.

    The criterion (Fornell & Larcker, 1981) holds for a pair of constructs when the square root of each one's
    average variance extracted exceeds their correlation: each construct shares more variance with its own
    items than with the other construct. AVE is semTools::AVE's (see :func:`iasem.reliability`) and the
    correlations are those of the measurement model (lavaan's ``lavInspect(fit, "cor.lv")``): one factor per
    construct, the factors correlated, fitted by ML with :func:`iasem.fit`.

    Parameters
    ----------
    data : DataFrame
        One row per respondent, the items as numeric columns.
    constructs : dict, Instrument or str
        ``{construct: [items]}``, an :class:`iasem.Instrument`, or lavaan ``=~`` syntax; 2 or more items each.
    missing : {"listwise", "pairwise"}
        The measurement model by complete rows, or by full-information ML.

    Returns
    -------
    DataFrame
        constructs x constructs: sqrt(AVE) on the diagonal, the factor correlations below it; the cells above
        the diagonal are empty (NaN): the table is read by rows and columns of its lower triangle, as printed
        in papers.

    Raises
    ------
    IasemError
        For a missing or non-numeric column, a construct with fewer than 2 items or an item without variance,
        and when the measurement model cannot be fitted or does not converge.

    References
    ----------
    Fornell, C., & Larcker, D. F. (1981). Evaluating structural equation models with unobservable variables
    and measurement error. Journal of Marketing Research, 18, 39-50.

    Examples
    --------
    >>> import iasem, pandas as pd
    >>> data = pd.read_csv(iasem.resources.resource_path("data") / "holzinger_swineford_1939.csv")
    >>> model = "visual =~ x1 + x2 + x3\\ntextual =~ x4 + x5 + x6\\nspeed =~ x7 + x8 + x9"
    >>> iasem.fornell_larcker(data, model).round(3)
             visual  textual  speed
    visual    0.609      NaN    NaN
    textual   0.459    0.849    NaN
    speed     0.471    0.283  0.652
    """
    parsed = as_constructs(constructs, data, min_items=2)
    missing = check_missing(missing)
    frame = item_frame(data, parsed)
    rows = frame.dropna() if missing == "listwise" else frame[frame.notna().any(axis=1)]
    messages = constant_items(rows, parsed)
    if messages:
        raise IasemError("\n".join(messages))
    if len(rows) < len(frame):
        how = "the complete rows (missing='listwise')" if missing == "listwise" else "the rows with an answer"
        warn(f"fornell_larcker: {len(frame) - len(rows)} of {len(frame)} rows are left out; the measurement model "
             f"uses {how}: {len(rows)}")  # fmt: skip
    model = measurement_model(frame, parsed, missing=missing)
    for message in model.warnings:
        warn(f"fornell_larcker: {message}")
    if model.error is not None:
        raise IasemError(f"fornell_larcker: {model.error}")
    names = list(parsed)
    table = model.cor_lv.loc[names, names].copy()
    table = table.where(np.tril(np.ones(table.shape, dtype=bool), k=-1))
    for construct, items in parsed.items():
        table.loc[construct, construct] = np.sqrt(average_variance_extracted(model, construct, items))
    table.attrs["n_cfa"] = model.n
    table.attrs["layout"] = "sqrt(AVE) on the diagonal, factor correlations below it"
    return table


# ---------------------------------------------------------------------------------------------------------------
# Internals
# ---------------------------------------------------------------------------------------------------------------
def _prepare(data, constructs, missing: str, ordinal: bool, caller: str) -> tuple[Constructs, pd.DataFrame]:
    parsed = as_constructs(constructs, data, min_items=2)
    missing = check_missing(missing)
    check_ordinal(ordinal, missing, "polychoric correlations")
    frame = item_frame(data, parsed)
    if missing == "listwise":
        complete = frame.dropna()
        if len(complete) < len(frame):
            warn(f"{caller}: {len(frame) - len(complete)} of {len(frame)} rows miss an answer to some item; the "
                 f"correlations use the {len(complete)} complete rows (missing='listwise')")  # fmt: skip
        frame = complete
    if len(frame) < 3:
        raise IasemError(f"{caller}: {len(frame)} rows with answers to every item; the correlations need at least 3")
    messages = constant_items(frame, parsed)
    if messages:
        raise IasemError("\n".join(messages))
    if ordinal:
        for construct, items in parsed.items():
            for item in items:
                if frame[item].nunique() > MAX_CATEGORIES:
                    raise IasemError(f"construct {construct!r}: item {item!r} has {frame[item].nunique()} distinct "
                                     f"answers; ordinal=True treats items as ordered categories (at most "
                                     f"{MAX_CATEGORIES})")  # fmt: skip
    return parsed, frame


def _correlations(frame: pd.DataFrame, missing: str, ordinal: bool) -> pd.DataFrame:
    if ordinal:
        poly = polychoric(ordinal_data(frame, list(frame.columns)))
        for message in poly.warnings:
            warn(f"htmt: {message}")
        return pd.DataFrame(poly.cor, index=frame.columns, columns=frame.columns)
    cor = frame.corr(min_periods=2)
    if cor.isna().to_numpy().any():
        first = cor.isna().stack()
        a, b = first[first].index[0]
        raise IasemError(f"items {a!r} and {b!r} are answered together by too few rows for a correlation "
                         "(missing='pairwise')")  # fmt: skip
    return cor


def _htmt_matrix(cor: pd.DataFrame, parsed: Constructs, *, htmt2: bool, absolute: bool) -> pd.DataFrame:
    names = list(parsed)
    r = cor.to_numpy()
    index = {item: i for i, item in enumerate(cor.columns)}
    groups = [np.array([index[item] for item in parsed[c]]) for c in names]
    values = _htmt_values(r[None, :, :], groups, htmt2=htmt2, absolute=absolute)[0]
    within = _within_means(r[None, :, :], groups, htmt2=htmt2, absolute=absolute)[0]
    bad = [f"{c} (mean r = {w:.3f})" for c, w in zip(names, within, strict=True) if not w > 0]
    if bad:
        raise IasemError(f"the items of {', '.join(bad)} do not correlate positively on average, so HTMT is not "
                         "defined: recode reverse-keyed items, or use absolute=True")  # fmt: skip
    return pd.DataFrame(values, index=names, columns=names)


def _within_means(r: np.ndarray, groups: list[np.ndarray], *, htmt2: bool, absolute: bool) -> np.ndarray:
    """(draws, constructs): the mean of the correlations among each construct's items."""
    if htmt2 or absolute:
        r = np.abs(r)
    out = np.empty((r.shape[0], len(groups)))
    for a, g in enumerate(groups):
        upper = np.triu_indices(len(g), k=1)
        block = r[:, g[:, None], g[None, :]][:, upper[0], upper[1]]
        out[:, a] = _mean(block, htmt2)
    return out


def _htmt_values(r: np.ndarray, groups: list[np.ndarray], *, htmt2: bool, absolute: bool) -> np.ndarray:
    """(draws, constructs, constructs) HTMT matrices from (draws, items, items) correlation matrices."""
    within = _within_means(r, groups, htmt2=htmt2, absolute=absolute)
    if htmt2 or absolute:
        r = np.abs(r)
    k = len(groups)
    out = np.ones((r.shape[0], k, k))
    with np.errstate(invalid="ignore", divide="ignore"):
        for a in range(k):
            for b in range(a + 1, k):
                block = r[:, groups[a][:, None], groups[b][None, :]].reshape(r.shape[0], -1)
                value = _mean(block, htmt2) / np.sqrt(within[:, a] * within[:, b])
                out[:, a, b] = out[:, b, a] = value
    return out


def _mean(block: np.ndarray, geometric: bool) -> np.ndarray:
    if geometric:
        with np.errstate(divide="ignore"):
            return np.exp(np.log(block).mean(axis=1))
    return block.mean(axis=1)


def _bootstrap(frame: pd.DataFrame, parsed: Constructs, pairs: list[tuple[str, str]], n_boot: int, seed,
               *, htmt2: bool, absolute: bool, ordinal: bool, missing: str,
               progress: bool | None = None) -> np.ndarray:  # fmt: skip
    """(n_boot, pairs) bootstrap draws of the statistic; NaN where a draw gives no value."""
    rng = np.random.default_rng(seed)
    x = frame.to_numpy()
    n, p = x.shape
    names = list(parsed)
    index = {item: i for i, item in enumerate(frame.columns)}
    groups = [np.array([index[item] for item in parsed[c]]) for c in names]
    where = [(names.index(a), names.index(b)) for a, b in pairs]
    draws = np.empty((n_boot, len(pairs)))
    if ordinal or missing == "pairwise":  # one correlation matrix per draw: seconds per hundred polychoric ones
        with progress_bar(n_boot, "HTMT bootstrap", progress) as bar:
            for d in range(n_boot):
                bar.update(1)
                sample = frame.iloc[rng.integers(0, n, n)]
                try:
                    cor = _draw_correlations(sample, missing, ordinal)
                except IasemError:
                    draws[d] = np.nan
                    continue
                values = _htmt_values(cor[None], groups, htmt2=htmt2, absolute=absolute)[0]
                draws[d] = [values[a, b] for a, b in where]
        return draws
    batch = max(1, _BATCH_CELLS // max(1, n * p))
    for start in range(0, n_boot, batch):
        size = min(batch, n_boot - start)
        sample = x[rng.integers(0, n, (size, n))]  # (size, n, p)
        centred = sample - sample.mean(axis=1, keepdims=True)
        cov = np.einsum("dni,dnj->dij", centred, centred)
        sd = np.sqrt(np.einsum("dii->di", cov))
        with np.errstate(invalid="ignore", divide="ignore"):
            cor = cov / (sd[:, :, None] * sd[:, None, :])
        values = _htmt_values(cor, groups, htmt2=htmt2, absolute=absolute)
        draws[start : start + size] = np.stack([values[:, a, b] for a, b in where], axis=1)
    return draws


def _draw_correlations(sample: pd.DataFrame, missing: str, ordinal: bool) -> np.ndarray:
    if ordinal:
        return polychoric(ordinal_data(sample, list(sample.columns))).cor
    cor = sample.corr(min_periods=2).to_numpy()
    if np.isnan(cor).any():
        raise IasemError("a correlation is not defined in this draw")
    return cor
