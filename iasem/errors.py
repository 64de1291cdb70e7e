"""Exceptions that tell the user which file, line, row or column is wrong."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class IasemError(Exception):
    """Base class of every error iasem raises on purpose; the CLI prints these without a traceback."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in an input file, located as precisely as iasem can."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


class InstrumentError(IasemError):
    """The item bank or an instrument spec is invalid; holds every problem found, not just the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def single(cls, file: str | Path, line: int | None, message: str) -> InstrumentError:
        return cls([Problem(str(file), line, message)])


class OutputExistsError(IasemError):
    """An output file exists and the user did not pass --force."""
