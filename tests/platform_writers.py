"""Test writers: ``responses_support.answers(...)`` written as LimeSurvey, Qualtrics and REDCap export it.

Each writer starts from the survey file iasem's own exporter produces for that platform (the LimeSurvey TSV
structure, the Qualtrics Advanced-format TXT, the REDCap data dictionary) and lays out the response columns
as the platform derives them from that survey, following the platform's documented export conventions (see
the reader modules in ``iasem/responses/platforms``). So the round trip checks the readers against the
exporters, not against themselves.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from iasem.instruments.export import limesurvey as ls_export
from iasem.instruments.export import qualtrics as qx_export
from iasem.instruments.export import redcap as rc_export
from iasem.instruments.instrument import Instrument


def plain(text: str) -> str:
    """A platform label as a respondent (and the label export) shows it: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]*>", "", text))


def _csv(rows: list[list[object]], *, delimiter: str = ",", quote_all: bool = False, bom: bool = True,
         terminator: str = "\r\n", encoding: str = "utf-8") -> bytes:  # fmt: skip
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=terminator,
                        quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)  # fmt: skip
    for row in rows:
        writer.writerow(["" if cell is None else cell for cell in row])
    text = buffer.getvalue()
    if encoding == "utf-16":
        return text.encode("utf-16")  # with its BOM
    return (("\ufeff" if bom else "") + text).encode(encoding)


def _given(value: object) -> bool:
    return value is not None and not (isinstance(value, float) and np.isnan(value))


# --------------------------------------------------------------------------------------------- LimeSurvey


@dataclass
class LimeQuestion:
    type: str
    code: str
    text: str
    subquestions: list[tuple[str, str]] = field(default_factory=list)  # (code, text)
    answers: dict[str, str] = field(default_factory=dict)  # code -> text


def limesurvey_structure(instrument: Instrument, lang: str) -> list[LimeQuestion]:
    """The questions of iasem's LimeSurvey TSV in ``lang``, in order."""
    (data,) = ls_export.render(instrument, instrument.spec.default_language).values()
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter="\t"))
    head = rows[0]
    questions: list[LimeQuestion] = []
    for row in rows[1:]:
        cell = dict(zip(head, row, strict=False))
        if cell["language"] != lang:
            continue
        if cell["class"] == "Q":
            questions.append(LimeQuestion(cell["type/scale"], cell["name"], plain(cell["text"])))
        elif cell["class"] == "SQ":
            questions[-1].subquestions.append((cell["name"], plain(cell["text"])))
        elif cell["class"] == "A":
            questions[-1].answers[cell["name"]] = plain(cell["text"])
    return questions


