"""Responses in: platform exports read back against the instrument, scored and screened, every decision
logged (issue 6)."""

from .log import DecisionLog
from .platforms import PLATFORMS, PlatformExport
from .read import ResponseSet, read_responses

__all__ = ["PLATFORMS", "DecisionLog", "PlatformExport", "ResponseSet", "read_responses"]
