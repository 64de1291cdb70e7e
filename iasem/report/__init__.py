"""Publication-ready result tables and figures from jinja2 templates (issue 7): :func:`report`."""

from .results import Figure, Results, Section, collect, load_results, report
from .tables import ReportTable

__all__ = ["Figure", "ReportTable", "Results", "Section", "collect", "load_results", "report"]
