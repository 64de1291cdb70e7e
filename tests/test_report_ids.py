"""One report of several instruments (what `iasem run` makes of the examples): every section, table and figure
keeps its own id, files and links, section titles name their instrument, a repeated id is refused, and the
figures inlined in the HTML share no SVG id."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter

import pandas as pd
import pytest

import iasem
from iasem.errors import IasemError
from iasem.report import ReportTable, Results, Section, collect, load_results, report
from iasem.report.render import inline_svg
from iasem.resources import resource_path

DATA = resource_path("data")
EXAMPLES = {"relational": "relational_trust_responses.csv", "intersectoral": "intersectoral_performance_responses.csv"}


def _validated(responses):
    """A quick validation: the instrument's first two constructs with every item answered."""
    frame = responses.data.copy()
    items = [q.code for q in responses.instrument.likert_questions]
    frame[items] = frame[items].astype("float64")
    constructs = {c.id: [i.code for i in c.items] for c in responses.instrument.constructs
                  if all(i.code in frame and frame[i.code].notna().any() for i in c.items)}  # fmt: skip
    return iasem.validate(frame, dict(list(constructs.items())[:2]), seed=1, progress=False)


@pytest.fixture(scope="module")
def parts():
    responses = [iasem.read_responses(DATA / file, instrument, scored=True, screen=False)
                 for instrument, file in EXAMPLES.items()]  # fmt: skip
    measurements = [_validated(r) for r in responses]
    model = iasem.fit(resource_path("models") / "relational_trust.lav",
                      pd.read_csv(DATA / "relational_trust_responses.csv"))  # fmt: skip
    # The same model twice: two path diagrams whose own SVG ids are the same.
    return [*responses, *measurements, {"trust": model}, {"trust_again": model}]


@pytest.fixture(scope="module")
def bundle(parts):
    bundle = collect(parts, "en")
    bundle.meta["date"] = "2024-01-01"
    return bundle


def _ids(bundle: Results) -> tuple[list[str], list[str], list[str]]:
    return ([s.id for s in bundle.sections], [t.id for s in bundle.sections for t in s.tables],
            [f.id for s in bundle.sections for f in s.figures])  # fmt: skip


def test_each_instrument_has_its_own_ids_and_named_sections(bundle, parts):
    sections, tables, figures = _ids(bundle)
    assert sections == ["sample_relational", "sample_intersectoral", "measurement_relational",
                        "measurement_intersectoral", "model_trust", "model_trust_again"]  # fmt: skip
    assert len(set(tables)) == len(tables) and len(set(figures)) == len(figures)
    assert {"relational_items", "intersectoral_items", "relational_cfa_fit", "intersectoral_reliability"} <= set(tables)
    assert {"relational_item_distributions", "intersectoral_loadings", "trust_paths"} <= set(figures)
    titles = {s.id: s.title for s in bundle.sections}
    for responses in parts[:2]:
        name = responses.instrument.id
        assert titles[f"sample_{name}"] == f"Sample Characteristics: {responses.instrument.spec.title['en']}"
        # the validation is matched to its instrument by its constructs
        assert titles[f"measurement_{name}"] == f"Measurement: {responses.instrument.spec.title['en']}"
    numbers = [t["number"] for s in bundle.context()["sections"] for t in s["tables"]]
    assert numbers == list(range(1, len(tables) + 1))


def test_dutch_sections_name_the_instrument(parts):
    titles = [s.title for s in collect(parts[:4], "nl", figures=False).sections]
    relational = parts[0].instrument.spec.title["nl"]
    assert titles[0] == f"Kenmerken van de steekproef: {relational}" and titles[2] == f"Meting: {relational}"


def test_a_single_instrument_keeps_its_plain_ids(parts):
    sections, tables, figures = _ids(collect([parts[0], parts[2]], "en"))
    assert sections == ["sample", "measurement"]
    assert tables == ["sample", "items", "reliability", "htmt", "fornell_larcker", "efa", "cfa", "cfa_fit"]
    assert figures == ["item_distributions", "loadings"]
    assert collect([parts[0]], "en", figures=False).sections[0].title == "Sample Characteristics"


def test_the_results_folder_keeps_every_instrument(bundle, parts, tmp_path):
    bundle.save(tmp_path)
    for name, measurement in zip(EXAMPLES, parts[2:4], strict=True):
        items = pd.read_csv(tmp_path / "tables" / f"{name}_items.csv")
        assert list(items["item"]) == list(measurement.items.index)
        assert (tmp_path / "figures" / f"{name}_item_distributions.svg").is_file()
    assert not (tmp_path / "tables" / "items.csv").exists()
    assert _ids(load_results(tmp_path)) == _ids(bundle)


