"""The chi-square difference test of nested WLSMV fits and the invariance analysis of ordered items against lavaan
0.6.14 and semTools 0.5.6 (tests/fixtures/lavaan/invariance_ordinal_*.json, made by
make_invariance_ordinal_fixtures.R): ``lavTestLRT``'s default for the scaled-shifted test, ``method =
"satorra.2000"`` (Satorra, 2000; Asparouhov & Muthén, 2006), between the steps configural, thresholds and scalar
by school on hs39_ordinal5.csv (marker and std.lv identification), a skipped step, and nested single-group models
of another shape (fixed covariances, one factor instead of three).

Tolerances are the project's bar, never loosened: chi-square differences, p-values, the scale a and shift b, the
traces, and the fit measures within 1e-3 relative.
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import iasem
from iasem.errors import IasemError
from iasem.fit_measures.difference import satorra_2000, satorra_2000_test, scaled_difference_test
from iasem.validation.invariance import ORDERED_STEPS, difference_test

LAVAAN = Path(__file__).parent / "fixtures" / "lavaan"
DATA = pd.read_csv(LAVAAN / "hs39_ordinal5.csv")
ITEMS = [f"x{i}" for i in range(1, 10)]
REL = 1e-3


@cache
def lavaan(name: str) -> dict:
    return json.loads((LAVAAN / f"invariance_ordinal_{name}.json").read_text())


@cache
def step_fit(step: str, std_lv: bool = False) -> iasem.SEMResult:
    ref = lavaan("school")
    return iasem.fit(ref["syntax"], DATA, ordered=ITEMS, group="school", group_equal=tuple(ref["steps"][step]),
                     std_lv=std_lv)  # fmt: skip


@cache
def single_fit(name: str) -> iasem.SEMResult:
    return iasem.fit(lavaan("single")["syntax"][name], DATA, ordered=ITEMS)


@cache
def analysis() -> iasem.validation.invariance.InvarianceResult:
    ref = lavaan("school")
    return iasem.invariance(ref["syntax"], DATA, ref["group"], ordered=ITEMS)


def assert_matches_lrt(test: dict, row: dict, internals: dict | None = None) -> None:
    """One comparison against a lavTestLRT row (and lav_test_diff_Satorra2000's internals)."""
    assert test["chisq.diff"] == pytest.approx(row["Chisq diff"], rel=REL)
    assert test["df.diff"] == row["Df diff"]
    assert test["pvalue.diff"] == pytest.approx(row["Pr(>Chisq)"], rel=REL)
    assert 1.0 / test["scaling.factor.diff"] == pytest.approx(row["scale"], rel=REL)
    assert test["shift.diff"] == pytest.approx(row["shift"], rel=REL)
    assert math.isnan(test["rmsea.diff"])
    if internals is not None:
        assert test["trace.UGamma"] == pytest.approx(internals["trace.UGamma"], rel=REL)
        assert test["trace.UGamma2"] == pytest.approx(internals["trace.UGamma2"], rel=REL)


def test_lavaans_default_for_the_scaled_shifted_test_is_satorra_2000():
    for ref in (lavaan("school")["lrt"], lavaan("school_stdlv")["lrt"], *lavaan("single")["lrt"].values()):
        assert ref["method"] == "satorra.2000"
        assert "Scaled Chi-Squared Difference Test" in ref["heading"]


@pytest.mark.parametrize("std_lv", [False, True], ids=["marker", "std.lv"])
def test_steps_fit_as_lavaan(std_lv):
    ref = lavaan("school_stdlv" if std_lv else "school")
    for step, measures in ref["fits"].items():
        ours = step_fit(step, std_lv).fit_measures
        for name in ("chisq", "df", "chisq.scaled", "chisq.scaling.factor", "cfi.scaled", "rmsea.scaled"):
            assert ours[name] == pytest.approx(measures[name], rel=REL), (step, name)


@pytest.mark.parametrize("std_lv", [False, True], ids=["marker", "std.lv"])
@pytest.mark.parametrize("k", [1, 2])
def test_adjacent_steps_follow_lavtestlrt(std_lv, k):
    ref = lavaan("school_stdlv" if std_lv else "school")
    row, internals = ref["lrt"]["rows"][k], ref["satorra.2000"][k - 1]
    steps = list(ref["steps"])
    assert row["model"] == steps[k] == internals["m0"] and internals["m1"] == steps[k - 1]
    restricted, free = step_fit(steps[k], std_lv), step_fit(steps[k - 1], std_lv)
    assert row["Chisq"] == pytest.approx(restricted.fit_measures["chisq"], rel=REL)
    for a, b in ((restricted, free), (free, restricted)):  # either order, as lavTestLRT sorts by df
        assert_matches_lrt(satorra_2000_test(a, b), row, internals)
    assert scaled_difference_test(free, restricted) == pytest.approx(satorra_2000_test(free, restricted), nan_ok=True)


def test_a_skipped_step_follows_lavtestlrt():
    row = lavaan("school")["lrt.configural.scalar"]["rows"][1]
    assert row["model"] == "scalar" and row["Df diff"] == 30
    assert_matches_lrt(satorra_2000_test(step_fit("configural"), step_fit("scalar")), row)


@pytest.mark.parametrize("restricted", ["uncorrelated.speed", "one.factor"])
def test_single_group_nested_models_follow_lavtestlrt(restricted):
    ref = lavaan("single")
    for name in ("cfa", restricted):
        assert single_fit(name).fit_measures["chisq"] == pytest.approx(ref["fits"][name]["chisq"], rel=REL)
    row = ref["lrt"][restricted]["rows"][1]
    internals = next(s for s in ref["satorra.2000"] if s["m0"] == restricted)
    assert_matches_lrt(satorra_2000_test(single_fit(restricted), single_fit("cfa")), row, internals)


def test_invariance_reproduces_lavaans_steps_and_lrt_table():
    ref = lavaan("school")
    result = analysis()
    assert list(result.table.index) == list(ref["steps"]) == list(ORDERED_STEPS)
    assert result.measures == {"chisq": "chisq.scaled", "df": "df", "pvalue": "pvalue.scaled", "cfi": "cfi.scaled",
                               "tli": "tli.scaled", "rmsea": "rmsea.scaled", "srmr": "srmr"}  # fmt: skip
    for step, lrt in zip(ref["steps"], ref["lrt"]["rows"], strict=True):
        row, measures = result.table.loc[step], ref["fits"][step]
        for column, name in result.measures.items():
            assert row[column] == pytest.approx(measures[name], rel=REL), (step, column)
        if lrt["Chisq diff"] is None:
            assert pd.isna(row["chisq.diff"]) and pd.isna(row["pvalue.diff"])
            continue
        assert row["chisq.diff"] == pytest.approx(lrt["Chisq diff"], rel=REL)
        assert row["df.diff"] == lrt["Df diff"]
        assert row["pvalue.diff"] == pytest.approx(lrt["Pr(>Chisq)"], rel=REL)
        previous = result.table.index[result.table.index.get_loc(step) - 1]
        assert row["cfi.diff"] == pytest.approx(measures["cfi.scaled"] - ref["fits"][previous]["cfi.scaled"], rel=REL)
    assert difference_test(result.fits["thresholds"], result.fits["configural"])["chisq.diff"] == pytest.approx(
        ref["lrt"]["rows"][1]["Chisq diff"], rel=REL
    )


def test_robust_indices_missing_in_a_step_fall_back_to_scaled_ones_for_all():
    # lavaan 0.6.14 has no cfi.robust once thresholds are equal: every step then shows the scaled indices.
    ref = lavaan("school")["fits"]
    assert ref["configural"]["cfi.robust"] is not None
    assert ref["thresholds"]["cfi.robust"] is None and ref["scalar"]["cfi.robust"] is None
    result = analysis()
    assert np.isnan(result.fits["thresholds"].fit_measures["cfi.robust"])
    assert result.table.loc["configural", "cfi"] == pytest.approx(ref["configural"]["cfi.scaled"], rel=REL)
    assert "scaled ones for every step" in result.summary()
    alone = iasem.invariance(lavaan("school")["syntax"], DATA, "school", ordered=ITEMS, steps=["configural"])
    assert alone.measures["cfi"] == "cfi.robust"
    assert alone.table.loc["configural", "cfi"] == pytest.approx(ref["configural"]["cfi.robust"], rel=REL)
    assert "scaled ones for every step" not in alone.summary()


def test_ordered_steps_are_wu_estabrooks_where_group_equal_can_write_them():
    ref = lavaan("school")
    we = ref["wu.estabrook"]["fits"]
    scalar = step_fit("scalar").fit_measures
    # lavaan's thresholds + loadings (intercepts fixed at 0, latent means free) is W&E's scalar model ...
    assert scalar["chisq"] == pytest.approx(we["thresholds.loadings.intercepts"]["chisq"], rel=REL)
    assert scalar["df"] == we["thresholds.loadings.intercepts"]["df"]
    # ... but lavaan's "thresholds" also holds the intercepts (at 0): 3p - m = 24 more df, not W&E's 2p = 18.
    thresholds = step_fit("thresholds").fit_measures
    assert thresholds["df"] - ref["fits"]["configural"]["df"] == 24
    assert we["thresholds"]["df"] - we["configural"]["df"] == 18
    assert "x1 ~ c(0, NA)*1" in ref["wu.estabrook"]["syntax"]["thresholds"]
    assert ORDERED_STEPS["thresholds"] == ("thresholds", "intercepts")
    assert ORDERED_STEPS["scalar"] == ("thresholds", "intercepts", "loadings")
    assert analysis().table["equal"].tolist() == [
        "(none)",
        "thresholds, intercepts",
        "thresholds, intercepts, loadings",
    ]
    with pytest.raises(IasemError, match="available for ordered items: configural, thresholds, scalar"):
        iasem.invariance(ref["syntax"], DATA, "school", ordered=ITEMS, steps=["configural", "metric"])


def test_equal_df_give_the_plain_difference_and_no_pvalue():
    fit = step_fit("thresholds")
    test = satorra_2000_test(fit, fit)
    assert test["df.diff"] == 0 and test["chisq.diff"] == 0
    assert math.isnan(test["pvalue.diff"]) and math.isnan(test["scaling.factor.diff"])


def test_fits_of_other_data_or_estimators_are_refused():
    with pytest.raises(IasemError, match="different estimators"):
        difference_test(step_fit("configural"), iasem.fit(lavaan("school")["syntax"], DATA, group="school"))
    with pytest.raises(IasemError, match="not of the same data"):
        satorra_2000_test(single_fit("cfa"), iasem.fit(lavaan("single")["syntax"]["one.factor"], DATA.iloc[:250],
                                                       ordered=ITEMS))  # fmt: skip
    with pytest.raises(IasemError, match="not of the same data"):
        satorra_2000_test(single_fit("cfa"), step_fit("scalar"))
    with pytest.raises(IasemError, match="two WLSMV results"):
        satorra_2000_test(single_fit("cfa"), iasem.fit(lavaan("single")["syntax"]["cfa"], DATA))


def test_models_that_are_not_nested_are_refused():
    # The "restricted" model spans the whole parameter space of the other: no constraint is left to test.
    rng = np.random.default_rng(1)
    delta = rng.normal(size=(10, 4))
    gamma = np.diag(rng.uniform(0.5, 1.5, size=10))
    with pytest.raises(IasemError, match="not nested"):
        satorra_2000(20.0, 7.0, 10.0, 6.0, [delta], [delta @ rng.normal(size=(4, 4))], [1 / np.diag(gamma)], [gamma],
                     [100])  # fmt: skip
