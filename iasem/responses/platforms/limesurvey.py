"""LimeSurvey response exports (*Responses > Export > Export responses*, CSV).

What the export looks like (LimeSurvey manual, "Exporting results" / "Export responses",
https://manual.limesurvey.org/Exporting_results, and the writer classes that produce it,
``application/helpers/admin/export/Writer.php``, ``CsvWriter.php`` and ``SurveyObj.php`` in
https://github.com/LimeSurvey/LimeSurvey):

- UTF-8 with a byte order mark, every cell quoted, CRLF line ends and one blank line at the end; the field
  separator is an export option (comma by default, or semicolon or tab).
- The heading of each column is one of (export option *Headings*): the **question code** (the default),
  ``code`` + separator + text (*Question code & question text*, separator ``. `` by default), the **full
  question text**, or an abbreviated text. A question code is ``QUESTION[SUBQUESTION]`` for subquestions
  (arrays, multiple choice); with *ExpressionScript codes* it is ``QUESTION_SUBQUESTION``, and some tools
  write ``QUESTIONSUBQUESTION``. A full heading is ``question text [subquestion text]``.
- Answers (export option *Responses*) are the **answer codes** or the **full answers**: the answer text in
  the export language (Dutch or English here). Multiple choice stores ``Y`` for a chosen option and an empty
  cell otherwise (``Convert Y to`` / ``Convert N to`` can change that); as full answers ``Yes``/``No``
  (``Ja``/``Nee``) and ``N/A`` where the question was never shown.
- Metadata columns: ``id`` (the response id), ``submitdate`` (empty until the response is submitted),
  ``lastpage``, ``startlanguage``, ``seed``, ``startdate``, ``datestamp``, ``ipaddr``, ``refurl``, ``token``
  and participant attributes, and with timings ``interviewtime`` (seconds) plus per-group and per-question
  times (``groupTime<gid>``, ``<code>Time``).

How the columns map to the instrument follows iasem's own LimeSurvey export
(:mod:`iasem.instruments.export.limesurvey`): a matrix page is one array question whose code is the page
name made alphanumeric (``rsa``, ``perfinternal``) with the item codes as subquestion codes, so
``rsa[rsa1]`` is item ``rsa1``; a background question keeps its code; a multiple-choice question has one
subquestion per option, coded by the option's value (``goals[1]``); answer codes are the scale values. The
consent question (``consent``) is the survey's own column.

Read: ``complete`` is whether ``submitdate`` is filled, ``duration`` is ``interviewtime``, the respondent id
is ``id``. Headings by code (all three spellings), by code and text, or by full question text (Dutch or
English) are mapped; abbreviated headings are not (those columns are reported missing and extra).
"""

from __future__ import annotations

import csv
import html
import io
import re
from pathlib import Path

import pandas as pd

from ...instruments.export.limesurvey import CONSENT_QUESTION, page_codes
from ...instruments.instrument import Instrument
from ..answers import normal
from . import PlatformExport
from .table import read_table

NAME = "limesurvey"

