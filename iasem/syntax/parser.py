"""Stage 1: lavaan model syntax -> a flat list of formulas (lavaan's "FLAT" table).

Covers what lavaan users write: ``=~`` (loadings), ``~`` (regressions), ``~~`` (variances and covariances),
``~ 1`` (intercepts), ``|`` (thresholds), ``:=`` (defined parameters) and ``==``, ``<``, ``>`` (constraints).
A right-hand term may carry modifiers joined by ``*``: a fixed value (``1*x``, ``NA*x`` frees a parameter),
a label (``a*x``, ``label("a")*x``), a start value (``start(0.5)*x`` or ``0.5?x``), and per-group vectors
(``c(a, b)*x``, ``c(1, NA)*x``). Errors name the line of the model text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import IasemError

# Longest first, so "=~" is not read as "=" and "~", nor "~~" as two "~".
OPERATORS = ("=~", "~~", "~*~", ":=", "<~", "==", "<", ">", "|", "~")
EXPRESSION_OPERATORS = (":=", "==", "<", ">")
_NAME = re.compile(r"^[A-Za-z._][A-Za-z0-9._]*$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


class ModelSyntaxError(IasemError):
    """The model text cannot be read; the message names the line."""

    def __init__(self, message: str, line: int | None = None, source: str = "model"):
        self.line = line
        super().__init__(f"{source}:{line}: {message}" if line else f"{source}: {message}")


@dataclass
class Modifiers:
    """What ``*`` and ``?`` put in front of a variable; each a list with one entry per group, or empty."""

    fixed: list[float | None] = field(default_factory=list)  # None = NA: free, even where lavaan would fix it
    label: list[str] = field(default_factory=list)
    start: list[float | None] = field(default_factory=list)


@dataclass
class Formula:
    """One row of the flat table: a single lhs-op-rhs relation as the user wrote it."""

    lhs: str
    op: str
    rhs: str
    modifiers: Modifiers
    line: int
    block: int = 1  # the group block introduced by "group: name" lines (1 when there are none)


def parse_model(text: str, source: str = "model") -> list[Formula]:
    """Parse lavaan model syntax into formulas, in the order written.

    Examples
    --------
    >>> rows = parse_model("visual =~ x1 + a*x2 + start(0.5)*x3\\nx1 ~~ x2")
    >>> [(r.lhs, r.op, r.rhs, r.modifiers.label) for r in rows]  # doctest: +NORMALIZE_WHITESPACE
    [('visual', '=~', 'x1', []), ('visual', '=~', 'x2', ['a']), ('visual', '=~', 'x3', []), ('x1', '~~', 'x2', [])]
    """
    formulas: list[Formula] = []
    block, headers = 1, 0
    for line_no, statement in _statements(text):
        group_header = re.match(r"^(group|block|level)\s*:\s*(\S+)$", statement)
        if group_header:
            if group_header.group(1) == "level":
                raise ModelSyntaxError("multilevel models (level:) are not supported", line_no, source)
            headers += 1
            block = headers
            continue
        op, position = _find_operator(statement, line_no, source)
        lhs_text, rhs_text = statement[:position].strip(), statement[position + len(op) :].strip()
        if not lhs_text or not rhs_text:
            raise ModelSyntaxError(f"'{statement}': both sides of {op} are needed", line_no, source)
        if op in EXPRESSION_OPERATORS:
            if op == ":=" and not _NAME.match(lhs_text):
                raise ModelSyntaxError(f"':=' defines a parameter; {lhs_text!r} is not a valid name", line_no, source)
            formulas.append(
                Formula(lhs_text.replace(" ", ""), op, rhs_text.replace(" ", ""), Modifiers(), line_no, block)
            )
            continue
        if op in ("~*~", "<~"):
            raise ModelSyntaxError(f"the {op} operator is not supported", line_no, source)
        lhs_names = [name.strip() for name in _split_top(lhs_text, "+")]
        for name in lhs_names:
            if not _NAME.match(name):
                raise ModelSyntaxError(f"{name!r} is not a valid variable name", line_no, source)
        for term in _split_top(rhs_text, "+"):
            variable, modifiers = _term(term.strip(), line_no, source)
            for lhs in lhs_names:
                if op == "~" and variable == "1":
                    formulas.append(Formula(lhs, "~1", "", modifiers, line_no, block))
                else:
                    formulas.append(Formula(lhs, op, variable, modifiers, line_no, block))
    if not formulas:
        raise ModelSyntaxError("the model has no formulas", None, source)
    return formulas


def _statements(text: str) -> list[tuple[int, str]]:
    """Split the model into statements with the line each starts on: newlines and ';' end a statement unless
    it is visibly unfinished (ends with an operator, '+' or '*', or the next line starts with '+' or '*')."""
    statements: list[tuple[int, str]] = []
    buffer, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        for piece in _strip_comment(raw).split(";"):
            piece = piece.strip()
            if not piece:
                continue
            if buffer and (buffer.endswith(("+", "*", "~", "=", ",", "(")) or piece.startswith(("+", "*"))):
                buffer += " " + piece
                continue
            if buffer:
                statements.append((start, buffer))
            buffer, start = piece, number
    if buffer:
        statements.append((start, buffer))
    return statements


def _strip_comment(line: str) -> str:
    quoted = False
    for i, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char in "#!" and not quoted:
            return line[:i]
    return line


def _top_level(text: str):
    """(position, character) of each character outside parentheses and double quotes."""
    depth, quoted = 0, False
    for i, char in enumerate(text):
        if char == '"':
            quoted = not quoted
        elif not quoted and char in "()":
            depth += 1 if char == "(" else -1
        elif not quoted and depth == 0:
            yield i, char


def _find_operator(statement: str, line: int, source: str) -> tuple[str, int]:
    for i, _ in _top_level(statement):
        for op in OPERATORS:
            if statement.startswith(op, i):
                return op, i
    raise ModelSyntaxError(f"'{statement}' has no operator (=~, ~, ~~, :=, ==, <, >, |)", line, source)


def _split_top(text: str, separator: str) -> list[str]:
    """Split on ``separator`` outside parentheses and quotes."""
    cuts = [i for i, char in _top_level(text) if char == separator]
    bounds = zip([-1, *cuts], [*cuts, len(text)], strict=True)
    return [text[start + 1 : stop].strip() for start, stop in bounds]


def _term(term: str, line: int, source: str) -> tuple[str, Modifiers]:
    if not term:
        raise ModelSyntaxError("empty term (two '+' in a row?)", line, source)
    modifiers = Modifiers()
    pieces = _split_top(term, "*")
    variable = pieces[-1]
    if "?" in variable:  # lavaan's shorthand for a start value: 0.5?x
        value, variable = variable.split("?", 1)
        modifiers.start = [_number(value.strip(), line, source)]
        variable = variable.strip()
    if not (_NAME.match(variable) or variable == "1"):
        raise ModelSyntaxError(f"{variable!r} is not a valid variable name", line, source)
    for piece in pieces[:-1]:
        _modifier(piece.strip(), modifiers, line, source)
    return variable, modifiers


def _modifier(piece: str, modifiers: Modifiers, line: int, source: str) -> None:
    call = re.match(r"^(start|label|equal|c)\((.*)\)$", piece, re.S)
    if call:
        kind, args = call.group(1), [a.strip() for a in _split_top(call.group(2), ",")]
        if kind == "start":
            modifiers.start = [_number(a, line, source) for a in args]
        elif kind in ("label", "equal"):
            modifiers.label = [_unquote(a) for a in args]
        elif all(_NUMBER.match(a) or a == "NA" for a in args):
            modifiers.fixed = [_number(a, line, source) for a in args]
        else:
            modifiers.label = [_unquote(a) for a in args]
        return
    if _NUMBER.match(piece) or piece == "NA":
        modifiers.fixed = [_number(piece, line, source)]
    elif _NAME.match(_unquote(piece)):
        modifiers.label = [_unquote(piece)]
    else:
        raise ModelSyntaxError(f"cannot read the modifier {piece!r}", line, source)


def _number(text: str, line: int, source: str) -> float | None:
    if text == "NA":
        return None
    if not _NUMBER.match(text):
        raise ModelSyntaxError(f"{text!r} is not a number", line, source)
    return float(text)


def _unquote(text: str) -> str:
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text
