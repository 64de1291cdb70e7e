"""iasem.fit(ordered=..., estimator="WLSMV") against lavaan 0.6.14's cfa(..., ordered = x1..x9, estimator =
"WLSMV") (tests/fixtures/reference/hs39_cfa_wlsmv.json; partable_hs39_ordinal_wlsmv.json has the same fit with
lavaan's options).

Tolerances are the project's bar and are never loosened: estimates 1e-4 relative, standard errors within 1 %,
fit measures within 1e-3 relative.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import iasem
from iasem.errors import IasemError

from .conftest import assert_params_match, joined_with_lavaan

FIXTURES = Path(__file__).parent / "fixtures"
HS39_MODEL = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
ITEMS = [f"x{i}" for i in range(1, 10)]
MEASURES = ["chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper", "rmsea.pvalue",
            "srmr", "npar", "baseline.chisq", "baseline.df", "chisq.scaled", "df.scaled", "pvalue.scaled",
            "chisq.scaling.factor", "cfi.scaled", "tli.scaled", "rmsea.scaled", "cfi.robust", "tli.robust",
            "rmsea.robust"]  # fmt: skip


@pytest.fixture(scope="module")
def ordinal_data() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "lavaan" / "hs39_ordinal5.csv")


@pytest.fixture(scope="module")
def wlsmv(ordinal_data) -> tuple[iasem.SEMResult, dict]:
    ref = json.loads((FIXTURES / "reference" / "hs39_cfa_wlsmv.json").read_text())
    return iasem.fit(HS39_MODEL, ordinal_data, ordered=ITEMS, estimator="WLSMV"), ref


def test_fixture_options():
    options = json.loads((FIXTURES / "lavaan" / "partable_hs39_ordinal_wlsmv.json").read_text())["options"]
    assert options["estimator"] == "DWLS" and options["se"] == "robust.sem"
    assert options["test"] == "scaled.shifted" and options["parameterization"] == "delta"


def test_estimates_and_robust_standard_errors(wlsmv):
    result, ref = wlsmv
    assert result.converged and not result.warnings
    assert result.estimator == "WLSMV" and result.nobs == ref["nobs"]
    table = joined_with_lavaan(result, ref)
    assert len(table) == len(result.params) == len(ref["params"])
    assert set(result.params["op"]) == {"=~", "|", "~~", "~*~", "~1"}
    assert (table["se_ref"] > 0).sum() == ref["fit"]["npar"]
    assert_params_match(table)


def test_fit_measures(wlsmv):
    result, ref = wlsmv
    for measure in MEASURES:
        assert result.fit_measures[measure] == pytest.approx(ref["fit"][measure], rel=1e-3, abs=1e-6), measure


def test_residual_variances_follow_from_unit_latent_response_variances(wlsmv):
    result, _ = wlsmv
    assert np.allclose(np.diag(result.implied_cov), 1.0)
    variances = result.params.query("op == '~~' and lhs == rhs and lhs in @ITEMS")
    assert (variances["se"] == 0).all() and (variances["est"] > 0).all()


def test_ordered_switches_the_default_estimator_to_wlsmv(ordinal_data, wlsmv):
    result = iasem.fit(HS39_MODEL, ordinal_data, ordered=True)
    assert result.estimator == "WLSMV"
    assert result.fit_measures["chisq"] == pytest.approx(wlsmv[0].fit_measures["chisq"], rel=1e-12)


def test_standard_se_differs_from_robust(ordinal_data, wlsmv):
    standard = iasem.fit(HS39_MODEL, ordinal_data, ordered=True, se="standard")
    free = standard.params["se"] > 0
    assert not np.allclose(standard.params.loc[free, "se"], wlsmv[0].params.loc[free, "se"], rtol=1e-3)
    assert np.allclose(standard.params["est"], wlsmv[0].params["est"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"estimator": "WLSMV"}, "needs ordered variables"),
        ({"ordered": ITEMS, "estimator": "MLR"}, "cannot fit ordered variables"),
        ({"ordered": ["x1", "nope"]}, "nope"),
        ({"ordered": ITEMS[:3]}, "continuous variables next to ordered ones"),
        ({"ordered": ITEMS, "missing": "fiml"}, "complete data only"),
        ({"ordered": "x1"}, "list of column names"),
    ],
)
def test_refusals_are_clear(ordinal_data, kwargs, message):
    with pytest.raises(IasemError, match=message):
        iasem.fit(HS39_MODEL, ordinal_data, **kwargs)
