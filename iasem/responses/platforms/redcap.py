"""REDCap data exports (*Data Exports, Reports, and Stats > Export Data*: "CSV / Microsoft Excel (raw
data)" and "CSV / Microsoft Excel (labels)"; the API's *Export Records* with ``rawOrLabel`` and
``rawOrLabelHeaders``).

What the export looks like (REDCap API documentation for *Export Records*, as summarised by REDCapR's
``redcap_read``/``redcap_report``: ``raw_or_label``, ``raw_or_label_headers``, ``export_checkbox_label``,
https://ouhscbbmc.github.io/REDCapR/reference/redcap_report.html; redcapAPI's ``exportFieldNames``,
https://rdrr.io/cran/redcapAPI/man/exportFieldNames.html, for checkbox names; "Instrument Status",
https://help.redcap.ualberta.ca/help-and-faq/instrument-status, for the form status):

- The record id field first (``record_id``), then, where they apply, ``redcap_event_name``,
  ``redcap_repeat_instrument``, ``redcap_repeat_instance``, ``redcap_data_access_group``,
  ``redcap_survey_identifier`` and ``<form>_timestamp`` (when the survey was completed, or
  ``[not completed]``), the form's fields in order, and ``<form>_complete``: the form status, 0 Incomplete,
  1 Unverified, 2 Complete.
- A checkbox field is one column per choice, ``<field>___<code>`` (three underscores; a minus in the code
  becomes an underscore), 1 checked and 0 unchecked.
- The raw export has the variable names as headers and the choice codes as values. The labels export has the
  field labels as headers (``<label> (choice=<choice label>)`` for a checkbox column, ``Complete?`` for the
  form status, ``Record ID``, ``Survey Identifier``, ``Survey Timestamp``, ``Event Name``...) and the choice
  labels as values (``Checked``/``Unchecked`` for checkboxes, ``Yes``/``No`` for yes-no fields,
  ``Incomplete``/``Unverified``/``Complete`` for the status).

How the fields map to the instrument follows iasem's REDCap data dictionary
(:mod:`iasem.instruments.export.redcap`): the variable names are the item codes, the choice codes the scale
values, and a checkbox exports ``goals___<value>``; ``record_id`` and ``consent`` are the project's own
fields. A label header is mapped by the question text in Dutch or English (the dictionary is in one language).

Read: the respondent id is the record id (the first column), ``complete`` is the form status (Complete or
Unverified: the data are all entered; Incomplete: not), REDCap exports no duration.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from ...instruments.export.redcap import RECORD_ID_LABEL, unique_name
from ...instruments.instrument import Instrument
from . import PlatformExport
from .limesurvey import header_cells, text_key
from .table import read_table

NAME = "redcap"

#: REDCap's own columns, raw name -> label header.
METADATA = {
    "redcap_event_name": "Event Name", "redcap_repeat_instrument": "Repeat Instrument",
    "redcap_repeat_instance": "Repeat Instance", "redcap_data_access_group": "Data Access Group",
    "redcap_survey_identifier": "Survey Identifier",
}  # fmt: skip
CHECKBOX = re.compile(r"^(?P<field>[a-z][a-z0-9_]*?)___(?P<code>_?[0-9A-Za-z]+)$")
CHECKBOX_LABEL = re.compile(r"^(?P<label>.*)\(choice=(?P<choice>.*)\)\s*$", re.DOTALL)
STATUS = {"0": False, "1": True, "2": True, "incomplete": False, "unverified": True, "complete": True}


def sniff(path: Path, head: bytes) -> bool:
    names = [n.strip() for n in header_cells(head)]
    if not names:
        return False
    folded = [n.casefold() for n in names]
    if folded[0] == "record_id" or any(n.startswith("redcap_") for n in folded):
        return True
    if any(re.fullmatch(r"[a-z][a-z0-9_]*_complete", n) for n in names) and any("___" in n for n in names):
        return True
    labels = {n.casefold() for n in RECORD_ID_LABEL.values()} | {"record id"}
    return folded[0] in labels and ("complete?" in folded or "survey identifier" in folded)


def read(path: Path, data: bytes, instrument: Instrument) -> PlatformExport:
    frame, lines, _, notes = read_table(path, data)
    by_name, by_label = _targets(instrument)
    columns, option_columns, metadata = {}, {}, []
    status_columns: list[str] = []
    for k, column in enumerate(frame.columns):
        target = _target(column, by_name, by_label)
        if k == 0 and (target is None or target[0] == "meta"):
            target = ("meta", "record_id")  # REDCap always exports the record id field first
        if target is None:
            continue
        if target[0] == "question":
            columns[column] = target[1]
        elif target[0] == "option":
            option_columns[column] = (target[1], target[2])
        else:
            metadata.append(column)
            if target[1] == "complete":
                status_columns.append(column)
    first = frame.columns[0]
    ids = frame[first].astype(str).str.strip()
    ids = ids.where(ids != "", lines.astype(str).to_numpy())
    complete = None
    if status_columns:
        own = [c for c in status_columns if c.casefold() == f"{instrument.id}_complete".casefold()]
        column = (own or status_columns)[0]
        complete = pd.Series([STATUS.get(str(v).strip().casefold()) for v in frame[column]], index=frame.index,
                             dtype=object)  # fmt: skip
    return PlatformExport(NAME, frame, ids, lines, columns, option_columns, None, metadata, None, complete, notes)


def _targets(instrument: Instrument) -> tuple[dict[str, tuple], dict[str, tuple]]:
    """Targets by variable name and by (normalised) label header; see :func:`.limesurvey.targets`."""
    taken = {q.code for q in instrument.questions}
    own = [unique_name(name, taken) for name in ("record_id", "intro", "consent", "closing")]
    by_name: dict[str, tuple] = {name: ("meta", name) for name in METADATA}
    by_name.update({own[0]: ("meta", "record_id"), own[2]: ("meta", "consent")})
    by_label: dict[str, tuple] = {text_key(label): ("meta", name) for name, label in METADATA.items()}
    by_label.update({text_key(label): ("meta", "record_id") for label in (*RECORD_ID_LABEL.values(), "Record ID")})
    by_label[text_key("Complete?")] = ("meta", "complete")
    by_label[text_key("Survey Timestamp")] = ("meta", "timestamp")
    for lang in instrument.languages:
        by_label.setdefault(text_key(instrument.spec.consent[lang]), ("meta", "consent"))
    for q in instrument.questions:
        by_name[q.code] = ("question", q.code) if q.scale.type != "multiple" else ("multiple", q.code)
        for lang in instrument.languages:
            if q.scale.type == "multiple":
                for o in q.scale.options:
                    key = f"{text_key(q.text[lang])} (choice={text_key(o.label[lang])})"
                    by_label[key] = ("option", q.code, o.value)
            else:
                by_label.setdefault(text_key(q.text[lang]), ("question", q.code))
    return by_name, by_label


def _target(column: str, by_name: dict[str, tuple], by_label: dict[str, tuple]) -> tuple | None:
    name = column.strip()
    found = by_name.get(name.casefold()) or by_name.get(name)
    if found and found[0] != "multiple":
        return found
    checkbox = CHECKBOX.match(name)
    if checkbox:
        field = by_name.get(checkbox.group("field"))
        if field and field[0] == "multiple":
            return _option(field[1], checkbox.group("code"), by_label)
    if re.fullmatch(r"[a-z][a-z0-9_]*_complete", name):
        return ("meta", "complete")
    if re.fullmatch(r"[a-z][a-z0-9_]*_timestamp", name):
        return ("meta", "timestamp")
    key = text_key(name)
    if key in by_label:
        return by_label[key]
    label = CHECKBOX_LABEL.match(name)
    if label:
        key = f"{text_key(label.group('label'))} (choice={text_key(label.group('choice'))})"
        return by_label.get(key)
    return None


def _option(code: str, raw: str, by_label: dict[str, tuple]) -> tuple | None:
    """``goals___3`` -> option 3 of ``goals`` (``___ _5`` is REDCap's spelling of code -5)."""
    value = raw.replace("_", "-", 1) if raw.startswith("_") else raw
    for target in by_label.values():
        if target[0] == "option" and target[1] == code and str(target[2]) == value:
            return target
    return None
