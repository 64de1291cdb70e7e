"""ODK Central: Submissions > Download > CSV (the root table ``<form id>.csv`` of the ZIP, or the ZIP itself, or
the plain CSV of ``/v1/projects/.../forms/.../submissions.csv``), and ODK Briefcase CSV, which has the same layout.

The layout, as ODK Central writes it (``lib/data/briefcase.js`` in getodk/central-backend, which keeps Briefcase's
export format: github.com/getodk/briefcase/blob/master/docs/export-format.md; docs.getodk.org/central-submissions):

- comma separated, quoted only where needed, one header row;
- ``SubmissionDate`` first (ISO 8601, UTC), then one column per field of the form in form order, named by its
  path with the groups joined by ``-`` (``rsa-rsa1``, ``background-atype``, ``meta-instanceID``); with "Remove
  group names" the bare field name (``rsa1``);
- a ``select_multiple`` holds the chosen choice names separated by spaces (``1 3``); with "Split select multiple
  choices into columns" one more column per choice, ``<path>/<choice name>`` (``background-goals/1``), 1 when
  chosen and 0 otherwise (also 0 when the question was not answered);
- then ``KEY`` (the instanceID), ``SubmitterID``, ``SubmitterName``, ``AttachmentsPresent``,
  ``AttachmentsExpected``, ``Status`` (empty, or "not decrypted" / "missing encrypted form data" for an encrypted
  submission whose data is not in the export), ``ReviewState``, ``DeviceID``, ``Edits``, ``FormVersion``.

Against iasem's XLSForm (:mod:`iasem.instruments.export.xlsform`): every page is a group named after the page,
the item codes are the field names, the choice names are the options' values (keys are accepted too), and the
form's own fields (the ``intro``/``closing`` notes, ``consent``, the ``<page>_header`` rows of matrix screens) are
known columns, kept in ``.raw``.

Ids: ``meta-instanceID`` (``uuid:...``), else ``KEY``, else the line number. Duration: ``end`` - ``start`` in
seconds where the form has those fields (ISO 8601 with offsets, as ODK Collect and Enketo write them). Complete:
every submission in Central was finalised, so True, except where ``Status`` says the data is not in the export.

Not handled: repeat groups (their own CSV files), geopoint sub-columns, the ``.xlsx``/GeoJSON downloads.

The XLSForm name helpers here are shared with the KoboToolbox reader (:mod:`.kobo`).
"""

from __future__ import annotations

import csv
import io
import math
import zipfile
import zlib
from datetime import datetime
from pathlib import Path, PurePosixPath

import pandas as pd

from ...errors import IasemError
from ...instruments.export.xlsform import CONSENT, HEADER_SUFFIX, MATRIX_HEADER
from ...instruments.instrument import Instrument
from ..answers import AnswerReader, normal
from . import PlatformExport
from .table import decode, delimiter, frame_of, read_rows

NAME = "odk"
#: Central's own columns (briefcase.js), Briefcase's ``isValidated``, and the metadata fields an XLSForm may add.
METADATA = (
    "SubmissionDate", "KEY", "SubmitterID", "SubmitterName", "AttachmentsPresent", "AttachmentsExpected",
    "Status", "ReviewState", "DeviceID", "Edits", "FormVersion", "isValidated", "instanceID",
    "start", "end", "today", "deviceid", "username", "email", "phonenumber", "simserial", "subscriberid", "audit",
)  # fmt: skip
METADATA_PREFIXES = ("meta-", "meta/")
ID_COLUMNS = ("meta-instanceID", "meta/instanceID", "instanceID", "KEY")
#: Central never writes a member larger than this for a survey; a bigger one is refused rather than inflated.
MAX_MEMBER_BYTES = 1 << 30

Role = tuple  # ("question", code) | ("option", code, value) | ("form", name)


# ---------------------------------------------------------------------------------------------------------------
# XLSForm names, shared with the Kobo reader