def test_markdown_and_latex_link_each_figure_once(bundle, tmp_path):
    written = report(bundle, tmp_path, ["md", "tex"])
    links = re.findall(r"\]\((figures/[^)]+)\)", written["md"].read_text(encoding="utf-8"))
    assert len(links) == len(set(links)) == len(_ids(bundle)[2])
    assert all((tmp_path / link).is_file() for link in links)
    tex = written["tex"].read_text(encoding="utf-8")
    assert tex.count(r"\includegraphics") == len(set(re.findall(r"\\includegraphics\[[^]]*\]\{([^}]+)\}", tex)))


def test_html_ids_are_unique_and_every_reference_resolves(bundle, tmp_path):
    html = report(bundle, tmp_path, ["html"])["html"].read_text(encoding="utf-8")
    ids = Counter(re.findall(r"""\sid=["']([^"']*)["']""", html))
    assert [i for i, n in ids.items() if n > 1] == []
    body = html[html.index("<body>") :]
    assert "<?xml" not in body and "<!DOCTYPE" not in body
    references = re.findall(r"""href=["']#([^"']*)["']""", html) + re.findall(r"url\(#([^)]*)\)", html)
    assert references and [r for r in references if r not in ids] == []
    toc = re.findall(r'<li><a href="#([^"]+)">', html)
    assert toc == _ids(bundle)[0]
    svgs = re.findall(r"<svg[\s>].*?</svg>", body, flags=re.DOTALL)
    assert len(svgs) == len(_ids(bundle)[2])
    for svg in svgs:
        ET.fromstring(svg.replace("&nbsp;", " "))  # each inlined figure is still well-formed SVG


def test_inlining_leaves_the_figure_files_and_bytes_as_they_were(bundle, tmp_path):
    first = report(bundle, tmp_path / "a", ["html", "md"])
    second = report(bundle, tmp_path / "b", ["html", "md"])
    assert first["html"].read_bytes() == second["html"].read_bytes()
    figure = bundle.sections[0].figures[0]
    assert (tmp_path / "a" / "figures" / f"{figure.id}.svg").read_text(encoding="utf-8") == figure.svg
    assert figure.svg.lstrip().startswith("<?xml")


def test_inline_svg_prefixes_ids_and_their_references_only():
    svg = ('<?xml version="1.0"?>\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x.dtd">\n'
           '<svg xmlns:xlink="http://www.w3.org/1999/xlink"><defs><clipPath id="c1"><rect/></clipPath>'
           '<path id="g" d="M0 0"/></defs><g id="patch_1" clip-path="url(#c1)"><use xlink:href="#g"/>'
           '<a href="#elsewhere">id="g"</a><a href="https://example.org/#g"/></g>'
           '<style>#patch_1 { fill: url(#c1) }</style></svg>')  # fmt: skip
    out = inline_svg(svg, "figure-x-")
    assert out.startswith("<svg") and "<?xml" not in out and "DOCTYPE" not in out
    assert re.findall(r'\sid="([^"]*)"', out) == ["figure-x-c1", "figure-x-g", "figure-x-patch_1"]
    assert 'clip-path="url(#figure-x-c1)"' in out and 'xlink:href="#figure-x-g"' in out
    assert 'href="#elsewhere"' in out and 'href="https://example.org/#g"' in out  # not ids of this figure
    assert '>id="g"</a>' in out  # text is not markup


def test_repeated_ids_are_refused(parts, tmp_path):
    with pytest.raises(IasemError, match="more than one section with the id 'sample_relational'"):
        collect([parts[0], parts[0]], "en", figures=False)
    named = collect([{"wave1": parts[0]}, {"wave2": parts[0]}], "en", figures=False)
    assert [s.id for s in named.sections] == ["sample_wave1", "sample_wave2"]
    assert named.sections[1].title == "Sample Characteristics: wave2"
    table = ReportTable("t", "T", ["A"], [["1"]], ["l"])
    twice = Results("R", "en", [Section("a", "A", [table]), Section("b", "B", [table])])
    with pytest.raises(IasemError, match="more than one table with the id 't'"):
        twice.save(tmp_path)
    with pytest.raises(IasemError, match="more than one table"):
        report(twice, tmp_path, ["md"])
    assert not any(tmp_path.iterdir())
