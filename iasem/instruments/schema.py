"""The item bank's and the instrument specs' schema, as pydantic models.

The YAML files in survey_instruments/ are validated against these models; ``bank.py`` turns pydantic's
errors into messages that name the file and line. Rules that span files (an item naming an unknown scale,
a code used twice) are checked in ``bank.py``, since a single model cannot see them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

LANGUAGES = ("nl", "en")
Language = Literal["nl", "en"]

# Platform-safe: LimeSurvey, Qualtrics, REDCap, ODK and SPSS all accept a lowercase letter followed by
# lowercase letters and digits, up to 20 characters (REDCap's and SPSS's practical limits are the tightest).
ITEM_CODE_PATTERN = r"^[a-z][a-z0-9]{0,19}$"
# Construct ids become lavaan latent variable names and XLSForm group names.
CONSTRUCT_ID_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"

ItemCode = Annotated[str, StringConstraints(pattern=ITEM_CODE_PATTERN)]
ConstructId = Annotated[str, StringConstraints(pattern=CONSTRUCT_ID_PATTERN)]
NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]

MIN_ITEMS = 4
MIN_ITEMS_CONTEXT = 3  # context factors are narrow concepts (TNO s3.6)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(Strict):
    """A text in both languages of the bank."""

    nl: NonEmpty
    en: NonEmpty

    @model_validator(mode="after")
    def _no_references(self) -> Text:
        # XLSForm reads ${name} as a reference to another question and offers no way to escape it.
        for lang in LANGUAGES:
            if "${" in getattr(self, lang):
                raise ValueError(f"the {lang} text contains '${{', which survey platforms read as a reference")
        return self

    def __getitem__(self, lang: str) -> str:
        if lang not in LANGUAGES:
            raise KeyError(f"unknown language {lang!r}; expected one of {', '.join(LANGUAGES)}")
        return getattr(self, lang)


class Option(Strict):
    value: int
    key: ConstructId
    nl: NonEmpty
    en: NonEmpty

    @property
    def label(self) -> Text:
        return Text(nl=self.nl, en=self.en)


class Scale(Strict):
    """A response scale: ordered options (likert, rating), choices (single, multiple) or a count (integer)."""

    type: Literal["likert", "rating", "single", "multiple", "integer"]
    name: Text
    options: list[Option] = Field(default_factory=list)
    min: int | None = None
    max: int | None = None

    @model_validator(mode="after")
    def _check(self) -> Scale:
        if self.type == "integer":
            if self.min is None or self.max is None or self.min >= self.max:
                raise ValueError("an integer scale needs min < max")
            if self.options:
                raise ValueError("an integer scale has no options")
            return self
        if len(self.options) < 2:
            raise ValueError(f"a {self.type} scale needs at least 2 options")
        for attr in ("value", "key"):
            seen = [getattr(o, attr) for o in self.options]
            dupes = sorted({str(v) for v in seen if seen.count(v) > 1})
            if dupes:
                raise ValueError(f"duplicate option {attr}: {', '.join(dupes)}")
        if self.type in ("likert", "rating"):
            values = [o.value for o in self.options]
            if values != sorted(values):
                raise ValueError("options of an ordered scale must be listed in increasing value")
        return self

    @property
    def is_ordered(self) -> bool:
        return self.type in ("likert", "rating")

    def option(self, key: str) -> Option:
        for option in self.options:
            if option.key == key:
                return option
        raise KeyError(key)


class Item(Strict):
    code: ItemCode
    text: Text
    reverse: bool
    scale: ConstructId | None = None
    aspect: str | None = None
    inspired_by: str | None = None


class Construct(Strict):
    id: ConstructId
    framework_id: NonEmpty
    category: Literal[
        "relational",
        "outcome",
        "formation",
        "management",
        "evaluation",
        "context",
        "conflict",
        "performance",
    ]
    name: Text
    definition: Text
    source: NonEmpty
    scale: ConstructId | None = None
    items: list[Item]

    @model_validator(mode="after")
    def _enough_items(self) -> Construct:
        if not self.items:
            raise ValueError(f"construct {self.id!r} is empty: it has no items")
        needed = MIN_ITEMS_CONTEXT if self.category == "context" else MIN_ITEMS
        if len(self.items) < needed:
            raise ValueError(f"construct {self.id!r} has {len(self.items)} items; at least {needed} are needed")
        return self


class BankFile(Strict):
    constructs: list[Construct]


class ScalesFile(Strict):
    scales: dict[ConstructId, Scale]


class BackgroundQuestion(Strict):
    code: ItemCode
    scale: ConstructId
    text: Text
    source: NonEmpty


class AttentionCheck(Strict):
    code: ItemCode
    expect: ConstructId
    text: Text


class BackgroundFile(Strict):
    background: list[BackgroundQuestion]
    attention_check: AttentionCheck


class RandomOrder(Strict):
    mode: Literal["random"]
    seed: int
    page_size: int = Field(default=10, ge=2, le=50)


class GroupedOrder(Strict):
    mode: Literal["grouped"]


class Spec(Strict):
    """An instrument spec: which constructs and background questions, in which scale, order and languages."""

    id: ConstructId
    version: NonEmpty = "1.0"
    title: Text
    languages: list[Language] = Field(default_factory=lambda: list(LANGUAGES), min_length=1)
    default_language: Language = "nl"
    scale: ConstructId = "agree5"
    intro: Text
    consent: Text
    closing: Text
    constructs: Literal["all"] | list[ConstructId] = Field(min_length=1)
    background: list[ItemCode] = Field(default_factory=list)
    order: Literal["grouped"] | GroupedOrder | RandomOrder = "grouped"
    attention_check: bool = False
    # An item-bank folder, relative to the spec, used instead of the shipped bank (see `iasem instrument init`).
    item_bank: NonEmpty | None = None
    # Extra bank files, relative to the spec, loaded after the item bank (a designer's own constructs).
    bank: list[NonEmpty] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> Spec:
        if self.default_language not in self.languages:
            raise ValueError(f"default_language {self.default_language!r} is not among languages {self.languages}")
        if isinstance(self.constructs, list) and len(set(self.constructs)) != len(self.constructs):
            raise ValueError("a construct is listed twice in constructs")
        return self

    @property
    def order_mode(self) -> GroupedOrder | RandomOrder:
        return GroupedOrder(mode="grouped") if self.order == "grouped" else self.order
