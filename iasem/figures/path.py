"""The path diagram of a fitted structural model, as SVG.

Two engines draw the same diagram (the same nodes, edges and labels): Graphviz's ``dot`` when the executable is
on PATH (Debian's ``graphviz`` package), and otherwise a small layered layout in pure Python (longest-path
layers from left to right along the regressions, barycentric ordering within the layers, dummy points for
paths that skip a layer, straight segments) that writes the SVG itself.
"""

from __future__ import annotations

import itertools
import math
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import IasemError
from ..results import SEMResult
from ._common import GREY

ENGINES = ("auto", "graphviz", "python")
FONT = "Helvetica, Arial, sans-serif"
FONT_SIZE = 14.0  # node labels, px
SMALL = 11.5  # edge labels, R², px
LATENT_FILL = "#DCEAF5"
OBSERVED_FILL = "#FFFFFF"
INK = "#000000"
NOTES = {
    "en": ("Standardized estimates (std.all)", "Unstandardized estimates",
           "* p < .05, ** p < .01, *** p < .001; grey dashed: p ≥ {alpha}", "Group"),
    "nl": ("Gestandaardiseerde schattingen (std.all)", "Ongestandaardiseerde schattingen",
           "* p < .05, ** p < .01, *** p < .001; grijs gestreept: p ≥ {alpha}", "Groep"),
}  # fmt: skip
# Characters XML 1.0 does not allow (control characters other than tab, newline and carriage return).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class PathDiagram(str):
    """The SVG text of a path diagram (a ``str``), which also knows how to render itself as PNG or PDF
    (:func:`iasem.figures.save` uses :meth:`render`) and shows itself in a notebook.

    Attributes
    ----------
    engine : str
        "graphviz" or "python": which engine laid it out.
    dot : str
        The Graphviz DOT source of the diagram (also for the Python engine, for those who want to edit it).
    """

    engine: str
    dot: str
    _scene: _Scene | None

    def __new__(cls, svg: str, engine: str, dot: str, scene: _Scene | None = None) -> PathDiagram:
        out = super().__new__(cls, svg)
        out.engine, out.dot, out._scene = engine, dot, scene
        return out

    def _repr_svg_(self) -> str:
        return str(self)

    def render(self, fmt: str, *, dpi: int = 300) -> bytes | str:
        """The diagram as "svg" (text), "png" or "pdf" (bytes)."""
        if fmt == "svg":
            return str(self)
        if self.engine == "graphviz":
            if fmt not in ("png", "pdf"):
                raise IasemError(f"a path diagram can be saved as svg, png or pdf, not {fmt!r}")
            return _run_dot(self.dot, fmt, dpi=dpi)
        from ._common import figure_bytes

        return figure_bytes(_draw_scene(self._scene), fmt, dpi=dpi)


