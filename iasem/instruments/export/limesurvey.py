"""LimeSurvey tab-separated survey structure (.txt), importable in LimeSurvey 3.x and later (5.x, 6.x).

The layout follows LimeSurvey's "Tab Separated Value survey structure" import (the manual page once called
"Excel Survey Structure") and its importer ``TSVImportSurvey``: a header row naming the columns, then

- ``S`` rows: global survey settings (``name`` = setting, ``text`` = value): base ``language``,
  ``additional_languages`` (space separated) and display settings;
- ``SL`` rows: per-language settings (title, description, welcome and end text);
- per language, the base language first, an identical block of ``G`` (group = page) rows, each followed by
  its ``Q`` rows, each followed by its ``SQ`` (subquestion) and ``A`` (answer option) rows. LimeSurvey
  relates the rows by proximity and pairs a translation with its base-language row by group position and
  question code, so every language block has the same rows in the same order.

Question types: ``Y`` yes/no (the consent, mandatory), ``F`` array (one per matrix page, an ``SQ`` row per
item and an ``A`` row per scale option), ``L`` list radio (single choice and the 1-10 grade), ``M``
multiple choice (an ``SQ`` row per option) and ``N`` numerical input with the ``min_num_value_n``,
``max_num_value_n`` and ``num_value_int_only`` attributes (attribute columns sit after the base columns,
as in LimeSurvey's own export).

Codes follow LimeSurvey's validation rules: a question code starts with a letter, is alphanumeric, at most
20 characters and unique in the survey; subquestion codes are alphanumeric and unique within their question;
answer codes are alphanumeric, at most 5 characters. An array's response columns are ``PAGE[ITEM]`` (or
``PAGEITEM`` in exports without brackets): the array code is the page name made alphanumeric (``rsa``,
``part3``, ``perfinternal``), the subquestion codes are iasem's item codes, and answer codes are the scale
values, so a response reads back through the codebook unchanged. Every group after the consent group is
relevant only when the consent question was answered yes (``consent == 'Y'``).

Texts are HTML in LimeSurvey and curly braces start ExpressionScript, so texts are HTML-escaped, braces
become entities, and a leading ``= + - @`` becomes an entity, which renders the same but cannot run as a
formula when the file is opened in a spreadsheet.
"""

from __future__ import annotations

import re

from ...errors import IasemError
from ..instrument import Instrument, Page, Question
from ._common import claim_name, delimited, html_label

BASE_COLUMNS = [
    "id",
    "related_id",
    "class",
    "type/scale",
    "name",
    "relevance",
    "text",
    "help",
    "language",
    "validation",
    "mandatory",
    "other",
    "default",
    "same_default",
]
ATTRIBUTE_COLUMNS = ["max_num_value_n", "min_num_value_n", "num_value_int_only"]
COLUMNS = BASE_COLUMNS + ATTRIBUTE_COLUMNS

MAX_CODE = 20
MAX_ANSWER_CODE = 5
# ExpressionScript's reserved names, which LimeSurvey refuses as question codes.
RESERVED = {"LANG", "SID", "SAVEDID", "TOKEN", "QID", "GID", "SGQ", "self", "that", "this"}

CONSENT_GROUP = {"nl": "Toestemming", "en": "Consent"}
CONSENT_QUESTION = {
    "nl": "Gaat u akkoord met deelname onder deze voorwaarden?",
    "en": "Do you agree to take part under these conditions?",
}


def render(instrument: Instrument, lang: str) -> dict[str, bytes]:
    """The survey as LimeSurvey's tab-separated import file, ``lang`` as base language."""
    languages = [lang, *(other for other in instrument.languages if other != lang)]
    rows = [COLUMNS]
    rows += _survey_rows(languages)
    for language in languages:
        rows += _language_rows(instrument, language)
    codes = page_codes(instrument)
    consent = codes.pop(None)
    for language in languages:
        rows += _structure_rows(instrument, language, consent, codes)
    return {f"{instrument.id}_limesurvey.txt": delimited(rows, "\t", bom=True)}


def text(value: str) -> str:
    """A user text as LimeSurvey question HTML: escaped, braces kept out of ExpressionScript, formula-safe."""
    # A double quote is escaped too: the importer strips quotes around a whole cell, even unpaired ones.
    return html_label(value, reserved='"{}')


def question_code(name: str, taken: set[str]) -> str:
    """``name`` made a valid, unused LimeSurvey question code (added to ``taken``)."""
    base = re.sub(r"[^A-Za-z0-9]", "", name) or "q"
    if not base[0].isalpha():
        base = "q" + base
    # Reserved words count as taken, but only this survey's own codes are remembered.
    code = claim_name(base[:MAX_CODE], taken | RESERVED, separator="", max_length=MAX_CODE)
    taken.add(code)
    return code


