"""Find the resource folders (survey_instruments/, models/, data/, reports/) that ship with iasem.

In a wheel they live inside the package under ``iasem/_resources/``; in a source checkout (and an editable
install) they are the top-level folders of the repository. Both are reached through importlib.resources.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

RESOURCE_DIRS = ("survey_instruments", "models", "data", "reports")


def resource_path(name: str) -> Path:
    """Return the folder of the shipped resource ``name`` (one of RESOURCE_DIRS)."""
    if name not in RESOURCE_DIRS:
        raise ValueError(f"unknown resource folder {name!r}; expected one of {', '.join(RESOURCE_DIRS)}")
    packaged = resources.files("iasem") / "_resources" / name
    if packaged.is_dir():
        return Path(str(packaged))
    source_tree = Path(str(resources.files("iasem"))).parent / name
    if source_tree.is_dir():
        return source_tree
    raise FileNotFoundError(f"iasem's {name}/ folder is missing from this installation")