def form_fields(instrument: Instrument, group_seps: tuple[str, ...], option_seps: tuple[str, ...] | None = None,
                *, labels: bool = False) -> dict[str, Role]:  # fmt: skip
    """Every column name an export of iasem's XLSForm of ``instrument`` may have, normalised
    (:func:`..answers.normal`), with its role.

    ``group_seps`` join a group and a field (``rsa/rsa1``, ``rsa-rsa1``); ``option_seps`` join a
    ``select_multiple`` and a choice in its per-choice columns (the group separator when None, as Kobo does).
    With ``labels``, also the headers of a label export: the question's label in each language (``Ik vertrouw
    ...``), with the group's label in front where the export shows the hierarchy, and ``<label>/<choice label>``.
    """
    found: dict[str, Role] = {}

    def add(name: str, role: Role) -> None:
        found.setdefault(normal(name), role)

    for name in (CONSENT, "intro", "closing"):
        add(name, ("form", name))
    groups = tuple(group_seps)
    for page in instrument.pages:
        if page.kind == "matrix":
            header = f"{page.name}{HEADER_SUFFIX}"
            for name in [header, *(f"{page.name}{sep}{header}" for sep in groups)]:
                add(name, ("form", header))
        for q in page.questions:
            paths = [q.code, *(f"{page.name}{sep}{q.code}" for sep in groups)]
            for path in paths:
                add(path, ("question", q.code))
            if q.scale.type == "multiple":
                for option in q.scale.options:
                    for path in paths:
                        for sep in option_seps or groups:
                            for choice in (str(option.value), option.key):
                                add(f"{path}{sep}{choice}", ("option", q.code, option.value))
    if labels:
        spec = instrument.spec
        for lang in instrument.languages:
            for text, name in ((spec.intro, "intro"), (spec.closing, "closing"), (spec.consent, CONSENT)):
                add(text[lang], ("form", name))
            for page in instrument.pages:
                title = getattr(page.title, lang)
                if page.kind == "matrix":
                    header = f"{page.name}{HEADER_SUFFIX}"
                    add(MATRIX_HEADER[lang], ("form", header))
                    for sep in group_seps:
                        add(f"{title}{sep}{MATRIX_HEADER[lang]}", ("form", header))
                for q in page.questions:
                    label = getattr(q.text, lang)
                    paths = [label, *(f"{title}{sep}{label}" for sep in group_seps)]
                    for path in paths:
                        add(path, ("question", q.code))
                    if q.scale.type == "multiple":
                        for option in q.scale.options:
                            for path in paths:
                                for sep in option_seps or group_seps:
                                    add(f"{path}{sep}{getattr(option, lang)}", ("option", q.code, option.value))
    return found


def classify(frame: pd.DataFrame, fields: dict[str, Role], metadata: tuple[str, ...],
             prefixes: tuple[str, ...]) -> tuple[dict[str, str], dict[str, tuple[str, int]], list[str]]:  # fmt: skip
    """The file's columns sorted into answer columns, per-choice columns and known (metadata or form) columns;
    the rest are left for the import's "extra column" check."""
    meta = {m.casefold() for m in metadata}
    columns, option_columns, known = {}, {}, []
    for column in frame.columns:
        role = fields.get(normal(column))
        if role is None:
            if column.casefold() in meta or column.startswith(prefixes):
                known.append(column)
        elif role[0] == "question":
            columns[column] = role[1]
        elif role[0] == "option":
            option_columns[column] = (role[1], role[2])
        else:
            known.append(column)
    return columns, option_columns, known


def one_source_per_question(instrument: Instrument, frame: pd.DataFrame, columns: dict[str, str],
                            option_columns: dict[str, tuple[str, int]], known: list[str],
                            summary_ok) -> None:  # fmt: skip
    """A ``select_multiple`` exported both ways (one column of choices and one column per choice) is read from
    one of them, the other kept as a known column: the summary where ``summary_ok(question, column)`` says it
    can be read, else the per-choice columns. Changes the mappings in place."""
    for q in instrument.questions:
        if q.scale.type != "multiple":
            continue
        summary = [c for c, code in columns.items() if code == q.code]
        per_choice = [c for c, (code, _) in option_columns.items() if code == q.code]
        if not summary or not per_choice:
            continue
        if all(summary_ok(q, c) for c in summary):
            for c in per_choice:
                del option_columns[c]
                known.append(c)
        else:
            for c in summary:
                del columns[c]
                known.append(c)


def choice_tokens(question) -> set[str]:
    """The normalised words a choice may be exported as: its value, key, and labels."""
    tokens = set()
    for option in question.scale.options:
        tokens |= {normal(option.value), normal(option.key), normal(option.nl), normal(option.en)}
    return tokens


def split_choices(cell: str, question) -> list[str]:
    """The choices in a ``select_multiple`` cell whose choices are separated by spaces while the choices
    themselves (labels) may hold spaces: the longest known choice at each point; words that start no known
    choice are kept together as one unknown part (which the import logs)."""
    tokens = choice_tokens(question)
    words = str(cell).split()
    parts: list[str] = []
    unknown: list[str] = []
    i = 0
    while i < len(words):
        for j in range(len(words), i, -1):
            if normal(" ".join(words[i:j])) in tokens:
                if unknown:
                    parts.append(" ".join(unknown))
                    unknown = []
                parts.append(" ".join(words[i:j]))
                i = j
                break
        else:
            unknown.append(words[i])
            i += 1
    if unknown:
        parts.append(" ".join(unknown))
    return parts


def plain_choices(frame: pd.DataFrame, column: str, question) -> bool:
    """Whether every word of the column is a choice value or key (an "XML values" export)."""
    reader = AnswerReader(question.scale)
    keys = {normal(o.key) for o in question.scale.options}
    for cell in frame[column].tolist():
        for word in str(cell).split():
            if normal(word) not in keys and (reader.read(word).value is None):
                return False
    return True