def path_diagram(result: SEMResult, *, standardized: bool = True, alpha: float = 0.05, lang: str = "en",
                 indicators: bool = False, group: int | str = 1, labels: Mapping[str, str] | None = None,
                 engine: str = "auto", title: str | None = None, note: bool = True) -> PathDiagram:  # fmt: skip
    """The path diagram of a fitted model's structural part, as SVG text.

    Latent variables are ellipses and observed variables rectangles. Each regression is an arrow from
    predictor to outcome labelled with its estimate (two decimals) and stars (* p < .05, ** p < .01,
    *** p < .001); paths with p ≥ ``alpha`` are grey and dashed. Covariances between the variables drawn (the
    exogenous ones, and residual covariances) are curved double-headed arrows, and each endogenous variable
    shows its R² under its name.

    Parameters
    ----------
    result : SEMResult
        The fitted model (:func:`iasem.fit`).
    standardized : bool
        Label the paths with std.all (default) or with the unstandardized estimates.
    alpha : float
        Paths with a p-value of at least ``alpha`` are drawn grey and dashed.
    lang : {"en", "nl"}
        Language of the note under the diagram.
    indicators : bool
        Also draw the indicators of the latent variables and their loadings (default: the structural part
        only, the latent variables and the observed variables in regressions).
    group : int or str
        Which group of a multi-group fit (number from 1, or the group's label); one diagram per group.
    labels : mapping, optional
        Display names ``{variable: label}``; they are user data and escaped.
    engine : {"auto", "graphviz", "python"}
        "auto": Graphviz's ``dot`` when it is on PATH, else the pure-Python layout.
    title : str, optional
        A title over the diagram (default: the group's label in a multi-group fit, else none).
    note : bool
        Add the note that explains the numbers and stars.

    Returns
    -------
    PathDiagram
        The SVG text (a ``str``); :func:`iasem.figures.save` writes it as SVG, PNG or PDF.

    Examples
    --------
    >>> import iasem, pandas as pd
    >>> from iasem.resources import resource_path
    >>> data = pd.read_csv(resource_path("data") / "political_democracy.csv")
    >>> fit = iasem.fit("ind60 =~ x1 + x2 + x3\\ndem60 =~ y1 + y2 + y3 + y4\\ndem60 ~ ind60", data)
    >>> svg = path_diagram(fit, engine="python")
    >>> svg.startswith("<svg"), "R² = " in svg
    (True, True)
    """
    if engine not in ENGINES:
        raise IasemError(f"engine={engine!r} is not available; choose from {', '.join(ENGINES)}")
    if lang not in NOTES:
        raise IasemError(f"lang={lang!r} is not available; choose from {', '.join(NOTES)}")
    if not 0 < alpha < 1:
        raise IasemError(f"alpha must be between 0 and 1, not {alpha!r}")
    model = _model(result, group=group, standardized=standardized, alpha=alpha, indicators=indicators,
                   labels=labels or {})  # fmt: skip
    words = NOTES[lang]
    if title is None and model.group_label is not None:
        title = f"{words[3]} {model.group_label}"
    caption = None
    if note:
        caption = f"{words[0] if standardized else words[1]}. {words[2].format(alpha=_apa(alpha))}"
    dot = _dot(model, title, caption)
    if engine == "graphviz" or (engine == "auto" and shutil.which("dot")):
        if not shutil.which("dot"):
            raise IasemError("engine='graphviz' needs Graphviz's dot on PATH (Debian: apt-get install graphviz); "
                             "engine='python' draws without it")  # fmt: skip
        return PathDiagram(_run_dot(dot, "svg").decode("utf-8"), "graphviz", dot)
    scene = _layout(model, title, caption)
    return PathDiagram(_svg(scene), "python", dot, scene)


# --- the model ---------------------------------------------------------------------------------------------


@dataclass
class _Node:
    name: str
    label: str
    latent: bool
    r2: float | None = None
    indicator: bool = False
    exogenous: bool = False
    # layout (python engine), px
    column: int = 0
    x: float = 0.0
    y: float = 0.0
    hw: float = 0.0  # half width
    hh: float = 0.0  # half height

    @property
    def r2_text(self) -> str | None:
        return None if self.r2 is None else f"R² = {self.r2:.2f}"


@dataclass
class _Edge:
    kind: str  # "regression", "loading", "covariance"
    source: str
    target: str
    label: str
    significant: bool
    points: list[tuple[float, float]] = field(default_factory=list)
    label_at: tuple[float, float] = (0.0, 0.0)

    @property
    def title(self) -> str:
        return f"{self.source}->{self.target}"


@dataclass
class _Model:
    nodes: dict[str, _Node]
    edges: list[_Edge]
    group_label: str | None


def _apa(value: float) -> str:
    text = f"{value:g}"
    return text[1:] if text.startswith("0.") else text


def _stars(p: float) -> str:
    if p is None or not np.isfinite(p):
        return ""
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else ""


def _clean(text: object) -> str:
    return _NOT_XML.sub("", " ".join(str(text).split()))


def _groups(result: SEMResult) -> tuple[list[int], list[str] | None]:
    numbers = sorted(int(g) for g in result.params["group"].unique() if g > 0)
    index = result.sample_cov.index
    names = list(dict.fromkeys(map(str, index.get_level_values(0)))) if isinstance(index, pd.MultiIndex) else None
    return numbers, names


