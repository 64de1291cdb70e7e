"""Progress bars for long computations, in a terminal and in a notebook (tqdm's ``auto`` front end)."""

from __future__ import annotations

from tqdm.auto import tqdm


def progress_bar(total: int, desc: str = "", enabled: bool | None = None) -> tqdm:
    """A tqdm progress bar over ``total`` steps, used as a context manager.

    ``enabled=None`` shows it where someone watches: on a terminal, or as a widget in a notebook; never in
    logs or pipes. True always shows it, False never.

    >>> with progress_bar(3, "work", enabled=False) as bar:
    ...     bar.disable
    True
    """
    return tqdm(total=total, desc=desc, disable=(None if enabled is None else not enabled), leave=False)
