"""iasem.fit(missing="fiml") against lavaan 0.6.14's cfa(model, data, missing = "fiml") (tests/fixtures/lavaan).

Tolerances are the project's bar and are never loosened: estimates 1e-4 relative, standard errors (from the
observed information, lavaan's FIML default) within 1 %, fit measures within 1e-3 relative.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import iasem
from iasem.resources import resource_path

from .conftest import assert_params_match, joined_with_lavaan

FIXTURES = Path(__file__).parent / "fixtures" / "lavaan"
HS39 = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
FIT_MEASURES = ["chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper", "rmsea.pvalue",
                "srmr", "logl", "unrestricted.logl", "aic", "bic", "npar", "baseline.chisq", "baseline.df"]  # fmt: skip


@pytest.fixture(scope="module")
def fiml_fit() -> tuple[iasem.SEMResult, dict]:
    ref = json.loads((FIXTURES / "hs39_cfa_fiml.json").read_text())
    data = pd.read_csv(FIXTURES / ref["data"])
    return iasem.fit(ref["syntax"], data, missing="fiml"), ref


def test_fixture_is_lavaan_fiml_with_observed_information(fiml_fit):
    _, ref = fiml_fit
    assert ref["options"]["missing"] == "ml" and ref["options"]["meanstructure"]
    assert ref["options"]["information"][0] == "observed" and ref["options"]["observed.information"][0] == "hessian"


def test_estimates_and_standard_errors(fiml_fit):
    result, ref = fiml_fit
    assert result.converged and not result.warnings
    assert result.nobs == ref["nobs"]
    table = joined_with_lavaan(result, ref)
    assert len(table) == len(result.params) == len(ref["params"])
    assert (table["se"] > 0).sum() == (table["se_ref"] > 0).sum() == ref["fit"]["npar"]
    assert_params_match(table)


def test_fit_measures(fiml_fit):
    result, ref = fiml_fit
    for measure in FIT_MEASURES:
        assert result.fit_measures[measure] == pytest.approx(ref["fit"][measure], rel=1e-3, abs=1e-6), measure


def test_sample_moments_are_the_em_estimates(fiml_fit):
    result, ref = fiml_fit
    em = ref["sampstat"]["cov"]
    np.testing.assert_allclose(result.sample_cov.loc[em["rownames"], em["colnames"]], em["values"], rtol=1e-4)


def test_fiml_equals_listwise_on_complete_data():
    data = pd.read_csv(resource_path("data") / "holzinger_swineford_1939.csv")
    listwise = iasem.fit(HS39, data)
    full = iasem.fit(HS39, data, missing="fiml")
    ours = full.params.set_index(["lhs", "op", "rhs"])
    assert len(ours[ours.index.get_level_values("op") == "~1"]) == 12
    both = listwise.params.set_index(["lhs", "op", "rhs"]).join(ours, how="inner", suffixes=("", "_fiml"))
    assert len(both) == len(listwise.params)
    # The listwise optimiser stops at a largest gradient element of 1e-6, FIML's at 1e-9: they agree to ~2e-6.
    np.testing.assert_allclose(both["est_fiml"], both["est"], rtol=1e-5, atol=1e-8)
    intercepts = ours.xs("~1", level="op")["est"].droplevel("rhs")
    np.testing.assert_allclose(
        intercepts[[f"x{k}" for k in range(1, 10)]], data[[f"x{k}" for k in range(1, 10)]].mean()
    )
    for measure in ("chisq", "df", "cfi", "tli", "rmsea", "logl"):
        assert full.fit_measures[measure] == pytest.approx(listwise.fit_measures[measure], rel=1e-6), measure


def test_rows_without_any_model_variable_are_dropped_with_a_warning(fiml_fit):
    _, ref = fiml_fit
    data = pd.read_csv(FIXTURES / ref["data"])
    empty = data.iloc[:3].copy()
    empty[[f"x{k}" for k in range(1, 10)]] = np.nan
    result = iasem.fit(ref["syntax"], pd.concat([data, empty], ignore_index=True), missing="fiml")
    assert result.nobs == ref["nobs"]
    assert any("3 row(s) with every model variable missing were dropped" in w for w in result.warnings)
    assert result.fit_measures["chisq"] == pytest.approx(ref["fit"]["chisq"], rel=1e-3)


def test_fiml_with_fixed_covariates_equals_listwise_on_complete_data():
    # With holes: tests/test_parity_mlr_fiml.py (fiml_hs39_fixedx).
    data = pd.read_csv(resource_path("data") / "holzinger_swineford_1939.csv")
    model = "visual =~ x1 + x2 + x3\nvisual ~ ageyr + sex"
    listwise, full = iasem.fit(model, data), iasem.fit(model, data, missing="fiml")
    for measure in ("chisq", "baseline.chisq", "baseline.df", "cfi"):
        assert full.fit_measures[measure] == pytest.approx(listwise.fit_measures[measure], rel=1e-6), measure