def _model(result: SEMResult, *, group: int | str, standardized: bool, alpha: float, indicators: bool,
           labels: Mapping[str, str]) -> _Model:  # fmt: skip
    numbers, names = _groups(result)
    if isinstance(group, str) and not isinstance(group, bool):
        if not names or group not in names:
            raise IasemError(f"no group {group!r} in this fit; groups: {', '.join(names or ['1'])}")
        number = numbers[names.index(group)]
    else:
        number = group
        if number not in numbers:
            raise IasemError(f"no group {group!r} in this fit; groups are numbered {', '.join(map(str, numbers))}")
    group_label = None
    if len(numbers) > 1:
        group_label = names[numbers.index(number)] if names and len(names) == len(numbers) else str(number)
    table = result.params[result.params["group"] == number]
    value = "std.all" if standardized else "est"
    rows = table.to_dict("records")
    latent = list(dict.fromkeys(r["lhs"] for r in rows if r["op"] == "=~"))
    regressions = [r for r in rows if r["op"] == "~"]
    order = list(latent)
    for r in regressions:
        order += [r["rhs"], r["lhs"]]
    structural = list(dict.fromkeys(order))
    outcomes = {r["lhs"] for r in regressions}
    nodes = {}
    for name in structural:
        nodes[name] = _Node(name, _clean(labels.get(name, name)), name in latent, exogenous=name not in outcomes)
    loadings = [r for r in rows if r["op"] == "=~"] if indicators else []
    for r in loadings:
        if r["rhs"] not in nodes:
            nodes[r["rhs"]] = _Node(r["rhs"], _clean(labels.get(r["rhs"], r["rhs"])), r["rhs"] in latent,
                                    indicator=True)  # fmt: skip
    variances = {r["lhs"]: r["std.all"] for r in rows if r["op"] == "~~" and r["lhs"] == r["rhs"]}
    for name in outcomes:
        residual = variances.get(name)
        if residual is not None and np.isfinite(residual):
            nodes[name].r2 = 1.0 - float(residual)

    def edge(kind: str, source: str, target: str, r: dict) -> _Edge:
        estimate, p = r[value], r["pvalue"]
        text = f"{estimate:.2f}{_stars(p)}" if estimate is not None and np.isfinite(estimate) else "NA"
        tested = p is not None and np.isfinite(p)
        return _Edge(kind, source, target, text, significant=not tested or p < alpha)

    edges = [edge("regression", r["rhs"], r["lhs"], r) for r in regressions]
    edges += [edge("loading", r["lhs"], r["rhs"], r) for r in loadings]
    edges += [edge("covariance", r["lhs"], r["rhs"], r) for r in rows
              if r["op"] == "~~" and r["lhs"] != r["rhs"] and r["lhs"] in nodes and r["rhs"] in nodes]  # fmt: skip
    return _Model(nodes, edges, group_label)


# --- Graphviz -----------------------------------------------------------------------------------------------


