"""A heatmap of factor loadings (EFA pattern loadings or a CFA's standardized loadings)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.colors import ListedColormap, Normalize
from matplotlib.figure import Figure

from ..errors import IasemError
from ._common import GREY, LIGHT_GREY, new_axes


def cfa_loadings(result, *, group: int = 1, standardized: bool = True) -> pd.DataFrame:
    """The loadings of a fitted model's ``=~`` rows as an items x factors table.

    Parameters
    ----------
    result : SEMResult or MeasurementReport
        A fitted model (or :func:`iasem.validate`'s report, whose CFA is used).
    group : int
        The group of a multi-group fit (from 1).
    standardized : bool
        std.all (default) or the unstandardized estimates.

    Returns
    -------
    DataFrame
        One row per indicator and one column per factor, in the model's order; NaN where an item does not
        load on a factor.

    Examples
    --------
    >>> import iasem, pandas as pd
    >>> from iasem.resources import resource_path
    >>> data = pd.read_csv(resource_path("data") / "holzinger_swineford_1939.csv")
    >>> fit = iasem.fit("visual =~ x1 + x2 + x3\\nspeed =~ x7 + x8 + x9", data)
    >>> cfa_loadings(fit).shape
    (6, 2)
    """
    result = getattr(result, "cfa", result)
    params = getattr(result, "params", None)
    if params is None:
        raise IasemError(f"cfa_loadings() takes a fitted model, not {type(result).__name__}")
    rows = params[(params["op"] == "=~") & (params["group"] == group)]
    if rows.empty:
        raise IasemError(f"the model has no loadings (=~) in group {group}")
    column = "std.all" if standardized else "est"
    table = rows.pivot_table(index="rhs", columns="lhs", values=column, aggfunc="first", sort=False)
    table = table.reindex(index=list(dict.fromkeys(rows["rhs"])), columns=list(dict.fromkeys(rows["lhs"])))
    table.index.name, table.columns.name = "item", "factor"
    return table.astype(float)


def loading_heatmap(loadings, *, threshold: float = 0.3, title: str | None = None) -> Figure:
    """Items x factors heatmap of loadings, each cell annotated with its value (two decimals); loadings with
    an absolute value under ``threshold`` are greyed.

    Parameters
    ----------
    loadings : DataFrame, EFAResult or SEMResult
        Items x factors (``EFAResult.loadings`` or :func:`cfa_loadings`); an EFAResult or a fitted model is
        read through them.
    threshold : float
        Loadings with ``|loading| < threshold`` are shown in grey.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"F1": [0.8, 0.1], "F2": [0.05, -0.7]}, index=["a", "b"])
    >>> fig = loading_heatmap(table)
    >>> [t.get_text() for t in fig.axes[0].texts]
    ['0.80', '0.05', '0.10', '-0.70']
    """
    if isinstance(loadings, pd.DataFrame):
        table = loadings
    elif isinstance(getattr(loadings, "loadings", None), pd.DataFrame):
        table = loadings.loadings
    elif hasattr(loadings, "params") or hasattr(loadings, "cfa"):
        table = cfa_loadings(loadings)
    else:
        raise IasemError(f"loading_heatmap() takes a DataFrame of loadings, not {type(loadings).__name__}")
    if table.empty:
        raise IasemError("no loadings to draw")
    if not 0 <= threshold < 1:
        raise IasemError(f"threshold must be between 0 and 1, not {threshold!r}")
    values = table.to_numpy(dtype=float)
    n_items, n_factors = values.shape
    fig, ax = new_axes(2.2 + 0.85 * n_factors, 1.2 + 0.3 * n_items)
    cmap = colormaps["RdBu_r"].with_extremes(bad=(0, 0, 0, 0))
    finite = np.isfinite(values)
    weak = finite & (np.abs(np.where(finite, values, 0.0)) < threshold)
    edges_x, edges_y = np.arange(n_factors + 1) - 0.5, np.arange(n_items + 1) - 0.5
    # Quads, not an image: vector cells in SVG/PDF and no resampling at print resolution.
    ax.pcolormesh(edges_x, edges_y, np.ma.masked_where(~weak, np.ones_like(values)),
                  cmap=ListedColormap([LIGHT_GREY]), edgecolors="white", linewidth=1.5)  # fmt: skip
    image = ax.pcolormesh(edges_x, edges_y, np.ma.masked_where(~finite | weak, values), cmap=cmap,
                          norm=Normalize(-1, 1), edgecolors="white", linewidth=1.5)  # fmt: skip
    ax.set_xlim(-0.5, n_factors - 0.5)
    ax.set_ylim(n_items - 0.5, -0.5)
    for i in range(n_items):
        for j in range(n_factors):
            v = values[i, j]
            if not np.isfinite(v):
                continue
            colour = GREY if weak[i, j] else ("white" if abs(v) > 0.65 else "black")
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", color=colour, fontsize="small")
    ax.set_xticks(range(n_factors), [str(c) for c in table.columns])
    ax.set_yticks(range(n_items), [str(i) for i in table.index])
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    bar = fig.colorbar(image, ax=ax, shrink=min(1.0, 6 / max(n_items, 1)), aspect=20)
    bar.set_label(f"loading (|loading| < {threshold:g} in grey)")
    bar.outline.set_visible(False)
    if title:
        ax.set_title(title)
    return fig
