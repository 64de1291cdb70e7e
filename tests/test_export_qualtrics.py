"""Qualtrics export: an Advanced-format TXT file, read back with a parser that knows only the documented tags."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

import pytest

from iasem import load_instrument
from iasem.instruments.export import export, qualtrics

from .conftest import collapse, plain
from .conftest import tricky_bank as shared_tricky_bank

SPECS = ["relational", "intersectoral", "full"]
LANGS = ["nl", "en"]
FORMULA_START = ("=", "+", "-", "@")

# The tags Qualtrics documents for Advanced format ("Preparing an Advanced Format TXT file").
BARE_TAGS = {"AdvancedFormat", "PageBreak", "Block", "Choices", "AdvancedChoices", "Answers", "AdvancedAnswers"}
PREFIX_TAGS = {"Block", "Question", "ID", "Choice", "Answer", "ED"}
QUESTION_TYPES = {
    "Text",
    "DB",
    "Matrix",
    "MC",
    "MC:SingleAnswer:Vertical",
    "MC:SingleAnswer:Horizontal",
    "MC:MultipleAnswer:Vertical",
    "MC:MultipleAnswer:Horizontal",
    "MC:DropDown",
    "TE",
    "TE:SingleLine",
    "TE:Essay",
    "TE:Form",
}
TAG = re.compile(r"^\[\[([^\[\]]+)\]\]$")


def tricky_bank() -> str:
    # Qualtrics' own tag syntax as item text must stay text, too.
    return shared_tricky_bank().replace('"Statement 4"', '"[[PageBreak]]"')


@dataclass
class ParsedQuestion:
    type: str
    id: str = ""
    text: list[str] = field(default_factory=list)
    choices: list[tuple[int, str]] = field(default_factory=list)
    answers: list[tuple[int, str]] = field(default_factory=list)
    section: str = ""  # "choice" or "answer" after [[AdvancedChoices]] / [[AdvancedAnswers]]


@dataclass
class ParsedBlock:
    name: str
    questions: list[ParsedQuestion] = field(default_factory=list)
    page_breaks: list[int] = field(default_factory=list)  # number of questions before each break


def parse(data: bytes) -> list[ParsedBlock]:
    """The blocks of an Advanced-format file; fails on anything the documented syntax does not allow."""
    text = data.decode("utf-8")
    assert not text.startswith("\ufeff")
    lines = text.split("\n")
    assert lines[0] == "[[AdvancedFormat]]"
    blocks: list[ParsedBlock] = []
    question: ParsedQuestion | None = None
    mode = "text"
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        match = TAG.match(line)
        if match is None:
            assert "[[" not in line and "]]" not in line, f"line {number}: a tag inside text: {line!r}"
            assert question is not None, f"line {number}: text outside a question"
            if mode == "text":
                question.text.append(line)
            else:
                assert mode in ("choice", "answer"), f"line {number}: text before [[Choice:n]]/[[Answer:n]]"
                target = question.choices if mode == "choice" else question.answers
                assert not target[-1][1], f"line {number}: a second line for one choice"
                target[-1] = (target[-1][0], line)
            continue
        tag = match.group(1)
        name, _, arg = tag.partition(":")
        assert (tag in BARE_TAGS) or (name in PREFIX_TAGS and arg), f"line {number}: unknown tag [[{tag}]]"
        if name == "Block":
            blocks.append(ParsedBlock(arg))
            question = None
        elif name == "Question":
            assert arg in QUESTION_TYPES, f"line {number}: unknown question type {arg}"
            assert lines[number].startswith("[[ID:"), f"line {number}: [[Question]] not followed by [[ID:...]]"
            question = ParsedQuestion(arg)
            blocks[-1].questions.append(question)
            mode = "text"
        elif name == "ID":
            assert question is not None and not question.id and not question.text
            question.id = arg
        elif tag in ("AdvancedChoices", "AdvancedAnswers"):
            assert question is not None
            mode = "advanced"
            question.section = "choice" if tag == "AdvancedChoices" else "answer"
        elif name in ("Choice", "Answer"):
            assert question is not None and re.fullmatch(r"-?\d+", arg), f"line {number}: recode {arg!r}"
            mode = name.lower()
            assert question.section == mode, f"line {number}: [[{tag}]] outside its section"
            (question.choices if mode == "choice" else question.answers).append((int(arg), ""))
        elif tag == "PageBreak":
            blocks[-1].page_breaks.append(len(blocks[-1].questions))
            question = None
        else:
            pytest.fail(f"line {number}: tag [[{tag}]] is not used by the exporter")
    for block in blocks:
        for q in block.questions:
            assert q.id and q.text, q
            assert all(label for _, label in q.choices + q.answers), q
    return blocks


def render(instrument, lang):
    files = qualtrics.render(instrument, lang)
    assert list(files) == [f"{instrument.id}_qualtrics.txt"]
    return files[f"{instrument.id}_qualtrics.txt"]


@pytest.fixture(scope="module", params=SPECS)
def instrument(request):
    return load_instrument(request.param)


@pytest.mark.parametrize("lang", LANGS)
def test_blocks_questions_and_ids(instrument, lang):
    blocks = parse(render(instrument, lang))
    assert [b.name for b in blocks] == ["intro", *(p.name for p in instrument.pages)]
    ids = [q.id for b in blocks for q in b.questions]
    assert len(ids) == len(set(ids))
    for qid in ids:
        assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", qid), qid

    intro, consent = blocks[0].questions
    spec = instrument.spec
    assert (intro.type, intro.id) == ("Text", "intro")
    assert collapse(spec.intro[lang]) in plain(intro.text[0])
    assert (consent.type, consent.id) == ("MC:SingleAnswer:Vertical", "consent")
    assert plain(consent.text[0]) == collapse(spec.consent[lang])
    assert [value for value, _ in consent.choices] == [1, 0]

    last = blocks[-1]
    assert last.page_breaks == [len(last.questions) - 1], "the closing text sits on a page of its own"
    closing = last.questions[-1]
    assert (closing.type, closing.id) == ("Text", "closing")
    assert plain(closing.text[0]) == f"<p>{collapse(spec.closing[lang])}</p>"


@pytest.mark.parametrize("lang", LANGS)
def test_matrices_keep_item_order_and_scale_values(instrument, lang):
    blocks = {b.name: b for b in parse(render(instrument, lang))}
    for page in instrument.pages:
        questions = [q for q in blocks[page.name].questions if q.id != "closing"]
        if page.kind != "matrix":
            continue
        (matrix,) = questions
        assert (matrix.type, matrix.id) == ("Matrix", page.name)
        assert plain(matrix.text[0]) == collapse(page.title[lang])
        # statements: recodes 1..n in the page's item order, the codebook's mapping to item codes
        assert [k for k, _ in matrix.choices] == list(range(1, len(page.questions) + 1))
        assert [plain(t) for _, t in matrix.choices] == [collapse(q.text[lang]) for q in page.questions]
        assert matrix.answers == [(o.value, o.label[lang]) for o in page.scale.options]


@pytest.mark.parametrize("lang", LANGS)
def test_background_questions(instrument, lang):
    blocks = {b.name: b for b in parse(render(instrument, lang))}
    background = [q for q in instrument.questions if q.kind == "background"]
    parsed = [q for q in blocks["background"].questions if q.id != "closing"]
    assert [q.id for q in parsed] == [q.code for q in background]
    expected_type = {
        "integer": "TE:SingleLine",
        "multiple": "MC:MultipleAnswer:Vertical",
        "rating": "MC:SingleAnswer:Horizontal",
        "single": "MC:SingleAnswer:Vertical",
    }
    for question, got in zip(background, parsed, strict=True):
        assert got.type == expected_type[question.scale.type]
        assert plain(got.text[0]) == collapse(question.text[lang])
        assert got.choices == [(o.value, o.label[lang]) for o in question.scale.options]
        assert not got.answers


@pytest.mark.parametrize("lang", LANGS)
def test_monolingual_and_attention_check_inside_a_matrix(lang):
    instrument = load_instrument("relational")
    data = render(instrument, lang).decode("utf-8")
    other = "en" if lang == "nl" else "nl"
    for question in instrument.questions:
        if question.text[lang] != question.text[other]:
            assert html.escape(collapse(question.text[other]), quote=False) not in data
    check = next(q for q in instrument.questions if q.kind == "attention")
    matrices = [q for b in parse(data.encode()) for q in b.questions if q.type == "Matrix"]
    assert sum(plain(t) == collapse(check.text[lang]) for m in matrices for _, t in m.choices) == 1


def test_parser_rejects_what_qualtrics_would_not_read():
    good = b"[[AdvancedFormat]]\n\n[[Block:b]]\n\n[[Question:Text]]\n[[ID:x]]\nHello\n"
    assert parse(good)[0].questions[0].text == ["Hello"]
    for bad in (
        good.replace(b"[[ID:x]]\n", b""),
        good.replace(b"Hello", b"Hello [[Bold]]"),
        good.replace(b"[[Question:Text]]", b"[[Question:Slider]]"),
        good + b"[[Required]]\n",
    ):
        with pytest.raises(AssertionError):
            parse(bad)


@pytest.mark.parametrize("lang", LANGS)
def test_lines_cannot_run_as_formulas_or_tags(custom_spec, tmp_path, lang):
    spec = custom_spec("constructs: [mine]\nbank: [my_bank.yaml]\n", tricky_bank())
    paths = export(load_instrument(spec), "qualtrics", tmp_path / lang, lang=lang)
    assert [p.name for p in paths] == ["custom_qualtrics.txt"]
    data = paths[0].read_bytes()
    lines = data.decode("utf-8").split("\n")
    assert not [line for line in lines if line.startswith(FORMULA_START)]
    assert "${" not in data.decode()
    blocks = parse(data)
    (matrix,) = blocks[1].questions[:1]
    texts = [plain(t) for _, t in matrix.choices]
    if lang == "nl":
        assert texts == ["=SUM(A1)", "@cmd", "-1 of +1", 'Tekst <b>{x}</b> "q" & [y] | $z {z}']
    else:
        assert texts == ["=SUM(A1)", "@cmd", "+1 or -1", "[[PageBreak]]"]
