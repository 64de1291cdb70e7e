"""lavaan model syntax and the parameter table: the first two stages of every fit."""

from .parser import Formula, ModelSyntaxError, parse_model
from .partable import COLUMNS, partable, variable_roles

__all__ = ["COLUMNS", "Formula", "ModelSyntaxError", "parse_model", "partable", "variable_roles"]
