"""Item analysis: one row per item with its distribution and how it hangs together with its construct.

Missing values
--------------
The distribution columns (``n``, ``mean``, ``sd``, ``skewness``, ``kurtosis``, ``floor.pct``,
``ceiling.pct``) use each item's own answers (available cases); ``missing.pct`` is the share of rows without an
answer. ``r.drop`` and ``alpha.if.deleted`` depend on the construct's other items: with ``missing="listwise"``
(the default) they use the rows that answer all of the construct's items, as :func:`iasem.reliability` does
for alpha (a :class:`~iasem.validation.constructs.ValidationWarning` says how many rows that drops); with
``missing="pairwise"`` they use pairwise-complete covariances, as psych::alpha does by default.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import IasemError
from ..instruments.instrument import Instrument
from .constructs import as_constructs, check_missing, item_frame, reverse_keyed, scale_ends, warn
from .reliability import alpha_from_cov, construct_cov

SKEW_TYPES = (1, 2, 3)
NEGATIVE = "r.drop < 0: it runs against the rest of its construct (reverse-keyed?)"
NEGATIVE_REVERSED = "r.drop < 0: the instrument marks it reverse-keyed; recode it (low + high - x) first"
COLUMNS = ["construct", "n", "missing.pct", "mean", "sd", "skewness", "kurtosis", "floor.pct", "ceiling.pct",
           "r.drop", "alpha.if.deleted", "note"]  # fmt: skip


def item_analysis(
    data: pd.DataFrame,
    constructs: Mapping[str, Sequence[str]] | Instrument | str,
    *,
    missing: str = "listwise",
    scale: tuple[float, float] | Mapping[str, tuple[float, float]] | None = None,
    type: int = 2,
) -> pd.DataFrame:
    """Per item: answers, missing share, mean, SD, skewness, kurtosis, floor and ceiling shares, corrected
    item-total correlation and alpha if the item is deleted.

    With x the item's n answers, m_r = sum (x - mean)^r / n and g1 = m_3 / m_2^(3/2), g2 = m_4 / m_2^2 - 3:

    - ``sd``: the sample standard deviation (divisor n - 1);
    - ``skewness``, ``kurtosis`` (excess): ``type=2`` (the default; SPSS, SAS, Excel, pandas):
      G1 = g1 sqrt(n (n - 1)) / (n - 2), G2 = ((n + 1) g2 + 6) (n - 1) / ((n - 2)(n - 3));
      ``type=1``: g1, g2; ``type=3`` (psych::describe's and e1071's default): g1 ((n - 1) / n)^(3/2),
      (g2 + 3) (1 - 1/n)^2 - 3 (Joanes & Gill, 1998);
    - ``floor.pct`` / ``ceiling.pct``: the percentage of the item's answers at the lowest / highest point of
      the response scale (see ``scale``);
    - ``r.drop``: the corrected item-total correlation, between the item and the sum of the construct's other
      items, (1'C_i - C_ii) / sqrt(C_ii 1'C_(-i)1) from the construct's covariance matrix C (psych::alpha's
      ``r.drop``);
    - ``alpha.if.deleted``: coefficient alpha of the construct without the item (psych's ``alpha.drop``).

    Parameters
    ----------
    data : DataFrame
        One row per respondent, the items as numeric columns.
    constructs : dict, Instrument or str
        ``{construct: [items]}``, an :class:`iasem.Instrument`, or lavaan ``=~`` syntax.
    missing : {"listwise", "pairwise"}
        The rows behind ``r.drop`` and ``alpha.if.deleted``; see the module docstring.
    scale : (low, high), dict or None
        The ends of the response scale, for all items or per item ``{item: (low, high)}``. By default an
        Instrument's own scales (a 5-point agreement scale: 1 and 5); otherwise the lowest and highest answer
        given to any item of the construct.
    type : {1, 2, 3}
        The skewness and kurtosis estimator (see above).

    Returns
    -------
    DataFrame
        Indexed by item, in construct order: ``construct``, ``n``, ``missing.pct``, ``mean``, ``sd``,
        ``skewness``, ``kurtosis``, ``floor.pct``, ``ceiling.pct``, ``r.drop``, ``alpha.if.deleted``, ``note``.
        ``note`` explains every value that cannot be computed (a constant item, too few answers, a construct of
        1 or 2 items) and flags answers outside the scale and items that correlate negatively with the rest of
        their construct (reverse-keyed and not recoded?). ``attrs["missing"]`` and ``attrs["scale"]`` state
        the policies used.

    References
    ----------
    Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests. Psychometrika, 16, 297-334.
    Joanes, D. N., & Gill, C. A. (1998). Comparing measures of sample skewness and kurtosis. Journal of the Royal
    Statistical Society D, 47, 183-189.

    Examples
    --------
    >>> import iasem, pandas as pd
    >>> data = pd.read_csv(iasem.resources.resource_path("data") / "holzinger_swineford_1939.csv")
    >>> table = iasem.item_analysis(data, {"visual": ["x1", "x2", "x3"]})
    >>> table[["n", "mean", "sd", "skewness", "kurtosis", "r.drop", "alpha.if.deleted"]].round(3)
          n   mean     sd  skewness  kurtosis  r.drop  alpha.if.deleted
    x1  301  4.936  1.167    -0.257     0.355   0.449             0.507
    x2  301  6.088  1.177     0.475     0.381   0.375             0.612
    x3  301  2.250  1.131     0.387    -0.888   0.484             0.458
    """
    parsed = as_constructs(constructs, data, min_items=1)
    missing = check_missing(missing)
    if type not in SKEW_TYPES:
        raise IasemError(f"type={type!r} is not available; the skewness/kurtosis types are 1, 2 and 3")
    ends = _scale_ends(scale, constructs, parsed)
    reversed_items = reverse_keyed(constructs)
    frame = item_frame(data, parsed)
    rows = []
    for construct, items in parsed.items():
        part = frame[items]
        rest = _construct_statistics(construct, part, missing)
        observed = _construct_range(part)
        for item in items:
            notes: list[str] = []
            x = part[item].dropna().to_numpy()
            low, high = (ends or {}).get(item, observed)
            row = {"item": item, "construct": construct, "n": len(x),
                   "missing.pct": 100.0 * (1 - len(x) / len(part)) if len(part) else np.nan}  # fmt: skip
            row.update(_distribution(x, type, notes))
            row.update(_floor_ceiling(x, low, high, notes))
            stats = dict(rest[item])
            notes += [NEGATIVE_REVERSED if note == NEGATIVE and item in reversed_items else note
                      for note in stats.pop("notes")]  # fmt: skip
            row.update(stats)
            row["note"] = "; ".join(notes)
            rows.append(row)
    table = pd.DataFrame(rows).set_index("item")
    table.index.name = None
    table = table[COLUMNS]
    table.attrs["missing"] = (
        "n, mean, sd, skewness, kurtosis, floor.pct, ceiling.pct: each item's own answers; r.drop and "
        + (
            "alpha.if.deleted: the rows answering all of the construct's items (listwise)"
            if missing == "listwise"
            else "alpha.if.deleted: pairwise-complete covariances"
        )
    )
    table.attrs["scale"] = (
        "the construct's observed range (lowest and highest answer to any of its items)"
        if ends is None
        else "the response scale given (scale=) or the instrument's"
    )
    return table


def _scale_ends(scale, constructs, parsed) -> dict[str, tuple[float, float]] | None:
    items = [item for group in parsed.values() for item in group]
    if scale is None:
        known = scale_ends(constructs)
        return {item: known[item] for item in items if item in known} or None
    if isinstance(scale, Mapping):
        unknown = [item for item in items if item not in scale]
        if unknown:
            raise IasemError(f"scale has no (low, high) for item(s) {', '.join(unknown)}")
        return {item: _check_ends(scale[item], item) for item in items}
    ends = _check_ends(scale, None)
    return dict.fromkeys(items, ends)


def _check_ends(ends, item: str | None) -> tuple[float, float]:
    where = f" of item {item!r}" if item else ""
    try:
        low, high = (float(v) for v in ends)
    except (TypeError, ValueError):
        raise IasemError(f"the scale{where} must be a pair (low, high), not {ends!r}") from None
    if not low < high:
        raise IasemError(f"the scale{where} must have low < high, not {ends!r}")
    return low, high


def _construct_range(part: pd.DataFrame) -> tuple[float, float]:
    values = part.to_numpy()
    if np.isnan(values).all():
        return np.nan, np.nan
    return float(np.nanmin(values)), float(np.nanmax(values))


def _distribution(x: np.ndarray, type: int, notes: list[str]) -> dict[str, float]:
    n = len(x)
    out = {"mean": np.nan, "sd": np.nan, "skewness": np.nan, "kurtosis": np.nan}
    if n == 0:
        notes.append("no answers")
        return out
    out["mean"] = float(x.mean())
    if n < 2:
        notes.append("1 answer: no sd")
        return out
    out["sd"] = float(x.std(ddof=1))
    d = x - x.mean()
    m2 = np.mean(d**2)
    if m2 == 0:
        notes.append(f"constant (every answer is {x[0]:g}): skewness, kurtosis and r.drop are undefined")
        return out
    g1 = np.mean(d**3) / m2**1.5
    g2 = np.mean(d**4) / m2**2 - 3
    if type == 1:
        out["skewness"], out["kurtosis"] = g1, g2
    elif type == 3:
        out["skewness"], out["kurtosis"] = g1 * ((n - 1) / n) ** 1.5, (g2 + 3) * (1 - 1 / n) ** 2 - 3
    else:
        out["skewness"] = g1 * np.sqrt(n * (n - 1)) / (n - 2) if n > 2 else np.nan
        out["kurtosis"] = ((n + 1) * g2 + 6) * (n - 1) / ((n - 2) * (n - 3)) if n > 3 else np.nan
        if n <= 3:
            notes.append(f"{n} answers: type-2 {'skewness and ' if n == 2 else ''}kurtosis need{'s' * (n == 3)} more")
    out["skewness"], out["kurtosis"] = float(out["skewness"]), float(out["kurtosis"])
    return out


def _floor_ceiling(x: np.ndarray, low: float, high: float, notes: list[str]) -> dict[str, float]:
    if len(x) == 0 or np.isnan(low):
        return {"floor.pct": np.nan, "ceiling.pct": np.nan}
    outside = int(((x < low) | (x > high)).sum())
    if outside:
        notes.append(f"{outside} answer{'s' * (outside > 1)} outside the scale {low:g}-{high:g}")
    return {"floor.pct": 100.0 * np.mean(x == low), "ceiling.pct": 100.0 * np.mean(x == high)}


def _construct_statistics(construct: str, part: pd.DataFrame, missing: str) -> dict[str, dict]:
    """r.drop and alpha.if.deleted of each item of one construct, with notes for what cannot be computed."""
    items = list(part.columns)
    out = {item: {"r.drop": np.nan, "alpha.if.deleted": np.nan, "notes": []} for item in items}
    if len(items) == 1:
        out[items[0]]["notes"].append("single-item construct: no r.drop or alpha.if.deleted")
        return out
    cov, n = construct_cov(part, missing)
    if missing == "listwise" and 0 < n < len(part):
        warn(
            f"item_analysis: construct {construct!r}: r.drop and alpha.if.deleted use the {n} of {len(part)} rows "
            "that answer all of its items (missing='listwise')"
        )
    if n < 3 or np.isnan(cov).any():
        why = (
            f"only {n} rows answer all of the construct's items"
            if missing == "listwise"
            else "some pairs of the construct's items are answered together by fewer than 2 rows"
        )
        for item in items:
            out[item]["notes"].append(f"{why}: no r.drop or alpha.if.deleted")
        return out
    for i, item in enumerate(items):
        keep = [j for j in range(len(items)) if j != i]
        rest = cov[np.ix_(keep, keep)]
        denominator = cov[i, i] * rest.sum()
        if denominator > 0:
            out[item]["r.drop"] = float((cov[:, i].sum() - cov[i, i]) / np.sqrt(denominator))
            if out[item]["r.drop"] < 0:
                out[item]["notes"].append(NEGATIVE)
        elif cov[i, i] > 0:
            out[item]["notes"].append("the other items of its construct are constant: no r.drop")
        if len(keep) >= 2:
            if rest.sum() > 0:
                out[item]["alpha.if.deleted"] = alpha_from_cov(rest)
            else:
                out[item]["notes"].append("the other items have no variance: no alpha.if.deleted")
        else:
            out[item]["notes"].append("alpha.if.deleted needs a construct of 3 or more items")
    return out
