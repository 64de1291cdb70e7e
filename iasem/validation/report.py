"""``iasem.validate``: everything a statistician shows about an instrument before any structural path is read.

For every construct of the instrument: item analysis, reliability (alpha with its interval, omega, CR, AVE),
discriminant validity (HTMT, Fornell-Larcker), the confirmatory factor analysis of the measurement model with
its fit, an exploratory factor analysis of all items, and (with ``group``) measurement invariance. Each verdict
names its rule and source (:mod:`iasem.validation.cutoffs`), and the whole report is written as CSV/JSON tables
and a readable summary with :meth:`MeasurementReport.write`.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import IasemError
from ..files import check_writable, write_text
from ..instruments.instrument import Instrument
from ..progress import progress_bar
from ..results import SEMResult
from ..sem import fit
from .constructs import ValidationWarning, as_constructs
from .cutoffs import SOURCES, Cutoffs, as_cutoffs
from .discriminant import fornell_larcker, htmt
from .efa import EFAResult, efa
from .invariance import InvarianceResult, invariance
from .items import item_analysis
from .reliability import reliability

MISSING = ("listwise", "fiml")
# (measure shown, rule, cutoff attribute) for the CFA's fit.
FIT_RULES = [("cfi", ">=", "cfi"), ("tli", ">=", "tli"), ("rmsea", "<=", "rmsea"), ("srmr", "<=", "srmr")]


@dataclass
class MeasurementReport:
    """The validation of an instrument's constructs on one data set.

    Attributes
    ----------
    constructs : dict
        ``{construct: [items]}`` as validated.
    items, reliability, htmt, fornell_larcker : DataFrame
        The tables of :func:`iasem.item_analysis`, :func:`iasem.reliability`, :func:`iasem.htmt` and
        :func:`iasem.fornell_larcker`.
    cfa : SEMResult
        The measurement model (one factor per construct, factors correlated).
    fit : DataFrame
        The CFA's fit indices with their cutoffs and verdicts.
    verdicts : DataFrame
        Every check: check, construct, value, rule, cutoff, verdict, source.
    efa : EFAResult or None
        The exploratory factor analysis of all items with as many factors as constructs.
    invariance : InvarianceResult or None
        The invariance steps across ``group``.
    notes : list of str
        What the statistics had to say about the data (rows dropped, Heywood cases, ...).
    """

    constructs: dict[str, list[str]]
    items: pd.DataFrame
    reliability: pd.DataFrame
    htmt: pd.DataFrame
    fornell_larcker: pd.DataFrame
    cfa: SEMResult
    fit: pd.DataFrame
    verdicts: pd.DataFrame
    cutoffs: Cutoffs
    efa: EFAResult | None = None
    invariance: InvarianceResult | None = None
    notes: list[str] = field(default_factory=list)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table of the report by the name of the file :meth:`write` gives it (without extension)."""
        out = {
            "items": self.items,
            "reliability": self.reliability,
            "htmt": self.htmt,
            "fornell_larcker": self.fornell_larcker,
            "cfa_parameters": self.cfa.params,
            "cfa_fit": self.fit,
            "verdicts": self.verdicts,
        }
        if self.efa is not None:
            out["efa_loadings"] = self.efa.loadings
            out["efa_kmo"] = self.efa.kmo.to_frame("kmo")
        if self.invariance is not None:
            out["invariance"] = self.invariance.table
        return out

    def _repr_html_(self) -> str:
        """In a notebook: the report's tables, as :func:`iasem.report` renders them."""
        from ..report import collect  # the report layer builds on this module, not the other way round

        return collect([self])._repr_html_()

    def summary(self) -> str:
        failed = self.verdicts[self.verdicts["verdict"].isin(["fails", "not invariant", "poor fit"])]
        lines = [f"Measurement report: {len(self.constructs)} constructs, {self.cfa.nobs} respondents "
                 f"({self.cfa.estimator})", ""]  # fmt: skip
        lines += ["Reliability", _indent(self.reliability.round(3).to_string()), ""]
        lines += ["Discriminant validity (HTMT)", _indent(self.htmt.round(3).to_string(na_rep="")), ""]
        lines += ["Fornell-Larcker", _indent(self.fornell_larcker.round(3).to_string(na_rep="")), ""]
        lines += ["CFA fit", _indent(self.fit.drop(columns="source").round(3).to_string(na_rep="")), ""]
        if self.efa is not None:
            lines += [f"EFA: {self.efa.n_factors} factors; parallel analysis suggests {self.efa.parallel.suggested}; "
                      f"KMO {self.efa.kmo['overall']:.3f}", ""]  # fmt: skip
        if self.invariance is not None:
            lines += [self.invariance.summary(), ""]
        lines.append(f"Checks: {len(self.verdicts)}, of which {len(failed)} fail")
        for r in failed.itertuples():
            rule = r.rule if pd.isna(r.cutoff) else f"{r.rule} {r.cutoff:g}"
            lines.append(f"  - {r.check} {r.construct}: {r.value:.3f} ({rule}) {r.verdict}")
        if self.notes:
            lines += ["", "Notes"] + [f"  - {n}" for n in self.notes]
        lines += ["", "Sources"] + [f"  - {s}" for s in sorted(set(self.verdicts["source"]))]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()

    def write(self, out: str | Path, *, force: bool = False) -> list[Path]:
        """Write every table as CSV, the verdicts and fit as ``report.json`` and :meth:`summary` as
        ``summary.txt`` into ``out``, each atomically; nothing is overwritten without ``force``, and nothing is
        written when any file would be."""
        out = Path(out)
        files = {f"{name}.csv": table.to_csv() for name, table in self.tables().items()}
        files["report.json"] = json.dumps(self.to_dict(), indent=2)
        files["summary.txt"] = self.summary() + "\n"
        for name in files:
            check_writable(out / name, force)
        for name, text in files.items():
            write_text(out / name, text, force=force)
        return [out / name for name in files]

    def to_dict(self) -> dict:
        def records(frame: pd.DataFrame) -> list[dict]:
            return json.loads(frame.reset_index().to_json(orient="records"))

        return {
            "constructs": self.constructs,
            "nobs": self.cfa.nobs,
            "estimator": self.cfa.estimator,
            "verdicts": records(self.verdicts),
            "fit": records(self.fit),
            "reliability": records(self.reliability),
            "notes": list(self.notes),
            "cutoffs": self.cutoffs.__dict__,
        }


