"""Multi-group WLSMV against lavaan 0.6.14: ``cfa(model, data, ordered = x1..x9, group = "school", estimator =
"WLSMV", group.equal = ...)`` on hs39_ordinal5.csv, the steps of a measurement-invariance analysis of ordered
indicators (tests/fixtures/lavaan/wlsmv_groups_*.json, made by make_wlsmv_groups_fixtures.R; the parameter
tables are compared row for row in test_syntax.py).

Tolerances are the project's bar and are never loosened: estimates 1e-4 relative, standard errors within 1 %,
fit measures within 1e-3 relative.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import iasem
from iasem.engine import dwls, dwls_groups
from iasem.errors import IasemError

from .conftest import HS39, assert_params_match

LAVAAN = Path(__file__).parent / "fixtures" / "lavaan"
DATA = pd.read_csv(LAVAAN / "hs39_ordinal5.csv")
ITEMS = [f"x{i}" for i in range(1, 10)]
# fixture -> (group_equal, std_lv)
STEPS = {
    "configural": ((), False),
    "loadings": (("loadings",), False),
    "thresholds": (("thresholds",), False),
    "thresholds_loadings": (("thresholds", "loadings"), False),
    "thresholds_loadings_intercepts": (("thresholds", "loadings", "intercepts"), False),
    "thresholds_loadings_stdlv": (("thresholds", "loadings"), True),
}
MEASURES = ["npar", "fmin", "chisq", "df", "pvalue", "chisq.scaled", "df.scaled", "pvalue.scaled",
            "chisq.scaling.factor", "baseline.chisq", "baseline.df", "baseline.chisq.scaled",
            "baseline.chisq.scaling.factor", "cfi", "tli", "cfi.scaled", "tli.scaled", "cfi.robust", "tli.robust",
            "rmsea", "rmsea.ci.lower", "rmsea.ci.upper", "rmsea.pvalue", "rmsea.scaled", "rmsea.robust",
            "srmr"]  # fmt: skip
ROBUST = ["cfi.robust", "tli.robust", "rmsea.robust"]


@cache
def lavaan(step: str) -> dict:
    return json.loads((LAVAAN / f"wlsmv_groups_{step}.json").read_text())


@cache
def fitted(step: str, se: str | None = None) -> iasem.SEMResult:
    group_equal, std_lv = STEPS[step]
    return iasem.fit(HS39, DATA, ordered=ITEMS, group="school", group_equal=group_equal, std_lv=std_lv, se=se)


def joined(result: iasem.SEMResult, ref: dict) -> pd.DataFrame:
    theirs = pd.DataFrame(ref["params"])
    theirs = theirs[theirs["op"] != "=="]
    if "label" not in theirs:  # parameterEstimates() leaves the column out when no row has a label
        theirs = theirs.assign(label="")
    table = result.params.merge(theirs, on=["lhs", "op", "rhs", "group"], suffixes=("", "_ref"), validate="1:1")
    assert len(table) == len(result.params) == len(theirs)
    return table


def test_fixture_options():
    for step, (group_equal, std_lv) in STEPS.items():
        ref = lavaan(step)
        options = ref["options"]
        assert options["estimator"] == "DWLS" and options["se"] == "robust.sem" and options["mimic"] == "lavaan"
        assert options["test"] == "scaled.shifted" and options["parameterization"] == "delta"
        assert options["std.lv"] == std_lv and ref["converged"] and not ref["warnings"]
        # For ordered data lavaan's options pair "thresholds" and "intercepts".
        paired = set(group_equal) | ({"thresholds", "intercepts"} if {"thresholds", "intercepts"} & set(group_equal)
                                     else set())  # fmt: skip
        assert set(options["group.equal"]) == paired
        assert ref["group.label"] == ["Pasteur", "Grant-White"] and ref["nobs"] == {"Pasteur": 156, "Grant-White": 145}


@pytest.mark.parametrize("step", list(STEPS))
def test_estimates_and_robust_standard_errors(step):
    ref = lavaan(step)
    result = fitted(step)
    assert result.converged and result.estimator == "WLSMV" and result.nobs == result.fit_measures["ntotal"] == 301
    table = joined(result, ref)
    assert list(table["label"]) == list(table["label_ref"])
    assert (table["se_ref"] > 0).sum() >= ref["fit"]["npar"]
    assert_params_match(table)


@pytest.mark.parametrize("step", list(STEPS))
def test_fit_measures(step):
    ref = lavaan(step)["fit"]
    result = fitted(step)
    for measure in MEASURES:
        if ref[measure] is None:  # lavaan's NA
            assert np.isnan(result.fit_measures[measure]), measure
        else:
            assert result.fit_measures[measure] == pytest.approx(ref[measure], rel=1e-3, abs=1e-6), measure


def test_standard_errors_without_the_sandwich():
    """se = "standard": E^-1 / (N - G), E = sum_g (N_g / N) D_g' W_g D_g."""
    ref = lavaan("thresholds_loadings")
    ref["params"] = [{**row, "se": se} for row, se in zip(ref["params"], ref["se.standard"], strict=True)]
    result = fitted("thresholds_loadings", se="standard")
    table = joined(result, ref)
    free = table["se_ref"] > 0
    np.testing.assert_allclose(table.loc[free, "se"], table.loc[free, "se_ref"], rtol=1e-2)
    assert (table.loc[~free, "se"] == 0).all()


