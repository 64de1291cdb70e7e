"""Shared fixtures: temporary specs and banks for error cases, the location of ../shared, and iasem installed
from its wheel with ``iasem run`` done once per session in an empty directory."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import textwrap
import venv
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

SPEC_TEMPLATE = """\
id: custom
title: {nl: "Eigen vragenlijst", en: "Own questionnaire"}
intro: {nl: "Inleiding", en: "Introduction"}
consent: {nl: "Toestemming", en: "Consent"}
closing: {nl: "Dank", en: "Thanks"}
"""


@pytest.fixture
def write(tmp_path: Path):
    """Write dedented text to a file under tmp_path and return its path."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return _write


@pytest.fixture
def custom_spec(write):
    """A spec with the given extra lines (constructs, bank, scale, ...), plus an optional bank file."""

    def _spec(extra: str, bank: str | None = None) -> Path:
        if bank is not None:
            write("my_bank.yaml", bank)
        return write("custom.yaml", SPEC_TEMPLATE + textwrap.dedent(extra))

    return _spec


def construct_yaml(cid: str = "mine", prefix: str = "mine", n: int = 4, first_text: str = "Eerste uitspraak") -> str:
    """A valid construct in bank-file YAML with ``n`` items."""
    texts = [(first_text, first_text)] + [(f"Uitspraak {i}", f"Statement {i}") for i in range(2, n + 1)]
    items = "\n".join(
        f"""      - code: {prefix}{i}
        reverse: false
        text: {{nl: "{nl}", en: "{en}"}}"""
        for i, (nl, en) in enumerate(texts, start=1)
    )
    return f"""constructs:
  - id: {cid}
    framework_id: OWN
    category: relational
    name: {{nl: "Eigen", en: "Own"}}
    definition: {{nl: "Een eigen construct.", en: "An own construct."}}
    source: "own"
    scale: agree5
    items:
{items}
"""


# Text that platforms would otherwise interpret: HTML, LimeSurvey expressions, REDCap/Qualtrics piping, quotes.
TRICKY = 'Tekst <b>{x}</b> \\"q\\" & [y] | $z {z}'


def tricky_bank() -> str:
    """A bank file whose item texts start with formula triggers or carry platform syntax."""
    return (
        construct_yaml(first_text="=SUM(A1)")
        .replace('"Uitspraak 2"', '"@cmd"')
        .replace('"Statement 2"', '"@cmd"')
        .replace('"Uitspraak 3"', '"-1 of +1"')
        .replace('"Statement 3"', '"+1 or -1"')
        .replace('"Uitspraak 4"', f'"{TRICKY}"')
    )


# The reference models of ../shared/reference (lavaan 0.6.14), used by the syntax and the parity tests.
HS39 = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
POLDEM = """
  # Bollen (1989): industrialisation and political democracy
  ind60 =~ x1 + x2 + x3
  dem60 =~ y1 + a*y2 + b*y3 + c*y4
  dem65 =~ y5 + a*y6 + b*y7 + c*y8
  dem60 ~ ind60
  dem65 ~ ind60 + dem60
  y1 ~~ y5
  y2 ~~ y4 + y6
  y3 ~~ y7
  y4 ~~ y8
  y6 ~~ y8
"""
MEDIATION = """
  ind60 =~ x1 + x2 + x3
  dem60 =~ y1 + y2 + y3 + y4
  dem65 =~ y5 + y6 + y7 + y8
  dem60 ~ a*ind60
  dem65 ~ c*ind60 + b*dem60
  indirect := a*b
  total := c + a*b
"""


# The lavaan fixtures of the parity tests (make_fixtures.R, make_mlr_fixtures.R, ...).
LAVAAN_FIXTURES = Path(__file__).parent / "fixtures" / "lavaan"
# The fit measures the MLR parity tests (complete data with groups, FIML) compare with lavaan: ML's own, the
# scaled (Yuan-Bentler) test's and the robust indices.
ML_MEASURES = ["npar", "chisq", "df", "pvalue", "baseline.chisq", "baseline.df", "cfi", "tli", "rmsea",
               "rmsea.ci.lower", "rmsea.ci.upper", "rmsea.pvalue", "srmr", "logl", "unrestricted.logl", "aic",
               "bic", "ntotal"]  # fmt: skip
