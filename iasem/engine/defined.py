"""Defined parameters (``:=``): arithmetic on labelled parameters, evaluated safely (no ``eval``)."""

from __future__ import annotations

import ast
import functools
import operator
from collections.abc import Mapping

import numpy as np

from ..errors import IasemError

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.Pow: operator.pow}  # fmt: skip
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
# numpy's functions, so that one walk evaluates a label's value or an array of them (Monte Carlo replicates).
_FUNCTIONS = {"exp": np.exp, "log": np.log, "sqrt": np.sqrt, "abs": np.abs}


def evaluate_expression(expression: str, values: Mapping[str, float]) -> float:
    """The value of a lavaan ``:=`` expression (``a*b``, ``c + a*b``, ``exp(a)``) given label values.

    Examples
    --------
    >>> evaluate_expression("c + a*b", {"a": 0.5, "b": 2.0, "c": 1.0})
    2.0
    """
    return float(_eval(_parse(expression), values, expression))


def evaluate_array(expression: str, values: Mapping[str, np.ndarray]) -> np.ndarray:
    """:func:`evaluate_expression` on arrays of label values, element by element (NaN where undefined).

    >>> evaluate_array("a*b", {"a": np.array([0.5, 1.0]), "b": np.array([2.0, 3.0])})
    array([1., 3.])
    """
    with np.errstate(all="ignore"):
        return np.asarray(_eval(_parse(expression), values, expression), dtype=float)


@functools.lru_cache(maxsize=1024)
def _parse(expression: str) -> ast.AST:
    """The expression's syntax tree, parsed once (the tree is only read): the delta method and the Monte Carlo
    evaluate the same few expressions many times."""
    try:
        return ast.parse(expression.replace("^", "**"), mode="eval").body
    except SyntaxError:
        raise IasemError(f"cannot read the expression {expression!r}") from None


def _eval(node: ast.AST, values: Mapping, expression: str):
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return node.value
    if isinstance(node, ast.Name):
        if node.id not in values:
            raise IasemError(f"{node.id!r} in {expression!r} is not a parameter label")
        return values[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _BINARY[type(node.op)](_eval(node.left, values, expression), _eval(node.right, values, expression))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval(node.operand, values, expression))
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and len(node.args) == 1
    ):
        return _FUNCTIONS[node.func.id](_eval(node.args[0], values, expression))
    raise IasemError(f"{expression!r}: only numbers, labels, + - * / ^ and exp, log, sqrt, abs are allowed")
