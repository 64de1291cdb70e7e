"""MLR with groups against lavaan 0.6.14: measurement invariance by school with ``estimator = "MLR"``, the
scaled chi-square difference tests between the steps (``lavTestLRT``), and ML with ``se = "robust"``
(lavaan's robust.sem) on complete data.

Fixtures: tests/fixtures/lavaan/mlr_hs39_{configural,metric,scalar,strict}.json, mlr_hs39_invariance_lrt.json,
robust_hs39_ml.json, robust_hs39_groups_ml.json, groups_hs39_fixedx.json, mlr_hs39_se_standard.json,
mlr_hs39_groups_se_standard.json (make_mlr_fixtures.R). Tolerances are
the project's bar and are never loosened: estimates 1e-4 relative, standard errors within 1 %, fit measures
within 1e-3 relative.
"""

from __future__ import annotations

import math
from functools import cache

import pandas as pd
import pytest

import iasem
from iasem.errors import IasemError
from iasem.fit_measures.difference import scaled_difference_test

from .conftest import (
    LAVAAN_FIXTURES,
    ML_MEASURES,
    ROBUST_MEASURES,
    SCALED_MEASURES,
    assert_params_match,
    lavaan_fixture,
)

DATA = pd.read_csv(LAVAAN_FIXTURES / "holzinger_swineford_1939.csv")
STEPS = {
    "configural": (),
    "metric": ("loadings",),
    "scalar": ("loadings", "intercepts"),
    "strict": ("loadings", "intercepts", "residuals"),
}


@cache
def fitted(step: str, estimator: str = "MLR") -> iasem.SEMResult:
    ref = lavaan_fixture(f"mlr_hs39_{step}")
    return iasem.fit(ref["syntax"], DATA, group="school", group_equal=STEPS[step], estimator=estimator)


def joined(result: iasem.SEMResult, ref: dict) -> pd.DataFrame:
    theirs = pd.DataFrame(ref["params"])
    theirs = theirs[theirs["op"] != "=="].assign(label=lambda t: t.get("label", ""))
    table = result.params.merge(theirs, on=["lhs", "op", "rhs", "group"], suffixes=("", "_ref"), validate="1:1")
    assert len(table) == len(result.params) == len(theirs)
    return table


def test_fixtures_are_lavaans_mlr_with_a_meanstructure():
    for step, group_equal in STEPS.items():
        ref = lavaan_fixture(f"mlr_hs39_{step}")
        options = ref["options"]
        assert ref["estimator.requested"] == "MLR" and ref["ngroups"] == 2
        assert options["group.equal"] == list(group_equal)
        assert options["information"][0] == "observed" and options["observed.information"][0] == "hessian"
        assert options["h1.information"][0] == "structured" and options["se"] == "robust.huber.white"
        assert options["test"] == "yuan.bentler.mplus" and options["meanstructure"]


@pytest.mark.parametrize("step", list(STEPS))
def test_estimates_and_robust_standard_errors(step):
    ref = lavaan_fixture(f"mlr_hs39_{step}")
    result = fitted(step)
    assert result.converged and not result.warnings
    assert result.estimator == "MLR"
    table = joined(result, ref)
    assert list(table["label"]) == list(table["label_ref"])
    assert_params_match(table)


@pytest.mark.parametrize("step", list(STEPS))
def test_fit_measures(step):
    ref = lavaan_fixture(f"mlr_hs39_{step}")["fit"]
    measures = fitted(step).fit_measures
    for name in ML_MEASURES + SCALED_MEASURES + ROBUST_MEASURES:
        assert measures[name] == pytest.approx(ref[name], rel=1e-3, abs=1e-6), name


def test_the_scaled_test_is_the_trace_over_groups():
    ref = lavaan_fixture("mlr_hs39_metric")["test"]["yuan.bentler.mplus"]
    measures = fitted("metric").fit_measures
    # lavaan's trace of U Gamma = c df, its h0 part over nx.free = 60 parameters (before the 6 equalities)
    assert measures["chisq.scaling.factor"] * measures["df"] == pytest.approx(ref["trace.UGamma"], rel=1e-3)
    assert measures["npar"] == 54
    assert measures["scaling.factor.h0"] == pytest.approx(ref["scaling.factor.h0"], rel=1e-3)


def test_ml_estimates_are_mlrs():
    mlr, ml = fitted("scalar"), fitted("scalar", "ML")
    assert ml.estimator == "ML" and "chisq.scaled" not in ml.fit_measures
    pd.testing.assert_series_equal(mlr.params["est"], ml.params["est"])
    assert mlr.fit_measures["chisq"] == ml.fit_measures["chisq"]


def test_lavaans_default_difference_method_for_mlr_is_satorra_bentler_2001():
    ref = lavaan_fixture("mlr_hs39_invariance_lrt")
    assert ref["method.mlr"] == "satorra.bentler.2001"
    assert "Scaled Chi-Squared Difference Test" in ref["heading.mlr"]


