"""Writers for the form-based platforms' exports (KoboToolbox, ODK Central, SurveyJS), used by the response-import
round trips: ``answers(...)`` (tests/responses_support.py) in, the bytes the platform's download would hold out.

Each follows the platform's documented export layout for iasem's own form of the instrument (the XLSForm of
iasem.instruments.export.xlsform for Kobo and ODK, the survey JSON of iasem.instruments.export.surveyjs):

- KoboToolbox (kobotoolbox/formpack ``to_csv``): every cell quoted, ``;`` by default, XML names or labels as
  headers, groups joined by the group separator, ``select_multiple`` as a list plus per-choice 1/0 columns (empty
  when unanswered), the submission metadata (``_id`` ... ``_index``) last;
- ODK Central (central-backend ``lib/data/briefcase.js``): ``SubmissionDate`` first, ``group-field`` paths,
  choice names, per-choice ``path/choice`` columns with 0 by default, ``meta-instanceID`` and Central's columns
  (``KEY`` ... ``FormVersion``) last; a ZIP with ``<form id>.csv``;
- SurveyJS: ``survey.data`` per respondent: ``{"consent": 1, "<matrix>": {"<row>": value}, "<code>": value,
  "<checkbox>": [values]}``, answered rows only.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
import zipfile
from datetime import UTC, datetime, timedelta, timezone

import pandas as pd

from iasem.instruments.export.xlsform import HEADER_SUFFIX, MATRIX_HEADER
from iasem.instruments.instrument import Instrument, Question

#: The import's own findings about a file (screening flags such as ``incomplete`` or ``attention`` are about the
#: respondents and expected in any sample).
IMPORT_PROBLEMS = {"missing_column", "extra_column", "duplicate_id", "unknown_label", "out_of_range", "non_numeric"}
START = datetime(2024, 3, 5, 9, 0, 0, 123000, tzinfo=timezone(timedelta(hours=1)))


def with_ids(given: pd.DataFrame, prefix: str = "", seed: int = 0) -> pd.DataFrame:
    """The answers with platform-like response ids (UUIDs, optionally prefixed ``uuid:`` as ODK writes them)."""
    out = given.copy()
    out["id"] = [f"{prefix}{uuid.UUID(int=(seed << 64) + k + 1)}" for k in range(len(out))]
    return out


def _blank(value) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def choice(q: Question, value, mode: str) -> str:
    """One choice as exported: ``xml`` the choice name (the option's value in iasem's XLSForm), ``key`` the
    option key, ``nl``/``en`` the label."""
    if _blank(value):
        return ""
    if q.scale.type == "integer":
        return str(int(value))
    option = next(o for o in q.scale.options if o.value == value)
    return {"xml": str(option.value), "key": option.key, "nl": option.nl, "en": option.en}[mode]


def _times(given: pd.DataFrame) -> tuple[list[str], list[str]]:
    starts = [START + timedelta(hours=3 * k, minutes=k) for k in range(len(given))]
    ends = [s + timedelta(seconds=int(d)) for s, d in zip(starts, given["duration"], strict=True)]
    fmt = lambda t: t.isoformat(timespec="milliseconds")  # noqa: E731  2024-03-05T09:00:00.123+01:00
    return [fmt(t) for t in starts], [fmt(t) for t in ends]


def _form_fields(instrument: Instrument):
    """(kind, name, page, question) for the fields of iasem's XLSForm in form order."""
    yield "note", "intro", None, None
    yield "consent", "consent", None, None
    for page in instrument.pages:
        if page.kind == "matrix":
            yield "header", f"{page.name}{HEADER_SUFFIX}", page, None
        for q in page.questions:
            yield "question", q.code, page, q
    yield "note", "closing", None, None


# ---------------------------------------------------------------------------------------------------------------
# KoboToolbox


