"""ruff keeps the code in one style; the check runs with the tests so CI enforces it."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from .conftest import REPO


def test_ruff_check_is_clean():
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed")
    result = subprocess.run([ruff, "check", "iasem", "tests", "benchmarks"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