def validate(
    data: pd.DataFrame,
    instrument: Instrument | Mapping[str, Sequence[str]] | str,
    *,
    estimator: str = "MLR",
    group: str | None = None,
    ordered: bool = False,
    missing: str = "listwise",
    cutoffs: Cutoffs | dict[str, float] | None = None,
    exploratory: bool = True,
    seed: int | None = None,
    progress: bool | None = None,
    n_jobs: int | None = 1,
) -> MeasurementReport:
    """Validate every construct of an instrument on the responses ``data``.

    Parameters
    ----------
    data : DataFrame
        The responses, one column per item (and the ``group`` column).
    instrument : Instrument, dict or str
        An :class:`iasem.Instrument`, ``{construct: [items]}`` or lavaan ``=~`` syntax.
    estimator : str
        The CFA's estimator (default MLR: robust to the non-normality of Likert items); ignored with ``ordered``.
    group : str, optional
        A column of ``data`` (e.g. the alliance type): adds the invariance steps across its groups.
    ordered : bool
        Treat the items as ordered categories: WLSMV for the CFA and invariance, ordinal alpha and omega,
        polychoric HTMT.
    missing : {"listwise", "fiml"}
        ``"fiml"``: the CFA by full-information ML and alpha and HTMT on pairwise covariances.
    cutoffs : Cutoffs or dict, optional
        The rules of the verdicts (:class:`iasem.Cutoffs`).
    exploratory : bool
        Add an EFA of all items with as many factors as constructs.
    seed : int, optional
        Seed of the EFA's parallel analysis.
    progress : bool, optional
        Show a progress bar over the steps (default: on a terminal or in a notebook).
    n_jobs : int, optional
        Processes for the invariance steps (:func:`~iasem.validation.invariance.invariance`); None: one per core.

    Returns
    -------
    MeasurementReport

    Examples
    --------
    >>> import iasem, pandas as pd
    >>> data = pd.read_csv(iasem.resources.resource_path("data") / "holzinger_swineford_1939.csv")
    >>> constructs = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "speed": ["x7", "x8", "x9"]}
    >>> report = iasem.validate(data, constructs, seed=1)
    >>> report.reliability["alpha"].round(3).to_dict()
    {'visual': 0.626, 'textual': 0.883, 'speed': 0.688}
    >>> report.verdicts.query("check == 'cfi'")[["value", "verdict"]].round(3).to_dict("records")
    [{'value': 0.93, 'verdict': 'fails'}]
    """
    if missing not in MISSING:
        raise IasemError(f"missing={missing!r} is not available; available: {', '.join(MISSING)}")
    if group is not None and group not in getattr(data, "columns", []):
        raise IasemError(f"the data have no group column {group!r}")
    rules = as_cutoffs(cutoffs)
    constructs = as_constructs(instrument, data, min_items=2)
    syntax = "\n".join(f"{c} =~ {' + '.join(items)}" for c, items in constructs.items())
    pairwise = "pairwise" if missing == "fiml" else "listwise"
    stages = 5 + exploratory + (group is not None)
    with warnings.catch_warnings(record=True) as caught, progress_bar(stages, "validate", progress) as bar:
        warnings.simplefilter("always", ValidationWarning)

        def step(name: str) -> None:
            bar.set_postfix_str(name)
            bar.update(1)

        step("items")
        items = item_analysis(data, instrument if isinstance(instrument, Instrument) else constructs,
                              missing=pairwise)  # fmt: skip
        step("reliability")
        rel = reliability(data, constructs, ordinal=ordered, missing="listwise" if ordered else pairwise)
        step("HTMT")
        discriminant = htmt(data, constructs, ordinal=ordered, missing="listwise" if ordered else pairwise)
        step("Fornell-Larcker")
        fl = fornell_larcker(data, constructs, missing=pairwise)
        step("CFA")
        cfa = fit(syntax, data, estimator="WLSMV" if ordered else estimator, ordered=ordered or None,
                  missing="listwise" if ordered else missing)  # fmt: skip
        all_items = [item for members in constructs.values() for item in members]
        factor_analysis = None
        if exploratory:
            step("EFA")
            factor_analysis = efa(data, all_items, n_factors=len(constructs), seed=seed)
        steps = None
        if group is not None:
            step("invariance")
            steps = invariance(syntax, data, group, estimator="WLSMV" if ordered else estimator,
                               ordered=ordered or None, cutoffs=rules,
                               missing="listwise" if ordered else missing, n_jobs=n_jobs)  # fmt: skip
    notes = list(dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, ValidationWarning)))
    notes += [f"CFA: {w}" for w in cfa.warnings]
    if factor_analysis is not None:
        notes += [f"EFA: {w}" for w in factor_analysis.warnings]
    fit_table = fit_verdicts(cfa, rules)
    verdicts = _verdicts(rel, discriminant, fl, fit_table, steps, rules)
    return MeasurementReport(constructs, items, rel, discriminant, fl, cfa, fit_table, verdicts, rules,
                             factor_analysis, steps, notes)  # fmt: skip


