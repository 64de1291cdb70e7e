"""SEMResult.summary(): lavaan's summary layout, with what each estimator adds."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import iasem

from .conftest import HS39

LAVAAN = Path(__file__).parent / "fixtures" / "lavaan"


@pytest.fixture(scope="module")
def hs39() -> pd.DataFrame:
    return pd.read_csv(LAVAAN / "holzinger_swineford_1939.csv")


def _line(text: str, label: str) -> list[str]:
    line = next(line for line in text.splitlines() if line.strip().startswith(label))
    return line[len(label) + 2 :].split()


def test_ml_summary_has_the_test_the_indices_and_the_parameters(hs39):
    text = iasem.fit(HS39, hs39).summary()
    assert "converged after" in text and "Standard errors" in text and "standard" in text
    assert _line(text, "Test statistic") == ["85.306"]
    assert _line(text, "Degrees of freedom") == ["24"]
    assert _line(text, "CFI") == ["0.931"]
    assert "Latent variables" in text and "visual =~ x2" in text
    assert "Scaled" not in text and "Warnings" not in text


def test_mlr_summary_adds_scaled_and_robust_columns(hs39):
    result = iasem.fit(HS39, hs39, estimator="MLR")
    text = result.summary()
    assert _line(text, "Test statistic") == ["85.306", f"{result.fit_measures['chisq.scaled']:.3f}"]
    assert _line(text, "Scaling correction factor") == [f"{result.fit_measures['chisq.scaling.factor']:.3f}"]
    cfi = [f"{result.fit_measures[m]:.3f}" for m in ("cfi", "cfi.scaled", "cfi.robust")]
    assert _line(text, "CFI") == cfi
    assert _line(text, "Standard errors") == ["robust"]


def test_wlsmv_summary_shows_thresholds_and_the_shift():
    data = pd.read_csv(LAVAAN / "hs39_ordinal5.csv")
    text = iasem.fit(HS39, data, ordered=True).summary()
    assert "Thresholds" in text and "x1|t1" in text and "Scales y*" in text
    assert "Shift parameter" in text


def test_groups_and_bootstrap_are_named(hs39):
    grouped = iasem.fit(HS39, hs39, group="school", group_equal=["loadings"]).summary()
    assert "Group 1" in grouped and "Group 2" in grouped and _line(grouped, "Groups (school)") == ["2"]
    model = "ind60 =~ x1 + x2 + x3\ndem60 =~ y1 + y2\ndem60 ~ a*ind60\nsq := a*a"
    data = pd.read_csv(LAVAAN / "political_democracy.csv")
    result = iasem.fit(model, data, bootstrap=30, seed=1, ci="bca")
    boot = result.summary()
    # One draw of this two-indicator factor fails to converge: dropped, counted and said.
    assert _line(boot, "Standard errors") == ["bootstrap,", "29", "of", "30", "draws"]
    assert result.warnings == ["1 of 30 bootstrap draws failed to converge and were dropped"]
    assert _line(boot, "Confidence intervals") == ["BCa,", "95%"]
    assert "Defined parameters" in boot and "sq" in boot


def test_not_converged_is_said_first(hs39):
    result = iasem.fit(HS39, hs39)
    result.converged = False
    assert "DID NOT CONVERGE" in result.summary().splitlines()[0]
