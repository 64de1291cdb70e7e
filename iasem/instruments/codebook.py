"""The codebook: one row per question of an instrument, the link between a questionnaire and its data.

Survey designers hand it to data managers; ``iasem responses`` (issue 6) reads answers back with it. The
Frictionless table schema describes and constrains its columns, so any Frictionless tool can validate it.
"""

from __future__ import annotations

import pandas as pd

from .instrument import Instrument
from .schema import CONSTRUCT_ID_PATTERN, ITEM_CODE_PATTERN

COLUMNS = {
    # name: (frictionless type, description, constraints)
    "position": ("integer", "Order in which the question is shown (1-based).", {"required": True, "minimum": 1}),
    "page": ("string", "Page (group) the question is shown on.", {"required": True}),
    "construct": (
        "string",
        "Construct the item measures; empty for background questions and the attention check.",
        {"pattern": CONSTRUCT_ID_PATTERN},
    ),
    "item": (
        "string",
        "Item code: the variable name on every platform.",
        {"required": True, "unique": True, "pattern": ITEM_CODE_PATTERN},
    ),
    "kind": (
        "string",
        "likert, background or attention.",
        {"required": True, "enum": ["likert", "background", "attention"]},
    ),
    "text_nl": ("string", "Question text in Dutch.", {"required": True}),
    "text_en": ("string", "Question text in English.", {"required": True}),
    "scale": ("string", "Response scale id (survey_instruments/scales.yaml).", {"required": True}),
    "scale_type": (
        "string",
        "likert, rating, single, multiple or integer.",
        {"required": True, "enum": ["likert", "rating", "single", "multiple", "integer"]},
    ),
    "values": (
        "string",
        "Value labels as 'value=English label' joined by ' | ', or 'min-max' for counts.",
        {"required": True},
    ),
    "reverse": (
        "boolean",
        "True when the item is reverse-keyed and is recoded (min+max-x) at scoring.",
        {"required": True},
    ),
    "expect": ("integer", "The value a careful respondent gives to the attention check.", {}),
}


def codebook(instrument: Instrument) -> pd.DataFrame:
    """One row per question of ``instrument``, in the order respondents see them.

    Examples
    --------
    >>> from iasem import load_instrument
    >>> book = codebook(load_instrument("relational"))
    >>> list(book.columns[:4])
    ['position', 'page', 'construct', 'item']
    """
    rows = []
    for page in instrument.pages:
        for question in page.questions:
            scale = question.scale
            values = (
                " | ".join(f"{o.value}={o.en}" for o in scale.options) if scale.options else f"{scale.min}-{scale.max}"
            )
            rows.append(
                {
                    "position": len(rows) + 1,
                    "page": page.name,
                    "construct": question.construct or "",
                    "item": question.code,
                    "kind": question.kind,
                    "text_nl": question.text.nl,
                    "text_en": question.text.en,
                    "scale": question.scale_id,
                    "scale_type": scale.type,
                    "values": values,
                    "reverse": question.reverse,
                    "expect": question.expect,
                }
            )
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame["expect"] = frame["expect"].astype("Int64")
    return frame


def table_schema() -> dict:
    """The Frictionless table schema of the codebook."""
    return {
        "fields": [
            {"name": name, "type": kind, "description": description, **({"constraints": c} if c else {})}
            for name, (kind, description, c) in COLUMNS.items()
        ],
        "primaryKey": ["item"],
        "missingValues": [""],
    }