def fit_verdicts(cfa: SEMResult, rules: Cutoffs) -> pd.DataFrame:
    """The CFA's fit indices (robust versions where the estimator has them) against Hu & Bentler (1999)."""
    measures = cfa.fit_measures
    rows = []
    for name, rule, attribute in FIT_RULES:
        reported = f"{name}.robust" if np.isfinite(measures.get(f"{name}.robust", np.nan)) else name
        value = measures.get(reported, np.nan)
        cutoff = getattr(rules, attribute)
        ok = value >= cutoff if rule == ">=" else value <= cutoff
        rows.append({"measure": reported, "value": value, "rule": rule, "cutoff": cutoff,
                     "verdict": "meets" if ok else "fails", "source": SOURCES[attribute]})  # fmt: skip
    chisq = "chisq.scaled" if "chisq.scaled" in measures else "chisq"
    for name in (chisq, "df", "pvalue.scaled" if chisq == "chisq.scaled" else "pvalue"):
        rows.append({"measure": name, "value": measures.get(name, np.nan), "rule": "", "cutoff": np.nan,
                     "verdict": "", "source": ""})  # fmt: skip
    return pd.DataFrame(rows).set_index("measure")


def _verdicts(rel: pd.DataFrame, discriminant: pd.DataFrame, fl: pd.DataFrame, fit_table: pd.DataFrame,
              steps: InvarianceResult | None, rules: Cutoffs) -> pd.DataFrame:  # fmt: skip
    rows = []

    def add(check: str, construct: str, value: float, rule: str, cutoff: float, source: str) -> None:
        if not np.isfinite(value):
            verdict = "not computed"
        else:
            ok = {">=": value >= cutoff, ">": value > cutoff, "<": value < cutoff, "<=": value <= cutoff}[rule]
            verdict = "meets" if ok else "fails"
        rows.append({"check": check, "construct": construct, "value": value, "rule": rule, "cutoff": cutoff,
                     "verdict": verdict, "source": source})  # fmt: skip

    for construct, r in rel.iterrows():
        for column, attribute in (("alpha", "alpha"), ("omega", "omega"), ("cr", "cr"), ("ave", "ave")):
            add(column, str(construct), float(r[column]), ">=", getattr(rules, attribute), SOURCES[attribute])
    names = list(discriminant.index)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            add("htmt", f"{a}~{b}", float(discriminant.loc[a, b]), "<", rules.htmt, SOURCES["htmt"])
    for construct in fl.index:
        root_ave = float(fl.loc[construct, construct])
        others = pd.concat([fl.loc[construct].drop(construct), fl[construct].drop(construct)]).abs().dropna()
        largest = float(others.max()) if not others.empty else np.nan
        # Fornell & Larcker: sqrt(AVE) must exceed every correlation with another construct; the value is the
        # margin, sqrt(AVE) minus the largest absolute correlation.
        add("fornell_larcker", str(construct), root_ave - largest, ">", 0.0, SOURCES["ave"])
    for measure, r in fit_table[fit_table["rule"] != ""].iterrows():
        add(measure.split(".")[0], "(model)", float(r["value"]), r["rule"], float(r["cutoff"]), r["source"])
    if steps is not None:
        for step, r in steps.table.iterrows():
            rows.append({"check": f"invariance: {step}", "construct": "(model)", "value": r["cfi.diff"]
                         if step != steps.table.index[0] else r["cfi"], "rule": "Chen 2007", "cutoff": np.nan,
                         "verdict": r["verdict"], "source": SOURCES["invariance"]})  # fmt: skip
    return pd.DataFrame(rows)


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())