def _html(text: str) -> str:
    """Text for a Graphviz HTML-like label (which reads XML entities)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _dot_id(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _dot(model: _Model, title: str | None, caption: str | None) -> str:
    lines = ["digraph sem {",
             f'  graph [rankdir=LR, nodesep=0.3, ranksep=0.9, pad=0.15, fontname="Helvetica", fontsize={SMALL:g}];',
             f'  node [fontname="Helvetica", fontsize={FONT_SIZE:g}, penwidth=1.2, margin="0.12,0.06"];',
             f'  edge [fontname="Helvetica", fontsize={SMALL:g}, arrowsize=0.7, penwidth=1.1];']  # fmt: skip
    if title or caption:
        parts = [f'<FONT POINT-SIZE="{FONT_SIZE + 2:g}">{_html(_clean(title))}</FONT>'] if title else []
        parts += [_html(caption)] if caption else []
        lines.append(f"  labelloc={'t' if title and not caption else 'b'}; label=<{'<BR/>'.join(parts)}>;")
    for node in model.nodes.values():
        label = _html(node.label)
        if node.r2_text:
            label += f'<BR/><FONT POINT-SIZE="{SMALL:g}">{_html(node.r2_text)}</FONT>'
        shape = 'shape=ellipse, style=filled, fillcolor="' + LATENT_FILL + '"' if node.latent else "shape=box"
        lines.append(f"  {_dot_id(node.name)} [{shape}, label=<{label}>];")
    sources = [n for n in model.nodes.values() if n.exogenous and not n.indicator]
    if sources:
        lines.append("  { rank=min; " + " ".join(_dot_id(n.name) + ";" for n in sources) + " }")
    for e in model.edges:
        style = "" if e.significant else f', style=dashed, color="{GREY}", fontcolor="{GREY}"'
        label = f"label=<{_html(e.label)}>"
        if e.kind == "covariance":
            label = f"x{label}, forcelabels=true"
            lines.append(f"  {_dot_id(e.source)} -> {_dot_id(e.target)} [dir=both, constraint=false, {label}{style}];")
        elif e.kind == "loading" and model.nodes[e.source].exogenous:
            # Indicators of an exogenous factor to its left: the edge runs backwards, the arrow still points at
            # the indicator; the title keeps the factor -> indicator direction of the Python engine.
            lines.append(f"  {_dot_id(e.target)} -> {_dot_id(e.source)} [dir=back, {label}{style}, "
                         f"tooltip={_dot_id(e.title)}];")  # fmt: skip
        else:
            lines.append(f"  {_dot_id(e.source)} -> {_dot_id(e.target)} [{label}{style}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _run_dot(dot: str, fmt: str, *, dpi: int = 96) -> bytes:
    executable = shutil.which("dot")
    if executable is None:
        raise IasemError("Graphviz's dot is not on PATH (Debian: apt-get install graphviz)")
    command = [executable, f"-T{fmt}"] + ([f"-Gdpi={dpi}"] if fmt == "png" else [])
    env = {**os.environ, "SOURCE_DATE_EPOCH": "0"}
    try:
        done = subprocess.run(command, input=dot.encode("utf-8"), capture_output=True, timeout=60, check=False,
                              env=env)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise IasemError(f"Graphviz's dot failed: {exc}") from None
    if done.returncode != 0:
        raise IasemError(f"Graphviz's dot failed: {done.stderr.decode('utf-8', 'replace').strip()}")
    return done.stdout


# --- the pure-Python layout ---------------------------------------------------------------------------------

COLUMN_GAP = 120.0
ROW_GAP = 26.0
DUMMY = 18.0  # the height a path passing through a layer takes there


@dataclass
class _Scene:
    nodes: list[_Node]
    edges: list[_Edge]
    box: tuple[float, float, float, float]  # x0, y0, width, height
    title: str | None
    title_at: tuple[float, float]
    caption: str | None
    caption_at: tuple[float, float]


def _text_width(text: str, size: float) -> float:
    """A Helvetica-like estimate of a text's width in px."""
    wide = sum(c in "MWmw@%" for c in text)
    narrow = sum(c in "iljt.,:;'|!() " for c in text)
    return size * (0.56 * (len(text) - wide - narrow) + 0.85 * wide + 0.3 * narrow)


def _layers(model: _Model) -> dict[str, int]:
    """Longest-path layering along the regressions (cycles broken at their back edges), indicators beside
    their factor: left of a factor in the first layer, right of any other."""
    structural = [n for n in model.nodes.values() if not n.indicator]
    names = [n.name for n in structural]
    successors: dict[str, list[str]] = {n: [] for n in names}
    for e in model.edges:
        if e.kind == "regression":
            successors[e.source].append(e.target)
    state: dict[str, int] = {}
    forward: list[tuple[str, str]] = []
    for start in names:  # iterative DFS keeps back edges out
        if start in state:
            continue
        stack = [(start, iter(successors[start]))]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child) == 1:
                continue
            else:
                forward.append((node, child))
                if child not in state:
                    state[child] = 1
                    stack.append((child, iter(successors[child])))
    layer = {n: 0 for n in names}
    for _ in names:  # Bellman-Ford-like relaxation on the DAG: at most len(names) rounds
        changed = False
        for a, b in forward:
            if layer[b] < layer[a] + 1:
                layer[b], changed = layer[a] + 1, True
        if not changed:
            break
    indicators = any(n.indicator for n in model.nodes.values())
    column = {n: (2 * layer[n] + 1 if indicators else layer[n]) for n in names}
    for e in model.edges:
        if e.kind == "loading" and model.nodes[e.target].indicator and e.target not in column:
            column[e.target] = 0 if layer[e.source] == 0 else column[e.source] + 1
    used = sorted(set(column.values()))
    return {n: used.index(c) for n, c in column.items()}


