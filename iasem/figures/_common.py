"""What every figure shares: a fixed style and colour-blind-safe palette, a canvas that needs no display, and
reproducible bytes (:func:`figure_bytes`, :func:`save`)."""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..errors import IasemError
from ..files import check_writable, write_bytes, write_text

#: Okabe & Ito's (2008) colour-blind-safe palette: black, orange, sky blue, bluish green, yellow, blue,
#: vermillion, reddish purple.
PALETTE = ["#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"]
#: The line colours (the palette without yellow, which is hard to see on white).
LINE_COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]
#: Grey for what is not significant or below a threshold.
GREY = "#8C8C8C"
LIGHT_GREY = "#E6E6E6"
#: The salt of matplotlib's SVG ids: with it fixed, the same figure gives the same SVG bytes.
HASHSALT = "iasem"
#: rcParams every figure is drawn and written under (fonts stay matplotlib's defaults).
STYLE = {
    "svg.hashsalt": HASHSALT,
    "axes.prop_cycle": matplotlib.cycler(color=LINE_COLOURS),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.dpi": 100,
    "savefig.dpi": 300,
}
FORMATS = ("svg", "png", "pdf")


def new_figure(width: float, height: float) -> Figure:
    """A figure of a fixed size in inches on the Agg canvas (no display, no pyplot state)."""
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def new_axes(width: float, height: float):
    """A :func:`new_figure` with one axes, both made under :data:`STYLE`."""
    fig = new_figure(width, height)
    with matplotlib.rc_context(STYLE):
        ax = fig.add_subplot()
    return fig, ax


def figure_bytes(fig: Figure, fmt: str = "svg", *, dpi: int = 300) -> bytes:
    """The bytes of ``fig`` in ``fmt`` ("svg", "png" or "pdf"), the same bytes for the same figure: the SVG
    ids are salted with :data:`HASHSALT` and the date is left out."""
    if fmt not in FORMATS:
        raise IasemError(f"format {fmt!r} is not available for a figure; available: {', '.join(FORMATS)}")
    metadata = {"svg": {"Date": None}, "png": {"Software": None}, "pdf": {"CreationDate": None, "ModDate": None}}
    buffer = io.BytesIO()
    with matplotlib.rc_context(STYLE):
        fig.savefig(buffer, format=fmt, dpi=dpi, metadata=metadata[fmt])
    return buffer.getvalue()


def save(fig_or_svg, path: str | Path, formats: Iterable[str] = ("svg", "png"), *, force: bool = False,
         dpi: int = 300) -> list[Path]:  # fmt: skip
    """Write a figure (or a path diagram's SVG) once per format, each atomically.

    Parameters
    ----------
    fig_or_svg : matplotlib Figure, PathDiagram or str
        A figure of :mod:`iasem.figures`, or the SVG text of :func:`iasem.figures.path_diagram`. A plain SVG
        string can only be written as "svg"; a :class:`~iasem.figures.PathDiagram` also as "png" (and "pdf"
        when Graphviz drew it).
    path : str or Path
        The file name without extension; each format's extension is added (a known extension on ``path`` is
        replaced).
    formats : sequence of str
        Any of "svg", "png", "pdf".
    force : bool
        Overwrite existing files; without it nothing is written when any of the files exists.
    dpi : int
        Resolution of the raster formats.

    Returns
    -------
    list of Path
        The files written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> fig = new_figure(2, 2)
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "empty"
    >>> [p.name for p in save(fig, out, formats=("svg",))]
    ['empty.svg']
    """
    path = Path(path)
    if path.suffix.lower().lstrip(".") in FORMATS:
        path = path.with_suffix("")
    formats = list(dict.fromkeys(formats))
    if not formats:
        raise IasemError("save() needs at least one format")
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise IasemError(f"unknown format(s) {', '.join(map(repr, unknown))}; available: {', '.join(FORMATS)}")
    targets = {fmt: path.with_name(f"{path.name}.{fmt}") for fmt in formats}
    for target in targets.values():
        check_writable(target, force)
    # Render everything first, so that a format that cannot be made leaves no file behind.
    rendered: dict[str, bytes | str] = {}
    for fmt in formats:
        if isinstance(fig_or_svg, Figure):
            rendered[fmt] = figure_bytes(fig_or_svg, fmt, dpi=dpi)
        elif isinstance(fig_or_svg, str):
            rendered[fmt] = _diagram_bytes(fig_or_svg, fmt, dpi)
        else:
            raise IasemError(f"save() takes a matplotlib Figure or SVG text, not {type(fig_or_svg).__name__}")
    written = []
    for fmt, data in rendered.items():
        if isinstance(data, str):
            written.append(write_text(targets[fmt], data, force=force))
        else:
            written.append(write_bytes(targets[fmt], data, force=force))
    return written


def _diagram_bytes(svg: str, fmt: str, dpi: int) -> bytes | str:
    if fmt == "svg":
        return str(svg)
    render = getattr(svg, "render", None)
    if render is None:
        raise IasemError(f"SVG text can only be saved as svg, not {fmt}; pass the PathDiagram that "
                         "path_diagram() returns to get other formats")  # fmt: skip
    return render(fmt, dpi=dpi)
