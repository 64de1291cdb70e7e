"""``iasem run`` (iasem/pipeline.py) on a user's own export: every step writes its outputs, the report opens,
nothing is overwritten without --force. (The run on the embedded example data takes about two minutes on the
2-core machine and is not part of the suite.)"""

from __future__ import annotations

import pytest

from iasem.cli import main
from iasem.errors import IasemError
from iasem.pipeline import run
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


def test_data_and_instrument_go_together(tmp_path):
    with pytest.raises(IasemError, match="together"):
        run(tmp_path, data=EXPORT, progress=False)