@pytest.mark.parametrize("k", [1, 2, 3])
def test_scaled_difference_tests_follow_lavtestlrt(k):
    ref = lavaan_fixture("mlr_hs39_invariance_lrt")
    steps = list(STEPS)
    row, sb = ref["mlr"][k], ref["satorra.bentler.2001"][k - 1]
    assert row["model"] == steps[k] and sb["m0"] == steps[k]
    restricted, free = fitted(steps[k]), fitted(steps[k - 1])
    for a, b in ((restricted, free), (free, restricted)):  # either order, as lavTestLRT sorts by df
        test = scaled_difference_test(a, b)
        assert test["chisq.diff"] == pytest.approx(row["Chisq diff"], rel=1e-3)
        assert test["df.diff"] == row["Df diff"]
        assert test["pvalue.diff"] == pytest.approx(row["Pr(>Chisq)"], rel=1e-3)
        assert test["scaling.factor.diff"] == pytest.approx(sb["scaling.factor"], rel=1e-3)
        assert math.isnan(test["rmsea.diff"])


@pytest.mark.parametrize("k", [1, 2, 3])
def test_plain_difference_tests_follow_lavtestlrt(k):
    ref = lavaan_fixture("mlr_hs39_invariance_lrt")
    steps = list(STEPS)
    row = ref["ml"][k]
    test = scaled_difference_test(fitted(steps[k], "ML"), fitted(steps[k - 1], "ML"))
    assert test["chisq.diff"] == pytest.approx(row["Chisq diff"], rel=1e-3)
    assert test["df.diff"] == row["Df diff"]
    assert test["pvalue.diff"] == pytest.approx(row["Pr(>Chisq)"], rel=1e-3)
    assert test["rmsea.diff"] == pytest.approx(row["RMSEA"], rel=1e-3)
    assert math.isnan(test["scaling.factor.diff"])


def test_difference_test_refuses_fits_of_different_estimators():
    with pytest.raises(IasemError, match="different estimators"):
        scaled_difference_test(fitted("metric"), fitted("configural", "ML"))
    with pytest.raises(IasemError, match=r"results of iasem\.fit"):
        scaled_difference_test({"chisq": 1.0}, fitted("configural"))


def test_equal_df_give_no_pvalue():
    test = scaled_difference_test(fitted("metric"), fitted("metric"))
    assert test["df.diff"] == 0 and test["chisq.diff"] == 0 and math.isnan(test["pvalue.diff"])


@pytest.mark.parametrize(("name", "kwargs"), [
    ("robust_hs39_ml", {}),
    ("robust_hs39_groups_ml", {"group": "school", "group_equal": ("loadings",)}),
])  # fmt: skip
def test_ml_with_robust_se_is_lavaans_robust_sem(name, kwargs):
    ref = lavaan_fixture(name)
    assert ref["options"]["se"] == "robust.sem" and ref["options"]["information"][0] == "expected"
    result = iasem.fit(ref["syntax"], DATA, se="robust", **kwargs)
    assert result.converged and not result.warnings and result.estimator == "ML"
    assert_params_match(joined(result, ref))
    for name_ in ML_MEASURES:
        assert result.fit_measures[name_] == pytest.approx(ref["fit"][name_], rel=1e-3, abs=1e-6), name_
    assert "chisq.scaled" not in result.fit_measures


@pytest.mark.parametrize(("name", "kwargs"), [
    ("mlr_hs39_se_standard", {}),
    ("mlr_hs39_groups_se_standard", {"group": "school", "group_equal": ("loadings",)}),
])  # fmt: skip
def test_mlr_with_standard_se_takes_the_expected_information_in_its_test_too(name, kwargs):
    ref = lavaan_fixture(name)
    assert ref["options"]["information"][0] == "expected" and ref["options"]["se"] == "standard"
    result = iasem.fit(ref["syntax"], DATA, estimator="MLR", se="standard", **kwargs)
    assert_params_match(joined(result, ref))
    for name_ in ML_MEASURES + SCALED_MEASURES + ROBUST_MEASURES:
        assert result.fit_measures[name_] == pytest.approx(ref["fit"][name_], rel=1e-3, abs=1e-6), name_


def test_ml_with_groups_and_fixed_covariates():
    """df leaves out every group's k (k + 3) / 2 fixed moments of the covariates, as lavaan's."""
    ref = lavaan_fixture("groups_hs39_fixedx")
    result = iasem.fit(ref["syntax"], DATA, group="school")
    assert result.converged and not result.warnings
    assert_params_match(joined(result, ref))
    assert result.fit_measures["df"] == ref["fit"]["df"] == 2 * (8 * 11 / 2 - 5) - result.fit_measures["npar"]
    for name in ML_MEASURES:
        assert result.fit_measures[name] == pytest.approx(ref["fit"][name], rel=1e-3, abs=1e-6), name


def test_mlr_with_groups_and_covariates_is_refused():
    with pytest.raises(IasemError, match="exogenous observed covariates"):
        iasem.fit("visual =~ x1 + x2 + x3\nvisual ~ ageyr", DATA, group="school", estimator="MLR")
