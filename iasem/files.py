"""Writing outputs safely: atomically, never over an existing file without ``force``, and with
spreadsheet cells that cannot run as formulas."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from .errors import OutputExistsError

# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection").
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")


def safe_cell(value: object) -> object:
    """Neutralise a text cell that a spreadsheet would evaluate, by prefixing a single quote."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def check_writable(path: Path, force: bool) -> None:
    if path.exists() and not force:
        raise OutputExistsError(f"{path} exists; pass --force (force=True) to overwrite it")


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", *, force: bool = False, **kwargs) -> Iterator[IO]:
    """Open a temporary file beside ``path`` and move it into place only when the block succeeds,
    so a crash never leaves a half-written output behind."""
    path = Path(path)
    check_writable(path, force)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        with open(tmp, mode, **kwargs) as handle:
            yield handle
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text(path: str | Path, text: str, *, force: bool = False) -> Path:
    with atomic_open(path, "w", force=force, encoding="utf-8", newline="") as handle:
        handle.write(text)
    return Path(path)


def write_bytes(path: str | Path, data: bytes, *, force: bool = False) -> Path:
    with atomic_open(path, "wb", force=force) as handle:
        handle.write(data)
    return Path(path)
