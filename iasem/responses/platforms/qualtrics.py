"""Qualtrics response exports (*Data & Analysis > Export & Import > Export data*, CSV or TSV).

What the export looks like (Qualtrics support, "Understanding Your Dataset",
https://www.qualtrics.com/support/survey-platform/data-and-analysis-module/data/download-data/understanding-your-dataset/,
and "Export Data Options"; the layout read by e.g. qualtRics' ``read_survey`` and kutils' ``importQualtrics``):

- Three header rows: the export tags (``StartDate``, ``Q1``, ``rsa_1``...), the question texts, and the
  ImportIds, JSON such as ``{"ImportId":"QID3_1"}``: the question's internal id (``QID3``) plus, for a matrix
  statement or a multiple-answer choice, the choice id (``_1``) and, for a text entry, ``_TEXT``. Export tags
  can be edited in the survey at any time; the QIDs cannot, so columns are mapped by ImportId.
- Metadata columns first: ``StartDate``, ``EndDate``, ``Status``, ``IPAddress``, ``Progress``,
  ``Duration (in seconds)``, ``Finished`` (1/0, or True/False with choice text), ``RecordedDate``,
  ``ResponseId``, ``RecipientLastName``, ``RecipientFirstName``, ``RecipientEmail``, ``ExternalReference``,
  ``LocationLatitude``, ``LocationLongitude``, ``DistributionChannel``, ``UserLanguage``; embedded data and
  ``Q_...`` fraud-detection fields may follow.
- Answers are the choices' recode values ("Use numeric values", the default) or the choice texts ("Use
  choice text"). A multiple-answer question is one column of the chosen values or texts separated by commas,
  or with "Split multi-value fields into columns" one column per choice (``goals_1``), marked when chosen.
- CSV is UTF-8 (with a byte order mark); TSV is UTF-16.

How the QIDs map to the instrument follows iasem's Qualtrics export
(:mod:`iasem.instruments.export.qualtrics`): an Advanced-format import creates the questions in file order,
and Qualtrics numbers them QID1, QID2, ... in that order: the intro text, the consent question, then per
page one Matrix question (statements ``[[Choice:1]]``... in item order, so ``QIDn_k`` is the page's k-th
item) or one question per background item (single choice ``QIDn``, counts ``QIDn_TEXT``, multiple answer
``QIDn`` or ``QIDn_<choice>``), then the closing text. The QIDs of the file are matched to that sequence:
by the unedited export tags where there are any (which also give the offset, should the survey have had
other questions first), else by their order. Without an ImportId row (an older export), the columns are
mapped by their export tags, and the import log says so.

Read: ``complete`` is ``Finished``, ``duration`` is ``Duration (in seconds)``, the respondent id is
``ResponseId``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ...instruments.export.qualtrics import unique_id
from ...instruments.instrument import Instrument, Page, Question
from . import PlatformExport
from .limesurvey import head_text
from .table import decode, delimiter, read_rows, read_table

NAME = "qualtrics"

#: Qualtrics' metadata columns: export tag -> ImportId.
METADATA = {
    "StartDate": "startDate", "EndDate": "endDate", "Status": "status", "IPAddress": "ipAddress",
    "Progress": "progress", "Duration (in seconds)": "duration", "Finished": "finished",
    "RecordedDate": "recordedDate", "ResponseId": "_recordId", "ResponseID": "_recordId",
    "RecipientLastName": "recipientLastName", "RecipientFirstName": "recipientFirstName",
    "RecipientEmail": "recipientEmail", "ExternalReference": "externalDataReference",
    "ExternalDataReference": "externalDataReference", "LocationLatitude": "locationLatitude",
    "LocationLongitude": "locationLongitude", "DistributionChannel": "distributionChannel",
    "UserLanguage": "userLanguage",
}  # fmt: skip
QID = re.compile(r"^QID(\d+)(?:_(.+))?$")
TRUE = {"1", "true", "waar", "yes"}
FALSE = {"0", "false", "onwaar", "no"}


@dataclass(frozen=True)
class Unit:
    """One question of iasem's Qualtrics survey, in import order: ``kind`` text, consent, matrix, single."""

    kind: str
    tag: str
    page: Page | None = None
    question: Question | None = None


def sniff(path: Path, head: bytes) -> bool:
    text = head_text(head)
    first_lines = "\n".join(text.splitlines()[:3])
    if "ImportId" in first_lines:
        return True
    first = first_lines.split("\n", 1)[0]
    return ("ResponseId" in first or "ResponseID" in first) and "StartDate" in first and "Finished" in first


