"""``iasem run`` (iasem/pipeline.py) on a user's own export: every step writes its outputs, the report opens,
nothing is overwritten without --force; and on the embedded example data, from the installed wheel in an empty
directory (the session's ``example_run``, conftest.py), the whole chain of five steps."""

from __future__ import annotations

import pytest

from iasem.cli import main
from iasem.errors import IasemError
from iasem.pipeline import RunSummary, run
from iasem.resources import resource_path

EXPORT = resource_path("data") / "exports" / "relational_limesurvey.csv"


def test_run_on_an_export_writes_every_step(tmp_path, capsys):
    out = tmp_path / "results"
    assert main(["run", "--data", str(EXPORT), "--instrument", "relational", "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    for step in ("instruments", "responses", "measurement", "report"):
        assert step in printed
    assert (out / "report" / "report.html").is_file() and (out / "report" / "report.docx").is_file()
    assert (out / "responses" / "relational" / "screening.md").is_file()
    assert (out / "results" / "manifest.json").is_file()
    assert any((out / "instruments" / "relational" / "nl").iterdir())
    with pytest.raises(IasemError, match="exists"):
        run(out, data=EXPORT, instrument="relational", progress=False)
    page = RunSummary(out)._repr_html_()  # in a notebook: the summary and the report
    assert page.startswith("<pre>iasem run: done") and "<table>" in page


def test_data_and_instrument_go_together(tmp_path):
    with pytest.raises(IasemError, match="together"):
        run(tmp_path, data=EXPORT, progress=False)


@pytest.mark.slow
def test_run_on_the_examples_from_the_wheel_in_an_empty_directory(example_run):
    out = example_run.out
    assert "iasem run: done" in example_run.stdout and "iasem-results/report/report.html" in example_run.stdout
    for model in ("relational_trust", "relational_social_capital", "intersectoral_performance"):
        assert (out / "models" / model / "params.csv").is_file(), model
        assert f"{model}_paths.svg" in {p.name for p in (out / "report" / "figures").iterdir()}
    for instrument in ("relational", "intersectoral"):
        for lang in ("nl", "en"):
            assert (out / "instruments" / instrument / lang / f"{instrument}_surveyjs.json").is_file()
        assert (out / "responses" / instrument / "log.csv").is_file()
        assert (out / "validation" / instrument).is_dir()
    for fmt in ("html", "md", "tex", "docx"):
        assert (out / "report" / f"report.{fmt}").stat().st_size > 1000, fmt
    html = (out / "report" / "report.html").read_text(encoding="utf-8")
    assert "Indirect and Total Effects" in html and "Measurement Invariance Across Groups" in html
