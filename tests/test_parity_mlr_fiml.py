"""MLR (and ML's robust indices) under FIML against lavaan 0.6.14 (``missing = "fiml"``): robust standard errors
from the observed information and casewise scores, the Yuan-Bentler (Mplus) test with the EM saturated model as
h1, Savalei's FIML-corrected robust CFI/TLI/RMSEA, one group and several; and ML + FIML with fixed exogenous
covariates.

Fixtures: tests/fixtures/lavaan/mlr_hs39_fiml.json, mlr_poldem_fiml.json, mlr_hs39_fiml_groups.json,
robust_hs39_fiml_ml.json, fiml_hs39_groups.json, fiml_hs39_fixedx.json, fiml_hs39_groups_fixedx.json, hs39_cfa_fiml.json
(make_mlr_fixtures.R, make_fixtures.R). Tolerances are the project's bar and are never loosened: estimates
1e-4 relative, standard errors within 1 %, fit measures within 1e-3 relative.

lavaan stops its EM for the saturated moments at a tolerance of 1e-5, iasem iterates EM to the maximum itself;
the two sets of moments differ by up to 5e-6, which moves the FIML-corrected statistics (complete-data fits at
those moments) by about 1e-5 relative and the p-value of the robust RMSEA's test of close fit by about 2e-4
relative: within the bar, and checked against lavaan's own EM moments below.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pytest

import iasem
from iasem.engine import fiml
from iasem.errors import IasemError

from .conftest import (
    LAVAAN_FIXTURES,
    ML_MEASURES,
    ROBUST_MEASURES,
    SCALED_MEASURES,
    assert_params_match,
    lavaan_fixture,
)

# fixture -> the iasem.fit options of the same call
CASES = {
    "mlr_hs39_fiml": {"estimator": "MLR"},
    "mlr_poldem_fiml": {"estimator": "MLR"},
    "mlr_hs39_fiml_groups": {"estimator": "MLR", "group": "school", "group_equal": ("loadings",)},
    "robust_hs39_fiml_ml": {"se": "robust"},
    "fiml_hs39_groups": {"group": "school", "group_equal": ("loadings", "intercepts")},
    "fiml_hs39_fixedx": {},
    "fiml_hs39_groups_fixedx": {"group": "school"},
    "hs39_cfa_fiml": {},
}
MLR_CASES = [name for name, kwargs in CASES.items() if kwargs.get("estimator") == "MLR"]


@cache
def fitted(name: str) -> iasem.SEMResult:
    ref = lavaan_fixture(name)
    return iasem.fit(ref["syntax"], pd.read_csv(LAVAAN_FIXTURES / ref["data"]), missing="fiml", **CASES[name])


def joined(result: iasem.SEMResult, ref: dict) -> pd.DataFrame:
    theirs = pd.DataFrame(ref["params"])
    theirs = theirs[theirs["op"] != "=="].assign(group=lambda t: t.get("group", 1))
    table = result.params.merge(theirs, on=["lhs", "op", "rhs", "group"], suffixes=("", "_ref"), validate="1:1")
    assert len(table) == len(result.params) == len(theirs)
    return table


def test_fixtures_are_lavaans_fiml_with_robust_standard_errors():
    for name in [*MLR_CASES, "robust_hs39_fiml_ml"]:
        options = lavaan_fixture(name)["options"]
        assert options["missing"] == "ml" and options["meanstructure"]
        assert options["information"][0] == "observed" and options["observed.information"][0] == "hessian"
        assert options["h1.information"][0] == "structured" and options["se"] == "robust.huber.white"
    for name in MLR_CASES:
        assert lavaan_fixture(name)["options"]["test"] == "yuan.bentler.mplus"
    assert lavaan_fixture("robust_hs39_fiml_ml")["options"]["test"] == "standard"


@pytest.mark.parametrize("name", list(CASES))
def test_estimates_and_standard_errors(name):
    ref = lavaan_fixture(name)
    result = fitted(name)
    assert result.converged
    heywood = [w for w in result.warnings if w.startswith("negative variance")]
    dropped = [w for w in result.warnings if "dropped" in w]
    assert len(heywood) + len(dropped) == len(result.warnings)
    assert bool(heywood) == (name == "mlr_poldem_fiml")  # lavaan: "some estimated lv variances are negative"
    assert result.nobs == ref["ntotal"]
    assert_params_match(joined(result, ref))


@pytest.mark.parametrize("name", list(CASES))
def test_fit_measures(name):
    ref = lavaan_fixture(name)["fit"]
    measures = fitted(name).fit_measures
    names = ML_MEASURES + (SCALED_MEASURES if name in MLR_CASES else [])
    names += ROBUST_MEASURES if "fixedx" not in name else []  # not computed with fixed covariates (yet)
    for measure in names:
        assert measures[measure] == pytest.approx(ref[measure], rel=1e-3, abs=1e-6), measure
    if name not in MLR_CASES:
        assert "chisq.scaled" not in measures


def test_ml_with_robust_se_under_fiml_gives_mlrs_standard_errors():
    ml, mlr = fitted("robust_hs39_fiml_ml"), fitted("mlr_hs39_fiml")
    assert ml.estimator == "ML"
    np.testing.assert_allclose(ml.params["se"], mlr.params["se"], rtol=1e-10)
    for measure in ROBUST_MEASURES:  # V6 without the scaled test, V3 with it
        assert ml.fit_measures[measure] != pytest.approx(mlr.fit_measures[measure], rel=1e-6)


@pytest.mark.parametrize("name", [n for n in CASES if "fixedx" not in n and "groups" not in n])
def test_fiml_corrected_statistics_with_lavaans_em_moments(name):
    """Savalei's corrected statistics (lav_fit_fiml_corrected) from lavaan's own EM moments agree to 1e-6."""
    ref = lavaan_fixture(name)
    fixture = (
        ref["fiml.corrected"] if "fiml.corrected" in ref else lavaan_fixture("robust_hs39_fiml_ml")["fiml.corrected"]
    )
    result = fitted(name)
    engine = result.engine
    data = fiml.missing_data(pd.read_csv(LAVAAN_FIXTURES / ref["data"]), engine.stats[0].names)
    if "sampstat" in ref:  # hs39_cfa_fiml keeps lavaan's EM moments
        names = ref["sampstat"]["cov"]["rownames"]
        data.h1_cov = np.array(ref["sampstat"]["cov"]["values"])
        data.h1_mean = np.array([ref["sampstat"]["mean"][v] for v in names])
        rtol = 1e-6
    else:
        rtol = 1e-3
    ours = fiml.corrected_statistics(engine.params[0], data, engine.states[0], fixture["version"])
    assert ours.chisq == pytest.approx(fixture["XX3"], rel=rtol)
    assert ours.c_hat == pytest.approx(fixture["c.hat3"], rel=rtol)
    assert ours.chisq_scaled == pytest.approx(fixture["XX3.scaled"], rel=rtol)
    assert ours.baseline_chisq == pytest.approx(fixture["XX3.null"], rel=rtol)
    assert ours.baseline_c_hat == pytest.approx(fixture["c.hat3.null"], rel=rtol)


def test_groups_fiml_corrected_statistics():
    ref = lavaan_fixture("mlr_hs39_fiml_groups")
    fixture = ref["fiml.corrected"]
    engine = fitted("mlr_hs39_fiml_groups").engine
    _, data = fiml.split_groups(pd.read_csv(LAVAAN_FIXTURES / ref["data"]), "school", engine.stats[0].names)
    ours = fiml.corrected_statistics_groups(engine.params, data, engine.states, "V3")
    for mine, theirs in ((ours.chisq, "XX3"), (ours.c_hat, "c.hat3"), (ours.baseline_chisq, "XX3.null"),
                         (ours.baseline_c_hat, "c.hat3.null")):  # fmt: skip
        assert mine == pytest.approx(fixture[theirs], rel=1e-3), theirs


def test_rows_with_a_missing_covariate_are_dropped_as_lavaan_does():
    ref = lavaan_fixture("fiml_hs39_fixedx")
    result = fitted("fiml_hs39_fixedx")
    assert ref["options"]["fixed.x"] and ref["options"]["missing"] == "ml"
    assert "12 cases were deleted" in ref["warnings"][0]
    assert any("12 row(s) with a missing exogenous covariate were dropped" in w for w in result.warnings)
    assert result.nobs == ref["ntotal"] == 301 - 12
    fixed = result.params[(result.params["lhs"].isin(["ageyr", "sex"])) & (result.params["se"] == 0)]
    assert len(fixed) == 5  # two variances, one covariance, two means: fixed at their sample values
    groups = fitted("fiml_hs39_groups_fixedx")
    assert [w.split(":")[0] for w in groups.warnings] == ["group Pasteur", "group Grant-White"]
    assert groups.nobs == lavaan_fixture("fiml_hs39_groups_fixedx")["ntotal"] == 301 - 12


@pytest.mark.parametrize("missing", ["listwise", "fiml"])
def test_saturated_models_give_lavaans_nas(missing):
    """df = 0, as lavaan 0.6.14 (cfa("f =~ x1 + x2 + x3", data, estimator = "MLR"[, missing = "fiml"])): the
    scaling factor is NA, the "scaled" statistic the standard one (0) with no p-value, the scaled RMSEA NA and
    the robust one 0 with the interval (0, 0) and no test; cfi.robust/tli.robust NA on complete data, 1 under
    FIML (lavaan's corrected c.hat is k / 0 there and its CFI falls back to the plain formula)."""
    data = pd.read_csv(LAVAAN_FIXTURES / "hs39_missing.csv")
    result = iasem.fit("f =~ x1 + x2 + x3", data, estimator="MLR", missing=missing)
    m = result.fit_measures
    assert m["df"] == 0 and m["chisq.scaled"] == pytest.approx(0, abs=1e-8) and m["cfi.scaled"] == 1
    for name in ("chisq.scaling.factor", "pvalue.scaled", "rmsea.scaled", "rmsea.ci.lower.scaled",
                 "rmsea.pvalue.scaled", "rmsea.pvalue.robust"):  # fmt: skip
        assert np.isnan(m[name]), name
    assert m["rmsea.robust"] == m["rmsea.ci.lower.robust"] == m["rmsea.ci.upper.robust"] == 0
    assert "scaling.factor.h1" not in m
    if missing == "fiml":
        assert m["cfi.robust"] == pytest.approx(1) and m["tli.robust"] == 1
    else:
        assert np.isnan(m["cfi.robust"]) and np.isnan(m["tli.robust"])


def test_mlr_with_fiml_and_covariates_is_refused():
    data = pd.read_csv(LAVAAN_FIXTURES / "hs39_missing.csv")
    with pytest.raises(IasemError, match="exogenous observed covariates"):
        iasem.fit("visual =~ x1 + x2 + x3\nvisual ~ ageyr", data, missing="fiml", estimator="MLR")
