"""Reports (iasem/report, reports/*.j2): every format renders the same tables, data are escaped in every
format, results folders round-trip, authors' templates override the shipped ones, and the outputs open in
their real consumers (html.parser, python-docx, a TeX engine where installed)."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser

import pandas as pd
import pytest

import iasem
from iasem.cli import main
from iasem.errors import IasemError
from iasem.files import OutputExistsError
from iasem.report import ReportTable, Results, Section, collect, load_results, report
from iasem.resources import resource_path

DATA = resource_path("data")


@pytest.fixture(scope="module")
def results():
    data = pd.read_csv(DATA / "relational_trust_responses.csv")
    instrument = iasem.load_instrument("relational")
    constructs = {c.id: [i.code for i in c.items] for c in instrument.constructs
                  if all(i.code in data for i in c.items)}  # fmt: skip
    measurement = iasem.validate(data, constructs, seed=1, exploratory=True)
    model = iasem.fit("models/relational_trust.lav", data, bootstrap=100, seed=1)
    return [measurement, {"relational_trust": model}]


def _bundle(results, lang="en"):
    measurement, models = results
    return collect([measurement, *[{k: v} for k, v in models.items()]], lang)


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tables, self.text, self.stack = 0, [], []

    def handle_starttag(self, tag, attrs):
        self.tables += tag == "table"

    def handle_data(self, data):
        self.text.append(data)


def test_every_format_renders_every_table(results, tmp_path):
    bundle = _bundle(results)
    n_tables = sum(len(s.tables) for s in bundle.sections)
    written = report(bundle, tmp_path, ["html", "md", "tex", "docx"])
    html = written["html"].read_text(encoding="utf-8")
    parser = _Tags()
    parser.feed(html)
    assert parser.tables == n_tables
    assert '<meta name="viewport"' in html  # readable on a phone
    text = " ".join(parser.text)
    for section in bundle.sections:
        for table in section.tables:
            assert table.title in text
    md = written["md"].read_text(encoding="utf-8")
    assert md.count("**Table ") == n_tables and "| rsa | a1 |" in md
    tex = written["tex"].read_text(encoding="utf-8")
    assert tex.count(r"\begin{longtable}") == n_tables and r"\toprule" in tex and r"\bottomrule" in tex
    from docx import Document

    document = Document(str(written["docx"]))
    assert len(document.tables) == n_tables
    paths = next(t for s in bundle.sections for t in s.tables if t.id == "relational_trust_paths")
    docx_table = document.tables[[t.id for s in bundle.sections for t in s.tables].index(paths.id)]
    assert [c.text for c in docx_table.rows[0].cells] == paths.columns


def test_apa_numbers_in_the_tables(results):
    bundle = _bundle(results)
    paths = next(t for s in bundle.sections for t in s.tables if t.id == "relational_trust_paths")
    data = paths.data.set_index("label")
    row = next(r for r in paths.rows if r[1] == "b")
    assert row[2] == f"{data.loc['b', 'est']:.2f}"
    assert row[4] == f"{data.loc['b', 'std.all']:.2f}".replace("0.", ".", 1)  # no leading zero for beta
    assert row[5] == "< .001"
    assert paths.columns[-1] == "95% CI [boot]"
    fit = next(t for s in bundle.sections for t in s.tables if t.id == "cfa_fit")
    assert any(r[2].startswith("≥ .95") for r in fit.rows)


def test_user_data_are_escaped_in_every_format(tmp_path):
    nasty = "<script>alert(1)</script> & 50% | R_1 {x} \\"
    table = ReportTable("t", "Title " + nasty, ["A", "B"], [[nasty, "1.00"]], ["l", "r"], note=nasty,
                        groups={0: nasty})  # fmt: skip
    bundle = Results("Report " + nasty, "en", [Section("s", nasty, [table])])
    written = report(bundle, tmp_path, ["html", "md", "tex"])
    html = written["html"].read_text(encoding="utf-8")
    assert "<script>" not in html and "&lt;script&gt;" in html
    md = written["md"].read_text(encoding="utf-8")
    assert "<script>" not in md and "\\|" in md
    tex = written["tex"].read_text(encoding="utf-8")
    assert r"50\%" in tex and r"R\_1" in tex and r"\{x\}" in tex and "<script>" not in tex


def test_results_folder_round_trip_and_cli(results, tmp_path, capsys):
    bundle = _bundle(results)
    bundle.save(tmp_path / "results")
    loaded = load_results(tmp_path / "results")
    assert [t.to_dict() for s in loaded.sections for t in s.tables] == [
        t.to_dict() for s in bundle.sections for t in s.tables
    ]
    assert main(["report", str(tmp_path / "results"), "--format", "html,md"]) == 0
    assert (tmp_path / "results" / "report.html").is_file() and (tmp_path / "results" / "report.md").is_file()
    assert main(["report", str(tmp_path / "results"), "--format", "html"]) == 1  # no overwrite without --force
    assert "--force" in capsys.readouterr().err
    with pytest.raises(IasemError, match="not a results folder"):
        load_results(tmp_path)


def test_dutch_report(results, tmp_path):
    written = report(_bundle(results, "nl"), tmp_path, ["md"])
    md = written["md"].read_text(encoding="utf-8")
    assert "**Tabel 1**" in md and "Structurele paden" in md and "*Noot.*" in md


def test_dutch_confidence_intervals(results):
    tables = {t.id: t for s in _bundle(results, "nl").sections for t in s.tables}
    assert tables["relational_trust_paths"].columns[-1] == "95%-BI [boot]"
    assert tables["relational_trust_indirect"].columns[-1] == "95%-BI [boot]"
    assert "α [95%-BI]" in tables["reliability"].columns and "95%-BI" in tables["reliability"].note
    english = {t.id: t for s in _bundle(results).sections for t in s.tables}
    assert "α [95% CI]" in english["reliability"].columns


def test_authors_template_extends_the_shipped_one_of_its_name(results, tmp_path):
    mine = tmp_path / "templates"
    mine.mkdir()
    (mine / "report.html.j2").write_text('{% extends "iasem/report.html.j2" %}'
                                         "{% block footer %}<footer>Mine</footer>{% endblock %}",
                                         encoding="utf-8")  # fmt: skip
    (mine / "report.tex.j2").write_text('((* extends "iasem/report.tex.j2" *))'
                                        "((* block footer *))Mine((* endblock *))", encoding="utf-8")  # fmt: skip
    written = report(_bundle(results), tmp_path / "out", ["html", "tex"], template_dir=mine)
    html = written["html"].read_text(encoding="utf-8")
    assert "<footer>Mine</footer>" in html and "<table>" in html and "Generated by" not in html
    tex = written["tex"].read_text(encoding="utf-8")
    assert "Mine" in tex and r"\begin{longtable}" in tex and "Generated by" not in tex


def test_authors_template_that_extends_itself(results, tmp_path):
    mine = tmp_path / "templates"
    mine.mkdir()
    (mine / "report.html.j2").write_text('{% extends "report.html.j2" %}', encoding="utf-8")
    with pytest.raises(IasemError, match=r"report\.html\.j2 extends or includes itself.*\"iasem/report\.html\.j2\""):
        report(_bundle(results), tmp_path / "out", ["html"], template_dir=mine)
    (mine / "report.html.j2").unlink()
    (mine / "_table.html.j2").write_text('{% include "_table.html.j2" %}', encoding="utf-8")
    with pytest.raises(IasemError, match=r"_table\.html\.j2 extends or includes itself.*\"iasem/_table\.html\.j2\""):
        report(_bundle(results), tmp_path / "out", ["html"], template_dir=mine)


def test_template_errors_name_the_file_and_line(results, tmp_path):
    mine = tmp_path / "templates"
    mine.mkdir()
    (mine / "_table.md.j2").write_text("{{ table.title }}\n\n{{ no_such_variable }}\n", encoding="utf-8")
    with pytest.raises(IasemError, match=r"_table\.md\.j2:3\): 'no_such_variable' is undefined"):
        report(_bundle(results), tmp_path / "out", ["md"], template_dir=mine)
    (mine / "_table.md.j2").write_text("{{ table.title }}\n{% if %}\n", encoding="utf-8")
    with pytest.raises(IasemError, match=r"_table\.md\.j2:2\)"):
        report(_bundle(results), tmp_path / "out", ["md"], template_dir=mine)


def test_authors_templates_override_the_shipped_ones(results, tmp_path):
    mine = tmp_path / "templates"
    mine.mkdir()
    (mine / "_table.html.j2").write_text('<p class="mine">{{ table.title }}: {{ table.rows | length }} rows</p>',
                                         encoding="utf-8")  # fmt: skip
    written = report(_bundle(results), tmp_path / "out", ["html"], template_dir=mine)
    html = written["html"].read_text(encoding="utf-8")
    assert 'class="mine"' in html and "<table>" not in html
    with pytest.raises(IasemError, match="no such template folder"):
        report(_bundle(results), tmp_path / "out2", ["html"], template_dir=tmp_path / "nope")


def test_no_overwrite_without_force_and_bad_formats(results, tmp_path):
    report(_bundle(results), tmp_path, ["md"])
    with pytest.raises(OutputExistsError):
        report(_bundle(results), tmp_path, ["md"])
    report(_bundle(results), tmp_path, ["md"], force=True)
    with pytest.raises(IasemError, match="unknown report format"):
        report(_bundle(results), tmp_path, ["pdf"])
    with pytest.raises(IasemError, match="lang must be"):
        collect(results[0], "de")


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="no TeX engine installed")
def test_latex_compiles(results, tmp_path):
    written = report(_bundle(results), tmp_path, ["tex"])
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", written["tex"].name],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:]
    assert (tmp_path / "report.pdf").stat().st_size > 1000


def test_notebook_html(results):
    html = _bundle(results)._repr_html_()
    assert html.lstrip().startswith("<main") and "<table>" in html


def test_notebook_html_of_each_result(results):
    measurement, models = results
    page = measurement._repr_html_()
    assert page.lstrip().startswith("<main") and "Reliability" in page and "<table>" in page
    responses = iasem.read_responses(DATA / "exports" / "relational_limesurvey.csv", "relational")
    page = responses._repr_html_()
    assert "Sample Characteristics" in page and "<table>" in page
    assert "<table>" in models["relational_trust"]._repr_html_()