def _layout(model: _Model, title: str | None, caption: str | None) -> _Scene:
    nodes = model.nodes
    columns = _layers(model)
    for name, node in nodes.items():
        node.column = columns[name]
        width = _text_width(node.label, FONT_SIZE)
        if node.latent:
            node.hw, node.hh = max(44.0, width * 0.62 + 16), 21.0
        else:
            node.hw, node.hh = max(30.0, width / 2 + 10), 15.0
        if node.r2_text:
            node.hw = max(node.hw, _text_width(node.r2_text, SMALL) / 2 + 4)
    # Layout edges (not the covariances), each a chain through one dummy point per layer it skips.
    chains: dict[int, list[str]] = {}
    slots: dict[int, list[str]] = {c: [] for c in range(max(columns.values()) + 1)}
    for name in nodes:
        slots[columns[name]].append(name)
    for k, e in enumerate(model.edges):
        if e.kind == "covariance":
            continue
        a, b = columns[e.source], columns[e.target]
        step = 1 if b > a else -1
        chain = [e.source]
        for c in range(a + step, b, step):
            dummy = f"\x00{k}:{c}"
            slots[c].append(dummy)
            chain.append(dummy)
        chains[k] = [*chain, e.target]
    neighbours: dict[str, set[str]] = {s: set() for column in slots.values() for s in column}
    for chain in chains.values():
        for a, b in itertools.pairwise(chain):
            neighbours[a].add(b)
            neighbours[b].add(a)
    # Barycentric ordering: sweeps left to right and back, each layer sorted by its neighbours' mean position.
    for _ in range(6):
        for sweep in (range(1, len(slots)), range(len(slots) - 2, -1, -1)):
            for c in sweep:
                side = c - 1 if sweep.step == 1 else c + 1
                position = {s: i for i, s in enumerate(slots[side])}
                current = slots[c]
                size = len(current)

                def centre(s: str, i: int, position=position, size=size) -> float:
                    near = [position[t] for t in neighbours[s] if t in position]
                    return sum(near) / len(near) if near else i * len(position) / max(1, size)

                ranked = sorted(range(len(current)), key=lambda i: (centre(current[i], i), i))
                slots[c] = [current[i] for i in ranked]
    # Coordinates: columns left to right, each stacked and centred vertically.
    points: dict[str, tuple[float, float]] = {}
    x = 0.0
    for c in range(len(slots)):
        widths = [nodes[s].hw for s in slots[c] if s in nodes]
        half = max(widths, default=10.0)
        x = x + half if c == 0 else x + half + COLUMN_GAP
        heights = [(2 * nodes[s].hh + (SMALL + 4 if nodes[s].r2_text else 0)) if s in nodes else DUMMY
                   for s in slots[c]]  # fmt: skip
        total = sum(heights) + ROW_GAP * (len(heights) - 1)
        y = -total / 2
        for s, h in zip(slots[c], heights, strict=True):
            top = y + (nodes[s].hh if s in nodes else h / 2)
            points[s] = (x, top)
            y += h + ROW_GAP
        x += half
    for name, node in nodes.items():
        node.x, node.y = points[name]
    for k, chain in chains.items():
        e = model.edges[k]
        route = [points[s] for s in chain]
        route[0] = _boundary(nodes[e.source], route[1])
        route[-1] = _boundary(nodes[e.target], route[-2], margin=1.5)
        e.points = route
        # The label on the segment into the outcome (loadings: out of the factor), at its middle.
        (x0, y0), (x1, y1) = (route[-2], route[-1]) if e.kind == "regression" else (route[0], route[1])
        e.label_at = ((x0 + x1) / 2, (y0 + y1) / 2)
    last = len(slots) - 1
    for e in model.edges:
        if e.kind == "covariance":
            _curve(e, nodes[e.source], nodes[e.target], last)
    return _frame(list(nodes.values()), model.edges, title, caption)


def _boundary(node: _Node, towards: tuple[float, float], margin: float = 0.0) -> tuple[float, float]:
    """Where the line from the node's centre towards a point leaves the ellipse (or box)."""
    dx, dy = towards[0] - node.x, towards[1] - node.y
    if dx == 0 and dy == 0:
        return node.x, node.y
    hw, hh = node.hw + margin, node.hh + margin
    if node.latent:
        t = 1.0 / math.sqrt((dx / hw) ** 2 + (dy / hh) ** 2)
    else:
        t = min(hw / abs(dx) if dx else math.inf, hh / abs(dy) if dy else math.inf)
    return node.x + t * dx, node.y + t * dy


def _curve(e: _Edge, a: _Node, b: _Node, last: int) -> None:
    """A quadratic Bézier bulging away from the diagram: left of the first column, right of the last."""
    mx, my = (a.x + b.x) / 2, (a.y + b.y) / 2
    dx, dy = b.x - a.x, b.y - a.y
    distance = math.hypot(dx, dy) or 1.0
    if a.column == b.column:
        side = 1.0 if a.column == last and last > 0 else -1.0
        control = (mx + side * 2 * (max(a.hw, b.hw) + 18 + 0.35 * distance), my)
    else:
        bend = 0.2 * distance
        control = (mx - dy / distance * bend, my + dx / distance * bend)
    start = _boundary(a, control, margin=1.5)
    end = _boundary(b, control, margin=1.5)
    e.points = [start, control, end]
    e.label_at = (
        0.25 * start[0] + 0.5 * control[0] + 0.25 * end[0],
        0.25 * start[1] + 0.5 * control[1] + 0.25 * end[1],
    )


