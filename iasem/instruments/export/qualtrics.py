"""Qualtrics Advanced-format TXT (.txt), imported with *Tools > Import/Export > Import survey*.

The file uses only the tags Qualtrics documents for Advanced format: ``[[AdvancedFormat]]`` on the first
line, ``[[Block:name]]``, ``[[Question:type]]`` followed by ``[[ID:export tag]]`` and the question text,
``[[AdvancedChoices]]`` with ``[[Choice:recode]]``, ``[[AdvancedAnswers]]`` with ``[[Answer:recode]]`` and
``[[PageBreak]]``. Question types: ``Text`` (intro and closing), ``MC:SingleAnswer:Vertical`` (consent
and single choice), ``MC:SingleAnswer:Horizontal`` (the 1-10 grade), ``MC:MultipleAnswer:Vertical``,
``TE:SingleLine`` (counts) and ``Matrix`` (one per matrix page: statements are the matrix's choices, scale
options its answers). Every recode is the scale value, so responses export the values iasem reads back.
The file is monolingual; translate in Qualtrics or export once per language.

How the data columns map to item codes: a recode must be a number, so ``[[Choice:rsa1]]`` is not possible
and a matrix statement cannot carry its item code. The matrix's ``[[ID:...]]`` is the page name and its
statements are ``[[Choice:1]]``, ``[[Choice:2]]``, ... in the page's item order, so Qualtrics exports the
k-th statement of page ``rsa`` as column ``rsa_k``. That order is fixed by the instrument and listed in
iasem's codebook (``page`` and ``position``), which maps ``rsa_k`` to the item code. Background questions
carry their item code as ``[[ID:...]]``, a multiple-answer question exports ``goals_<value>``.

What Advanced format cannot say and must be set in Qualtrics after import: *Force response* on the consent
question, a survey-flow branch that ends the survey when consent is ``0`` (no), and *Content validation*
(number, min-max) on the count questions; the survey's end message can replace the closing text.

Texts are HTML in Qualtrics: they are escaped, ``[`` and ``$`` become entities so no text can open a tag or
piped text, and a leading ``= + - @`` becomes an entity so no line can run as a spreadsheet formula.
"""

from __future__ import annotations

import re

from ..instrument import Instrument, Page, Question
from ._common import claim_name, html_label

CONSENT_CHOICES = {
    "nl": ((1, "Ja, ik doe mee"), (0, "Nee, ik doe niet mee")),
    "en": ((1, "Yes, I take part"), (0, "No, I do not take part")),
}


def render(instrument: Instrument, lang: str) -> dict[str, bytes]:
    """The survey in Qualtrics Advanced format, in ``lang`` only."""
    spec = instrument.spec
    # Question IDs (export tags) are unique among questions; matrix statements are not questions, so a
    # page ``part1`` may hold the item ``part1``.
    taken = {q.code for q in instrument.questions if q.kind == "background"}
    intro_id, consent_id, closing_id = (unique_id(name, taken) for name in ("intro", "consent", "closing"))
    lines = ["[[AdvancedFormat]]", ""]
    lines += ["[[Block:intro]]", ""]
    lines += _question("Text", intro_id, f"<h2>{text(spec.title[lang])}</h2><p>{text(spec.intro[lang])}</p>")
    lines += _question("MC:SingleAnswer:Vertical", consent_id, text(spec.consent[lang]))[:-1]
    lines += _choices(CONSENT_CHOICES[lang])
    for page in instrument.pages:
        lines += [f"[[Block:{block_name(page.name)}]]", ""]
        if page.kind == "matrix" and page.scale.options:
            lines += _matrix(page, unique_id(page.name, taken), lang)
        else:
            for question in page.questions:
                lines += _single(question, lang)
    lines += ["[[PageBreak]]", ""]
    lines += _question("Text", closing_id, f"<p>{text(spec.closing[lang])}</p>")
    return {f"{instrument.id}_qualtrics.txt": ("\n".join(lines).rstrip("\n") + "\n").encode("utf-8")}


def text(value: str) -> str:
    """A user text as one line of Qualtrics HTML that cannot open a tag, piped text or a formula."""
    return html_label(value, reserved="[]$")


def block_name(name: str) -> str:
    """A block name without brackets or line breaks (it sits inside a tag)."""
    return re.sub(r"[\[\]\s]+", " ", name).strip() or "block"


def unique_id(name: str, taken: set[str]) -> str:
    """A question ID (export tag) from ``name``: letters, digits and underscores, unused (added to ``taken``)."""
    base = re.sub(r"[^A-Za-z0-9_]", "_", name) or "q"
    if not base[0].isalpha():
        base = "q" + base
    return claim_name(base, taken)


def _question(kind: str, qid: str, body: str) -> list[str]:
    return [f"[[Question:{kind}]]", f"[[ID:{qid}]]", body, ""]


def _choices(options) -> list[str]:
    lines = ["[[AdvancedChoices]]"]
    for value, label in options:
        lines += [f"[[Choice:{value}]]", label]
    return [*lines, ""]


def _matrix(page: Page, qid: str, lang: str) -> list[str]:
    lines = _question("Matrix", qid, text(page.title[lang]))[:-1]
    lines += _choices((k, text(q.text[lang])) for k, q in enumerate(page.questions, start=1))
    lines.append("[[AdvancedAnswers]]")
    for option in page.scale.options:
        lines += [f"[[Answer:{option.value}]]", text(option.label[lang])]
    return [*lines, ""]


def _single(question: Question, lang: str) -> list[str]:
    scale = question.scale
    body = text(question.text[lang])
    if scale.type == "integer":
        return _question("TE:SingleLine", question.code, body)
    kind = {
        "multiple": "MC:MultipleAnswer:Vertical",
        "rating": "MC:SingleAnswer:Horizontal",
    }.get(scale.type, "MC:SingleAnswer:Vertical")
    options = ((o.value, text(o.label[lang])) for o in scale.options)
    return _question(kind, question.code, body)[:-1] + _choices(options)