def limesurvey_csv(given: pd.DataFrame, instrument: Instrument, *, lang: str = "nl", answers: str = "codes",
                   headings: str = "code", brackets: str = "[]", delimiter: str = ",",
                   timings: bool = True) -> bytes:  # fmt: skip
    """``given`` as LimeSurvey's CSV export: ``answers`` "codes" or "full" (texts in ``lang``), ``headings``
    "code", "codetext" or "full", ``brackets`` "[]" (``rsa[rsa1]``), "_" (ExpressionScript codes) or ""."""
    questions = limesurvey_structure(instrument, lang)
    yes, no, na = {"nl": ("Ja", "Nee", "N.v.t."), "en": ("Yes", "No", "N/A")}[lang]
    n = len(given)
    last_page = len(questions)
    complete = [k < n - 1 for k in range(n)]
    meta = {
        ("id", "Response ID"): [str(v) for v in given["id"]],
        ("submitdate", "Date submitted"): [f"2024-03-0{1 + k % 9} 10:{k % 60:02d}:00" if complete[k] else ""
                                           for k in range(n)],
        ("lastpage", "Last page"): [str(last_page if complete[k] else 1) for k in range(n)],
        ("startlanguage", "Start language"): [lang] * n,
        ("seed", "Seed"): [str(100000 + 7919 * k) for k in range(n)],
        ("startdate", "Date started"): ["2024-03-01 09:00:00"] * n,
        ("datestamp", "Date last action"): ["2024-03-01 10:00:00"] * n,
        ("refurl", "Referrer URL"): [""] * n,
    }  # fmt: skip

    def code_of(q: LimeQuestion, sub: str | None) -> str:
        if sub is None:
            return q.code
        return f"{q.code}[{sub}]" if brackets == "[]" else f"{q.code}{brackets}{sub}"

    def heading(code: str, text: str) -> str:
        return {"code": code, "codetext": f"{code}. {text}", "full": text}[headings]

    header: list[str] = [heading(code, text) for code, text in meta]
    columns: list[list[str]] = list(meta.values())
    for q in questions:
        if q.type == "Y":  # the consent
            header.append(heading(q.code, q.text))
            columns.append([(yes if answers == "full" else "Y")] * n)
        elif q.type == "F":
            for sub, sub_text in q.subquestions:
                header.append(heading(code_of(q, sub), f"{q.text} [{sub_text}]"))
                cells = []
                for v in given[sub]:
                    code = str(int(v)) if _given(v) else ""
                    cells.append(q.answers.get(code, "") if answers == "full" else code)
                columns.append(cells)
        elif q.type == "L":
            header.append(heading(q.code, q.text))
            cells = []
            for v in given[q.code]:
                code = str(int(v)) if _given(v) else ""
                cells.append(q.answers.get(code, "") if answers == "full" else code)
            columns.append(cells)
        elif q.type == "N":
            header.append(heading(q.code, q.text))
            columns.append([str(int(v)) if _given(v) else "" for v in given[q.code]])
        elif q.type == "M":
            for sub, sub_text in q.subquestions:
                header.append(heading(code_of(q, sub), f"{q.text} [{sub_text}]"))
                cells = []
                for k, chosen in enumerate(given[q.code]):
                    picked = int(sub) in chosen
                    if answers == "full":  # Yes / No where shown (stored Y or ""), N/A where never shown
                        cells.append(yes if picked else (no if complete[k] else na))
                    else:
                        cells.append("Y" if picked else "")
                columns.append(cells)
        else:  # pragma: no cover
            raise AssertionError(f"question type {q.type} not written")
    if timings:
        header.append(heading("interviewtime", "Total time"))
        columns.append([f"{float(d):.2f}" for d in given["duration"]])
        for g, q in enumerate(questions, start=1):
            header.append(heading(f"groupTime{100 + g}", f"Group time: {q.text}"))
            columns.append([f"{float(d) / len(questions):.2f}" for d in given["duration"]])
    rows = [header, *map(list, zip(*columns, strict=True))]
    # CsvWriter: UTF-8 BOM, every cell quoted, CRLF, and a blank line at the end.
    return _csv(rows, delimiter=delimiter, quote_all=True) + b"\r\n"


# ---------------------------------------------------------------------------------------------- Qualtrics


@dataclass
class QualtricsQuestion:
    type: str
    tag: str
    text: str
    qid: int = 0
    choices: list[tuple[str, str]] = field(default_factory=list)  # (recode, text)
    answers: list[tuple[str, str]] = field(default_factory=list)


def qualtrics_structure(instrument: Instrument, lang: str, qid_start: int = 1) -> list[QualtricsQuestion]:
    """The questions of iasem's Advanced-format TXT in ``lang``, numbered QID``qid_start``... in file order
    (as a Qualtrics import creates them)."""
    (data,) = qx_export.render(instrument, lang).values()
    lines = data.decode("utf-8").splitlines()
    questions: list[QualtricsQuestion] = []
    mode = None
    k = 0
    while k < len(lines):
        line = lines[k]
        if line.startswith("[[Question:"):
            tag = lines[k + 1][len("[[ID:") : -2]
            questions.append(QualtricsQuestion(line[len("[[Question:") : -2], tag, plain(lines[k + 2]),
                                               qid=qid_start + len(questions)))  # fmt: skip
            mode = None
            k += 3
            continue
        if line == "[[AdvancedChoices]]":
            mode = "choices"
        elif line == "[[AdvancedAnswers]]":
            mode = "answers"
        elif line.startswith(("[[Choice:", "[[Answer:")):
            getattr(questions[-1], mode).append((line.split(":", 1)[1][:-2], plain(lines[k + 1])))  # type: ignore[arg-type]
            k += 2
            continue
        k += 1
    return questions


QUALTRICS_META = [
    ("StartDate", "Start Date", '{"ImportId":"startDate","timeZone":"Europe/Amsterdam"}'),
    ("EndDate", "End Date", '{"ImportId":"endDate","timeZone":"Europe/Amsterdam"}'),
    ("Status", "Response Type", '{"ImportId":"status"}'),
    ("IPAddress", "IP Address", '{"ImportId":"ipAddress"}'),
    ("Progress", "Progress", '{"ImportId":"progress"}'),
    ("Duration (in seconds)", "Duration (in seconds)", '{"ImportId":"duration"}'),
    ("Finished", "Finished", '{"ImportId":"finished"}'),
    ("RecordedDate", "Recorded Date", '{"ImportId":"recordedDate","timeZone":"Europe/Amsterdam"}'),
    ("ResponseId", "Response ID", '{"ImportId":"_recordId"}'),
    ("RecipientLastName", "Recipient Last Name", '{"ImportId":"recipientLastName"}'),
    ("RecipientFirstName", "Recipient First Name", '{"ImportId":"recipientFirstName"}'),
    ("RecipientEmail", "Recipient Email", '{"ImportId":"recipientEmail"}'),
    ("ExternalReference", "External Data Reference", '{"ImportId":"externalDataReference"}'),
    ("LocationLatitude", "Location Latitude", '{"ImportId":"locationLatitude"}'),
    ("LocationLongitude", "Location Longitude", '{"ImportId":"locationLongitude"}'),
    ("DistributionChannel", "Distribution Channel", '{"ImportId":"distributionChannel"}'),
    ("UserLanguage", "User Language", '{"ImportId":"userLanguage"}'),
]