def page_codes(instrument: Instrument) -> dict[str | None, str]:
    """Question codes of the consent question (key None) and of each matrix page (by page name).

    Question codes share one namespace, subquestion codes live within their question: a page code must
    avoid the background questions' codes, not the item codes (a page ``part1`` may hold an item ``part1``).
    """
    taken = {q.code for q in instrument.questions if q.kind == "background"}
    codes: dict[str | None, str] = {None: question_code("consent", taken)}
    for page in instrument.pages:
        if page.kind == "matrix" and page.scale.options:
            codes[page.name] = question_code(page.name, taken)
    return codes


def _row(cls: str, **cells: object) -> list[object]:
    cells["class"] = cls
    cells["type/scale"] = cells.pop("type", None)
    return [cells.get(column) for column in COLUMNS]


def _survey_rows(languages: list[str]) -> list[list[object]]:
    settings = {
        "language": languages[0],
        "additional_languages": " ".join(languages[1:]),
        "format": "G",  # group by group: one page per group
        "showwelcome": "Y",
        "showprogress": "Y",
        "allowprev": "Y",
        "showgroupinfo": "B",
        "showqnumcode": "X",
    }
    return [_row("S", name=name, text=value) for name, value in settings.items()]


def _language_rows(instrument: Instrument, lang: str) -> list[list[object]]:
    spec = instrument.spec
    settings = {
        "surveyls_title": text(spec.title[lang]),
        "surveyls_description": text(spec.intro[lang]),
        "surveyls_welcometext": f"<p>{text(spec.intro[lang])}</p><p>{text(spec.consent[lang])}</p>",
        "surveyls_endtext": f"<p>{text(spec.closing[lang])}</p>",
    }
    return [_row("SL", name=name, text=value, language=lang) for name, value in settings.items()]


def _structure_rows(instrument: Instrument, lang: str, consent: str, codes: dict[str | None, str]) -> list[list]:
    rows = [
        _row("G", name=text(CONSENT_GROUP[lang]), language=lang),
        _row(
            "Q",
            type="Y",
            name=consent,
            relevance="1",
            text=text(CONSENT_QUESTION[lang]),
            language=lang,
            mandatory="Y",
            other="N",
            same_default="0",
        ),
    ]
    relevance = f"{consent} == 'Y'"
    for page in instrument.pages:
        rows.append(_row("G", name=text(page.title[lang]), relevance=relevance, language=lang))
        if page.name in codes:
            rows += _array_rows(page, codes[page.name], lang)
        else:
            for question in page.questions:
                rows += _question_rows(question, lang)
    return rows


def _option_code(value: int, scale_id: str, limit: int) -> str:
    """An option value as LimeSurvey answer or subquestion code, which must be alphanumeric."""
    code = str(value)
    if not code.isalnum() or len(code) > limit:
        raise IasemError(
            f"LimeSurvey codes are alphanumeric, at most {limit} characters: option value {value} of "
            f"scale {scale_id!r} cannot be one"
        )
    return code


def _answer_rows(page_or_question: Page | Question, lang: str) -> list[list[object]]:
    scale, scale_id = page_or_question.scale, page_or_question.scale_id
    return [
        _row("A", name=_option_code(o.value, scale_id, MAX_ANSWER_CODE), text=text(o.label[lang]), language=lang)
        for o in scale.options
    ]


def _array_rows(page: Page, code: str, lang: str) -> list[list[object]]:
    rows = [
        _row(
            "Q",
            type="F",
            name=code,
            relevance="1",
            text=text(page.title[lang]),
            language=lang,
            mandatory="N",
            other="N",
            same_default="0",
        )
    ]
    for question in page.questions:
        if question.code == "time":  # LimeSurvey reserves it for subquestions
            raise IasemError("LimeSurvey does not accept 'time' as a subquestion code")
        rows.append(_row("SQ", name=question.code, relevance="1", text=text(question.text[lang]), language=lang))
    return rows + _answer_rows(page, lang)


def _question_rows(question: Question, lang: str) -> list[list[object]]:
    scale = question.scale
    common = {
        "name": question.code,
        "relevance": "1",
        "text": text(question.text[lang]),
        "language": lang,
        "mandatory": "N",
        "other": "N",
        "same_default": "0",
    }
    if scale.type == "integer":
        return [
            _row(
                "Q",
                type="N",
                **common,
                min_num_value_n=scale.min,
                max_num_value_n=scale.max,
                num_value_int_only="1",
            )
        ]
    if scale.type == "multiple":
        return [
            _row("Q", type="M", **common),
            *(
                _row(
                    "SQ",
                    name=_option_code(o.value, question.scale_id, MAX_CODE),
                    relevance="1",
                    text=text(o.label[lang]),
                    language=lang,
                )
                for o in scale.options
            ),
        ]
    return [_row("Q", type="L", **common), *_answer_rows(question, lang)]
