"""iasem.fit(estimator="MLR") against lavaan 0.6.14's cfa/sem(..., estimator = "MLR")
(tests/fixtures/reference/hs39_cfa_mlr.json, tests/fixtures/lavaan/poldem_defined_mlr.json).

Tolerances are the project's bar and are never loosened: estimates 1e-4 relative, standard errors within 1 %,
fit measures within 1e-3 relative.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import iasem
from iasem.errors import IasemError

from .conftest import assert_params_match, joined_with_lavaan

FIXTURES = Path(__file__).parent / "fixtures"
HS39_MODEL = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
ROBUST_MEASURES = ["chisq.scaled", "df.scaled", "pvalue.scaled", "chisq.scaling.factor", "cfi.scaled",
                   "tli.scaled", "rmsea.scaled", "cfi.robust", "tli.robust", "rmsea.robust"]  # fmt: skip
ML_MEASURES = ["chisq", "df", "pvalue", "cfi", "tli", "rmsea", "npar", "baseline.chisq", "baseline.df", "logl"]
BASELINE_MEASURES = ["baseline.chisq.scaled", "baseline.df.scaled", "baseline.chisq.scaling.factor"]


def _load(name: str) -> tuple[iasem.SEMResult, dict]:
    if name == "hs39":
        ref = json.loads((FIXTURES / "reference" / "hs39_cfa_mlr.json").read_text())
        syntax, data_file = HS39_MODEL, "holzinger_swineford_1939.csv"
    else:
        ref = json.loads((FIXTURES / "lavaan" / "poldem_defined_mlr.json").read_text())
        syntax, data_file = ref["syntax"], ref["data"]
    data = pd.read_csv(FIXTURES / "lavaan" / data_file)
    return iasem.fit(syntax, data, estimator="MLR"), ref


@pytest.fixture(scope="module", params=["hs39", "poldem"])
def mlr_fit(request) -> tuple[iasem.SEMResult, dict]:
    return _load(request.param)


def test_fixture_options():
    ref = json.loads((FIXTURES / "lavaan" / "poldem_defined_mlr.json").read_text())
    options = ref["options"]
    assert ref["estimator.requested"] == "MLR"
    assert options["information"][0] == "observed" and options["observed.information"][0] == "hessian"
    assert options["h1.information"][0] == "structured" and options["se"] == "robust.huber.white"
    assert options["test"] == "yuan.bentler.mplus" and not options["meanstructure"]


def test_estimates_and_robust_standard_errors(mlr_fit):
    result, ref = mlr_fit
    assert result.converged and not result.warnings
    assert result.estimator == "MLR" and result.nobs == ref["nobs"]
    table = joined_with_lavaan(result, ref)
    assert len(table) == len(result.params) == len(ref["params"])
    assert (table.loc[table.index.get_level_values("op") != ":=", "se_ref"] > 0).sum() == ref["fit"]["npar"]
    assert_params_match(table)


def test_defined_parameters_use_the_robust_vcov():
    result, ref = _load("poldem")
    ours = result.params[result.params["op"] == ":="].set_index("lhs")
    theirs = pd.DataFrame(ref["params"]).query("op == ':='").set_index("lhs")
    assert list(ours.index) == list(theirs.index) == ["indirect", "total"]
    for name in ours.index:
        assert ours.loc[name, "est"] == pytest.approx(theirs.loc[name, "est"], rel=1e-4)
        assert ours.loc[name, "se"] == pytest.approx(theirs.loc[name, "se"], rel=1e-2)


def test_fit_measures(mlr_fit):
    result, ref = mlr_fit
    names = ML_MEASURES + ROBUST_MEASURES + [m for m in BASELINE_MEASURES if m in ref["fit"]]
    for measure in names:
        assert result.fit_measures[measure] == pytest.approx(ref["fit"][measure], rel=1e-3, abs=1e-6), measure


@pytest.mark.parametrize("kwargs", [{}, {"missing": "fiml"}, {"group": "school"}])
def test_mlr_with_exogenous_covariates_is_refused(kwargs):
    # MLR with groups and with FIML: tests/test_parity_mlr_groups.py and tests/test_parity_mlr_fiml.py
    data = pd.read_csv(FIXTURES / "lavaan" / "holzinger_swineford_1939.csv")
    with pytest.raises(IasemError, match="exogenous observed covariates"):
        iasem.fit(HS39_MODEL + "\nvisual ~ ageyr", data, estimator="MLR", **kwargs)