def qualtrics_ids(n: int, seed: int = 3) -> list[str]:
    rng = np.random.default_rng(seed)
    alphabet = np.array(list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))
    return ["R_" + "".join(rng.choice(alphabet, 15)) for _ in range(n)]


def qualtrics_csv(given: pd.DataFrame, instrument: Instrument, *, lang: str = "en", choice_text: bool = False,
                  split: bool = False, qid_start: int = 1, retag: dict[str, str] | None = None,
                  import_ids: bool = True, tsv: bool = False) -> bytes:  # fmt: skip
    """``given`` as Qualtrics' CSV export (or TSV, UTF-16): three header rows, recode values or (with
    ``choice_text``) choice texts in ``lang``, multiple answer in one column or ``split``; ``retag`` renames
    export tags (as a user may in the survey), ``import_ids=False`` leaves out the ImportId row."""
    questions = qualtrics_structure(instrument, lang, qid_start)
    retag = retag or {}
    n = len(given)
    finished = [k < n - 1 for k in range(n)]
    meta = {
        "StartDate": ["2024-03-01 09:00:00"] * n,
        "EndDate": ["2024-03-01 09:20:00"] * n,
        "Status": ["IP Address" if choice_text else "0"] * n,
        "IPAddress": [f"10.0.0.{k % 250 + 1}" for k in range(n)],
        "Progress": [("100" if f else "12") for f in finished],
        "Duration (in seconds)": [str(int(d)) for d in given["duration"]],
        "Finished": [(("True" if f else "False") if choice_text else ("1" if f else "0")) for f in finished],
        "RecordedDate": ["2024-03-01 09:20:01"] * n,
        "ResponseId": [str(v) for v in given["id"]],
        "RecipientLastName": [""] * n, "RecipientFirstName": [""] * n, "RecipientEmail": [""] * n,
        "ExternalReference": [""] * n, "LocationLatitude": ["52.37"] * n, "LocationLongitude": ["4.89"] * n,
        "DistributionChannel": ["anonymous"] * n, "UserLanguage": [lang.upper()] * n,
    }  # fmt: skip
    tags = [m[0] for m in QUALTRICS_META]
    texts = [m[1] for m in QUALTRICS_META]
    ids = [m[2] for m in QUALTRICS_META]
    columns = [meta[t] for t in tags]

    def add(tag: str, text: str, import_id: str, cells: list[str]) -> None:
        tags.append(retag.get(tag, tag))
        texts.append(text)
        ids.append(json.dumps({"ImportId": import_id}, separators=(",", ":")))
        columns.append(cells)

    def label(choices: list[tuple[str, str]], value: object) -> str:
        if not _given(value):
            return ""
        recode = str(int(value))  # type: ignore[call-overload]
        return dict(choices)[recode] if choice_text else recode

    matrices = iter([p for p in instrument.pages if p.kind == "matrix" and p.scale.options])
    for q in questions:
        if q.type == "Text":
            continue
        if q is questions[1]:  # the consent, after the intro
            add(q.tag, q.text, f"QID{q.qid}", [label(q.choices, 1)] * n)
        elif q.type == "Matrix":
            page = next(matrices)
            for k, ((_, statement), item) in enumerate(zip(q.choices, page.questions, strict=True), start=1):
                add(f"{q.tag}_{k}", f"{q.text} - {statement}", f"QID{q.qid}_{k}",
                    [label(q.answers, v) for v in given[item.code]])  # fmt: skip
        elif q.type == "TE:SingleLine":
            add(q.tag, q.text, f"QID{q.qid}_TEXT", [str(int(v)) if _given(v) else "" for v in given[q.tag]])
        elif q.type.startswith("MC:MultipleAnswer"):
            if split:
                for k, (recode, choice) in enumerate(q.choices, start=1):
                    cells = ["1" if int(recode) in chosen else "" for chosen in given[q.tag]]
                    add(f"{q.tag}_{recode}", f"{q.text} - {choice}", f"QID{q.qid}_{k}", cells)
            else:
                cells = [",".join(label(q.choices, v) for v in chosen) for chosen in given[q.tag]]
                add(q.tag, q.text + " - Selected Choice", f"QID{q.qid}", cells)
        else:
            add(q.tag, q.text, f"QID{q.qid}", [label(q.choices, v) for v in given[q.tag]])
    rows = [tags, texts, *([ids] if import_ids else []), *map(list, zip(*columns, strict=True))]
    if tsv:
        return _csv(rows, delimiter="\t", encoding="utf-16")
    return _csv(rows)


