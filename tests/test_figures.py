"""The figures of iasem.figures: the path diagram (both engines), item distributions, the loading heatmap,
power curves, reproducible bytes and safe saving."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

import iasem
from iasem.errors import IasemError, OutputExistsError
from iasem.figures import (
    PathDiagram,
    cfa_loadings,
    figure_bytes,
    item_distributions,
    loading_heatmap,
    path_diagram,
    power_curves,
    save,
)
from iasem.resources import resource_path

SVG = "{http://www.w3.org/2000/svg}"
ENGINES = [
    "python",
    pytest.param("graphviz", marks=pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz not installed")),
]


@pytest.fixture(scope="module")
def result():
    data = pd.read_csv(resource_path("data") / "relational_trust_responses.csv")
    return iasem.fit(resource_path("models") / "relational_trust.lav", data)


@pytest.fixture(scope="module")
def responses():
    return iasem.read_responses(resource_path("data") / "relational_trust_responses.csv", "relational", scored=True,
                                screen=False)  # fmt: skip


def _texts(element) -> list[str]:
    return ["".join(t.itertext()).strip() for t in element.iter(f"{SVG}text")]


def _parse(svg: str) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Node title -> its texts, edge title -> its texts, from either engine's SVG."""
    root = ET.fromstring(svg)
    nodes, edges = {}, {}
    for g in root.iter(f"{SVG}g"):
        kind = g.get("class", "").split()
        title = g.find(f"{SVG}title")
        if title is None or not kind:
            continue
        if kind[0] == "node":
            nodes[title.text] = _texts(g)
        elif kind[0] == "edge":
            edges[title.text] = _texts(g)
    return nodes, edges


def _stars(p: float) -> str:
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else ""


@pytest.mark.parametrize("engine", ENGINES)
def test_path_diagram_shows_every_variable_and_path(result, engine):
    svg = path_diagram(result, engine=engine)
    assert isinstance(svg, PathDiagram) and svg.engine == engine
    nodes, edges = _parse(svg)
    params = result.params
    latent = set(params.loc[params["op"] == "=~", "lhs"])
    regressions = params[params["op"] == "~"]
    structural = latent | set(regressions["lhs"]) | set(regressions["rhs"])
    assert set(nodes) == structural
    for name in structural:
        assert nodes[name][0] == name
    for r in regressions.itertuples():
        assert edges[f"{r.rhs}->{r.lhs}"] == [f"{r._13:.2f}{_stars(r.pvalue)}"]
    covariances = params[(params["op"] == "~~") & (params["lhs"] != params["rhs"])]
    assert len(edges) == len(regressions) + len(covariances)
    residual = params[(params["op"] == "~~") & (params["lhs"] == "trust") & (params["rhs"] == "trust")]
    assert f"R² = {1 - residual['std.all'].iloc[0]:.2f}" in nodes["trust"]
    assert "R²" not in " ".join(nodes["rsa"])


def test_both_engines_draw_the_same_labels(result):
    if shutil.which("dot") is None:
        pytest.skip("Graphviz not installed")
    python = _parse(path_diagram(result, engine="python"))
    graphviz = _parse(path_diagram(result, engine="graphviz"))
    assert python == graphviz


@pytest.mark.parametrize("engine", ENGINES)
def test_path_diagram_escapes_labels(result, engine):
    label = 'Trust <&> "quoted" \x01'
    svg = path_diagram(result, engine=engine, labels={"trust": label}, title="A & B <c>")
    nodes, _ = _parse(svg)
    assert nodes["trust"][0] == 'Trust <&> "quoted"'
    assert "A & B <c>" in _texts(ET.fromstring(svg))


def test_path_diagram_dashes_paths_that_are_not_significant(result):
    root = ET.fromstring(path_diagram(result, engine="python"))
    styles = {g.find(f"{SVG}title").text: g.find(f"{SVG}path").get("stroke-dasharray")
              for g in root.iter(f"{SVG}g") if g.get("class", "").startswith("edge")}  # fmt: skip
    assert styles["fgov->success"] is not None  # p = .88
    assert styles["trust->success"] is None  # p < .001


def test_path_diagram_options(result):
    unstandardized = _parse(path_diagram(result, engine="python", standardized=False, lang="nl"))[1]
    est = result.params.query("lhs == 'trust' and rhs == 'rsa'")["est"].iloc[0]
    assert unstandardized["rsa->trust"][0].startswith(f"{est:.2f}")
    nodes, edges = _parse(path_diagram(result, engine="python", indicators=True))
    assert {"rsa1", "succ5"} <= set(nodes)
    assert len(edges) == len(result.params.query("op in ['~', '=~'] or (op == '~~' and lhs != rhs)"))
    with pytest.raises(IasemError, match="no group"):
        path_diagram(result, group=2)
    with pytest.raises(IasemError, match="engine"):
        path_diagram(result, engine="neato")


def test_path_diagram_one_per_group():
    data = pd.read_csv(resource_path("data") / "holzinger_swineford_1939.csv")
    fit = iasem.fit("visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\ntextual ~ visual", data, group="school")
    first, second = (path_diagram(fit, engine="python", group=g) for g in (1, "Grant-White"))
    assert "Group Pasteur" in _texts(ET.fromstring(first))
    assert "Group Grant-White" in _texts(ET.fromstring(second))
    assert _parse(first)[1] != _parse(second)[1]


