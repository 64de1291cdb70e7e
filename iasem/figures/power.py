"""Power curves of a Monte Carlo power study, as a figure (drawn by :func:`iasem.power.plot_power`)."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib
import pandas as pd
from matplotlib.figure import Figure

from ..power import plot_power
from ._common import STYLE, new_figure


def power_curves(table: pd.DataFrame, parameters: Sequence[str] | None = None, target: float | None = 0.8) -> Figure:
    """Power against sample size, one line per parameter: :func:`iasem.plot_power` on a figure of a fixed size
    in the colour-blind-safe palette.

    Parameters
    ----------
    table : DataFrame
        :func:`iasem.power`'s table.
    parameters : list of str, optional
        Which parameters, by label or ``"lhs op rhs"`` (default: the regressions and ``:=`` parameters).
    target : float or None
        Draw this power as a dashed line.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = new_figure(7.5, 4.2)
    with matplotlib.rc_context(STYLE):
        plot_power(table, parameters, target=target, ax=fig.add_subplot())
    return fig