# ------------------------------------------------------------------------------------------------- REDCap


def redcap_dictionary(instrument: Instrument, lang: str) -> list[dict[str, str]]:
    (data,) = rc_export.render(instrument, lang).values()
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def redcap_csv(given: pd.DataFrame, instrument: Instrument, *, lang: str = "nl", labels: bool = False,
               survey: bool = True) -> bytes:  # fmt: skip
    """``given`` as REDCap's "CSV (raw data)" or (``labels``) "CSV (labels)" export, from iasem's data
    dictionary in ``lang``."""
    fields = redcap_dictionary(instrument, lang)
    form = fields[0]["Form Name"]
    n = len(given)
    complete = [k < n - 1 for k in range(n)]
    raw_header: list[str] = []
    label_header: list[str] = []
    columns: list[list[str]] = []

    def add(name: str, heading: str, cells: list[str]) -> None:
        raw_header.append(name)
        label_header.append(heading)
        columns.append(cells)

    for f in fields:
        name, kind, text = f["Variable / Field Name"], f["Field Type"], plain(f["Field Label"])
        listed = f["Choices, Calculations, OR Slider Labels"]
        choices = [tuple(part.strip().split(", ", 1)) for part in listed.split(" | ") if part.strip()]
        choices = [(code, plain(label)) for code, label in choices]
        if kind == "descriptive":
            continue
        if name == "record_id":
            add(name, text, [str(v) for v in given["id"]])
            if survey:
                add("redcap_survey_identifier", "Survey Identifier", [""] * n)
                add(f"{form}_timestamp", "Survey Timestamp",
                    [("2024-03-01 10:00:00" if c else "[not completed]") for c in complete])  # fmt: skip
        elif kind == "yesno":  # the consent
            add(name, text, ["Yes" if labels else "1"] * n)
        elif kind == "radio":
            lookup = dict(choices)
            add(name, text, [("" if not _given(v) else lookup[str(int(v))] if labels else str(int(v)))
                             for v in given[name]])  # fmt: skip
        elif kind == "text":
            add(name, text, [str(int(v)) if _given(v) else "" for v in given[name]])
        elif kind == "checkbox":
            for code, choice in choices:
                cells = [int(code) in chosen for chosen in given[name]]
                add(f"{name}___{code}", f"{text} (choice={choice})",
                    [("Checked" if c else "Unchecked") if labels else ("1" if c else "0") for c in cells])  # fmt: skip
        else:  # pragma: no cover
            raise AssertionError(kind)
    add(f"{form}_complete", "Complete?",
        [(("Complete" if c else "Incomplete") if labels else ("2" if c else "0")) for c in complete])  # fmt: skip
    rows = [label_header if labels else raw_header, *map(list, zip(*columns, strict=True))]
    return _csv(rows, bom=True)


# -------------------------------------------------------------------------------------------------- edits

#: The log checks that report a problem with the file (the others are decisions and screening flags).
PROBLEMS = {"out_of_range", "non_numeric", "unknown_label", "duplicate_id", "missing_column", "extra_column",
            "truncated_row"}  # fmt: skip


def edit(data: bytes, change, *, delimiter: str = ",") -> bytes:
    """``data`` (UTF-8 CSV with BOM) with ``change(rows)`` applied to its rows (lists of cells)."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=delimiter))
    rows = [row for row in rows if row]
    change(rows)
    return _csv(rows, delimiter=delimiter)


def none_chosen(frame: pd.DataFrame, given: pd.DataFrame, instrument: Instrument, rows) -> pd.DataFrame:
    """``frame`` (an ``expected(...)``) with every option of a multiple-choice question False where the
    respondent chose none of them, for the respondents ``rows`` (positions): exports that mark each option
    chosen or not (REDCap checkboxes 0/1, LimeSurvey full answers Yes/No) say "none chosen" explicitly."""
    frame = frame.copy()
    for q in instrument.questions:
        if q.scale.type != "multiple":
            continue
        for k in rows:
            if not given[q.code].iloc[k]:
                for o in q.scale.options:
                    frame.iloc[k, frame.columns.get_loc(f"{q.code}_{o.key}")] = False
    return frame