SCALED_MEASURES = ["chisq.scaled", "df.scaled", "pvalue.scaled", "chisq.scaling.factor", "baseline.chisq.scaled",
                   "baseline.df.scaled", "baseline.pvalue.scaled", "baseline.chisq.scaling.factor", "cfi.scaled",
                   "tli.scaled", "rmsea.scaled", "rmsea.ci.lower.scaled", "rmsea.ci.upper.scaled",
                   "rmsea.pvalue.scaled", "scaling.factor.h1", "scaling.factor.h0"]  # fmt: skip
ROBUST_MEASURES = ["cfi.robust", "tli.robust", "rmsea.robust", "rmsea.ci.lower.robust", "rmsea.ci.upper.robust",
                   "rmsea.pvalue.robust"]  # fmt: skip


def lavaan_fixture(name: str) -> dict:
    """The lavaan reference fixture tests/fixtures/lavaan/<name>.json."""
    import json

    return json.loads((LAVAAN_FIXTURES / f"{name}.json").read_text())


def assert_params_match(table) -> None:
    """Our estimates against lavaan's, joined row by row (columns ``x`` and ``x_ref``), at the issue's bar:
    estimates and standardised values 1e-4 relative, standard errors and z within 1 %."""
    import numpy as np

    np.testing.assert_allclose(table["est"], table["est_ref"], rtol=1e-4, atol=1e-6)
    free = table["se_ref"] > 0
    np.testing.assert_allclose(table.loc[free, "se"], table.loc[free, "se_ref"], rtol=1e-2)
    np.testing.assert_allclose(table.loc[free, "z"], table.loc[free, "z_ref"], rtol=1e-2)
    for column in ("std.lv", "std.all"):
        np.testing.assert_allclose(table[column], table[f"{column}_ref"], rtol=1e-4, atol=1e-6)


def joined_with_lavaan(result, ref: dict):
    """Our parameter rows joined to lavaan's parameterEstimates rows on (lhs, op, rhs); every lavaan row must
    have its counterpart."""
    import pandas as pd

    ours = result.params.set_index(["lhs", "op", "rhs"])
    theirs = pd.DataFrame(ref["params"]).set_index(["lhs", "op", "rhs"])
    assert set(theirs.index) <= set(ours.index), sorted(set(theirs.index) - set(ours.index))
    return ours.join(theirs, how="inner", suffixes=("", "_ref"))


def read_delimited(text: str, delimiter: str = ",") -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows of an exported CSV/TSV; every row must have the header's width."""
    import csv
    import io

    header, *rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"'))
    assert all(len(row) == len(header) for row in rows)
    return header, [dict(zip(header, row, strict=True)) for row in rows]


def plain(cell: str) -> str:
    """What a respondent reads: the HTML of a label, decoded."""
    import html

    return html.unescape(cell)


def collapse(text: str) -> str:
    return " ".join(text.split())


@dataclass
class Installed:
    """iasem installed from its wheel into a fresh virtual environment."""

    wheel: Path
    python: Path
    iasem: Path
    env: dict[str, str]  # the environment to run it with (no PYTHONPATH pointing back at the checkout)

    def run(self, *args: str, cwd: Path) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.iasem), *args], cwd=cwd, capture_output=True, text=True, env=self.env)


@pytest.fixture(scope="session")
def installed(tmp_path_factory) -> Installed:
    """Build the wheel and install it (without dependencies: those come from the test environment, so no
    network is needed) into a new virtual environment."""
    pytest.importorskip("hatchling")
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), str(REPO)],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("iasem-*.whl")
    env_dir = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # iasem itself only from the wheel, which the new environment's own site-packages puts first on sys.path.
    Path(site, "_deps_from_test_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([python, "-m", "pip", "install", "--no-deps", "--quiet", str(wheel)], check=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return Installed(wheel, python, env_dir / "bin" / "iasem", env)


@dataclass
class ExampleRun:
    """``iasem run`` on the embedded example data, from the installed wheel, in an empty directory."""

    cwd: Path
    out: Path
    stdout: str
    stderr: str


@pytest.fixture(scope="session")
def example_run(installed: Installed, tmp_path_factory) -> ExampleRun:
    """The whole pipeline once per session (about half a minute); the tests read its outputs."""
    cwd = tmp_path_factory.mktemp("empty")
    result = installed.run("run", "--quiet", cwd=cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    return ExampleRun(cwd, cwd / "iasem-results", result.stdout, result.stderr)