@pytest.mark.parametrize("step", ["configural", "thresholds_loadings"])
def test_sample_statistics_and_implied_moments_by_group(step):
    ref = lavaan(step)
    result = fitted(step)
    engine = result.engine
    assert list(dict.fromkeys(result.sample_cov.index.get_level_values(0))) == ["Pasteur", "Grant-White"]
    for label, stats, state in zip(ref["group.label"], engine.stats, engine.states, strict=True):
        sample, implied = ref["sampstat"][label], ref["implied"][label]
        assert stats.threshold_names == list(sample["th"])
        np.testing.assert_allclose(stats.thresholds, list(sample["th"].values()), rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(result.sample_cov.loc[label], sample["cov"]["values"], rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(result.implied_cov.loc[label], implied["cov"]["values"], rtol=1e-4, atol=1e-6)
        implied_th = dwls.implied_statistics(state.mats, stats)[0][: len(stats.thresholds)]
        np.testing.assert_allclose(implied_th, list(implied["th"].values()), rtol=1e-4, atol=1e-6)


def test_equal_thresholds_free_the_scale_factors_and_latent_means_of_later_groups():
    params = fitted("thresholds_loadings").params
    later = params[params["group"] == 2]
    assert (later.loc[later["op"] == "~*~", "se"] > 0).all()
    assert (later.loc[(later["op"] == "~1") & later["lhs"].isin(["visual", "textual", "speed"]), "se"] > 0).all()
    first = params[params["group"] == 1]
    assert (first.loc[first["op"].isin(["~*~", "~1"]), "se"] == 0).all()
    # Thresholds and loadings equal across groups, ordered intercepts fixed at 0 in both.
    for op in ("|", "=~"):
        np.testing.assert_array_equal(first.loc[first["op"] == op, "est"], later.loc[later["op"] == op, "est"])


def test_robust_indices_are_nan_with_a_warning_where_lavaan_has_na():
    """lavaan 0.6.14's catML refit drops the threshold rows that the equality constraints refer to and fails."""
    for step, (group_equal, _) in STEPS.items():
        result = fitted(step)
        constrained = "thresholds" in group_equal
        assert all(np.isnan(result.fit_measures[m]) == constrained for m in ROBUST), step
        assert any("robust" in w for w in result.warnings) == constrained, step


def test_intercepts_pull_in_thresholds_as_in_lavaan():
    """For ordered data lavaan pairs "intercepts" with "thresholds" (lav_options_set)."""
    scalar = iasem.fit(HS39, DATA, ordered=True, group="school", group_equal=("loadings", "intercepts"))
    ref = lavaan("thresholds_loadings_intercepts")["fit"]
    assert scalar.fit_measures["chisq"] == pytest.approx(ref["chisq"], rel=1e-6)
    assert scalar.fit_measures["df"] == ref["df"]


def test_invariance_steps_are_nested():
    fits = [fitted(step).fit_measures for step in ("configural", "thresholds", "thresholds_loadings")]
    assert [f["df"] for f in fits] == [48.0, 72.0, 78.0]
    assert fits[0]["chisq"] < fits[1]["chisq"] < fits[2]["chisq"]


def test_one_group_sanity_the_group_formulas_reduce_to_the_one_group_ones():
    """With G = 1 (f_1 = 1, N - G = N - 1) the multi-group vcov, tests and indices are the one-group ones."""
    single = iasem.fit(HS39, DATA, ordered=ITEMS)
    engine = single.engine
    states, params, stats = engine.states, engine.params, engine.stats
    measures = dwls_groups.fit_measures(states, params, stats)
    for name, value in single.fit_measures.items():
        assert measures[name] == pytest.approx(value, rel=1e-10, abs=1e-12, nan_ok=True), name
    ds = dwls_groups.jacobians(params, states, stats)
    np.testing.assert_allclose(dwls_groups.robust_vcov(ds, stats), engine.vcov, rtol=1e-10)
    evaluate = dwls_groups.evaluator(stats, [np.ones(9, dtype=bool)])
    state = evaluate(params, stats, states[0].x)
    assert state.fmin == pytest.approx(single.fit_measures["fmin"], rel=1e-12)


def test_jacobian_with_free_scale_factors_and_means_matches_finite_differences():
    result = fitted("thresholds_loadings")
    p, state, stats = result.engine.params[1], result.engine.states[1], result.engine.stats[1]
    mask = np.ones(9, dtype=bool)

    def implied(x: np.ndarray) -> np.ndarray:
        return dwls.implied_statistics(dwls._implied(p, x, mask), stats)[0]

    analytic = dwls.jacobian(p, state.mats, stats)
    numeric = np.zeros_like(analytic)
    for k in range(p.n_free):
        h = 1e-6
        up, down = state.x.copy(), state.x.copy()
        up[k] += h
        down[k] -= h
        numeric[:, k] = (implied(up) - implied(down)) / (2 * h)
    np.testing.assert_allclose(analytic, numeric, atol=1e-7)
    delta_rows = p.index[(p.rep.rows["matrix"] == "delta").to_numpy() & (p.index >= 0)]
    assert len(delta_rows) == 9 and np.abs(analytic[:, delta_rows]).max() > 0.1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ordered": ITEMS, "group": "school", "missing": "fiml"}, "complete data only"),
        ({"ordered": ITEMS[:3], "group": "school"}, "continuous variables next to ordered ones"),
        ({"ordered": ITEMS, "group": "nope"}, "no group column"),
        ({"ordered": ITEMS, "group": "school", "group_equal": ("slopes",)}, "slopes"),
        ({"ordered": ITEMS, "group": "school", "bootstrap": 10}, "bootstrap"),
    ],
)
def test_refusals_are_clear(kwargs, message):
    with pytest.raises(IasemError, match=message):
        iasem.fit(HS39, DATA, **kwargs)


def test_defined_parameters_with_groups_are_refused():
    with pytest.raises(IasemError, match="with groups are not available"):
        iasem.fit(HS39 + "\nv2 := 2", DATA, ordered=True, group="school")


def test_a_category_empty_in_one_group_is_refused_as_lavaan_does():
    data = DATA.copy()
    data.loc[(data["school"] == "Grant-White") & (data["x1"] == 5), "x1"] = 4
    with pytest.raises(IasemError, match=r"x1 are empty in group 2 \(Grant-White\); frequencies are \[27 34 33 51 0\]"):
        iasem.fit(HS39, data, ordered=True, group="school")
