"""Data-quality screening of survey responses: flags, never silent exclusions.

One function per indicator, each returning a tidy table, and :func:`screen`, which runs them all on a
:class:`~iasem.responses.read.ResponseSet` with the rules of :class:`ScreeningRules` (every rule with its
source). A flag only marks a respondent; :meth:`Screening.exclude` removes flagged respondents when asked,
and logs each one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy import stats as st

from ..engine.fiml import MissingData, missing_data
from ..errors import IasemError
from .log import DecisionLog

#: EM tolerance of the saturated moments behind the Mahalanobis distances and Little's test in :func:`screen`.
SCREENING_EM_TOL = 1e-8
#: The flags :func:`screen` sets, in the order of its table.
CHECKS = ("duplicate_id", "incomplete", "speeder", "straightlining", "attention", "outlier")


@dataclass(frozen=True)
class ScreeningRules:
    """The cutoffs of :func:`screen`, each with its source.

    Attributes
    ----------
    min_answered : float
        A respondent who answered less than this share of the Likert items is ``incomplete`` (default 1.0:
        any skipped item; the share itself is reported, so a lower bar can be applied later).
    seconds_per_item : float
        A ``speeder`` took less than this many seconds per answered item (default 2 s: Huang, Curran,
        Keeney, Poposki & DeShon, 2012; below 2 s an item cannot have been read).
    longstring : int or None
        ``straightlining``: this many or more identical answers in a row over the Likert items in the order
        shown (default None: half the Likert items, a conservative per-survey cutoff as Curran, 2016,
        recommends; Johnson, 2005, introduced the index).
    outlier_p : float
        A multivariate ``outlier`` has a Mahalanobis distance with chi-square p below this (default .001:
        Tabachnick & Fidell, 2013).
    """

    min_answered: float = 1.0
    seconds_per_item: float = 2.0
    longstring: int | None = None
    outlier_p: float = 0.001

    SOURCES: ClassVar[dict[str, str]] = {
        "incomplete": "share of Likert items answered below min_answered",
        "speeder": "Huang, Curran, Keeney, Poposki & DeShon (2012): under 2 s per item",
        "straightlining": "longstring index (Johnson, 2005); cutoff per survey (Curran, 2016)",
        "attention": "instructed-response item answered other than instructed (Meade & Craig, 2012)",
        "outlier": "Mahalanobis distance, chi-square p < .001 (Tabachnick & Fidell, 2013)",
        "duplicate_id": "the platform's response id appears more than once",
    }


@dataclass
class Screening:
    """The screening of a response set.

    Attributes
    ----------
    flags : DataFrame
        Per respondent: ``answered`` (share of Likert items), ``duration``, ``seconds_per_item``,
        ``longstring``, ``mahalanobis``, ``mahalanobis_df``, ``mahalanobis_p``, and one boolean column per
        check of :data:`CHECKS`; ``flagged`` is any of them.
    patterns : DataFrame
        The missing-data patterns (:func:`missing_patterns`).
    mcar : dict
        Little's MCAR test (:func:`little_mcar`) and the advice it leads to.
    rules : ScreeningRules
    log : DataFrame
        One ``flagged`` entry per respondent and check.
    """

    flags: pd.DataFrame
    patterns: pd.DataFrame
    mcar: dict
    rules: ScreeningRules
    log: pd.DataFrame = field(repr=False)

    def counts(self) -> pd.Series:
        """How many respondents each check flags."""
        return self.flags[list(CHECKS)].sum().astype(int)

    def summary(self) -> str:
        n = len(self.flags)
        lines = [f"Screening of {n} respondents (flags only; nothing is excluded unless asked)"]
        for check, count in self.counts().items():
            lines.append(f"  {check:<15} {count:>5}  ({count / max(n, 1):.1%})   {ScreeningRules.SOURCES[check]}")
        lines.append(f"  any flag        {int(self.flags['flagged'].sum()):>5}")
        lines.append(f"Missing data: {self.mcar['advice']}")
        return "\n".join(lines)


def longstring(values: pd.DataFrame) -> pd.Series:
    """The longstring index: the longest run of identical consecutive answers of each row (a missing answer
    ends a run). Johnson (2005).

    >>> longstring(pd.DataFrame({"a": [1, 3], "b": [1, 3], "c": [2, 3], "d": [2, None]})).tolist()
    [2, 3]
    """
    x = values.to_numpy(dtype=float)
    best = np.zeros(len(x), dtype=int)
    run = np.zeros(len(x), dtype=int)
    previous = np.full(len(x), np.nan)
    for column in x.T:
        same = (column == previous) & ~np.isnan(column)
        run = np.where(same, run + 1, np.where(np.isnan(column), 0, 1))
        best = np.maximum(best, run)
        previous = column
    return pd.Series(best, index=values.index, name="longstring")


def mahalanobis(values: pd.DataFrame, moments: MissingData | None = None) -> pd.DataFrame:
    r"""Squared Mahalanobis distances from the EM (maximum-likelihood) mean and covariance, over each row's
    observed variables: :math:`d_i^2 = (y_{i,o} - \hat\mu_o)' \hat\Sigma_{oo}^{-1} (y_{i,o} - \hat\mu_o)`,
    chi-square with as many degrees of freedom as observed variables under multivariate normality.

    ``moments`` (:func:`iasem.engine.fiml.missing_data` of ``values``) saves refitting them.

    Returns
    -------
    DataFrame
        ``mahalanobis`` (d^2), ``mahalanobis_df``, ``mahalanobis_p`` (upper tail); NaN for rows with nothing
        observed.
    """
    names = list(values.columns)
    frame = values.astype(float)
    out = pd.DataFrame(np.nan, index=values.index, columns=["mahalanobis", "mahalanobis_df", "mahalanobis_p"])
    seen = frame.notna().to_numpy()
    usable = seen.any(axis=1)
    if usable.sum() <= len(names):
        return out
    moments = moments or missing_data(frame[usable], names)
    x = frame.to_numpy()
    for key in np.unique(seen[usable], axis=0):
        rows = np.flatnonzero((seen == key).all(axis=1))
        o = np.flatnonzero(key)
        centred = x[np.ix_(rows, o)] - moments.h1_mean[o]
        d2 = np.einsum("ij,ij->i", centred @ np.linalg.inv(moments.h1_cov[np.ix_(o, o)]), centred)
        out.iloc[rows, 0] = d2
        out.iloc[rows, 1] = len(o)
        out.iloc[rows, 2] = st.chi2.sf(d2, len(o))
    return out


def missing_patterns(values: pd.DataFrame) -> pd.DataFrame:
    """The missing-data patterns: one row per pattern (most frequent first), 1 where a variable is observed,
    with ``n`` (respondents) and ``n_missing`` (variables missing in the pattern).

    >>> missing_patterns(pd.DataFrame({"a": [1, None, 2], "b": [1, 2, 3]})).to_dict("records")
    [{'a': 1, 'b': 1, 'n': 2, 'n_missing': 0}, {'a': 0, 'b': 1, 'n': 1, 'n_missing': 1}]
    """
    seen = values.notna().astype(int)
    table = seen.value_counts(sort=False).rename("n").reset_index()
    table["n_missing"] = (table[list(values.columns)] == 0).sum(axis=1)
    return table.sort_values(["n", "n_missing"], ascending=[False, True], kind="stable").reset_index(drop=True)


def little_mcar(values: pd.DataFrame, moments: MissingData | None = None) -> dict:
    r"""Little's (1988) test that the data are missing completely at random.

    .. math:: d^2 = \sum_j n_j (\bar y_j - \hat\mu_{o_j})' \hat\Sigma_{o_j o_j}^{-1} (\bar y_j - \hat\mu_{o_j}),
              \qquad df = \sum_j p_j - p,

    over the missing-data patterns j (n_j rows observing p_j variables, their means :math:`\bar y_j`), with
    the maximum-likelihood (EM) mean and covariance :math:`\hat\mu, \hat\Sigma` of all the data; rows with
    nothing observed are left out. Under MCAR d^2 is chi-square with df degrees of freedom. ``moments``
    (:func:`iasem.engine.fiml.missing_data` of ``values``) saves refitting them.

    Returns
    -------
    dict
        ``chi2``, ``df``, ``p``, ``n_patterns``, ``n`` (rows used); ``chi2`` and ``p`` are NaN when no value
        is missing (df = 0).

    References
    ----------
    Little, R. J. A. (1988). A test of missing completely at random for multivariate data with missing values.
    *Journal of the American Statistical Association*, 83(404), 1198-1202.
    """
    frame = values.astype(float)
    seen = frame.notna().to_numpy()
    frame = frame[seen.any(axis=1)]
    names = list(frame.columns)
    moments = moments or missing_data(frame, names)
    chi2, df = 0.0, 0
    for pattern in moments.patterns:
        o = pattern.observed
        diff = pattern.mean - moments.h1_mean[o]
        chi2 += pattern.n * float(diff @ np.linalg.solve(moments.h1_cov[np.ix_(o, o)], diff))
        df += len(o)
    df -= len(names)
    if df == 0:
        return {"chi2": np.nan, "df": 0, "p": np.nan, "n_patterns": len(moments.patterns), "n": moments.n}
    return {"chi2": chi2, "df": df, "p": float(st.chi2.sf(chi2, df)), "n_patterns": len(moments.patterns),
            "n": moments.n}  # fmt: skip


def screen(responses, rules: ScreeningRules | None = None) -> Screening:
    """Screen a :class:`~iasem.responses.read.ResponseSet`: flag duplicate ids, incomplete responses,
    speeders, straight-lining, failed attention checks and multivariate outliers, and describe the missing
    data (patterns, Little's MCAR test, and advice on listwise deletion vs FIML).

    Parameters
    ----------
    responses : ResponseSet
    rules : ScreeningRules, optional

    Returns
    -------
    Screening

    Notes
    -----
    The checks read the Likert items that have at least one answer: an item whose column the export lacks
    (logged at import) makes no respondent incomplete.
    """
    rules = rules or ScreeningRules()
    # Items whose column the export lacks (logged as missing_column at import) say nothing about respondents.
    items = [c for c in responses.items if responses.data[c].notna().any()] or responses.items
    likert = responses.data[items].astype("Float64").astype(float)
    shown = responses.answers[items].astype("Float64").astype(float)  # in the order seen, as given
    flags = pd.DataFrame(index=responses.data.index)
    answered_count = likert.notna().sum(axis=1)
    flags["answered"] = answered_count / len(items)
    flags["duration"] = responses.meta["duration"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        flags["seconds_per_item"] = flags["duration"] / answered_count.replace(0, np.nan)
    flags["longstring"] = longstring(shown).to_numpy()
    # One EM fit of the saturated moments serves the distances and Little's test.
    observed = likert[likert.notna().any(axis=1)]
    # Screening needs the moments to a few digits, not to the 1e-12 of a FIML fit; with barely more
    # respondents than items EM crawls, and 1e-8 keeps it to seconds.
    moments = missing_data(observed, items, tol=SCREENING_EM_TOL) if len(observed) > len(items) else None
    distances = mahalanobis(likert, moments)
    for column in distances.columns:  # by position: respondent ids may repeat (flagged as duplicates)
        flags[column] = distances[column].to_numpy()
    duplicated = responses.log[(responses.log["check"] == "duplicate_id")]["respondent"]
    flags["duplicate_id"] = flags.index.isin(set(duplicated))
    marked_incomplete = responses.meta["complete"].eq(False).fillna(False).to_numpy(dtype=bool)
    flags["incomplete"] = (flags["answered"] < rules.min_answered).to_numpy() | marked_incomplete
    flags["speeder"] = (flags["seconds_per_item"] < rules.seconds_per_item).fillna(False)
    cutoff = rules.longstring or max(2, -(-len(items) // 2))
    flags["straightlining"] = flags["longstring"] >= cutoff
    attention = [q for q in responses.instrument.questions if q.kind == "attention"]
    failed = pd.Series(False, index=flags.index)
    for q in attention:
        given = responses.data[q.code]
        failed |= (given.notna() & given.ne(q.expect)).fillna(False).to_numpy()
    flags["attention"] = failed
    flags["outlier"] = (flags["mahalanobis_p"] < rules.outlier_p).fillna(False)
    flags["flagged"] = flags[list(CHECKS)].any(axis=1)
    log = _log(flags, responses, rules, cutoff)
    mcar = little_mcar(likert, moments) if moments is not None else \
        {"chi2": np.nan, "df": 0, "p": np.nan, "n_patterns": 0, "n": 0}  # fmt: skip
    mcar["advice"] = (
        _advice(mcar, likert)
        if moments is not None or not likert.isna().any().any()
        else (
            f"Little's MCAR test needs more respondents with answers ({len(observed)}) than Likert items "
            f"({len(items)}); {likert.isna().any(axis=1).mean():.0%} of respondents skipped at least one item."
        )
    )
    return Screening(flags, missing_patterns(likert), mcar, rules, log)


def _log(flags: pd.DataFrame, responses, rules: ScreeningRules, cutoff: int) -> pd.DataFrame:
    log = DecisionLog()
    lines = responses.meta["line"].to_numpy()
    marked = responses.meta["complete"].eq(False).fillna(False).to_numpy(dtype=bool)
    reasons = {
        "incomplete": lambda k, r: (
            f"answered {r.answered:.0%} of the Likert items"
            + (" (the export marks the response incomplete)" if marked[k] else "")
        ),
        "speeder": lambda k, r: f"{r.seconds_per_item:.1f} s per item (< {rules.seconds_per_item:g} s)",
        "straightlining": lambda k, r: f"{r.longstring} identical answers in a row (cutoff {cutoff})",
        "attention": lambda k, r: "answered the attention check other than instructed",
        "outlier": lambda k, r: (
            f"Mahalanobis d2 = {r.mahalanobis:.1f}, df {int(r.mahalanobis_df)}, p = "
            f"{r.mahalanobis_p:.2g} (< {rules.outlier_p:g})"
        ),
    }
    for k, r in enumerate(flags.itertuples()):
        for check, reason in reasons.items():
            if getattr(r, check):
                log.add(check, "flagged", reason(k, r), row=int(lines[k]), respondent=r.Index)
    return log.table()


def _advice(mcar: dict, likert: pd.DataFrame) -> str:
    share = float(likert.isna().any(axis=1).mean()) if len(likert) else 0.0
    if mcar["df"] == 0:
        return "no Likert answer is missing: listwise deletion loses nothing."
    verdict = (f"Little's MCAR test: chi2({mcar['df']}) = {mcar['chi2']:.2f}, p = {mcar['p']:.3g}. "
               f"{share:.0%} of respondents skipped at least one item. ")  # fmt: skip
    if mcar["p"] < 0.05:
        return verdict + ("The data are not MCAR: listwise deletion can bias the estimates; use FIML "
                          "(iasem.fit(..., missing='fiml')), which is unbiased under MAR.")  # fmt: skip
    if share > 0.05:
        return verdict + ("MCAR is not rejected, but listwise deletion would drop more than 5 % of the "
                          "respondents: FIML (missing='fiml') keeps their answers and the power.")  # fmt: skip
    return verdict + "MCAR is not rejected and few respondents are incomplete: listwise deletion is defensible."


def exclude(responses, screening: Screening, checks: Sequence[str]):
    """The response set without the respondents flagged by ``checks`` (names of :data:`CHECKS`), each
    exclusion logged with its reason."""
    unknown = [c for c in checks if c not in CHECKS]
    if unknown:
        raise IasemError(f"unknown check(s) {', '.join(unknown)}; choose from {', '.join(CHECKS)}")
    drop = screening.flags[list(checks)].any(axis=1) if checks else pd.Series(False, index=screening.flags.index)
    log = DecisionLog()
    lines = responses.meta["line"].to_numpy()
    for k in np.flatnonzero(drop.to_numpy()):
        why = [c for c in checks if screening.flags[c].iloc[k]]
        log.add("exclusion", "excluded", f"excluded on request: flagged {', '.join(why)}", row=int(lines[k]),
                respondent=screening.flags.index[k])  # fmt: skip
    keep = ~drop.to_numpy()
    return replace(
        responses,
        data=responses.data[keep],
        answers=responses.answers[keep],
        raw=responses.raw[keep],
        meta=responses.meta[keep],
        log=pd.concat([responses.log, log.table()], ignore_index=True),
    )