def _frame(nodes: list[_Node], edges: list[_Edge], title: str | None, caption: str | None) -> _Scene:
    xs, ys = [], []
    for n in nodes:
        xs += [n.x - n.hw, n.x + n.hw]
        ys += [n.y - n.hh, n.y + n.hh + (SMALL + 6 if n.r2_text else 0)]
    for e in edges:
        for px, py in e.points:
            xs.append(px)
            ys.append(py)
        half = _text_width(e.label, SMALL) / 2 + 3
        xs += [e.label_at[0] - half, e.label_at[0] + half]
        ys += [e.label_at[1] - SMALL, e.label_at[1] + SMALL]
    pad = 14.0
    x0, x1, y0, y1 = min(xs) - pad, max(xs) + pad, min(ys) - pad, max(ys) + pad
    title_at = ((x0 + x1) / 2, y0 + FONT_SIZE)
    if title:
        x0 = min(x0, title_at[0] - _text_width(title, FONT_SIZE + 2) / 2 - pad)
        x1 = max(x1, title_at[0] + _text_width(title, FONT_SIZE + 2) / 2 + pad)
        y0 -= FONT_SIZE + 10
        title_at = ((x0 + x1) / 2, y0 + FONT_SIZE + 6)
    caption_at = (x0 + pad, y1 + SMALL)
    if caption:
        x1 = max(x1, x0 + 2 * pad + _text_width(caption, SMALL))
        y1 += SMALL + 10
    return _Scene(nodes, edges, (x0, y0, x1 - x0, y1 - y0), title, title_at, caption, caption_at)


# --- SVG ------------------------------------------------------------------------------------------------------


def _x(text: str, attribute: bool = False) -> str:
    out = _NOT_XML.sub("", text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return out.replace('"', "&quot;") if attribute else out


def _f(value: float) -> str:
    return f"{value:.1f}"


def _svg(scene: _Scene) -> str:
    x0, y0, width, height = scene.box
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_f(width)}" height="{_f(height)}" '
           f'viewBox="{_f(x0)} {_f(y0)} {_f(width)} {_f(height)}" font-family="{FONT}" font-size="{FONT_SIZE:g}">',
           "<defs>"]  # fmt: skip
    for name, colour in (("", INK), ("-ns", GREY)):
        out.append(
            f'<marker id="head{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
            f'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>'
        )
        out.append(
            f'<marker id="tail{name}" viewBox="0 0 10 10" refX="1" refY="5" markerWidth="7" '
            f'markerHeight="7" orient="auto"><path d="M10,0 L0,5 L10,10 z" fill="{colour}"/></marker>'
        )
    out.append("</defs>")
    out.append(f'<rect x="{_f(x0)}" y="{_f(y0)}" width="{_f(width)}" height="{_f(height)}" fill="white"/>')
    if scene.title:
        out.append(f'<g class="graph"><text x="{_f(scene.title_at[0])}" y="{_f(scene.title_at[1])}" '
                   f'text-anchor="middle" font-size="{FONT_SIZE + 2:g}">{_x(scene.title)}</text></g>')  # fmt: skip
    for e in scene.edges:
        suffix = "" if e.significant else "-ns"
        colour = INK if e.significant else GREY
        dash = "" if e.significant else ' stroke-dasharray="5,3"'
        if e.kind == "covariance":
            (sx, sy), (cx, cy), (ex, ey) = e.points
            d = f"M{_f(sx)},{_f(sy)} Q{_f(cx)},{_f(cy)} {_f(ex)},{_f(ey)}"
            heads = f' marker-start="url(#tail{suffix})" marker-end="url(#head{suffix})"'
        else:
            d = "M" + " L".join(f"{_f(px)},{_f(py)}" for px, py in e.points)
            heads = f' marker-end="url(#head{suffix})"'
        out.append(f'<g class="edge {e.kind}"><title>{_x(e.title)}</title>'
                   f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="1.3"{dash}{heads}/>'
                   f'<text x="{_f(e.label_at[0])}" y="{_f(e.label_at[1] + SMALL / 3)}" text-anchor="middle" '
                   f'font-size="{SMALL:g}" fill="{colour}" stroke="white" stroke-width="3" paint-order="stroke">'
                   f"{_x(e.label)}</text></g>")  # fmt: skip
    for n in scene.nodes:
        if n.latent:
            shape = (f'<ellipse cx="{_f(n.x)}" cy="{_f(n.y)}" rx="{_f(n.hw)}" ry="{_f(n.hh)}" '
                     f'fill="{LATENT_FILL}" stroke="{INK}" stroke-width="1.3"/>')  # fmt: skip
        else:
            shape = (f'<rect x="{_f(n.x - n.hw)}" y="{_f(n.y - n.hh)}" width="{_f(2 * n.hw)}" '
                     f'height="{_f(2 * n.hh)}" fill="{OBSERVED_FILL}" stroke="{INK}" stroke-width="1.3"/>')  # fmt: skip
        text = f'<text x="{_f(n.x)}" y="{_f(n.y + FONT_SIZE / 3)}" text-anchor="middle">{_x(n.label)}</text>'
        r2 = ""
        if n.r2_text:
            r2 = (f'<text x="{_f(n.x)}" y="{_f(n.y + n.hh + SMALL + 2)}" text-anchor="middle" '
                  f'font-size="{SMALL:g}">{_x(n.r2_text)}</text>')  # fmt: skip
        out.append(f'<g class="node"><title>{_x(n.name)}</title>{shape}{text}{r2}</g>')
    if scene.caption:
        out.append(f'<g class="graph"><text x="{_f(scene.caption_at[0])}" y="{_f(scene.caption_at[1])}" '
                   f'font-size="{SMALL:g}">{_x(scene.caption)}</text></g>')  # fmt: skip
    out.append("</svg>")
    return "\n".join(out) + "\n"