def read(path: Path, data: bytes, instrument: Instrument) -> PlatformExport:
    text = decode(path, data)
    rows = read_rows(path, text, delimiter(text)) if text.strip() else []
    header_rows = _header_rows(rows)
    frame, lines, headers, notes = read_table(path, data, header_rows=header_rows)
    tags = [t.strip() for t in headers[0]]
    import_ids = [_import_id(cell) for cell in headers[2]] if header_rows == 3 else [None] * len(tags)
    import_ids += [None] * (len(tags) - len(import_ids))
    units = survey_units(instrument)
    targets: dict[str, tuple] = {}  # file column -> ("question", code) | ("option", code, value) | ("meta", id)
    if header_rows == 3 and any(i and QID.match(i) for i in import_ids):
        targets, more = _by_import_id(tags, import_ids, units)
        notes += more
    else:
        notes.append({"check": "columns_by_tag", "action": "mapped", "row": None, "column": None,
                      "reason": "the export has no ImportId header row, so its columns were mapped by their export "
                                "tags, which can be edited in Qualtrics; check that no tag was changed"})  # fmt: skip
    by_tag = _tag_targets(units)
    for column, import_id in zip(tags, import_ids, strict=True):
        if column in targets:
            continue
        if import_id and not QID.match(import_id):
            targets[column] = ("meta", import_id)
        elif column in METADATA:
            targets[column] = ("meta", METADATA[column])
        elif not import_id and column in by_tag:
            targets[column] = by_tag[column]
        elif import_id and import_id.endswith("_DO"):
            targets[column] = ("meta", "display_order")
    columns, option_columns, metadata, roles = {}, {}, [], {}
    for column, target in targets.items():
        if target[0] == "question":
            columns[column] = target[1]
        elif target[0] == "option":
            option_columns[column] = (target[1], target[2])
        else:
            metadata.append(column)
            roles.setdefault(target[1], column)
    if "_recordId" in roles:
        ids = frame[roles["_recordId"]].astype(str).str.strip()
        ids = ids.where(ids != "", lines.astype(str).to_numpy())
    else:
        ids = pd.Series(lines.astype(str).to_numpy(), index=frame.index)
    duration = None
    if "duration" in roles:
        duration = pd.to_numeric(frame[roles["duration"]].str.strip(), errors="coerce")
    complete = None
    if "finished" in roles:
        folded = frame[roles["finished"]].astype(str).str.strip().str.casefold()
        complete = pd.Series([True if v in TRUE else False if v in FALSE else None for v in folded],
                             index=frame.index, dtype=object)  # fmt: skip
    return PlatformExport(NAME, frame, ids, lines, columns, option_columns, ",", metadata, duration, complete, notes)


def survey_units(instrument: Instrument) -> list[Unit]:
    """The questions of iasem's Qualtrics survey in the order its Advanced-format file creates them."""
    taken = {q.code for q in instrument.questions if q.kind == "background"}
    intro, consent, closing = (unique_id(name, taken) for name in ("intro", "consent", "closing"))
    units = [Unit("text", intro), Unit("consent", consent)]
    for page in instrument.pages:
        if page.kind == "matrix" and page.scale.options:
            units.append(Unit("matrix", unique_id(page.name, taken), page=page))
        else:
            units += [Unit("single", q.code, question=q) for q in page.questions]
    return [*units, Unit("text", closing)]


def _unit_target(unit: Unit, suffix: str | None) -> tuple | None:
    """What column ``QIDn[_suffix]`` of ``unit`` holds."""
    if unit.kind == "consent":
        return ("meta", "consent") if suffix is None else None
    if unit.kind == "matrix":
        if suffix and suffix.isdigit() and 1 <= int(suffix) <= len(unit.page.questions):  # type: ignore[union-attr]
            return ("question", unit.page.questions[int(suffix) - 1].code)  # type: ignore[union-attr]
        return None
    if unit.kind != "single":
        return None
    q = unit.question
    if q.scale.type == "integer":  # type: ignore[union-attr]
        return ("question", q.code) if suffix in ("TEXT", None) else None  # type: ignore[union-attr]
    if suffix is None:
        return ("question", q.code)  # type: ignore[union-attr]
    options = q.scale.options  # type: ignore[union-attr]
    if q.scale.type == "multiple" and suffix.isdigit() and 1 <= int(suffix) <= len(options):  # type: ignore[union-attr]
        return ("option", q.code, options[int(suffix) - 1].value)  # type: ignore[union-attr]
    return None