#: LimeSurvey's own response columns (the survey table and the participant table).
METADATA = {
    "id", "token", "submitdate", "lastpage", "startlanguage", "seed", "startdate", "datestamp", "ipaddr",
    "refurl", "interviewtime", "tid", "participant_id", "firstname", "lastname", "email", "emailstatus",
    "language", "sent", "remindersent", "remindercount", "completed", "usesleft", "validfrom", "validuntil",
    "blacklisted", "mpid",
}  # fmt: skip
#: The metadata headings of a full-text export (English interface), by column code.
METADATA_TEXT = {
    "response id": "id", "date submitted": "submitdate", "last page": "lastpage",
    "start language": "startlanguage", "seed": "seed", "date started": "startdate",
    "date last action": "datestamp", "ip address": "ipaddr", "referrer url": "refurl",
    "total time": "interviewtime", "token": "token", "first name": "firstname", "last name": "lastname",
    "email address": "email",
}  # fmt: skip
TIMING = re.compile(r"^(interviewtime|groupTime\d+|[A-Za-z][A-Za-z0-9]*Time|\d+X\d+(X\d+\w*)?time|attribute_\d+)$")
TIMING_TEXT = re.compile(r"^(group|question) time:", re.IGNORECASE)
#: The code at the start of a "question code & question text" heading: ``rsa[rsa1]. Text``.
CODE_PREFIX = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_]*(?:\[[A-Za-z0-9_]+\])?)\s*(?:[^\w\[\s]|\s|$)")


def sniff(path: Path, head: bytes) -> bool:
    names = header_cells(head)
    if not names:
        return False
    folded = {n.strip().casefold() for n in names}
    codes = {_code_prefix(n).casefold() for n in names}
    if "id" in codes and codes & {"submitdate", "lastpage", "startlanguage"}:
        return True
    return "response id" in folded and bool(folded & {"date submitted", "last page", "start language"})


def read(path: Path, data: bytes, instrument: Instrument) -> PlatformExport:
    frame, lines, _, notes = read_table(path, data)
    by_code, by_text = targets(instrument)
    columns, option_columns, metadata = {}, {}, []
    roles: dict[str, str] = {}  # metadata code -> file column
    for column in frame.columns:
        target = _target(column, by_code, by_text)
        if target is None:
            continue
        kind, *rest = target
        if kind == "question":
            columns[column] = rest[0]
        elif kind == "option":
            option_columns[column] = (rest[0], rest[1])
        else:
            metadata.append(column)
            roles.setdefault(rest[0], column)
    id_column = roles.get("id")
    if id_column:
        ids = frame[id_column].astype(str).str.strip()
        ids = ids.where(ids != "", lines.astype(str).to_numpy())
    else:
        ids = pd.Series(lines.astype(str).to_numpy(), index=frame.index)
    complete = None
    if "submitdate" in roles:
        complete = frame[roles["submitdate"]].astype(str).str.strip().ne("")
    duration = None
    if "interviewtime" in roles:
        duration = pd.to_numeric(frame[roles["interviewtime"]].str.strip().str.replace(",", "."), errors="coerce")
    return PlatformExport(NAME, frame, ids, lines, columns, option_columns, None, metadata, duration, complete, notes)


def targets(instrument: Instrument) -> tuple[dict[str, tuple], dict[str, tuple]]:
    """What each column heading may stand for: by (case-folded) column code and by question text.

    A target is ``("question", code)``, ``("option", code, value)`` or ``("meta", name)``.
    """
    by_code: dict[str, tuple] = {}
    by_text: dict[str, tuple] = {}
    codes = page_codes(instrument)
    consent = codes.pop(None)

    def code(name: str, target: tuple, *, weak: bool = False) -> None:
        key = name.casefold()
        if weak:
            by_code.setdefault(key, target)
        else:
            by_code[key] = target

    for q in instrument.questions:  # an item's own code, where no LimeSurvey code takes it
        code(q.code, ("question", q.code), weak=True)
    for name in METADATA:
        code(name, ("meta", name))
    code(consent, ("meta", "consent"))
    for consent_text in CONSENT_QUESTION.values():
        by_text[text_key(consent_text)] = ("meta", "consent")
    for key, name in METADATA_TEXT.items():
        by_text[key] = ("meta", name)
    for page in instrument.pages:
        array = codes.get(page.name)
        for q in page.questions:
            if array:
                for name in (f"{array}[{q.code}]", f"{array}_{q.code}", f"{array}{q.code}"):
                    code(name, ("question", q.code))
                for lang in instrument.languages:
                    by_text[text_key(f"{page.title[lang]} [{q.text[lang]}]")] = ("question", q.code)
                continue
            if q.scale.type == "multiple":
                for o in q.scale.options:
                    for name in (f"{q.code}[{o.value}]", f"{q.code}_{o.value}", f"{q.code}{o.value}"):
                        code(name, ("option", q.code, o.value), weak=True)
                    for lang in instrument.languages:
                        by_text[text_key(f"{q.text[lang]} [{o.label[lang]}]")] = ("option", q.code, o.value)
                continue
            code(q.code, ("question", q.code))
            for lang in instrument.languages:
                by_text[text_key(q.text[lang])] = ("question", q.code)
    return by_code, by_text


def text_key(text: str) -> str:
    """A heading or label as compared: HTML tags dropped, entities decoded, then :func:`normal`."""
    return normal(html.unescape(re.sub(r"<[^>]*>", " ", str(text))))


def header_cells(head: bytes) -> list[str]:
    """The cells of a delimited file's first line, from its first bytes (any encoding iasem reads)."""
    text = head_text(head)
    first = next(iter(text.splitlines()), "")
    if not first.strip():
        return []
    counts = {d: first.count(d) for d in ",;\t"}
    sep = max(counts, key=counts.get)
    try:
        return next(csv.reader(io.StringIO(first), delimiter=sep))
    except (csv.Error, StopIteration):
        return []


def head_text(head: bytes) -> str:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head[: len(head) // 2 * 2].decode("utf-16", errors="replace")
    return head.decode("utf-8-sig", errors="replace")


def _code_prefix(heading: str) -> str:
    match = CODE_PREFIX.match(heading)
    return match.group(1) if match else heading.strip()


def _target(column: str, by_code: dict[str, tuple], by_text: dict[str, tuple]) -> tuple | None:
    name = column.strip()
    found = by_code.get(name.casefold()) or by_text.get(text_key(name))
    if found:
        return found
    if TIMING.match(name) or TIMING_TEXT.match(name):
        return ("meta", "interviewtime" if name.casefold() in ("interviewtime", "total time") else "timing")
    prefix = _code_prefix(name)
    if prefix != name:
        found = by_code.get(prefix.casefold())
        if found:
            return found
        if TIMING.match(prefix):
            return ("meta", "interviewtime" if prefix.casefold() == "interviewtime" else "timing")
    return None
