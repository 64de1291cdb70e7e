"""Write the example platform exports of ``data/exports/`` (docs/responses.md reads them).

Run from the repository root::

    python -m tests.make_example_exports

Each file is 60 synthetic respondents to the ``relational`` instrument (``tests/responses_support.answers``),
written as the platform exports them by the round-trip test writers (``tests/platform_writers.py``,
``tests/platform_writers_forms.py``), with the same four problems planted in each: a speeder, a straight-liner,
an answer code outside the scale and a response id that appears twice. ``answers`` itself fails the attention
check for every seventh respondent (the 1st, 8th, ...) and leaves the last respondent incomplete.
``tests/test_example_exports.py`` checks that this script rewrites the shipped files byte for byte.
"""

from __future__ import annotations

import csv
import io
import random
import sys
import uuid
from pathlib import Path

import pandas as pd

from iasem.instruments.instrument import Instrument, load_instrument
from tests.platform_writers import limesurvey_csv, qualtrics_csv, qualtrics_ids
from tests.platform_writers_forms import kobo_csv
from tests.responses_support import answers

N = 60
#: Skipped Likert answers: about 1 in 100 cells.
MISSING = 0.01
#: The planted problems, by respondent (0-based row of the data; the file line is one or more further on).
SPEEDER = 11  # took 48 seconds for 40 items
STRAIGHT_LINER = 23  # "4" (agree) to every Likert item
OUT_OF_RANGE = 35  # "6" for succ2 (a "don't know" choice added on the platform)
OUT_OF_RANGE_ITEM = "succ2"
DUPLICATE = (46, 47)  # respondent 47 is respondent 46 again: the same response id, the same answers
SPEEDER_SECONDS = 48
FILES = ("relational_limesurvey.csv", "relational_qualtrics.csv", "relational_kobo.csv")


def planted(instrument: Instrument, seed: int, ids: list[str]) -> pd.DataFrame:
    """``answers(...)`` with the speeder, the straight-liner and the duplicate planted (the out-of-range code is
    written by :func:`exports`, as the writers write scale values only)."""
    given = answers(instrument, N, seed, missing=MISSING)
    given["id"] = ids
    given.loc[SPEEDER, "duration"] = SPEEDER_SECONDS
    for q in instrument.likert_questions:
        given.loc[STRAIGHT_LINER, q.code] = 4
    first, second = DUPLICATE
    given.loc[second] = given.loc[first]
    return given


def uuids(n: int, seed: int) -> list[str]:
    """Random (version 4) UUIDs, as KoboToolbox gives each submission (``_uuid``), from a fixed seed."""
    rng = random.Random(seed)
    return [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(n)]


def _with_code(data: bytes, *, row: int, column: str, value: str, delimiter: str, header_rows: int,
               quote_all: bool, bom: bool, trailer: bytes = b"") -> bytes:  # fmt: skip
    """``data`` with the cell of data row ``row`` in ``column`` set to ``value``, written back in the same style."""
    text = data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    rows = [r for r in rows if r]
    rows[header_rows + row][rows[0].index(column)] = value
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n",
                        quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)  # fmt: skip
    writer.writerows(rows)
    return ("\ufeff" if bom else "").encode("utf-8") + out.getvalue().encode("utf-8") + trailer


def exports() -> dict[str, bytes]:
    """The example exports, file name -> bytes."""
    instrument = load_instrument("relational")
    item = OUT_OF_RANGE_ITEM
    # LimeSurvey: Export responses, "Question code" headings, "Answer codes", CSV (comma), Dutch survey.
    lime = planted(instrument, 61, [str(k) for k in range(1, N + 1)])
    lime_bytes = limesurvey_csv(lime, instrument, lang="nl")
    lime_bytes = _with_code(lime_bytes, row=OUT_OF_RANGE, column=f"success[{item}]", value="6", delimiter=",",
                            header_rows=1, quote_all=True, bom=True, trailer=b"\r\n")  # fmt: skip
    # Qualtrics: Download all fields, "Use numeric values" (recode values), CSV, English survey.
    qualtrics = planted(instrument, 62, qualtrics_ids(N, seed=62))
    qualtrics_bytes = qualtrics_csv(qualtrics, instrument, lang="en")
    page = next(p for p in instrument.pages if item in [q.code for q in p.questions])
    position = [q.code for q in page.questions].index(item) + 1  # matrix statement k: <tag>_k
    qualtrics_bytes = _with_code(qualtrics_bytes, row=OUT_OF_RANGE, column=f"{page.name}_{position}", value="6",
                                 delimiter=",", header_rows=3, quote_all=False, bom=True)  # fmt: skip
    # KoboToolbox: Downloads, CSV, "XML values and headers", groups in headers with "/", ";" separator.
    kobo = planted(instrument, 63, uuids(N, seed=63))
    kobo_bytes = kobo_csv(kobo, instrument)
    kobo_bytes = _with_code(kobo_bytes, row=OUT_OF_RANGE, column=f"success/{item}", value="6", delimiter=";",
                            header_rows=1, quote_all=True, bom=False)  # fmt: skip
    return dict(zip(FILES, (lime_bytes, qualtrics_bytes, kobo_bytes), strict=True))


def write(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in exports().items():
        path = folder / name
        path.write_bytes(data)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    folder = Path(argv[0]) if argv else Path(__file__).resolve().parent.parent / "data" / "exports"
    for path in write(folder):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
