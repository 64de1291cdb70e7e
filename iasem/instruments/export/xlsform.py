"""XLSForm workbook (survey, choices, settings sheets) for ODK Collect/Central, KoboToolbox, SurveyCTO and Enketo.

Layout, following the XLSForm reference (docs.getodk.org/form-reference, xlsform.org):

- every language of the instrument has its own ``label::Nederlands (nl)`` / ``label::English (en)`` column (and
  ``hint::`` and ``constraint_message::`` where used); ``default_language`` in the settings sheet is the
  primary language;
- the intro is a ``note``, followed by the consent question, a required ``select_one`` yes (1) / no (0);
  every later group is relevant only when consent is yes, and the closing text is a final ``note``;
- each page is a ``begin_group``/``end_group`` with ``appearance: field-list`` (one screen) named after the page;
  a matrix page is ODK's "grid of selects": a header ``select_one`` with ``appearance: label`` that shows the
  answer options once, then one required ``select_one`` per item with ``appearance: list-nolabel``;
- background questions: ``select_one``/``select_multiple`` with their choice lists, ``integer`` with a
  constraint from the scale's min/max and a message in every language, a rating (the 1-10 grade) as a
  ``select_one`` with ``appearance: likert``.

Choice names are the scales' option values, the data every platform stores. Every text cell goes through
``safe_cell`` so a spreadsheet never evaluates it as a formula.
"""

from __future__ import annotations

import io

from openpyxl import Workbook

from ...files import safe_cell
from ..instrument import Instrument, Page, Question
from ._common import LANGUAGE_NAMES

CONSENT = "consent"
CONSENT_LIST = "consent_yes_no"
CONSENT_CHOICES = (("1", {"nl": "Ja", "en": "Yes"}), ("0", {"nl": "Nee", "en": "No"}))
CONSENT_GIVEN = f"${{{CONSENT}}} = '1'"

# The header row of a matrix screen: its label introduces the statements, its appearance shows the options once.
MATRIX_HEADER = {
    "nl": "Geef bij elke uitspraak aan wat het best past.",
    "en": "For each statement, choose the answer that fits best.",
}
HEADER_SUFFIX = "_header"  # item codes have no underscore, so a header name never collides with one

SURVEY_COLUMNS = (
    "type",
    "name",
    "label",
    "hint",
    "required",
    "relevant",
    "appearance",
    "constraint",
    "constraint_message",
)
TRANSLATED_COLUMNS = {"label", "hint", "constraint_message"}


def language_column(column: str, lang: str) -> str:
    """``label::Nederlands (nl)``: the XLSForm language column, with the name and the code ODK asks for."""
    return f"{column}::{LANGUAGE_NAMES[lang][0]} ({lang})"


def integer_range(minimum: int, maximum: int) -> dict[str, str]:
    return {
        "nl": f"Vul een geheel getal in van {minimum} tot en met {maximum}.",
        "en": f"Enter a whole number from {minimum} to {maximum}.",
    }


class _Survey:
    """Rows of the survey sheet as dicts; texts are per-language dicts that become ``column::language`` cells."""

    def __init__(self, languages: list[str]) -> None:
        self.languages = languages
        self.rows: list[dict[str, object]] = []

    def add(self, type_: str, name: str | None = None, **cells: object) -> None:
        self.rows.append({"type": type_, "name": name, **cells})

    def table(self) -> list[list[object]]:
        used = {key for row in self.rows for key, value in row.items() if value not in (None, "")}
        columns: list[tuple[str, str, str | None]] = []  # (header, row key, language)
        for key in SURVEY_COLUMNS:
            if key in used and key in TRANSLATED_COLUMNS:
                columns += [(language_column(key, lang), key, lang) for lang in self.languages]
            elif key in used:
                columns.append((key, key, None))
        rows: list[list[object]] = [[header for header, _, _ in columns]]
        for row in self.rows:
            rows.append([(row.get(key) or {}).get(lang) if lang else row.get(key) for _, key, lang in columns])
        return rows


def _texts(text, languages: list[str]) -> dict[str, str]:
    return {lang: text[lang] for lang in languages}


def _matrix(survey: _Survey, page: Page) -> None:
    list_name = page.scale_id
    survey.add(
        f"select_one {list_name}",
        f"{page.name}{HEADER_SUFFIX}",
        label={lang: MATRIX_HEADER[lang] for lang in survey.languages},
        appearance="label",
    )
    for question in page.questions:
        survey.add(
            f"select_one {list_name}",
            question.code,
            label=_texts(question.text, survey.languages),
            required="yes",
            appearance="list-nolabel",
        )


def _background(survey: _Survey, question: Question) -> None:
    scale = question.scale
    label = _texts(question.text, survey.languages)
    if scale.type == "integer":
        message = integer_range(scale.min, scale.max)
        survey.add(
            "integer",
            question.code,
            label=label,
            hint={lang: message[lang] for lang in survey.languages},
            required="yes",
            constraint=f". >= {scale.min} and . <= {scale.max}",
            constraint_message={lang: message[lang] for lang in survey.languages},
        )
    elif scale.type == "multiple":
        survey.add(f"select_multiple {question.scale_id}", question.code, label=label, required="yes")
    else:
        appearance = "likert" if scale.is_ordered else None
        survey.add(f"select_one {question.scale_id}", question.code, label=label, required="yes", appearance=appearance)


def survey_rows(instrument: Instrument) -> list[list[object]]:
    languages = instrument.languages
    spec = instrument.spec
    survey = _Survey(languages)
    survey.add("note", "intro", label=_texts(spec.intro, languages))
    survey.add(f"select_one {CONSENT_LIST}", CONSENT, label=_texts(spec.consent, languages), required="yes")
    for page in instrument.pages:
        survey.add(
            "begin_group",
            page.name,
            label=_texts(page.title, languages),
            appearance="field-list",
            relevant=CONSENT_GIVEN,
        )
        if page.kind == "matrix":
            _matrix(survey, page)
        else:
            for question in page.questions:
                _background(survey, question)
        survey.add("end_group", page.name)
    survey.add("note", "closing", label=_texts(spec.closing, languages))
    return survey.table()


def choices_rows(instrument: Instrument) -> list[list[object]]:
    languages = instrument.languages
    rows: list[list[object]] = [["list_name", "name", *(language_column("label", lang) for lang in languages)]]
    for value, label in CONSENT_CHOICES:
        rows.append([CONSENT_LIST, value, *(label[lang] for lang in languages)])
    for scale_id, scale in instrument.choice_scales.items():
        for option in scale.options:
            rows.append([scale_id, str(option.value), *(option.label[lang] for lang in languages)])
    return rows


def settings_rows(instrument: Instrument, lang: str) -> list[list[object]]:
    spec = instrument.spec
    return [
        ["form_title", "form_id", "version", "default_language", "style"],
        [spec.title[lang], instrument.id, spec.version, f"{LANGUAGE_NAMES[lang][0]} ({lang})", "pages"],
    ]


def render(instrument: Instrument, lang: str) -> dict[str, bytes]:
    workbook = Workbook()
    sheets = {
        "survey": survey_rows(instrument),
        "choices": choices_rows(instrument),
        "settings": settings_rows(instrument, lang),
    }
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append([safe_cell(cell) for cell in row])
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return {f"{instrument.id}_xlsform.xlsx": buffer.getvalue()}
