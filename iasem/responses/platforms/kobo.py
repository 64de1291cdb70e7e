"""KoboToolbox: Data > Downloads > CSV.

The layout, as KoboToolbox writes it (the export is made by kobotoolbox/formpack, ``reporting/export.py``
``to_csv`` and ``schema/fields.py``; support.kobotoolbox.org/export_download.html; the export API's settings
``lang``, ``group_sep``, ``hierarchy_in_labels``, ``multiple_select`` as documented for
``/api/v2/assets/<uid>/exports/``):

- ``;``-separated by default (``,`` accepted too), every cell in double quotes, one header row (a second row of
  HXL hashtags, where asked for, is skipped);
- "Value and header format": **XML values and headers** names each column by the field's path with the groups
  joined by the group separator (``/`` by default: ``rsa/rsa1``; without "Include groups in headers" the bare
  name ``rsa1``) and writes the choice names; **Labels** (per form language, here Dutch or English) names each
  column by the question's label (with the group labels in front where the hierarchy is included) and writes the
  choice labels;
- a ``select_multiple`` ("both", the default) is one column of the chosen choices separated by spaces (names, or
  labels in a label export) plus one column per choice, ``<question>/<choice>`` (``background/goals/1`` or
  ``<label>/<choice label>``), "1"/"0", empty when the question was not answered;
- submission metadata at the end: ``_id``, ``_uuid``, ``_submission_time``, ``_validation_status``, ``_notes``,
  ``_status``, ``_submitted_by``, ``__version__``, ``_tags``, ``_index`` (and ``start``, ``end``, ``today``,
  ``deviceid`` at the start where the form collects them).

Against iasem's XLSForm (:mod:`iasem.instruments.export.xlsform`): every page is a group named after the page;
the item codes are the field names; choice names are the option values (keys are accepted too); the form's own
fields (``intro``/``closing`` notes, ``consent``, the ``<page>_header`` row of each matrix screen, in a label
export their labels) are known columns, kept in ``.raw``. In a label export without group labels every matrix
screen's header row has the same label; those columns are numbered (``... (2)``) rather than refused.

A ``select_multiple`` exported both ways is read from its list of choices when every word in it is a choice name,
else (labels, which may contain spaces) from the per-choice columns; a label list with no per-choice columns is
split at the longest known label (each part logged where unknown) and held in ``.raw`` as that list.

Ids: ``_uuid``, else ``_id``, else ``meta/instanceID``, else the line number. Duration: ``end`` - ``start`` in
seconds (ISO 8601 with offsets), where the form collects them. Complete: KoboToolbox stores only submitted forms,
so True for every row.

Not handled: the XLS/XLSX, SPSS and GeoJSON downloads; repeat groups (their own sheets); geopoint sub-columns.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ...errors import IasemError
from ...instruments.instrument import Instrument
from ..answers import normal
from . import PlatformExport
from .odk import (
    classify,
    durations,
    form_fields,
    header_cells,
    ids_of,
    one_source_per_question,
    plain_choices,
    split_choices,
)
from .table import decode, delimiter, frame_of, read_rows

NAME = "kobo"
#: KoboToolbox's submission metadata (formpack's copy fields and kpi's additions) and the XLSForm metadata fields.
METADATA = (
    "_id", "_uuid", "_submission_time", "_validation_status", "_notes", "_status", "_submitted_by", "__version__",
    "_tags", "_index", "_attachments", "_geolocation", "_xform_id_string", "_parent_table_name", "_parent_index",
    "formhub/uuid", "start", "end", "today", "deviceid", "username", "phonenumber", "simserial", "subscriberid",
    "audit", "background-audio",
)  # fmt: skip
METADATA_PREFIXES = ("meta/",)
#: Columns only KoboToolbox writes: a file with one of them is a Kobo export.
SIGNATURE = {"_uuid", "_submission_time", "__version__", "_validation_status", "_submitted_by"}
ID_COLUMNS = ("_uuid", "_id", "meta/instanceID")
#: Group separators tried (KoboToolbox lets the user choose; "/" is the default).
GROUP_SEPS = ("/", ".", ":", "-", "|", "_", " / ")


def sniff(path: Path, head: bytes) -> bool:
    return bool(SIGNATURE & set(header_cells(head)))


def read(path: Path, data: bytes, instrument: Instrument) -> PlatformExport:
    text = decode(path, data)
    if not text.strip():
        raise IasemError(f"{path}: the file is empty")
    rows = read_rows(path, text, delimiter(text))
    header, body = rows[0], rows[1:]
    if body and _hxl(body[0][1]):
        body = body[1:]
    fields = form_fields(instrument, GROUP_SEPS, labels=True)
    frame, lines, notes = frame_of(path, (header[0], _numbered(header[1], fields)), body)
    columns, option_columns, known = classify(frame, fields, METADATA, METADATA_PREFIXES)
    questions = {q.code: q for q in instrument.questions}
    one_source_per_question(instrument, frame, columns, option_columns, known,
                            lambda q, c: plain_choices(frame, c, q))  # fmt: skip
    for column, code in columns.items():
        q = questions[code]
        if q.scale.type == "multiple" and not plain_choices(frame, column, q):
            frame[column] = [split_choices(cell, q) if str(cell).strip() else "" for cell in frame[column]]
    return PlatformExport(NAME, frame, ids_of(frame, lines, ID_COLUMNS), lines, columns, option_columns, " ", known,
                          durations(frame), pd.Series(True, index=frame.index), notes)  # fmt: skip


def _hxl(cells: list[str]) -> bool:
    """An HXL hashtag row (``#affected +f``), written under the header when asked for."""
    filled = [c.strip() for c in cells if c.strip()]
    return bool(filled) and all(c.startswith("#") for c in filled)


def _numbered(names: list[str], fields: dict) -> list[str]:
    """The header, with repeats of a known form-only column (the matrix screens' header rows share one label in a
    label export) numbered ``name (2)``, ``name (3)``; any other repeated name stays, and is refused."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        key = name.strip()
        role = fields.get(normal(key))
        if key in seen and role is not None and role[0] == "form":
            seen[key] += 1
            out.append(f"{key} ({seen[key]})")
            fields.setdefault(normal(out[-1]), role)
            continue
        seen.setdefault(key, 1)
        out.append(name)
    return out
