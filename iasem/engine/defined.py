"""Defined parameters (``:=``): arithmetic on labelled parameters, evaluated safely (no ``eval``)."""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Mapping

from ..errors import IasemError

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.Pow: operator.pow}  # fmt: skip
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_FUNCTIONS = {"exp": math.exp, "log": math.log, "sqrt": math.sqrt, "abs": abs}


def evaluate_expression(expression: str, values: Mapping[str, float]) -> float:
    """The value of a lavaan ``:=`` expression (``a*b``, ``c + a*b``, ``exp(a)``) given label values.

    Examples
    --------
    >>> evaluate_expression("c + a*b", {"a": 0.5, "b": 2.0, "c": 1.0})
    2.0
    """
    try:
        tree = ast.parse(expression.replace("^", "**"), mode="eval")
    except SyntaxError:
        raise IasemError(f"cannot read the expression {expression!r}") from None
    return float(_eval(tree.body, values, expression))


def _eval(node: ast.AST, values: Mapping[str, float], expression: str) -> float:
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
