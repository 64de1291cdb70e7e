"""Measurement validation: item analysis, reliability and discriminant validity of the constructs."""

from .constructs import ValidationWarning, as_constructs
from .discriminant import fornell_larcker, htmt, htmt_ci
from .efa import EFAResult, efa
from .invariance import InvarianceResult, invariance
from .items import item_analysis
from .reliability import cronbach_alpha, reliability
from .report import MeasurementReport, validate

__all__ = [
    "EFAResult",
    "InvarianceResult",
    "MeasurementReport",
    "ValidationWarning",
    "as_constructs",
    "cronbach_alpha",
    "efa",
    "fornell_larcker",
    "htmt",
    "htmt_ci",
    "invariance",
    "item_analysis",
    "reliability",
    "validate",
]