def test_path_diagram_png_and_reproducible_bytes(result, tmp_path):
    one = path_diagram(result, engine="python")
    assert one == path_diagram(result, engine="python")
    written = save(one, tmp_path / "path", formats=("svg", "png"))
    assert [p.name for p in written] == ["path.svg", "path.png"]
    assert written[1].read_bytes().startswith(b"\x89PNG")
    assert written[0].read_text(encoding="utf-8") == one
    with pytest.raises(IasemError, match="only be saved as svg"):
        save(str(one), tmp_path / "plain", formats=("png",))


def test_item_distributions(responses):
    fig = item_distributions(responses)
    ax = fig.axes[0]
    items = [q for q in responses.items if responses.data[q].notna().any()]
    assert [t.get_text() for t in ax.get_yticklabels()] == items
    bars = [c for c in ax.containers]
    assert len(bars) == 5 and all(len(c) == len(items) for c in bars)
    widths = np.array([[rect.get_width() for rect in c] for c in bars])
    np.testing.assert_allclose(widths.sum(axis=0), 1.0)
    assert bars[0].get_label() == "Strongly disagree"
    shares = responses.data["rsa1"].value_counts(normalize=True).sort_index()
    np.testing.assert_allclose(widths[:, 0], shares.reindex(range(1, 6), fill_value=0).to_numpy())
    headings = {t.get_text() for t in ax.texts}
    assert {"Trust", "Alliance success"} <= headings
    dutch = item_distributions(responses, ["trust1", "trust2"], lang="nl").axes[0]
    assert dutch.containers[0].get_label() == "Helemaal mee oneens"


def test_item_distributions_of_a_frame():
    frame = pd.DataFrame({"a": [1, 2, 2, 4, None], "b": [4, 4, 3, 3, 1]})
    fig = item_distributions(frame, scale_labels={1: "no", 2: "rather not", 3: "rather", 4: "yes"})
    widths = np.array([[rect.get_width() for rect in c] for c in fig.axes[0].containers])
    np.testing.assert_allclose(widths[:, 0], [0.25, 0.5, 0.0, 0.25])
    np.testing.assert_allclose(widths.sum(axis=0), 1.0)
    with pytest.raises(IasemError, match="outside"):
        item_distributions(frame, scale_labels=["x", "y"])


def test_loading_heatmap_annotates_the_loadings(result):
    table = cfa_loadings(result)
    assert table.shape == (30, 6) and table.loc["rsa1", "rsa"] == pytest.approx(0.745869, abs=1e-5)
    assert np.isnan(table.loc["rsa1", "ksr"])
    fig = loading_heatmap(table)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == [f"{v:.2f}" for v in table.to_numpy().ravel() if np.isfinite(v)]
    efa_like = pd.DataFrame({"MR1": [0.82, 0.12, -0.45], "MR2": [0.05, 0.71, 0.2]}, index=["i1", "i2", "i3"])
    ax = loading_heatmap(efa_like, threshold=0.3).axes[0]
    grey = [t.get_text() for t in ax.texts if t.get_color() != "black" and t.get_color() != "white"]
    assert grey == ["0.05", "0.12", "0.20"]


def test_power_curves():
    table = pd.DataFrame({"n": [100, 200, 100, 200], "lhs": ["y", "y", "ind", "ind"], "op": ["~", "~", ":=", ":="],
                          "rhs": ["x", "x", "a*b", "a*b"], "label": ["a", "a", "ind", "ind"],
                          "power": [0.5, 0.9, 0.3, 0.7]})  # fmt: skip
    table.attrs.update({"reps": 10, "alpha": 0.05})
    fig = power_curves(table, target=0.8)
    assert [line.get_label() for line in fig.axes[0].get_lines()][:2] == ["a", "ind"]
    assert figure_bytes(fig, "svg") == figure_bytes(power_curves(table, target=0.8), "svg")


def test_figures_give_the_same_bytes(result):
    frame = pd.DataFrame({"a": [1, 2, 3, 3], "b": [2, 2, 3, 1]})
    for make in (lambda: loading_heatmap(cfa_loadings(result).iloc[:6, :2]), lambda: item_distributions(frame)):
        one, two = make(), make()
        svg = figure_bytes(one, "svg")
        assert svg == figure_bytes(two, "svg") and b"<dc:date>" not in svg
        assert figure_bytes(one, "png") == figure_bytes(two, "png")


def test_save_refuses_to_overwrite(result, tmp_path):
    fig = loading_heatmap(cfa_loadings(result).iloc[:5, :1])
    written = save(fig, tmp_path / "heat.svg", dpi=72)
    assert [p.name for p in written] == ["heat.svg", "heat.png"]
    before = written[0].read_bytes()
    with pytest.raises(OutputExistsError):
        save(fig, tmp_path / "heat", formats=("png", "svg"))
    assert written[0].read_bytes() == before
    assert save(fig, tmp_path / "heat", force=True, dpi=72) == written
    with pytest.raises(OutputExistsError):
        save(path_diagram(result, engine="python"), tmp_path / "heat", formats=("svg",))
    with pytest.raises(IasemError, match="unknown format"):
        save(fig, tmp_path / "other", formats=("gif",))
    assert not list(tmp_path.glob(".*tmp"))