def ids_of(frame: pd.DataFrame, lines: pd.Series, candidates: tuple[str, ...]) -> pd.Series:
    """Each row's id: the first of the candidate columns that the file has and that is filled in on that row
    (``meta-instanceID``, then ``KEY``), else the line number."""
    folded = {c.casefold(): c for c in frame.columns}
    present = [folded[c.casefold()] for c in candidates if c.casefold() in folded]
    ids = pd.Series(lines.astype(str).to_numpy(), index=frame.index)
    for column in reversed(present):
        cells = frame[column].astype(str).str.strip()
        ids = cells.where(cells != "", ids)
    return ids


def timestamp(text: object) -> datetime | None:
    """An ISO 8601 date-time (``2024-03-05T10:15:30.123+01:00``, ``...Z``), or None."""
    value = str(text).strip()
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError:
        return None


def durations(frame: pd.DataFrame, start: str = "start", end: str = "end") -> pd.Series | None:
    """Seconds from ``start`` to ``end`` per row (NaN where either is missing, unreadable, or one has a time
    zone and the other not); None when the export has no such columns."""
    if start not in frame.columns or end not in frame.columns:
        return None
    out = []
    for a, b in zip(frame[start].tolist(), frame[end].tolist(), strict=True):
        t0, t1 = timestamp(a), timestamp(b)
        try:
            out.append((t1 - t0).total_seconds() if t0 is not None and t1 is not None else math.nan)
        except TypeError:  # offset-naive and offset-aware
            out.append(math.nan)
    return pd.Series(out, index=frame.index, dtype=float)


def header_cells(head: bytes) -> list[str]:
    """The first line of a delimited file's head, as cells (for sniffing; never raises)."""
    try:
        text = head.decode("utf-8-sig", errors="replace")
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            text = head.decode("utf-16", errors="replace")
        first = text.splitlines()[0] if text else ""
        return [c.strip() for c in next(csv.reader([first], delimiter=delimiter(first)), [])]
    except (csv.Error, IndexError, UnicodeError):
        return []


# ---------------------------------------------------------------------------------------------------------------
# ODK Central


def _is_odk_header(cells: list[str]) -> bool:
    names = set(cells)
    return ("SubmissionDate" in names and ("KEY" in names or "meta-instanceID" in names)) or (
        "meta-instanceID" in names and "ReviewState" in names
    )


def sniff(path: Path, head: bytes) -> bool:
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as archive:
                member = _root_csv(archive)
                return member is not None and _is_odk_header(header_cells(archive.open(member).read(65536)))
        except (OSError, zipfile.BadZipFile, KeyError, RuntimeError, EOFError, zlib.error):
            return False
    return _is_odk_header(header_cells(head))


def _root_csv(archive: zipfile.ZipFile) -> str | None:
    """The root table of a Central ZIP: ``<form id>.csv`` at the top; repeats are ``<form id>-<repeat>.csv``."""
    names = [n for n in archive.namelist() if n.lower().endswith(".csv") and "/" not in n.strip("/")]
    if not names:
        return None
    stems = [PurePosixPath(n).stem for n in names]
    roots = [n for n, s in zip(names, stems, strict=True) if not any(s.startswith(o + "-") for o in stems if o != s)]
    return min(roots or names, key=len)


def _unzip(path: Path, data: bytes) -> tuple[Path, bytes]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            member = _root_csv(archive)
            if member is None:
                raise IasemError(f"{path}: a ZIP file without a CSV table (ODK Central's download holds "
                                 "<form id>.csv)")  # fmt: skip
            info = archive.getinfo(member)
            if info.file_size > MAX_MEMBER_BYTES:
                raise IasemError(f"{path}: {member} is {info.file_size} bytes unpacked; too large for a survey export")
            return Path(f"{path}:{member}"), archive.read(member)
    except (zipfile.BadZipFile, EOFError, zlib.error) as exc:  # damaged: bad CRC, truncated or corrupt data
        raise IasemError(f"{path}: not a readable ZIP file ({exc})") from None
    except (RuntimeError, NotImplementedError) as exc:  # encrypted or unsupported compression
        raise IasemError(f"{path}: cannot unpack the ZIP file ({exc})") from None


def read(path: Path, data: bytes, instrument: Instrument) -> PlatformExport:
    if data.startswith(b"PK\x03\x04"):
        path, data = _unzip(path, data)
    text = decode(path, data)
    if not text.strip():
        raise IasemError(f"{path}: the file is empty")
    rows = read_rows(path, text, delimiter(text))
    frame, lines, notes = frame_of(path, rows[0], rows[1:])
    fields = form_fields(instrument, ("-",), ("/",))
    columns, option_columns, known = classify(frame, fields, METADATA, METADATA_PREFIXES)
    # Central fills the per-choice columns with 0 also when the question was not answered, so the list of
    # choices is the source whenever it is there.
    one_source_per_question(instrument, frame, columns, option_columns, known, lambda q, c: True)
    complete = None
    if "Status" in frame.columns:
        complete = frame["Status"].astype(str).str.strip().eq("")
    else:
        complete = pd.Series(True, index=frame.index)
    return PlatformExport(NAME, frame, ids_of(frame, lines, ID_COLUMNS), lines, columns, option_columns, " ", known,
                          durations(frame), complete, notes)  # fmt: skip
