"""Platform readers: one module per survey platform, each turning that platform's export into a
:class:`PlatformExport`, the one shape the rest of :mod:`iasem.responses` reads.

A reader module has ``NAME``, ``sniff(path, head) -> bool`` (does the file look like this platform's export?
``head`` is its first 64 KiB) and ``read(path, data, instrument) -> PlatformExport`` (``data``: the file's
bytes, read once). Readers map the file's columns
to the instrument's question codes and metadata; they never interpret answers (see :mod:`..answers`) and
never drop a row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path

import pandas as pd

from ...errors import IasemError

#: Platform name -> reader module, in the order ``platform="auto"`` tries them (most specific first).
PLATFORMS = {
    "qualtrics": "qualtrics",
    "limesurvey": "limesurvey",
    "redcap": "redcap",
    "kobo": "kobo",
    "odk": "odk",
    "surveyjs": "surveyjs",
    "csv": "plain",
}
HEAD_BYTES = 65536


@dataclass
class PlatformExport:
    """A platform's export, columns mapped, cells untouched.

    Attributes
    ----------
    platform : str
        The platform's name.
    frame : DataFrame
        The data rows as read: one row per respondent, the file's column names, cells as text ("" when
        empty; SurveyJS list answers as lists).
    ids : Series
        Each row's respondent id (the platform's response id, or the row number where there is none).
    lines : Series
        Each row's position in the file, for messages: the line number (CSV) or the record number (JSON).
    columns : dict
        File column -> question code, for the columns holding one answer each (a multiple-choice question in
        one column holds its chosen options separated by ``separator``).
    option_columns : dict
        File column -> (question code, option value): one column per option of a multiple-choice question,
        marked when chosen.
    separator : str or None
        How one column lists several chosen options (" " Kobo/ODK, "," Qualtrics; None: lists, SurveyJS).
    metadata : list of str
        The platform's own columns (ids, timestamps, status): known, so neither answers nor "extra".
    duration : Series or None
        Seconds each respondent took, where the export says.
    complete : Series or None
        Whether each response was submitted as complete, where the export says.
    notes : list of dict
        The reader's own decisions for the import log (:meth:`DecisionLog.add` arguments: ``check``,
        ``action``, ``reason``, ``row``, ``column``): a truncated line padded, columns mapped by export tag.
        A note's ``respondent`` is filled in from its ``row``.
    """

    platform: str
    frame: pd.DataFrame
    ids: pd.Series
    lines: pd.Series
    columns: dict[str, str] = field(default_factory=dict)
    option_columns: dict[str, tuple[str, int]] = field(default_factory=dict)
    separator: str | None = None
    metadata: list[str] = field(default_factory=list)
    duration: pd.Series | None = None
    complete: pd.Series | None = None
    notes: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        by_line = dict(zip(self.lines.tolist(), self.ids.tolist(), strict=True))
        self.notes = [{**note, "respondent": by_line.get(note.get("row"))} for note in self.notes]


def reader(name: str):
    """The reader module of a platform."""
    if name not in PLATFORMS:
        raise IasemError(f"unknown platform {name!r}; choose from auto, {', '.join(PLATFORMS)}")
    return import_module(f"{__name__}.{PLATFORMS[name]}")


def detect(path: Path, head: bytes) -> str:
    """The platform whose export ``path`` looks like (plain CSV when none claims it)."""
    for name in PLATFORMS:
        if reader(name).sniff(path, head):
            return name
    return "csv"