def kobo_csv(given: pd.DataFrame, instrument: Instrument, *, mode: str = "xml", sep: str = ";", groups: bool = True,
             hierarchy: bool = False, group_sep: str = "/", multiple: str = "both", start_end: bool = True,
             hxl: bool = False) -> bytes:  # fmt: skip
    """A KoboToolbox CSV download. ``mode``: "xml" (XML values and headers) or "nl"/"en" (labels in that
    language); ``multiple``: "both", "summary" or "details"; ``hierarchy``: group labels in label headers."""
    labels = mode != "xml"
    spec = instrument.spec
    header: list[str] = []
    cells: list[list[str]] = [[] for _ in range(len(given))]
    starts, ends = _times(given)

    def column(name: str, values: list[str]) -> None:
        header.append(name)
        for row, value in zip(cells, values, strict=True):
            row.append(value)

    if start_end:
        column("start", starts)
        column("end", ends)
    for kind, name, page, q in _form_fields(instrument):
        if labels:
            text = {"intro": spec.intro, "closing": spec.closing, "consent": spec.consent}.get(name)
            label = text[mode] if text is not None else MATRIX_HEADER[mode] if kind == "header" else q.text[mode]
            title = f"{page.title[mode]}{group_sep}" if page is not None and hierarchy else ""
        else:
            label = name
            title = f"{page.name}{group_sep}" if page is not None and groups else ""
        if kind == "consent":
            column(title + label, ["Ja" if mode == "nl" else "Yes" if mode == "en" else "1"] * len(given))
        elif kind != "question":
            column(title + label, [""] * len(given))
        elif q.scale.type == "multiple":
            chosen = list(given[q.code])
            if multiple in ("both", "summary"):
                column(title + label, [" ".join(choice(q, v, mode) for v in vs) for vs in chosen])
            if multiple in ("both", "details"):
                for o in q.scale.options:
                    suffix = getattr(o, mode) if labels else str(o.value)
                    column(f"{title}{label}{group_sep}{suffix}", [("1" if o.value in vs else "0") if vs else ""
                                                                  for vs in chosen])  # fmt: skip
        else:
            column(title + label, [choice(q, v, mode) for v in given[q.code]])
    meta = {
        "_id": [str(1000 + k) for k in range(len(given))],
        "_uuid": list(given["id"]),
        "_submission_time": [e[:19] for e in ends],
        "_validation_status": [""] * len(given),
        "_notes": [""] * len(given),
        "_status": ["submitted_via_web"] * len(given),
        "_submitted_by": [""] * len(given),
        "__version__": ["vGxkT3uA8sQp7bfZcxcjq"] * len(given),
        "_tags": [""] * len(given),
        "_index": [str(k + 1) for k in range(len(given))],
    }
    for name, values in meta.items():
        column(name, values)
    rows = [header]
    if hxl:
        rows.append(["#date +start", "#date +end"] + [""] * (len(header) - 2))
    rows += cells
    quote = lambda v: '"' + str(v).replace('"', '""') + '"'  # noqa: E731  formpack's format_line
    return "".join(sep.join(quote(v) for v in row) + "\r\n" for row in rows).encode("utf-8")


# ---------------------------------------------------------------------------------------------------------------
# ODK Central


