"""Codebook export: CSV plus its Frictionless table schema."""

from __future__ import annotations

import json

from ..codebook import codebook, table_schema
from ..instrument import Instrument
from ._common import delimited


def render(instrument: Instrument, lang: str) -> dict[str, bytes]:
    book = codebook(instrument)
    book["reverse"] = book["reverse"].map({True: "true", False: "false"})
    rows = [list(book.columns), *book.astype(object).where(book.notna(), None).itertuples(index=False)]
    schema = table_schema()
    schema["title"] = f"Codebook of the iasem instrument {instrument.id} (version {instrument.spec.version})"
    return {
        f"{instrument.id}_codebook.csv": delimited(rows),
        f"{instrument.id}_codebook.schema.json": (json.dumps(schema, indent=2, ensure_ascii=False) + "\n").encode(),
    }
