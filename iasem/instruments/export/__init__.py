"""Export an instrument into the formats survey platforms import, printable questionnaires and a codebook.

Each format lives in its own module with one function ``render(instrument, lang) -> dict[filename, bytes]``.
``export`` renders every requested format first and only then writes, atomically, so a failure or an
existing file (without ``force``) leaves nothing half-written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from importlib import import_module
from pathlib import Path

from ...errors import IasemError
from ...files import check_writable, write_bytes
from ..instrument import Instrument
from ..schema import LANGUAGES

Renderer = Callable[[Instrument, str], dict[str, bytes]]

# format name -> (module, what it is); modules are imported on use so a format's dependency loads only when asked.
FORMATS: dict[str, tuple[str, str]] = {
    "xlsform": ("xlsform", "XLSForm workbook for ODK, KoboToolbox and SurveyCTO (.xlsx)"),
    "surveyjs": ("surveyjs", "SurveyJS survey JSON (.json)"),
    "limesurvey": ("limesurvey", "LimeSurvey tab-separated survey import file (.txt)"),
    "qualtrics": ("qualtrics", "Qualtrics Advanced-format import file (.txt)"),
    "redcap": ("redcap", "REDCap data dictionary (.csv)"),
    "html": ("printable", "printable questionnaire (.html)"),
    "docx": ("printable", "printable questionnaire (.docx)"),
    "pdf": ("printable", "printable questionnaire (.pdf)"),
    "codebook": ("codebook", "codebook (.csv) with a Frictionless table schema (.schema.json)"),
}


def parse_formats(text: str | Iterable[str]) -> list[str]:
    """Turn ``"xlsform,html"`` or ``"all"`` into a list of known format names."""
    names = [n.strip().lower() for n in (text.split(",") if isinstance(text, str) else text) if n.strip()]
    if names == ["all"]:
        return list(FORMATS)
    unknown = [n for n in names if n not in FORMATS]
    if unknown or not names:
        raise IasemError(f"unknown format {', '.join(unknown) or '(none)'}; choose from all, {', '.join(FORMATS)}")
    return list(dict.fromkeys(names))


def renderer(fmt: str) -> Renderer:
    module = import_module(f"{__name__}.{FORMATS[fmt][0]}")
    return getattr(module, f"render_{fmt}", None) or module.render


def export(
    instrument: Instrument,
    formats: str | Iterable[str],
    out_dir: str | Path,
    *,
    lang: str | None = None,
    force: bool = False,
) -> list[Path]:
    """Write ``instrument`` in each of ``formats`` into ``out_dir``; return the paths written.

    ``lang`` is the primary language: the only one in monolingual formats (Qualtrics, REDCap, the printable
    questionnaire), the default one in bilingual formats. It defaults to the spec's ``default_language``.
    """
    lang = lang or instrument.spec.default_language
    if lang not in LANGUAGES:
        raise IasemError(f"unknown language {lang!r}; choose from {', '.join(LANGUAGES)}")
    if lang not in instrument.languages:
        raise IasemError(
            f"instrument {instrument.id} is not offered in {lang!r} (languages: {', '.join(instrument.languages)})"
        )
    out = Path(out_dir)
    files: dict[str, bytes] = {}
    for fmt in parse_formats(formats):
        files.update(renderer(fmt)(instrument, lang))
    for name in files:
        check_writable(out / name, force)
    return [write_bytes(out / name, content, force=force) for name, content in files.items()]
