"""SurveyJS survey JSON, for ``new Model(json)`` in survey-core (the Form Library) or an import into Survey Creator.

Layout (property names as in survey-core's surveyjs_definition.json):

- ``title``, ``description`` (the intro) and ``completedHtml`` (the closing text, HTML-escaped);
- a first page with the consent question, a required ``radiogroup`` yes (1) / no (0); every later page has
  ``visibleIf: "{consent} = 1"``, so a respondent who declines goes straight to the end;
- one page per instrument page (named ``page_`` + its name): a matrix page holds one ``matrix`` question
  named after the page, whose columns are the scale's options (``value`` = the stored option value) and
  whose rows are the items (``value`` = the item code), with ``isAllRowRequired``; the background page
  holds ``radiogroup``, ``checkbox``, ``text`` with ``inputType: number`` and ``min``/``max`` (and a whole-number
  check), and ``rating`` questions.

Languages. Every text is a localisable string, ``{"default": ..., "nl": ...}``. SurveyJS reads the
``"default"`` key for its *default locale*, ``surveyLocalization.defaultLocale``, which is English unless the
host page changes it; a survey whose current locale equals the default locale (``survey.locale = "en"``)
is shown the ``"default"`` text and never reads an ``"en"`` key. So English goes under ``"default"``
whenever the instrument has English, each other language under its own code, and ``locale`` (the language
the survey opens in) is the primary language ``lang``, left out when that is English, SurveyJS's default.
The host page loads the Dutch UI strings (buttons, messages) with ``import "survey-core/i18n/dutch"``.
Texts go through ``safe_cell`` like every other export, so no field starts with a spreadsheet formula
character; ``completedHtml`` is HTML, so the closing text is escaped.
"""

from __future__ import annotations

import html
import json

from ...files import safe_cell
from ..instrument import Instrument, Page, Question

CONSENT = "consent"
CONSENT_GIVEN = "{consent} = 1"
YES_NO = ((1, {"nl": "Ja", "en": "Yes"}), (0, {"nl": "Nee", "en": "No"}))
MATRIX_TITLE = {
    "nl": "Geef bij elke uitspraak aan wat het best past.",
    "en": "For each statement, choose the answer that fits best.",
}
# SurveyJS's linter wants page and question names distinct; the matrix question takes the page's own name,
# which keys its answers in the data ({"trust": {"trust1": 4, ...}}).
PAGE_PREFIX = "page_"
SURVEYJS_DEFAULT_LOCALE = "en"  # surveyLocalization.defaultLocale in survey-core


def integer_range(minimum: int, maximum: int) -> dict[str, str]:
    return {
        "nl": f"Vul een geheel getal in van {minimum} tot en met {maximum}.",
        "en": f"Enter a whole number from {minimum} to {maximum}.",
    }


class _Localiser:
    def __init__(self, languages: list[str]) -> None:
        self.languages = languages
        self.default = SURVEYJS_DEFAULT_LOCALE if SURVEYJS_DEFAULT_LOCALE in languages else languages[0]

    def __call__(self, text) -> str | dict[str, str]:
        """A localisable string: ``text`` is a Text, an Option or a {lang: str} dict."""
        value = {
            lang: safe_cell(text[lang] if isinstance(text, dict) else getattr(text, lang)) for lang in self.languages
        }
        if len(self.languages) == 1:
            return value[self.default]
        return {
            "default": value[self.default],
            **{lang: value[lang] for lang in self.languages if lang != self.default},
        }


def _items(loc: _Localiser, options) -> list[dict]:
    return [{"value": option.value, "text": loc(option)} for option in options]


def _matrix(loc: _Localiser, page: Page) -> dict:
    return {
        "type": "matrix",
        "name": page.name,
        "title": loc(MATRIX_TITLE),
        "isRequired": True,
        "isAllRowRequired": True,
        "columns": _items(loc, page.scale.options),
        "rows": [{"value": question.code, "text": loc(question.text)} for question in page.questions],
    }


def _background(loc: _Localiser, question: Question) -> dict:
    scale = question.scale
    element: dict = {"name": question.code, "title": loc(question.text), "isRequired": True}
    if scale.type == "integer":
        message = loc(integer_range(scale.min, scale.max))
        element = {
            "type": "text",
            **element,
            "description": message,
            "inputType": "number",
            "min": scale.min,
            "max": scale.max,
            "step": 1,
            "minErrorText": message,
            "maxErrorText": message,
            "validators": [{"type": "regex", "regex": "^-?[0-9]+$", "text": message}],
        }
    elif scale.type == "rating":
        element = {"type": "rating", **element, "rateValues": _items(loc, scale.options)}
    else:
        kind = "checkbox" if scale.type == "multiple" else "radiogroup"
        element = {"type": kind, **element, "choices": _items(loc, scale.options)}
    return element


def survey_json(instrument: Instrument, lang: str) -> dict:
    loc = _Localiser(instrument.languages)
    spec = instrument.spec
    consent_page = {
        "name": f"{PAGE_PREFIX}{CONSENT}",
        "elements": [
            {
                "type": "radiogroup",
                "name": CONSENT,
                "title": loc(spec.consent),
                "isRequired": True,
                "choices": [{"value": value, "text": loc(text)} for value, text in YES_NO],
            }
        ],
    }
    pages = [consent_page]
    for page in instrument.pages:
        if page.kind == "matrix":
            elements = [_matrix(loc, page)]
        else:
            elements = [_background(loc, question) for question in page.questions]
        pages.append(
            {
                "name": f"{PAGE_PREFIX}{page.name}",
                "title": loc(page.title),
                "visibleIf": CONSENT_GIVEN,
                "elements": elements,
            }
        )
    closing = {lang_: f"<p>{html.escape(spec.closing[lang_])}</p>" for lang_ in instrument.languages}
    survey = {"title": loc(spec.title), "description": loc(spec.intro)}
    if lang != SURVEYJS_DEFAULT_LOCALE:  # the default locale is spelled "" in SurveyJS; "en" is no valid value
        survey["locale"] = lang
    return {**survey, "pages": pages, "completedHtml": loc(closing)}


def render(instrument: Instrument, lang: str) -> dict[str, bytes]:
    content = json.dumps(survey_json(instrument, lang), indent=2, ensure_ascii=False) + "\n"
    return {f"{instrument.id}_surveyjs.json": content.encode("utf-8")}
