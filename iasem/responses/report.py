"""The import report: what was read, every decision in counts, the screening, and the files written."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..files import check_writable, safe_cell, write_text
from .screening import CHECKS, ScreeningRules

#: What ``iasem responses import`` writes into its output folder.
OUTPUTS = ("responses.csv", "log.csv", "flags.csv", "screening.md")


def import_report(responses) -> str:
    """A Markdown report of an import (:class:`~iasem.responses.read.ResponseSet`): the source, the decisions
    by kind, the screening flags with their sources, the missing-data patterns and Little's MCAR test."""
    log = responses.log
    excluded = log[log["action"] == "excluded"]
    n = len(responses.data) + len(excluded)  # as imported: the screening describes them all
    lines = [
        f"# Import of {Path(responses.source).name}",
        "",
        f"- Platform: {responses.platform}; instrument: {responses.instrument.id}",
        f"- Respondents: {n} imported (rows are never dropped on import), {len(excluded)} excluded on request, "
        f"{len(responses.data)} in responses.csv",
        f"- Likert items: {len(responses.items)}; decisions logged: {len(log)} (log.csv lists each with its row, "
        "respondent, column and reason)",
        "",
        "## Decisions on the data",
        "",
    ]
    data_log = log[~log["check"].isin([*CHECKS, "exclusion"]) | (log["check"] == "duplicate_id")]
    if data_log.empty:
        lines.append("None: every cell was read as it stands.")
    else:
        counts = data_log.groupby(["check", "action"]).size().rename("entries").reset_index()
        lines += _table(counts)
    lines += ["", "## Screening (flags; nothing is excluded unless asked)", ""]
    if responses.screening is None:
        lines.append("Not screened (screen=False).")
    else:
        screening = responses.screening
        rows = [{"check": c, "flagged": int(screening.flags[c].sum()), "share": f"{screening.flags[c].mean():.1%}",
                 "rule and source": ScreeningRules.SOURCES[c]} for c in CHECKS]  # fmt: skip
        lines += _table(pd.DataFrame(rows))
        lines += ["", f"Respondents with any flag: {int(screening.flags['flagged'].sum())} of {n}.", "",
                  "## Missing data", "", screening.mcar["advice"], ""]  # fmt: skip
        lines += [f"Missing-data patterns: {len(screening.patterns)} (the 10 most frequent; 1 = answered):", ""]
        top = screening.patterns.head(10)
        shown = top[["n", "n_missing"]].copy()
        shown["missing items"] = [", ".join(c for c in responses.items if r[c] == 0) or "none"
                                  for _, r in top.iterrows()]  # fmt: skip
        lines += _table(shown)
    lines += ["", "## Exclusions", ""]
    if len(excluded):
        reasons = excluded["reason"].str.replace("excluded on request: flagged ", "", regex=False).value_counts()
        lines.append(f"{len(excluded)} respondents excluded on request (each in log.csv):")
        lines += [""] + [f"- {reason}: {count}" for reason, count in reasons.items()]
    else:
        lines.append("None.")
    return "\n".join(lines) + "\n"


def _flags(responses) -> pd.DataFrame:
    return responses.screening.flags.reset_index() if responses.screening is not None else pd.DataFrame()


def _table(frame: pd.DataFrame) -> list[str]:
    def cell(value) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    header = "| " + " | ".join(map(cell, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    return [header, rule, *("| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False))]


def write_import(responses, out: str | Path, *, force: bool = False) -> list[Path]:
    """Write the clean data (``responses.csv``: one row per respondent, the item codes and background
    columns), the log, the screening flags and the report into ``out``, atomically, never over existing
    files without ``force``. Returns the paths."""
    out = Path(out)
    for name in OUTPUTS:
        check_writable(out / name, force)
    data = responses.data.reset_index()
    texts = {
        "responses.csv": data.map(safe_cell).to_csv(index=False, lineterminator="\n"),
        "log.csv": responses.log.map(safe_cell).to_csv(index=False, lineterminator="\n"),
        "flags.csv": _flags(responses).to_csv(index=False, lineterminator="\n"),
        "screening.md": import_report(responses),
    }
    return [write_text(out / name, text, force=force) for name, text in texts.items()]
