"""iasem.invariance against lavaan 0.6.14 / semTools (tests/fixtures/reference/hs39_invariance_school.json): the
configural, metric and scalar steps and lavTestLRT's differences within 1e-3; Chen's (2007) verdicts."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import iasem
from iasem.errors import IasemError
from iasem.validation.invariance import difference_test

from .conftest import HS39

REF = json.loads((Path(__file__).parent / "fixtures" / "reference" / "hs39_invariance_school.json").read_text())


@pytest.fixture(scope="module")
def hs39() -> pd.DataFrame:
    return pd.read_csv(iasem.resources.resource_path("data") / "holzinger_swineford_1939.csv")


@pytest.fixture(scope="module")
def result(hs39) -> iasem.validation.invariance.InvarianceResult:
    return iasem.invariance(HS39, hs39, "school")


@pytest.mark.parametrize("step", ["configural", "metric", "scalar"])
def test_steps_match_lavaan(result, step):
    row = result.table.loc[step]
    for measure, value in REF["steps"][step].items():
        ours = row[measure] if measure in row else result.fits[step].fit_measures[measure]
        assert ours == pytest.approx(value, rel=1e-3), measure


def test_differences_match_lavtestlrt(result):
    for step, lrt in zip(["configural", "metric", "scalar"], REF["lrt"], strict=True):
        row = result.table.loc[step]
        assert row["df"] == lrt["Df"]
        if lrt["Chisq diff"] is None:
            assert pd.isna(row["chisq.diff"])
            continue
        assert row["chisq.diff"] == pytest.approx(lrt["Chisq diff"], rel=1e-3)
        assert row["df.diff"] == lrt["Df diff"]
        assert row["pvalue.diff"] == pytest.approx(lrt["Pr(>Chisq)"], rel=1e-3)


def test_chens_verdicts(result):
    verdicts = result.table["verdict"].to_dict()
    assert verdicts == {"configural": "poor fit", "metric": "invariant", "scalar": "not invariant",
                        "strict": "invariant"}  # fmt: skip
    # Scalar: CFI drops by .038 and RMSEA rises by .015 (>= .015): non-invariant.
    assert "dCFI -0.038" in result.table.loc["scalar", "reason"]
    assert "after the failed scalar step" in result.table.loc["strict", "reason"]
    assert "Chen, F. F. (2007)" in result.summary()


def test_cutoffs_can_be_changed(hs39):
    lenient = iasem.invariance(HS39, hs39, "school", steps=["configural", "metric", "scalar"],
                               cutoffs={"delta_cfi": 0.05, "cfi": 0.90, "tli": 0.85, "rmsea": 0.10})  # fmt: skip
    assert lenient.table["verdict"].tolist() == ["acceptable fit", "invariant", "invariant"]


def test_difference_test_takes_either_order(result):
    a, b = result.fits["configural"], result.fits["metric"]
    assert difference_test(a, b) == difference_test(b, a)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"steps": ["metric", "configural"]}, "must come in the order"),
        ({"steps": ["partial"]}, "unknown invariance step"),
        ({"cutoffs": {"cfi": 2}}, "between 0 and 1"),
        ({"cutoffs": {"gfi": 0.9}}, "unknown cutoff"),
    ],
)
def test_bad_arguments_are_refused(hs39, kwargs, message):
    with pytest.raises(IasemError, match=message):
        iasem.invariance(HS39, hs39, "school", **kwargs)


def test_steps_in_processes_give_the_same_table(hs39, result):
    parallel = iasem.invariance(HS39, hs39, "school", n_jobs=2)
    pd.testing.assert_frame_equal(parallel.table, result.table)
