"""The wheel carries the resource folders, and its `iasem` command works from any directory."""

from __future__ import annotations

import subprocess
import zipfile

import pytest

pytestmark = pytest.mark.slow


def test_wheel_ships_the_resource_folders(installed):
    names = zipfile.ZipFile(installed.wheel).namelist()
    for expected in (
        "iasem/_resources/survey_instruments/scales.yaml",
        "iasem/_resources/survey_instruments/background.yaml",
        "iasem/_resources/survey_instruments/coverage.yaml",
        "iasem/_resources/survey_instruments/specs/relational.yaml",
        "iasem/_resources/survey_instruments/bank/thesis.yaml",
        "iasem/cli.py",
    ):
        assert expected in names, expected
    assert any(n.startswith("iasem/instruments/export/templates/") for n in names)
    assert not any("node_modules" in n or n.startswith("tests/") for n in names)


def test_installed_wheel_runs_from_another_directory(installed, tmp_path):
    work = tmp_path / "elsewhere"
    work.mkdir()
    where = subprocess.run(
        [
            installed.python,
            "-c",
            "import iasem, iasem.resources as r; print(iasem.__file__); print(r.resource_path('survey_instruments'))",
        ],
        cwd=work,
        check=True,
        capture_output=True,
        text=True,
        env=installed.env,
    ).stdout.splitlines()
    env_dir = str(installed.python.parents[1])
    assert where[0].startswith(env_dir), where
    assert where[1].startswith(env_dir) and where[1].endswith("_resources/survey_instruments"), where
    result = installed.run("instrument", "list", cwd=work)
    assert result.returncode == 0, result.stderr
    assert "relational" in result.stdout
    result = installed.run("instrument", "build", "relational", "--format", "codebook,html", "--out", "q", cwd=work)
    assert result.returncode == 0, result.stderr
    assert (work / "q" / "relational_codebook.csv").is_file()
    assert (work / "q" / "relational_nl.html").is_file()
