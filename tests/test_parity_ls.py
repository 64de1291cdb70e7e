"""iasem.fit(estimator="GLS"/"ULS") against lavaan 0.6.14's cfa(model, data, estimator = "GLS"/"ULS")
(tests/fixtures/lavaan/hs39_cfa_gls.json, hs39_cfa_uls.json).

Tolerances are the project's bar and are never loosened: estimates 1e-4 relative, standard errors within 1 %,
fit measures within 1e-3 relative.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import iasem
from iasem.errors import IasemError

from .conftest import assert_params_match, joined_with_lavaan

FIXTURES = Path(__file__).parent / "fixtures" / "lavaan"
FIT_MEASURES = ["chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper", "rmsea.pvalue",
                "srmr", "npar", "fmin", "baseline.chisq", "baseline.df"]  # fmt: skip


@pytest.fixture(scope="module", params=["GLS", "ULS"])
def ls_fit(request) -> tuple[iasem.SEMResult, dict]:
    ref = json.loads((FIXTURES / f"hs39_cfa_{request.param.lower()}.json").read_text())
    data = pd.read_csv(FIXTURES / ref["data"])
    return iasem.fit(ref["syntax"], data, estimator=request.param), ref


def test_fixture_options(ls_fit):
    result, ref = ls_fit
    assert ref["estimator"] == result.estimator
    assert ref["options"]["se"] == "standard" and ref["options"]["information"][0] == "expected"
    assert ref["options"]["missing"] == "listwise" and not ref["options"]["meanstructure"]


def test_estimates_and_standard_errors(ls_fit):
    result, ref = ls_fit
    assert result.converged and not result.warnings
    assert result.nobs == ref["nobs"]
    table = joined_with_lavaan(result, ref)
    assert len(table) == len(result.params) == len(ref["params"])
    assert (table["se"] > 0).sum() == (table["se_ref"] > 0).sum() == ref["fit"]["npar"]
    assert_params_match(table)


def test_fit_measures(ls_fit):
    result, ref = ls_fit
    for measure in FIT_MEASURES:
        expected = ref["fit"][measure]
        if expected is None:  # lavaan reports NA (the ULS chi-square has no p-value)
            assert math.isnan(result.fit_measures[measure]), measure
        else:
            assert result.fit_measures[measure] == pytest.approx(expected, rel=1e-3, abs=1e-6), measure
    for measure in ("logl", "unrestricted.logl", "aic", "bic"):  # no likelihood for least squares
        assert math.isnan(result.fit_measures[measure]), measure


def test_sample_and_implied_covariances(ls_fit):
    result, ref = ls_fit
    np.testing.assert_allclose(result.sample_cov.to_numpy(), ref["sampstat"]["cov"]["values"], rtol=1e-6)
    np.testing.assert_allclose(result.implied_cov.to_numpy(), ref["implied"]["cov"]["values"], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("kwargs", [{"missing": "fiml"}, {"group": "school"}])
def test_least_squares_needs_one_group_of_complete_data(kwargs):
    ref = json.loads((FIXTURES / "hs39_cfa_uls.json").read_text())
    data = pd.read_csv(FIXTURES / ref["data"])
    with pytest.raises(IasemError, match="one group of complete data"):
        iasem.fit(ref["syntax"], data, estimator="ULS", **kwargs)
