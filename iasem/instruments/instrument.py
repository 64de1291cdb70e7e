"""An Instrument: a spec resolved against the item bank, laid out as the pages a respondent sees.

Every export format renders the same ``Instrument.pages``, so item order, the attention check and the
scale choice are decided once, here.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ..errors import InstrumentError, Problem
from ..resources import resource_path
from .bank import ItemBank, load_bank, validate_model
from .schema import Construct, RandomOrder, Scale, Spec, Text
from .yamlsource import load_yaml

QuestionKind = Literal["likert", "background", "attention"]


@dataclass(frozen=True)
class Question:
    """One thing a respondent answers: a Likert statement (a matrix row), a background question, or the
    attention check."""

    code: str
    text: Text
    scale_id: str
    scale: Scale
    kind: QuestionKind
    construct: str | None = None
    reverse: bool = False
    expect: int | None = None  # the attention check's correct value


@dataclass(frozen=True)
class Page:
    """A group of questions shown together: a matrix of Likert statements sharing one scale, or the
    background questions."""

    name: str
    title: Text
    kind: Literal["matrix", "background"]
    questions: tuple[Question, ...]

    @property
    def scale(self) -> Scale:
        return self.questions[0].scale

    @property
    def scale_id(self) -> str:
        return self.questions[0].scale_id


@dataclass
class Instrument:
    """A questionnaire ready to export: the spec, the constructs it measures and its pages in order."""

    spec: Spec
    bank: ItemBank
    source: str
    constructs: list[Construct] = field(init=False)
    pages: list[Page] = field(init=False)

    def __post_init__(self) -> None:
        self.constructs = [self.bank.constructs[c] for c in self._construct_ids()]
        self.pages = self._layout()

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def languages(self) -> list[str]:
        return list(self.spec.languages)

    def _construct_ids(self) -> list[str]:
        return list(self.bank.constructs) if self.spec.constructs == "all" else list(self.spec.constructs)

    def scale_of(self, construct: Construct, item_scale: str | None) -> str:
        """The spec's scale replaces the bank's agreement scale; other scales (a 1-10 grade) are kept."""
        bank_scale = item_scale or construct.scale
        return self.spec.scale if self.bank.scales[bank_scale].type == "likert" else bank_scale

    @property
    def questions(self) -> list[Question]:
        return [q for page in self.pages for q in page.questions]

    @property
    def likert_questions(self) -> list[Question]:
        return [q for q in self.questions if q.kind == "likert"]

    @property
    def choice_scales(self) -> dict[str, Scale]:
        """Every scale with options that this instrument uses, by id, in first-use order."""
        scales: dict[str, Scale] = {}
        for question in self.questions:
            if question.scale.options:
                scales.setdefault(question.scale_id, question.scale)
        return scales

    def _layout(self) -> list[Page]:
        likert = [
            Question(
                code=item.code,
                text=item.text,
                scale_id=(scale_id := self.scale_of(construct, item.scale)),
                scale=self.bank.scales[scale_id],
                kind="likert",
                construct=construct.id,
                reverse=item.reverse,
            )
            for construct in self.constructs
            for item in construct.items
        ]
        order = self.spec.order_mode
        if isinstance(order, RandomOrder):
            pages = _random_pages(likert, order)
        else:
            pages = [
                Page(
                    c.id,
                    c.name,
                    "matrix",
                    tuple(q for q in likert if q.construct == c.id),
                )
                for c in self.constructs
            ]
            pages = [p for page in pages for p in _split_by_scale(page)]
        if self.spec.attention_check:
            pages = self._with_attention_check(pages, order.seed if isinstance(order, RandomOrder) else 0)
        background = tuple(
            Question(q.code, q.text, q.scale, self.bank.scales[q.scale], "background")
            for q in (self.bank.background[code] for code in self.spec.background)
        )
        if background:
            pages.append(
                Page(
                    "background",
                    Text(nl="Achtergrond", en="Background"),
                    "background",
                    background,
                )
            )
        return pages

    def _with_attention_check(self, pages: list[Page], seed: int) -> list[Page]:
        # Placed inside a matrix halfway through, where inattentive respondents are most likely to be found.
        check = self.bank.attention_check
        scale = self.bank.scales[self.spec.scale]
        target = pages[len(pages) // 2]
        position = random.Random(seed).randint(1, len(target.questions) - 1)
        question = Question(
            check.code,
            check.text,
            self.spec.scale,
            scale,
            "attention",
            expect=scale.option(check.expect).value,
        )
        rows = list(target.questions)
        rows.insert(position, question)
        return [Page(p.name, p.title, p.kind, tuple(rows)) if p is target else p for p in pages]

    def measurement_model(self) -> str:
        """The lavaan-syntax measurement model, one ``construct =~ items`` line per construct."""
        return "\n".join(f"{c.id} =~ {' + '.join(item.code for item in c.items)}" for c in self.constructs) + "\n"

    def reverse_keyed(self) -> list[str]:
        return [q.code for q in self.likert_questions if q.reverse]

    def summary(self) -> str:
        lines = [
            f"instrument {self.id} (version {self.spec.version}) from {self.source}",
            f"  languages: {', '.join(self.languages)} (default {self.spec.default_language})",
            f"  scale: {self.spec.scale}",
            f"  order: {self.spec.order_mode.mode}; attention check: {'yes' if self.spec.attention_check else 'no'}",
            f"  {len(self.constructs)} constructs, {len(self.likert_questions)} Likert items "
            f"({len(self.reverse_keyed())} reverse-keyed), {len(self.spec.background)} background questions, "
            f"{len(self.pages)} pages",
        ]
        lines += [f"    {c.id:<16} {len(c.items):>2} items  {c.name.en}" for c in self.constructs]
        return "\n".join(lines)


def _split_by_scale(page: Page) -> list[Page]:
    """A matrix shares one scale; an item with its own scale gets a page of its own."""
    groups: list[list[Question]] = []
    for question in page.questions:
        if groups and groups[-1][0].scale_id == question.scale_id:
            groups[-1].append(question)
        else:
            groups.append([question])
    if len(groups) == 1:
        return [page]
    return [Page(f"{page.name}_{i + 1}", page.title, "matrix", tuple(g)) for i, g in enumerate(groups)]


def _random_pages(likert: list[Question], order: RandomOrder) -> list[Page]:
    shuffled = list(likert)
    random.Random(order.seed).shuffle(shuffled)
    by_scale: dict[str, list[Question]] = {}
    for question in shuffled:
        by_scale.setdefault(question.scale_id, []).append(question)
    pages: list[Page] = []
    for questions in by_scale.values():
        for start in range(0, len(questions), order.page_size):
            n = len(pages) + 1
            chunk = tuple(questions[start : start + order.page_size])
            # An underscore cannot occur in an item code, so a page name never collides with an item's.
            pages.append(Page(f"part_{n}", Text(nl=f"Deel {n}", en=f"Part {n}"), "matrix", chunk))
    return pages


def shipped_specs() -> dict[str, Path]:
    """The instrument specs that come with iasem, by id."""
    return {path.stem: path for path in sorted((resource_path("survey_instruments") / "specs").glob("*.yaml"))}


def load_instrument(spec: str | Path) -> Instrument:
    """Load an instrument from a spec file or the id of a shipped spec (``relational``, ``intersectoral``,
    ``full``), resolved against the item bank.

    Raises InstrumentError naming the file and line of every problem.

    Examples
    --------
    >>> from iasem import load_instrument
    >>> instrument = load_instrument("relational")
    >>> print(instrument.measurement_model().splitlines()[0])  # doctest: +ELLIPSIS
    rsa =~ rsa1 + rsa2 + ...
    """
    path = Path(spec)
    if not path.is_file():
        known = shipped_specs()
        if str(spec) not in known:
            raise InstrumentError.single(
                spec,
                None,
                f"no such spec file, and no shipped spec of that name (shipped: {', '.join(known)})",
            )
        path = known[str(spec)]
    source = load_yaml(path)
    parsed = validate_model(Spec, source)
    extra = [(path.parent / name).resolve() for name in parsed.bank]
    missing = [p for p in extra if not p.is_file()]
    if missing:
        raise InstrumentError(
            [Problem(source.file, source.line(("bank",)), f"bank file {p} not found") for p in missing]
        )
    bank_dir = None
    if parsed.item_bank is not None:
        bank_dir = (path.parent / parsed.item_bank).resolve()
        if not (bank_dir / "scales.yaml").is_file():
            raise InstrumentError.single(
                source.file,
                source.line(("item_bank",)),
                f"item_bank {bank_dir} has no scales.yaml; is it an item-bank folder?",
            )
    bank = load_bank(bank_dir, extra)
    _check_spec(parsed, source, bank)
    return Instrument(parsed, bank, source.file)


def _check_spec(spec: Spec, source, bank: ItemBank) -> None:
    problems: list[Problem] = []
    if spec.scale not in bank.scales:
        problems.append(
            Problem(
                source.file,
                source.line(("scale",)),
                f"unknown scale {spec.scale!r}; known scales: {', '.join(bank.scales)}",
            )
        )
    elif bank.scales[spec.scale].type != "likert":
        problems.append(
            Problem(
                source.file,
                source.line(("scale",)),
                f"scale {spec.scale!r} is not a likert scale",
            )
        )
    elif spec.attention_check:
        try:
            bank.scales[spec.scale].option(bank.attention_check.expect)
        except KeyError:
            problems.append(
                Problem(
                    source.file,
                    source.line(("attention_check",)),
                    f"scale {spec.scale!r} has no option {bank.attention_check.expect!r} for the attention check",
                )
            )
    if isinstance(spec.constructs, list):
        for i, cid in enumerate(spec.constructs):
            if cid not in bank.constructs:
                problems.append(
                    Problem(
                        source.file,
                        source.line(("constructs", i)),
                        f"unknown construct {cid!r}",
                    )
                )
    for i, code in enumerate(spec.background):
        if code not in bank.background:
            problems.append(
                Problem(
                    source.file,
                    source.line(("background", i)),
                    f"unknown background question {code!r}; known: {', '.join(bank.background)}",
                )
            )
    if problems:
        raise InstrumentError(problems)
