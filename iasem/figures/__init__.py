"""Figures for publication: the path diagram of a fitted model, item distributions, a loading heatmap and power
curves.

Every figure is drawn on matplotlib's Agg canvas (no display needed) at a fixed size, in a colour-blind-safe
palette, and written with :func:`save`, which gives the same bytes for the same input.
"""

from ._common import PALETTE, figure_bytes, save
from .items import item_distributions
from .loadings import cfa_loadings, loading_heatmap
from .path import PathDiagram, path_diagram
from .power import power_curves

__all__ = [
    "PALETTE",
    "PathDiagram",
    "cfa_loadings",
    "figure_bytes",
    "item_distributions",
    "loading_heatmap",
    "path_diagram",
    "power_curves",
    "save",
]