# --- the same scene drawn by matplotlib (PNG, PDF) -------------------------------------------------------------


def _draw_scene(scene: _Scene):
    from matplotlib import patches, patheffects
    from matplotlib.path import Path as MPath

    from ._common import new_figure

    x0, y0, width, height = scene.box
    fig = new_figure(width / 96, height / 96)
    fig.set_layout_engine("none")
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(x0, x0 + width)
    ax.set_ylim(y0 + height, y0)
    ax.set_axis_off()
    pt = 0.75  # px -> pt
    halo = [patheffects.withStroke(linewidth=3, foreground="white")]
    for e in scene.edges:
        colour = INK if e.significant else GREY
        style = "solid" if e.significant else (0, (5, 3))
        if e.kind == "covariance":
            path, arrow = MPath(e.points, [MPath.MOVETO, MPath.CURVE3, MPath.CURVE3]), "<|-|>"
        else:
            path, arrow = MPath(e.points), "-|>"
        ax.add_patch(patches.FancyArrowPatch(path=path, arrowstyle=arrow, mutation_scale=10, color=colour,
                                             linewidth=1.3 * pt, linestyle=style, shrinkA=0, shrinkB=0))  # fmt: skip
        ax.text(*e.label_at, e.label, ha="center", va="center", fontsize=SMALL * pt, color=colour,
                path_effects=halo)  # fmt: skip
    for n in scene.nodes:
        if n.latent:
            shape = patches.Ellipse((n.x, n.y), 2 * n.hw, 2 * n.hh, facecolor=LATENT_FILL, edgecolor=INK)
        else:
            shape = patches.Rectangle((n.x - n.hw, n.y - n.hh), 2 * n.hw, 2 * n.hh, facecolor=OBSERVED_FILL,
                                      edgecolor=INK)  # fmt: skip
        shape.set_linewidth(1.3 * pt)
        ax.add_patch(shape)
        ax.text(n.x, n.y, n.label, ha="center", va="center", fontsize=FONT_SIZE * pt)
        if n.r2_text:
            ax.text(n.x, n.y + n.hh + SMALL / 2 + 3, n.r2_text, ha="center", va="center", fontsize=SMALL * pt)
    if scene.title:
        ax.text(*scene.title_at, scene.title, ha="center", va="baseline", fontsize=(FONT_SIZE + 2) * pt)
    if scene.caption:
        ax.text(*scene.caption_at, scene.caption, ha="left", va="baseline", fontsize=SMALL * pt)
    return fig
