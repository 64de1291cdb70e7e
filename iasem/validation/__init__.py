"""Measurement validation: item analysis, reliability and discriminant validity of the constructs."""

from .constructs import ValidationWarning, as_constructs
from .discriminant import fornell_larcker, htmt, htmt_ci
from .items import item_analysis
from .reliability import cronbach_alpha, reliability

__all__ = [
    "ValidationWarning",
    "as_constructs",
    "cronbach_alpha",
    "fornell_larcker",
    "htmt",
    "htmt_ci",
    "item_analysis",
    "reliability",
]
