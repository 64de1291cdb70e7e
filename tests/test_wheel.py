"""The wheel carries the resource folders, and its `iasem` command works from any directory."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from .conftest import REPO

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    pytest.importorskip("hatchling")
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), str(REPO)],
        check=True,
        capture_output=True,
    )
    (path,) = dist.glob("iasem-*.whl")
    return path


def test_wheel_ships_the_resource_folders(wheel):
    names = zipfile.ZipFile(wheel).namelist()
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


def test_installed_wheel_runs_from_another_directory(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    # The dependencies come from the test environment (no network needed); iasem itself only from the wheel,
    # which the new environment's own site-packages puts first on sys.path.
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(site, "_deps_from_test_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([python, "-m", "pip", "install", "--no-deps", "--quiet", str(wheel)], check=True)
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    where = subprocess.run(
        [
            python,
            "-c",
            "import iasem, iasem.resources as r; print(iasem.__file__); print(r.resource_path('survey_instruments'))",
        ],
        cwd=work,
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout.splitlines()
    assert where[0].startswith(str(env_dir)), where
    assert where[1].startswith(str(env_dir)) and where[1].endswith("_resources/survey_instruments"), where
    iasem = env_dir / "bin" / "iasem"
    result = subprocess.run([iasem, "instrument", "list"], cwd=work, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert "relational" in result.stdout
    result = subprocess.run(
        [iasem, "instrument", "build", "relational", "--format", "codebook,html", "--out", "q"],
        cwd=work,
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert (work / "q" / "relational_codebook.csv").is_file()
    assert (work / "q" / "relational_nl.html").is_file()
