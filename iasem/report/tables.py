"""Result tables in APA 7 style, built from iasem's results, in English or Dutch.

Each builder takes a result (a :class:`~iasem.results.SEMResult`, a
:class:`~iasem.validation.report.MeasurementReport`, a power table, a
:class:`~iasem.responses.read.ResponseSet`) and returns a :class:`ReportTable`: a title, column headers,
formatted cells (:mod:`.apa`), alignment, a note, and the unformatted numbers (``data``) for CSV. Every output
format (Markdown, HTML, LaTeX, DOCX) renders the same ReportTable, so a number is formatted once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from ..errors import IasemError
from .apa import interval, number, p_value
from .labels import text

LANGUAGES = ("en", "nl")


@dataclass
class ReportTable:
    """One table of a report.

    Attributes
    ----------
    id : str
        A stable name (``"paths"``, ``"fit"``), used for file names and anchors.
    title : str
        The table's title (APA: italic title case, under the bold table number the renderer adds).
    columns : list of str
        Column headers.
    rows : list of list of str
        Formatted cells, one list per row.
    align : list of str
        "l" or "r" per column (numbers right-aligned).
    note : str
        The table note ("Note." is added by the renderer).
    groups : dict
        Row index -> a heading shown above that row (e.g. the construct of the next items).
    data : DataFrame
        The unformatted numbers behind the table.
    """

    id: str
    title: str
    columns: list[str]
    rows: list[list[str]]
    align: list[str]
    note: str = ""
    groups: dict[int, str] = field(default_factory=dict)
    data: pd.DataFrame | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        width = len(self.columns)
        if len(self.align) != width or any(len(row) != width for row in self.rows):
            raise ValueError(f"table {self.id}: every row and the alignment need {width} cells")

    def to_dict(self) -> dict:
        """The table without its data, as JSON-ready values (the templates' context for one table)."""
        out = asdict(self)
        out.pop("data")
        out["groups"] = {str(k): v for k, v in self.groups.items()}
        return out

    @classmethod
    def from_dict(cls, values: dict, data: pd.DataFrame | None = None) -> ReportTable:
        groups = {int(k): v for k, v in values.get("groups", {}).items()}
        return cls(
            values["id"],
            values["title"],
            list(values["columns"]),
            [list(r) for r in values["rows"]],
            list(values["align"]),
            values.get("note", ""),
            groups,
            data,
        )


def check_lang(lang: str) -> str:
    if lang not in LANGUAGES:
        raise IasemError(f"lang must be one of {', '.join(LANGUAGES)}, not {lang!r}")
    return lang


# ---- the sample -------------------------------------------------------------------------------------------


def sample_table(responses, lang: str = "en") -> ReportTable:
    """Sample and background description: each single-choice background question's categories (n, %), and
    counts and grades as M (SD) and range."""
    rows, groups, raw = [], {}, []
    n = len(responses.data)
    for q in responses.instrument.questions:
        if q.kind != "background" or q.code not in responses.data:
            continue
        column = responses.data[q.code]
        if column.isna().all():
            continue  # not asked in this export (its missing column is in the import log)
        groups[len(rows)] = q.text[lang]
        if q.scale.type == "single":
            counts = column.value_counts(dropna=False)
            for option in q.scale.options:
                k = int(counts.get(option.key, 0))
                rows.append([getattr(option, lang), str(k), number(100 * k / n if n else np.nan, 1)])
                raw.append({"question": q.code, "category": option.key, "n": k})
            missing = int(column.isna().sum())
            if missing:
                rows.append([text("missing", lang), str(missing), number(100 * missing / n, 1)])
                raw.append({"question": q.code, "category": None, "n": missing})
        elif q.scale.type in ("integer", "rating"):
            values = pd.to_numeric(column, errors="coerce").astype(float)
            m, sd = values.mean(), values.std()
            rows.append(
                [
                    f"M (SD) = {number(m)} ({number(sd)})",
                    str(int(values.notna().sum())),
                    f"{number(values.min(), 0)}-{number(values.max(), 0)}",
                ]
            )
            raw.append({"question": q.code, "category": "mean", "n": int(values.notna().sum()), "mean": m, "sd": sd})
    return ReportTable(
        "sample",
        text("sample_title", lang),
        [text("characteristic", lang), "n", "%"],
        rows,
        ["l", "r", "r"],
        text("sample_note", lang).format(n=n),
        groups,
        pd.DataFrame(raw),
    )


# ---- measurement ------------------------------------------------------------------------------------------


def item_table(measurement, lang: str = "en") -> ReportTable:
    """Item descriptives: M, SD, skewness, kurtosis, floor and ceiling %, corrected item-total r."""
    items = measurement.items
    rows, groups = [], {}
    last = None
    for code, r in items.iterrows():
        if r["construct"] != last:
            groups[len(rows)] = str(r["construct"])
            last = r["construct"]
        rows.append(
            [
                str(code),
                str(int(r["n"])),
                number(r["mean"]),
                number(r["sd"]),
                number(r["skewness"]),
                number(r["kurtosis"]),
                number(r["floor.pct"], 1),
                number(r["ceiling.pct"], 1),
                number(r["r.drop"], leading_zero=False),
            ]
        )
    columns = [
        text("item", lang),
        "n",
        "M",
        "SD",
        text("skewness", lang),
        text("kurtosis", lang),
        text("floor", lang),
        text("ceiling", lang),
        "rᵢₜ",
    ]
    return ReportTable(
        "items",
        text("items_title", lang),
        columns,
        rows,
        ["l"] + ["r"] * 8,
        text("items_note", lang),
        groups,
        items.reset_index(names="item"),
    )


def reliability_table(measurement, lang: str = "en") -> ReportTable:
    """Reliability and convergent validity per construct: alpha with its 95 % CI, omega, CR and AVE."""
    rel = measurement.reliability
    rows = [
        [
            str(c),
            str(int(r["n_items"])),
            number(r["alpha"], leading_zero=False)
            + " "
            + interval(r["alpha.ci.lower"], r["alpha.ci.upper"], leading_zero=False),
            number(r["omega"], leading_zero=False),
            number(r["cr"], leading_zero=False),
            number(r["ave"], leading_zero=False),
        ]
        for c, r in rel.iterrows()
    ]
    columns = [text("construct", lang), text("items", lang), f"α [{text('ci', lang)}]", "ω", "CR", "AVE"]
    return ReportTable(
        "reliability",
        text("reliability_title", lang),
        columns,
        rows,
        ["l", "r", "r", "r", "r", "r"],
        text("reliability_note", lang),
        {},
        rel.reset_index(names="construct"),
    )


def matrix_table(matrix: pd.DataFrame, table_id: str, lang: str = "en") -> ReportTable:
    """A lower-triangular construct matrix (HTMT, or Fornell-Larcker with sqrt(AVE) on the diagonal)."""
    names = list(matrix.columns)
    rows = []
    for i, a in enumerate(names):
        cells = [f"{i + 1}. {a}"]
        for j, _ in enumerate(names):
            value = matrix.iloc[i, j]
            cells.append(number(value, leading_zero=False) if j <= i and pd.notna(value) else "")
        rows.append(cells)
    columns = [text("construct", lang), *[str(k + 1) for k in range(len(names))]]
    return ReportTable(
        table_id,
        text(f"{table_id}_title", lang),
        columns,
        rows,
        ["l"] + ["r"] * len(names),
        text(f"{table_id}_note", lang),
        {},
        matrix.reset_index(names="construct"),
    )


def efa_table(efa, lang: str = "en", threshold: float = 0.30) -> ReportTable:
    """EFA pattern loadings with communalities; loadings below ``threshold`` in absolute value are shown in
    the data but blank in the table (APA: suppress small loadings, say so in the note)."""
    loadings = efa.loadings
    communal = getattr(efa, "communalities", None)
    rows = []
    for item, r in loadings.iterrows():
        cells = [str(item)] + [number(v, leading_zero=False) if abs(v) >= threshold else "" for v in r]
        cells.append(number(communal.loc[item, "h2"], leading_zero=False) if communal is not None else "")
        rows.append(cells)
    columns = [text("item", lang), *map(str, loadings.columns), "h²"]
    note = text("efa_note", lang).format(
        method=getattr(efa, "method", ""),
        rotation=getattr(efa, "rotation", ""),
        threshold=number(threshold, leading_zero=False),
    )
    return ReportTable(
        "efa",
        text("efa_title", lang),
        columns,
        rows,
        ["l"] + ["r"] * (len(columns) - 1),
        note,
        {},
        loadings.reset_index(names="item"),
    )


def cfa_table(result, lang: str = "en") -> ReportTable:
    """CFA loadings: unstandardised (B, SE) and standardised (beta), with p."""
    params = result.params
    loads = params[params["op"] == "=~"]
    rows, groups, last = [], {}, None
    for r in loads.to_dict("records"):
        if r["lhs"] != last:
            groups[len(rows)] = str(r["lhs"])
            last = r["lhs"]
        free = r["se"] > 0  # a marker loading is fixed: no SE, no test
        rows.append(
            [
                str(r["rhs"]),
                number(r["est"]),
                number(r["se"]) if free else "—",
                number(r["std.all"], leading_zero=False),
                p_value(r["pvalue"]) if free else "—",
            ]
        )
    columns = [text("item", lang), "B", "SE", "β", "p"]
    return ReportTable(
        "cfa",
        text("cfa_title", lang),
        columns,
        rows,
        ["l", "r", "r", "r", "r"],
        text("cfa_note", lang).format(estimator=result.estimator, n=result.nobs),
        groups,
        loads.reset_index(drop=True),
    )


FIT_INDICES = [
    ("chisq", "χ²"),
    ("df", "df"),
    ("pvalue", "p"),
    ("cfi", "CFI"),
    ("tli", "TLI"),
    ("rmsea", "RMSEA"),
    ("srmr", "SRMR"),
]


def fit_table(
    result, lang: str = "en", cutoffs=None, *, table_id: str = "fit", title: str | None = None
) -> ReportTable:
    """Fit indices with the cutoffs used and their verdicts (robust/scaled versions where the estimator has
    them, as :func:`iasem.validate` reports them)."""
    from ..validation.cutoffs import Cutoffs
    from ..validation.report import fit_verdicts

    rules = cutoffs if isinstance(cutoffs, Cutoffs) else Cutoffs(**(cutoffs or {}))
    verdicts = fit_verdicts(result, rules)
    fm = result.fit_measures
    suffix = ".robust" if "cfi.robust" in fm and np.isfinite(fm.get("cfi.robust", np.nan)) else ""
    scaled = ".scaled" if np.isfinite(fm.get("chisq.scaled", np.nan)) else ""
    rows, raw = [], []
    for key, name in FIT_INDICES:
        measure = key + (scaled if key in ("chisq", "pvalue") else suffix if key in ("cfi", "tli", "rmsea") else "")
        value = fm.get(measure, fm.get(key, np.nan))
        shown = (
            p_value(value)
            if key == "pvalue"
            else str(int(value))
            if key == "df" and np.isfinite(value)
            else number(value, 2 if key == "chisq" else 3, leading_zero=key == "chisq")
        )
        if key == "rmsea":
            low = fm.get(f"rmsea.ci.lower{suffix}", fm.get("rmsea.ci.lower", np.nan))
            high = fm.get(f"rmsea.ci.upper{suffix}", fm.get("rmsea.ci.upper", np.nan))
            shown = f"{shown} {interval(low, high, 3, leading_zero=False)}".strip()
        rule = verdicts.loc[measure] if measure in verdicts.index else None
        sign = {">=": "≥", "<=": "≤"}.get(str(rule["rule"]), str(rule["rule"])) if rule is not None else ""
        cutoff = f"{sign} {number(rule['cutoff'], 2, leading_zero=False)}" if sign and pd.notna(rule["cutoff"]) else ""
        verdict = (
            text(rule["verdict"], lang)
            if rule is not None and isinstance(rule["verdict"], str) and rule["verdict"]
            else ""
        )
        rows.append(
            [
                name
                + (" (scaled)" if scaled and key in ("chisq", "pvalue") else "")
                + (" (robust)" if suffix and key in ("cfi", "tli", "rmsea") else ""),
                shown,
                cutoff,
                verdict,
            ]
        )
        raw.append({"measure": measure, "value": value})
    columns = [text("index", lang), text("value", lang), text("cutoff", lang), text("verdict", lang)]
    note = text("fit_note", lang).format(estimator=result.estimator, n=result.nobs)
    return ReportTable(
        table_id, title or text("fit_title", lang), columns, rows, ["l", "r", "l", "l"], note, {}, pd.DataFrame(raw)
    )


# ---- structural model -------------------------------------------------------------------------------------


def paths_table(result, lang: str = "en", *, table_id: str = "paths", title: str | None = None) -> ReportTable:
    """Structural paths: unstandardised B, SE, standardised beta, p and the 95 % CI (bootstrap where the fit
    was bootstrapped)."""
    params = result.params
    paths = params[params["op"] == "~"]
    multi = paths["group"].nunique() > 1
    rows, groups, last = [], {}, None
    for r in paths.to_dict("records"):
        head = (r["group"], r["lhs"]) if multi else r["lhs"]
        if head != last:
            groups[len(rows)] = (f"{text('group', lang)} {r['group']}: " if multi else "") + f"{r['lhs']} ←"
            last = head
        rows.append([str(r["rhs"]), r["label"] or "", *_estimate_cells(r)])
    boot = getattr(result, "boot", None) is not None
    columns = [text("predictor", lang), text("label", lang), *_estimate_columns(boot, lang)]
    note = text("paths_note_boot" if boot else "paths_note", lang).format(
        estimator=result.estimator, n=result.nobs, draws=_draws(result)
    )
    return ReportTable(
        table_id,
        title or text("paths_title", lang),
        columns,
        rows,
        ["l", "l", "r", "r", "r", "r", "r"],
        note,
        groups,
        paths.reset_index(drop=True),
    )


def indirect_table(result, lang: str = "en", *, table_id: str = "indirect", title: str | None = None) -> ReportTable:
    """Defined effects (``:=``: indirect and total effects) with their CIs (bootstrap percentile or BCa where
    the fit was bootstrapped)."""
    params = result.params
    defined = params[params["op"] == ":="]
    rows = [[str(r["lhs"]), str(r["rhs"]), *_estimate_cells(r)] for r in defined.to_dict("records")]
    boot = getattr(result, "boot", None) is not None
    columns = [text("effect", lang), text("definition", lang), *_estimate_columns(boot, lang)]
    note = text("indirect_note_boot" if boot else "indirect_note", lang).format(draws=_draws(result))
    return ReportTable(
        table_id,
        title or text("indirect_title", lang),
        columns,
        rows,
        ["l", "l", "r", "r", "r", "r", "r"],
        note,
        {},
        defined.reset_index(drop=True),
    )


def _estimate_cells(row: dict) -> list[str]:
    """B, SE, beta, p and the 95 % CI of one parameter row, as APA prints them."""
    return [number(row["est"]), number(row["se"]), number(row["std.all"], leading_zero=False),
            p_value(row["pvalue"]), interval(row["ci.lower"], row["ci.upper"])]  # fmt: skip


def _estimate_columns(boot: bool, lang: str) -> list[str]:
    return ["B", "SE", "β", "p", text("ci", lang) + (" [boot]" if boot else "")]


def _draws(result) -> int:
    boot = getattr(result, "boot", None)
    return 0 if boot is None else len(boot)


def invariance_table(invariance, lang: str = "en") -> ReportTable:
    """Measurement invariance steps with the chi-square difference tests and the changes in CFI, RMSEA and
    SRMR (Chen, 2007)."""
    t = invariance.table
    rows = [
        [
            text(step, lang),
            number(r["chisq"]),
            str(int(r["df"])),
            number(r["cfi"], 3, leading_zero=False),
            number(r["rmsea"], 3, leading_zero=False),
            number(r["srmr"], 3, leading_zero=False),
            number(r["chisq.diff"]),
            "" if pd.isna(r["df.diff"]) else str(int(r["df.diff"])),
            p_value(r["pvalue.diff"]),
            number(r["cfi.diff"], 3, leading_zero=False),
            number(r["rmsea.diff"], 3, leading_zero=False),
            text(r["verdict"], lang),
        ]
        for step, r in t.iterrows()
    ]
    columns = [
        text("model", lang),
        "χ²",
        "df",
        "CFI",
        "RMSEA",
        "SRMR",
        "Δχ²",
        "Δdf",
        "p",
        "ΔCFI",
        "ΔRMSEA",
        text("verdict", lang),
    ]
    return ReportTable(
        "invariance",
        text("invariance_title", lang),
        columns,
        rows,
        ["l"] + ["r"] * 10 + ["l"],
        text("invariance_note", lang),
        {},
        t.reset_index(),
    )


def power_table(table: pd.DataFrame, lang: str = "en", *, target: float = 0.8, ops=("~", ":=")) -> ReportTable:
    """Monte Carlo power per parameter (rows) and sample size (columns), with the smallest n reaching
    ``target``."""
    from ..power import smallest_n

    picked = table[table["op"].isin(ops)] if table["op"].isin(ops).any() else table
    sizes = sorted(picked["n"].unique())
    smallest = smallest_n(picked, target).set_index(["lhs", "op", "rhs"])
    rows = []
    for key, group in picked.groupby(["lhs", "op", "rhs"], sort=False):
        r = group.iloc[0]
        name = r["label"] or f"{r['lhs']} {r['op']} {r['rhs']}"
        by_n = group.set_index("n")["power"]
        reached = smallest.loc[key, "n"]
        rows.append(
            [
                name,
                number(r["population"]),
                *[number(by_n.get(n), leading_zero=False) for n in sizes],
                "—" if pd.isna(reached) else str(int(reached)),
            ]
        )
    columns = [
        text("parameter", lang),
        text("population", lang),
        *[f"n = {n}" for n in sizes],
        text("smallest_n", lang).format(target=number(target, leading_zero=False)),
    ]
    note = text("power_note", lang).format(reps=table.attrs.get("reps", "?"), alpha=table.attrs.get("alpha", 0.05))
    return ReportTable(
        "power",
        text("power_title", lang),
        columns,
        rows,
        ["l", "r"] + ["r"] * len(sizes) + ["r"],
        note,
        {},
        picked.reset_index(drop=True),
    )