def odk_csv(given: pd.DataFrame, instrument: Instrument, *, groups: bool = True, split: bool = False,
            start_end: bool = True, status: dict[int, str] | None = None) -> bytes:  # fmt: skip
    """An ODK Central CSV (the root table). ``groups=False``: "Remove group names"; ``split``: "Split select
    multiple choices into columns"; ``status``: row -> Central's Status text (encrypted, not decrypted)."""
    header = ["SubmissionDate"]
    columns: list[list[str]] = []
    n = len(given)
    starts, ends = _times(given)
    if start_end:
        header += ["start", "end"]
        columns += [starts, ends]
    for kind, name, page, q in _form_fields(instrument):
        path = f"{page.name}-{name}" if page is not None and groups else name
        if kind == "consent":
            header.append(path)
            columns.append(["1"] * n)
        elif kind != "question":
            header.append(path)
            columns.append([""] * n)
        elif q.scale.type == "multiple":
            chosen = list(given[q.code])
            header.append(path)
            columns.append([" ".join(choice(q, v, "xml") for v in vs) for vs in chosen])
            if split:
                for o in q.scale.options:
                    header.append(f"{path}/{o.value}")
                    columns.append(["1" if o.value in vs else "0" for vs in chosen])  # 0 also when unanswered
        else:
            header.append(path)
            columns.append([choice(q, v, "xml") for v in given[q.code]])
    header.append("meta-instanceID" if groups else "instanceID")
    columns.append(list(given["id"]))
    status = status or {}
    central = {
        "KEY": list(given["id"]),
        "SubmitterID": ["5"] * n,
        "SubmitterName": ["Veldwerker 1"] * n,
        "AttachmentsPresent": ["0"] * n,
        "AttachmentsExpected": ["0"] * n,
        "Status": [status.get(k, "") for k in range(n)],
        "ReviewState": ["approved" if k % 3 == 0 else "" for k in range(n)],
        "DeviceID": [f"collect:{k:016X}" for k in range(n)],
        "Edits": ["0"] * n,
        "FormVersion": ["2024030501"] * n,
    }
    header += list(central)
    columns += list(central.values())
    submitted = [
        (datetime.fromisoformat(e) + timedelta(minutes=7)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        for e in ends
    ]
    rows = [[s, *(col[k] for col in columns)] for k, s in enumerate(submitted)]
    for k in status:  # Central writes no field values for a submission it cannot decrypt
        rows[k] = [rows[k][0]] + [""] * (len(header) - 1 - len(central)) + [col[k] for col in central.values()]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def odk_zip(table: bytes, form_id: str) -> bytes:
    """Central's ZIP download: the root table, an (empty) repeat table and a media folder."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{form_id}-visits.csv", "PARENT_KEY,KEY\n")
        archive.writestr(f"{form_id}.csv", table)
        archive.writestr("media/", "")
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------------------------
# SurveyJS


def surveyjs_data(given: pd.DataFrame, instrument: Instrument, *, labels: str | None = None) -> list[dict]:
    """``survey.data`` of each respondent; ``labels`` "nl"/"en": answers as display text."""
    mode = labels or "xml"
    results = []
    for k in range(len(given)):
        data: dict = {"consent": 1}
        for page in instrument.pages:
            if page.kind == "matrix":
                rows = {q.code: _surveyjs_value(q, given[q.code].iloc[k], mode) for q in page.questions}
                rows = {code: v for code, v in rows.items() if v is not None}
                if rows:
                    data[page.name] = rows
                continue
            for q in page.questions:
                value = given[q.code].iloc[k]
                if q.scale.type == "multiple":
                    if value:
                        data[q.code] = [_surveyjs_value(q, v, mode) for v in value]
                elif not _blank(value):
                    data[q.code] = _surveyjs_value(q, value, mode)
        results.append(data)
    return results


def _surveyjs_value(q: Question, value, mode: str):
    if _blank(value):
        return None
    if mode == "xml" or q.scale.type == "integer":
        return int(value)
    return choice(q, value, mode)


def surveyjs_records(given: pd.DataFrame, data: list[dict], *, ids: str | None = "field") -> list[dict]:
    """The results as a host stores them: ``ids`` "field" (``id`` and ``timeSpent`` next to the answers), "wrap"
    (``{"id", "createdAt", "duration", "isCompleted", "data": survey.data}``) or None (``survey.data`` alone)."""
    out = []
    for k, record in enumerate(data):
        rid, seconds = str(given["id"].iloc[k]), int(given["duration"].iloc[k])
        if ids == "field":
            out.append({"id": rid, "timeSpent": seconds, **record})
        elif ids == "wrap":
            out.append({"id": rid, "createdAt": f"2024-03-05T10:{k % 60:02d}:00Z", "duration": seconds,
                        "isCompleted": k != len(data) - 1, "data": record})  # fmt: skip
        else:
            out.append(record)
    return out


def surveyjs_file(records: list[dict], shape: str = "list") -> bytes:
    """``list`` (a JSON array), ``object`` (one result), ``wrapped`` (``{"results": [...]}``) or ``ndjson``."""
    if shape == "ndjson":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")
    value = {"object": lambda: records[0], "wrapped": lambda: {"results": records}, "list": lambda: records}[shape]()
    return json.dumps(value, indent=2, ensure_ascii=False).encode("utf-8")
