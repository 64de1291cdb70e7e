"""Load the item bank (scales, background questions, constructs) and check it as a whole.

Every problem is reported with its file and line, and all problems of a bank are reported together, so a
designer can fix a file in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from ..errors import InstrumentError, Problem
from ..resources import resource_path
from .schema import (
    ITEM_CODE_PATTERN,
    LANGUAGES,
    AttentionCheck,
    BackgroundFile,
    BackgroundQuestion,
    BankFile,
    Construct,
    Scale,
    ScalesFile,
)
from .yamlsource import YamlSource, load_yaml

M = TypeVar("M", bound=BaseModel)


@dataclass
class ItemBank:
    """Every scale, construct and background question iasem knows, with where each was defined."""

    scales: dict[str, Scale]
    constructs: dict[str, Construct]
    background: dict[str, BackgroundQuestion]
    attention_check: AttentionCheck
    origin: dict[str, tuple[str, int | None]] = field(default_factory=dict)  # code or id -> (file, line)

    def construct_of(self, item_code: str) -> Construct:
        for construct in self.constructs.values():
            if any(item.code == item_code for item in construct.items):
                return construct
        raise KeyError(item_code)


def default_bank_dir() -> Path:
    return resource_path("survey_instruments")


def validate_model(model: type[M], source: YamlSource) -> M:
    """Validate ``source`` against ``model``; raise InstrumentError with a line for every error."""
    try:
        return model.model_validate(source.data)
    except ValidationError as exc:
        problems = [Problem(source.file, source.line(err["loc"]), _describe(err)) for err in exc.errors()]
        raise InstrumentError(_dedupe(problems)) from None


def _describe(err: dict) -> str:
    loc = err["loc"]
    where = _dotted(loc)
    kind = err["type"]
    if kind == "missing" and loc and loc[-1] in LANGUAGES:
        return f"missing translation: {_dotted(loc[:-1])} has no {loc[-1]!r} text"
    if kind == "string_pattern_mismatch" and loc and loc[-1] == "code":
        return (
            f"invalid item code {err['input']!r} at {where}: a lowercase letter, then lowercase letters or digits, "
            f"at most 20 characters ({ITEM_CODE_PATTERN})"
        )
    if kind == "string_too_short" and loc and loc[-1] in LANGUAGES:
        return f"missing translation: {where} is empty"
    message = err["msg"].removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def _dotted(loc: tuple) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")


def _dedupe(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


def load_bank(directory: str | Path | None = None, extra_files: list[Path] = ()) -> ItemBank:
    """Load the bank in ``directory`` (the shipped one by default) plus ``extra_files`` of constructs.

    Raises InstrumentError listing every problem found, each with file and line.
    """
    root = Path(directory) if directory is not None else default_bank_dir()
    problems: list[Problem] = []

    def attempt(model: type[M], path: Path) -> tuple[M | None, YamlSource | None]:
        try:
            source = load_yaml(path, _display(path, root))
            return validate_model(model, source), source
        except InstrumentError as exc:
            problems.extend(exc.problems)
            return None, None

    scales_file, _scales_src = attempt(ScalesFile, root / "scales.yaml")
    background_file, background_src = attempt(BackgroundFile, root / "background.yaml")
    bank_files = [(path, *attempt(BankFile, path)) for path in [*sorted((root / "bank").glob("*.yaml")), *extra_files]]
    if problems:
        raise InstrumentError(problems)

    scales = scales_file.scales
    origin: dict[str, tuple[str, int | None]] = {}
    constructs: dict[str, Construct] = {}

    def claim(code: str, src: YamlSource, loc: tuple, what: str) -> None:
        where = (src.file, src.line(loc))
        if code in origin:
            first_file, first_line = origin[code]
            problems.append(
                Problem(
                    *where,
                    f"duplicate {what} {code!r} (first defined at {first_file}:{first_line})",
                )
            )
        else:
            origin[code] = where

    def need_scale(scale_id: str | None, src: YamlSource, loc: tuple, ordered: bool) -> None:
        if scale_id is None:
            return
        if scale_id not in scales:
            problems.append(
                Problem(
                    src.file,
                    src.line(loc),
                    f"unknown scale {scale_id!r}; known scales: {', '.join(scales)}",
                )
            )
        elif ordered and not scales[scale_id].is_ordered:
            problems.append(
                Problem(
                    src.file,
                    src.line(loc),
                    f"scale {scale_id!r} is {scales[scale_id].type}; Likert items need likert or rating",
                )
            )

    for i, question in enumerate(background_file.background):
        claim(question.code, background_src, ("background", i, "code"), "code")
        need_scale(question.scale, background_src, ("background", i, "scale"), ordered=False)
    attention = background_file.attention_check
    claim(attention.code, background_src, ("attention_check", "code"), "code")

    for _path, bank_file, src in bank_files:
        for ci, construct in enumerate(bank_file.constructs):
            # Construct ids and item codes share one namespace: both become variable or group names on platforms.
            claim(construct.id, src, ("constructs", ci, "id"), "construct id")
            constructs.setdefault(construct.id, construct)
            if construct.scale is None and any(item.scale is None for item in construct.items):
                problems.append(
                    Problem(
                        src.file,
                        src.line(("constructs", ci)),
                        f"construct {construct.id!r} sets no scale and some items set none either",
                    )
                )
            need_scale(construct.scale, src, ("constructs", ci, "scale"), ordered=True)
            for ii, item in enumerate(construct.items):
                claim(item.code, src, ("constructs", ci, "items", ii, "code"), "item code")
                need_scale(
                    item.scale,
                    src,
                    ("constructs", ci, "items", ii, "scale"),
                    ordered=True,
                )
    if problems:
        raise InstrumentError(problems)
    return ItemBank(
        scales,
        constructs,
        {q.code: q for q in background_file.background},
        attention,
        origin,
    )


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root.parent))
    except ValueError:
        return str(path)