def _tag_targets(units: list[Unit]) -> dict[str, tuple]:
    """The export tags iasem's survey gives each column, as long as nobody edits them."""
    tags: dict[str, tuple] = {}
    for unit in units:
        if unit.kind == "consent":
            tags[unit.tag] = ("meta", "consent")
        elif unit.kind == "matrix":
            for k, q in enumerate(unit.page.questions, start=1):  # type: ignore[union-attr]
                tags[f"{unit.tag}_{k}"] = ("question", q.code)
        elif unit.kind == "single":
            q = unit.question
            tags[q.code] = ("question", q.code)  # type: ignore[union-attr]
            if q.scale.type == "multiple":  # type: ignore[union-attr]
                for o in q.scale.options:  # type: ignore[union-attr]
                    tags[f"{q.code}_{o.value}"] = ("option", q.code, o.value)  # type: ignore[union-attr]
    return tags


def _by_import_id(tags: list[str], import_ids: list[str | None],
                  units: list[Unit]) -> tuple[dict[str, tuple], list[dict]]:  # fmt: skip
    """Columns mapped by their QIDs: QID -> unit from the unedited export tags (anchors), else by order."""
    by_tag = _tag_targets(units)
    answering = [k for k, u in enumerate(units) if u.kind in ("consent", "matrix", "single")]
    parsed = {}
    for tag, import_id in zip(tags, import_ids, strict=True):
        match = QID.match(import_id or "")
        if match:
            parsed[tag] = (int(match.group(1)), match.group(2))
    qids = sorted({n for n, _ in parsed.values()})
    votes: dict[int, Counter] = {}
    for tag, (n, suffix) in parsed.items():
        target = by_tag.get(tag)
        if target is None:
            continue
        for k in answering:
            if _unit_target(units[k], suffix) == target:
                votes.setdefault(n, Counter())[k] += 1
    anchors = {n: counter.most_common(1)[0][0] for n, counter in votes.items()}
    notes: list[dict] = []
    if len(qids) == len(answering) and all(answering[qids.index(n)] == k for n, k in anchors.items()):
        unit_of = {n: answering[i] for i, n in enumerate(qids)}
    else:
        offsets = Counter(n - (k + 1) for n, k in anchors.items())
        offset = offsets.most_common(1)[0][0] if offsets else 0
        unit_of = dict(anchors)
        used = set(unit_of.values())
        for n in qids:
            k = n - offset - 1
            if n not in unit_of and 0 <= k < len(units) and k in answering and k not in used:
                unit_of[n] = k
                used.add(k)
        if not anchors:
            notes.append({"check": "columns_by_qid", "action": "mapped", "row": None, "column": None,
                          "reason": f"no export tag of the file is iasem's and its {len(qids)} QIDs are not the "
                                    f"survey's {len(answering)} questions; QIDs were read as numbered from QID1 "
                                    "in import order"})  # fmt: skip
    targets: dict[str, tuple] = {}
    for tag, (n, suffix) in parsed.items():
        k = unit_of.get(n)
        target = _unit_target(units[k], suffix) if k is not None else None
        if target is None:
            continue
        targets[tag] = target
        if target[0] != "meta" and by_tag.get(tag) != target:
            notes.append({"check": "columns_by_qid", "action": "mapped", "row": None, "column": tag,
                          "reason": f"export tag {tag!r} is not the one iasem's survey gave this question; the "
                                    f"column was mapped by its ImportId QID{n}{'_' + suffix if suffix else ''} "
                                    f"to {target[1]}"})  # fmt: skip
    return targets, notes


def _header_rows(rows: list[tuple[int, list[str]]]) -> int:
    """3 with an ImportId row, 2 with only the question-text row (an older export), else 1."""
    if len(rows) >= 3 and any(_import_id(cell) for cell in rows[2][1]):
        return 3
    if len(rows) >= 2:
        first = [c.strip() for c in rows[0][1]]
        for tag, label in (("ResponseId", "Response ID"), ("ResponseID", "ResponseID"), ("StartDate", "Start Date")):
            if tag in first:
                k = first.index(tag)
                second = rows[1][1]
                if k < len(second) and second[k].strip() in (label, "Response ID", "Start Date"):
                    return 2
    return 1


def _import_id(cell: str) -> str | None:
    text = cell.strip()
    if not text.startswith("{") or "ImportId" not in text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        match = re.search(r"ImportId['\"]?\s*:\s*['\"]([^'\"]+)", text)
        return match.group(1) if match else None
    found = value.get("ImportId") if isinstance(value, dict) else None
    return str(found) if found is not None else None
