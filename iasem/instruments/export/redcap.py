"""REDCap data dictionary (.csv), uploaded under *Project Setup > Data Dictionary*.

The 18 columns are REDCap's own, in its order. One instrument (form) named after the instrument id holds,
in order: ``record_id`` (text, the record identifier REDCap wants first), the intro as a ``descriptive``
field, the consent as a required ``yesno`` field, one matrix group per matrix page (``radio`` fields with
the page name as *Matrix Group Name*, identical choices, the page title as section header on the first
row), the background questions (``radio`` for single choice and the 1-10 grade, ``checkbox`` for multiple
choice, ``text`` with ``integer`` validation and min/max for counts) and the closing text. Every field
after the consent shows only when consent was given: ``[consent] = '1'``. The file is monolingual.

Variable names are iasem's item codes, so a REDCap export reads back through the codebook unchanged;
choice codes are the scale values (``1, Label | 2, Label``), and a checkbox exports ``goals___<value>``.
Names follow REDCap's upload checks: lowercase letters, digits and underscores, starting with a letter,
no double underscore, at most 26 characters, not a reserved name; matrix group names at most 60 characters.

Labels are HTML in REDCap and square brackets pipe other fields, so texts are HTML-escaped, ``[``, ``]``
and ``|`` (the choice separator) become entities, and a leading ``= + - @`` becomes an entity, which shows
the same but cannot run as a spreadsheet formula.
"""

from __future__ import annotations

import re

from ...errors import IasemError
from ..instrument import Instrument, Page, Question
from ._common import claim_name, delimited, html_label

COLUMNS = [
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
]

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_NAME = 26
MAX_GROUP = 60
# Project::$reserved_field_names: REDCap refuses these as variable names.
RESERVED = {
    "redcap_event_name",
    "redcap_csrf_token",
    "redcap_survey_timestamp",
    "redcap_survey_identifier",
    "redcap_survey_return_code",
    "redcap_data_access_group",
    "hidden_edit_flag",
    "instance",
    "redcap_repeat_instance",
    "redcap_repeat_instrument",
    "submit",
    "new",
    "return",
    "continue",
    "case",
    "switch",
    "class",
    "enum",
    "catch",
    "throw",
    "document",
    "super",
    "focus",
    "elements",
    "action",
    "event_id",
    "target",
    "field_label",
}
RECORD_ID_LABEL = {"nl": "Record-ID", "en": "Record ID"}


def render(instrument: Instrument, lang: str) -> dict[str, bytes]:
    """The instrument as a REDCap data dictionary in ``lang``."""
    spec = instrument.spec
    form = instrument.id
    taken = {q.code for q in instrument.questions}
    for code in taken:
        _check_name(code)
    record_id, intro, consent, closing = (
        unique_name(name, taken) for name in ("record_id", "intro", "consent", "closing")
    )
    shown = f"[{consent}] = '1'"
    rows = [
        _row(record_id, form, "text", RECORD_ID_LABEL[lang]),
        _row(intro, form, "descriptive", f"<h3>{text(spec.title[lang])}</h3><p>{text(spec.intro[lang])}</p>"),
        _row(consent, form, "yesno", text(spec.consent[lang]), required="y"),
    ]
    groups: set[str] = set()
    for page in instrument.pages:
        if page.kind == "matrix" and page.scale.options:
            rows += _matrix(page, form, unique_group(page.name, groups), shown, lang)
        else:
            for i, question in enumerate(page.questions):
                header = text(page.title[lang]) if i == 0 else ""
                rows.append(_field(question, form, header, shown, lang))
    rows.append(_row(closing, form, "descriptive", text(spec.closing[lang]), branching=shown))
    return {f"{instrument.id}_redcap.csv": delimited([COLUMNS, *rows], bom=True)}


def text(value: str) -> str:
    """A user text as REDCap label HTML: escaped, no piping, no choice separator, formula-safe."""
    return html_label(value, reserved="[]|")


def choices(question_or_page: Question | Page, lang: str) -> str:
    """REDCap's choice list: ``1, Label | 2, Label``."""
    return " | ".join(f"{o.value}, {text(o.label[lang])}" for o in question_or_page.scale.options)


def unique_name(base: str, taken: set[str]) -> str:
    """A variable name from ``base`` that no other field uses (added to ``taken``)."""
    name, n = base, 1
    while name in taken or name in RESERVED:
        n += 1
        name = f"{base[: MAX_NAME - len(str(n)) - 1]}_{n}"
    taken.add(name)
    return name


def unique_group(page_name: str, taken: set[str]) -> str:
    """A matrix group name from a page name: lowercase letters, digits, single underscores, unused."""
    base = re.sub(r"_+", "_", re.sub(r"[^a-z0-9_]", "_", page_name.lower())).strip("_")[:MAX_GROUP] or "matrix"
    return claim_name(base, taken, max_length=MAX_GROUP)


def _check_name(code: str) -> None:
    if not NAME_PATTERN.match(code) or "__" in code or code.endswith("_") or len(code) > MAX_NAME or code in RESERVED:
        raise IasemError(f"{code!r} cannot be a REDCap variable name (a reserved name, or not a-z0-9_ up to 26)")


def _row(
    name: str,
    form: str,
    field_type: str,
    label: str,
    *,
    header: str = "",
    choice_list: str = "",
    validation: str = "",
    minimum: object = "",
    maximum: object = "",
    branching: str = "",
    required: str = "",
    alignment: str = "",
    group: str = "",
) -> list[object]:
    return [
        name,
        form,
        header,
        field_type,
        label,
        choice_list,
        "",  # field note
        validation,
        minimum,
        maximum,
        "",  # identifier?
        branching,
        required,
        alignment,
        "",  # question number
        group,
        "",  # matrix ranking?
        "",  # field annotation
    ]


def _matrix(page: Page, form: str, group: str, shown: str, lang: str) -> list[list[object]]:
    listed = choices(page, lang)
    return [
        _row(
            q.code,
            form,
            "radio",
            text(q.text[lang]),
            header=text(page.title[lang]) if i == 0 else "",
            choice_list=listed,
            branching=shown,
            group=group,
        )
        for i, q in enumerate(page.questions)
    ]


def _field(question: Question, form: str, header: str, shown: str, lang: str) -> list[object]:
    label = text(question.text[lang])
    scale = question.scale
    if scale.type == "integer":
        return _row(
            question.code,
            form,
            "text",
            label,
            header=header,
            validation="integer",
            minimum=scale.min,
            maximum=scale.max,
            branching=shown,
        )
    return _row(
        question.code,
        form,
        "checkbox" if scale.type == "multiple" else "radio",
        label,
        header=header,
        choice_list=choices(question, lang),
        branching=shown,
        alignment="LH" if scale.type == "rating" else "",  # a 1-10 grade reads best in one row
    )
