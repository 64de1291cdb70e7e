"""iasem.engine.ordinal against lavaan 0.6.14's sample statistics for ordered data (cfa(..., ordered = ...,
estimator = "WLSMV")): thresholds and polychoric correlations (``lavInspect(fit, "sampstat")``), their asymptotic
covariance matrix Gamma (``"gamma"``), the DWLS weights (``"wls.v"``) and the statistics vector (``"wls.obs"``).
The fixtures are tests/fixtures/lavaan/ordinal_stats_*.json, made by make_ordinal_fixtures.R.

Tolerances (the project's bar is 1e-6 absolute for thresholds and correlations, 1e-4 relative for Gamma and the
weights; these are tighter and never loosened):

- thresholds 1e-10 absolute (both are qnorm of the same proportions);
- correlations 1e-7 absolute: lavaan's nlminb stops about 1e-8 short of the exact ML root that iasem solves for
  (the score l'(rho) is ~1e-8 N at lavaan's value and ~1e-14 N at ours, see test_polychorics_are_exact_roots);
- Gamma and the weights 1e-5 relative (plus 1e-10 absolute for the entries that are 0 up to rounding): the
  remaining difference is that of the correlations; with lavaan's correlations plugged in, Gamma agrees to
  1e-8 relative (test_gamma_formulas_at_lavaans_correlations).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from iasem.engine.ordinal import (
    OrdinalStats,
    bivariate_normal_cdf,
    ordinal_data,
    ordinal_gamma,
    ordinal_stats,
    polychoric,
    thresholds,
)
from iasem.errors import IasemError

FIXTURES = Path(__file__).parent / "fixtures" / "lavaan"
CASES = ["hs39_ordinal5", "hs39_sparse7", "hs39_binary", "hs39_binary_zero_add", "ordinal_tiny"]


def load(case: str) -> tuple[dict, pd.DataFrame]:
    ref = json.loads((FIXTURES / f"ordinal_stats_{case}.json").read_text())
    return ref, pd.read_csv(FIXTURES / ref["data"])


def lavaan_options(ref: dict) -> dict:
    """ordinal_stats keyword arguments for the fixture's lavaan options."""
    o = ref["options"]
    return {"zero_add": tuple(o["zero.add"]), "zero_keep_margins": o["zero.keep.margins"],
            "gamma_n_minus_one": o["gamma.n.minus.one"]}  # fmt: skip


def matrix(block: dict) -> np.ndarray:
    return np.array(block["values"], dtype=float)


@pytest.fixture(scope="module", params=CASES)
def case(request) -> tuple[OrdinalStats, dict, pd.DataFrame]:
    ref, data = load(request.param)
    return ordinal_stats(data, ref["ov.names"], **lavaan_options(ref)), ref, data


def test_fixture_options(case):
    _, ref, _ = case
    o = ref["options"]
    assert ref["versions"]["lavaan"] == "0.6.14"
    assert o["estimator"] == "DWLS" and o["missing"] == "listwise" and o["parameterization"] == "delta"
    assert not o["conditional.x"] and not o["gamma.n.minus.one"] and o["mimic"] == "lavaan"
    assert ref["ordered"] == ref["ov.names"]


def test_names_and_order(case):
    stats, ref, _ = case
    assert stats.n == ref["nobs"]
    assert stats.names == ref["ov.names"]
    assert stats.threshold_names == list(ref["sampstat"]["th"])
    assert stats.stat_names == ref["stat.names"] == ref["wls.obs"]["names"] == ref["gamma"]["rownames"]
    assert len(stats.s) == len(stats.thresholds) + stats.p * (stats.p - 1) // 2


def test_thresholds(case):
    stats, ref, _ = case
    np.testing.assert_allclose(stats.thresholds, list(ref["sampstat"]["th"].values()), rtol=0, atol=1e-10)
    for var, name in zip(stats.threshold_var, stats.threshold_names, strict=True):
        assert name.startswith(stats.names[var] + "|t")


def test_polychoric_correlations(case):
    stats, ref, _ = case
    np.testing.assert_allclose(stats.cor, matrix(ref["sampstat"]["cov"]), rtol=0, atol=1e-7)
    np.testing.assert_array_equal(stats.cor, stats.cor.T)
    np.testing.assert_array_equal(np.diag(stats.cor), 1.0)


def test_statistics_vector(case):
    stats, ref, _ = case
    np.testing.assert_allclose(stats.s, ref["wls.obs"]["values"], rtol=0, atol=1e-7)


def test_gamma(case):
    stats, ref, _ = case
    gamma = matrix(ref["gamma"])
    np.testing.assert_allclose(stats.gamma, gamma, rtol=1e-5, atol=1e-10)
    np.testing.assert_allclose(np.diag(stats.gamma), np.diag(gamma), rtol=1e-7)
    np.testing.assert_allclose(stats.acov * stats.n, stats.gamma, rtol=1e-15)
    np.testing.assert_array_equal(stats.gamma, stats.gamma.T)


def test_dwls_weights(case):
    stats, ref, _ = case
    wls_v = matrix(ref["wls.v"])
    np.testing.assert_array_equal(wls_v, np.diag(np.diag(wls_v)))  # lavaan's DWLS weight matrix is diagonal
    np.testing.assert_allclose(np.diag(wls_v), 1 / np.diag(matrix(ref["gamma"])), rtol=1e-14)
    np.testing.assert_allclose(stats.weights, np.diag(wls_v), rtol=1e-7)
    np.testing.assert_allclose(stats.wls_v, wls_v, rtol=1e-7, atol=0)


def test_zero_cell_tables(case):
    stats, ref, _ = case
    assert stats.zero_cell_pairs == [tuple(pair) for pair in ref["zero.cell.tables"]]


@pytest.mark.parametrize("name", CASES)
def test_gamma_formulas_at_lavaans_correlations(name):
    """With lavaan's (slightly less exact) correlations, the casewise-score sandwich reproduces lavaan's Gamma to
    rounding: the Gamma differences of test_gamma are only those of the correlations."""
    ref, data = load(name)
    od = ordinal_data(data, ref["ov.names"])
    gamma = ordinal_gamma(od, thresholds(od), matrix(ref["sampstat"]["cov"]))
    np.testing.assert_allclose(gamma, matrix(ref["gamma"]), rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("name", ["hs39_ordinal5", "hs39_sparse7"])
def test_polychorics_are_exact_roots(name):
    """iasem's correlations solve the score equation to rounding; lavaan's stop ~1e-8 short (nlminb's tolerance),
    and one Newton step from lavaan's value lands on ours."""
    from iasem.engine.ordinal import _Pairs

    ref, data = load(name)
    od = ordinal_data(data, ref["ov.names"])
    tau = thresholds(od)
    pairs = _Pairs(od, tau)
    ours = polychoric(od, tau).cor[pairs.second, pairs.first]
    theirs = matrix(ref["sampstat"]["cov"])[pairs.second, pairs.first]
    grad, _ = pairs.score_equation(ours, pairs.freq)
    assert np.abs(grad).max() / od.n < 1e-12
    grad, hess = pairs.score_equation(theirs, pairs.freq)
    np.testing.assert_allclose(theirs - grad / hess, ours, rtol=0, atol=1e-12)


# ---------------------------------------------------------------------------------------------------------------
# lavaan's special cases of 2 x 2 tables (ordinal_tiny) and empty cells
# ---------------------------------------------------------------------------------------------------------------
def test_two_by_two_special_cases():
    ref, data = load("ordinal_tiny")
    stats = ordinal_stats(data, ref["ov.names"])
    cor = pd.DataFrame(stats.cor, index=stats.names, columns=stats.names)
    assert stats.thresholds[stats.threshold_names.index("a|t1")] == 0.0
    assert cor.loc["a", "b"] == -math.cos(2 * math.pi * 14 / 40)  # both thresholds 0: closed form
    assert cor.loc["a", "d"] == 0.0  # n11 n22 == n12 n21
    assert cor.loc["a", "f"] == 1.0 and cor.loc["b", "g"] == -1.0  # two empty cells
    # a x c is 20 0 / 8 12: lavaan fits 20.5 -0.5 / 7.5 12.5 (zero.add[1] = 0.5 keeping the margins) ...
    assert cor.loc["a", "c"] == pytest.approx(matrix(ref["sampstat"]["cov"])[0, 2], abs=1e-9)
    # ... which differs from fitting the raw table (whose maximum is at the bound 0.999)
    raw = ordinal_stats(data, ref["ov.names"], zero_add=(0.0, 0.0))
    assert pd.DataFrame(raw.cor, index=raw.names, columns=raw.names).loc["a", "c"] == pytest.approx(0.999, abs=1e-12)
    assert any("two empty cells" in w and "a and f" in w for w in stats.warnings)
    assert any("two empty cells" in w and "b and g" in w for w in stats.warnings)
    assert any("(nearly) 1.0" in w for w in stats.warnings)
    assert any("two empty cells" in w for w in ref["warnings"])


def test_empty_cell_options_change_only_what_lavaan_changes():
    ref, data = load("hs39_binary")
    names = ref["ov.names"]
    default = ordinal_stats(data, names)
    margins_off = ordinal_stats(data, names, zero_keep_margins=False)
    # b1 x b2 (the only 2 x 2 table with an empty cell) moves; the 5 x 5 tables with empty cells do not
    changed = ~np.isclose(default.cor, margins_off.cor, rtol=0, atol=1e-12)
    assert {(names[i], names[j]) for i, j in zip(*np.nonzero(changed), strict=True)} == {("b1", "b2"), ("b2", "b1")}
    assert ("x4", "x5") in default.zero_cell_pairs


def test_gamma_n_minus_one_scales_by_n_over_n_minus_one():
    ref, data = load("hs39_ordinal5")
    a = ordinal_stats(data, ref["ov.names"])
    b = ordinal_stats(data, ref["ov.names"], gamma_n_minus_one=True)
    np.testing.assert_allclose(b.gamma, a.gamma * a.n / (a.n - 1), rtol=1e-14)


# ---------------------------------------------------------------------------------------------------------------
# Invariances and data handling
# ---------------------------------------------------------------------------------------------------------------
def test_variable_order_permutes_the_statistics():
    ref, data = load("hs39_ordinal5")
    names = ref["ov.names"]
    a = ordinal_stats(data, names)
    b = ordinal_stats(data, names[::-1])
    np.testing.assert_allclose(b.cor, a.cor[::-1, ::-1], rtol=0, atol=1e-12)
    index = {name: i for i, name in enumerate(a.stat_names)}

    def canonical(name: str) -> str:
        if "~~" in name:
            x, y = name.split("~~")
            return f"{y}~~{x}" if f"{y}~~{x}" in index else name
        return name

    order = [index[canonical(name)] for name in b.stat_names]
    np.testing.assert_allclose(b.gamma, a.gamma[np.ix_(order, order)], rtol=1e-9, atol=1e-13)


def test_category_codes_are_the_sorted_observed_values():
    ref, data = load("hs39_sparse7")
    od = ordinal_data(data, ref["ov.names"])
    assert od.levels[1] == (1, 2, 4, 5, 6, 7)  # x2: tied 7-tiles leave no 3
    assert od.nlevels.tolist() == [7, 6, 7, 6, 7, 7]
    np.testing.assert_array_equal(np.array(od.levels[1])[od.y[:, 1] - 1], data["x2"])
    # recoding the values (any increasing map) or turning them into an ordered Categorical changes nothing
    recoded = data.assign(x2=data["x2"] * 10.0 - 3, x3=pd.Categorical(data["x3"], categories=range(1, 9), ordered=True))
    a = ordinal_stats(data, ref["ov.names"])
    b = ordinal_stats(recoded, ref["ov.names"])
    np.testing.assert_array_equal(a.thresholds, b.thresholds)
    np.testing.assert_array_equal(a.cor, b.cor)
    np.testing.assert_array_equal(a.gamma, b.gamma)


def test_categorical_order_is_the_categories_order():
    data = pd.DataFrame({"x": ["lo", "mid", "hi", "mid", "lo", "hi", "hi", "mid", "lo", "mid"]})
    data["y"] = [1, 2, 3, 3, 1, 2, 3, 2, 2, 1]
    data["x"] = pd.Categorical(data["x"], categories=["lo", "mid", "hi"], ordered=True)
    od = ordinal_data(data, ["x", "y"])
    assert od.levels[0] == ("lo", "mid", "hi")
    assert od.y[:, 0].tolist() == [1, 2, 3, 2, 1, 3, 3, 2, 1, 2]


def test_listwise_deletion():
    ref, data = load("hs39_ordinal5")
    holes = data.copy()
    holes.loc[[0, 5, 17], "x3"] = np.nan
    holes.loc[[5, 40], "x8"] = np.nan
    holes.loc[[3], "school"] = np.nan  # not a model variable
    a = ordinal_stats(holes, ref["ov.names"])
    b = ordinal_stats(data.drop(index=[0, 5, 17, 40]), ref["ov.names"])
    assert a.n == b.n == ref["nobs"] - 4
    np.testing.assert_array_equal(a.gamma, b.gamma)


def test_fast():
    ref, data = load("hs39_ordinal5")
    ordinal_stats(data, ref["ov.names"])
    start = time.perf_counter()
    ordinal_stats(data, ref["ov.names"])
    assert time.perf_counter() - start < 0.5


# ---------------------------------------------------------------------------------------------------------------
# The bivariate normal distribution function
# ---------------------------------------------------------------------------------------------------------------
def test_bivariate_normal_cdf_identities():
    from scipy.special import ndtr

    rng = np.random.default_rng(7)
    h, k = rng.normal(0, 2, 2000), rng.normal(0, 2, 2000)
    rho = rng.uniform(-0.999, 0.999, 2000)
    # Phi2(h, k; rho) + Phi2(h, -k; -rho) = Phi(h); symmetry in (h, k); rho = 0 is the product
    np.testing.assert_allclose(bivariate_normal_cdf(h, k, rho) + bivariate_normal_cdf(h, -k, -rho), ndtr(h), atol=1e-15)
    np.testing.assert_allclose(bivariate_normal_cdf(h, k, rho), bivariate_normal_cdf(k, h, rho), atol=1e-15)
    np.testing.assert_allclose(bivariate_normal_cdf(h, k, 0.0), ndtr(h) * ndtr(k), atol=1e-15)
    # the quadrant probability and the edges
    r = np.array([-0.9, -0.3, 0.0, 0.5, 0.99])
    np.testing.assert_allclose(bivariate_normal_cdf(0.0, 0.0, r), 0.25 + np.arcsin(r) / (2 * np.pi), atol=1e-16)
    assert bivariate_normal_cdf(np.inf, 0.3, 0.5) == ndtr(0.3)
    assert bivariate_normal_cdf(-0.3, np.inf, 0.5) == ndtr(-0.3)
    assert bivariate_normal_cdf(-np.inf, 0.3, 0.5) == 0.0
    assert bivariate_normal_cdf(1.0, 2.0, 1.0) == ndtr(1.0)
    assert bivariate_normal_cdf(1.0, 2.0, -1.0) == pytest.approx(ndtr(1.0) + ndtr(2.0) - 1.0, abs=1e-16)


def test_bivariate_normal_cdf_against_integration():
    from scipy.integrate import quad
    from scipy.special import ndtr
    from scipy.stats import norm

    for h, k, rho in [(0.3, -1.2, 0.7), (-2.5, -2.0, -0.6), (1.1, 0.0, 0.95), (0.0, 2.0, -0.2), (-0.4, 0.8, 0.999)]:
        s = math.sqrt(1 - rho * rho)
        exact, _ = quad(lambda x, k=k, rho=rho, s=s: norm.pdf(x) * ndtr((k - rho * x) / s), -np.inf, h, epsabs=1e-15)
        assert bivariate_normal_cdf(h, k, rho) == pytest.approx(exact, abs=1e-13)


# ---------------------------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------------------------
@pytest.fixture
def small() -> pd.DataFrame:
    return pd.DataFrame({"a": [1, 2, 3, 1, 2, 3, 2, 1], "b": [1, 1, 2, 2, 2, 1, 2, 1], "c": list("xyzxyzxy")})


def test_error_missing_column(small):
    with pytest.raises(IasemError, match=r"no column.*zz"):
        ordinal_stats(small, ["a", "zz"])


def test_error_not_numeric(small):
    with pytest.raises(IasemError, match="ordered variable c is neither numeric nor categorical"):
        ordinal_stats(small, ["a", "c"])


def test_error_one_category(small):
    with pytest.raises(IasemError, match="ordered variable d has 1 observed category"):
        ordinal_stats(small.assign(d=5), ["a", "d"])
    with pytest.raises(IasemError, match="ordered variable d has 0 observed categories"):
        ordinal_stats(small.assign(d=np.nan), ["a", "d"])


def test_error_category_lost_to_listwise_deletion(small):
    data = small.assign(b=small["b"].astype(float))
    data.loc[data["a"] == 3, "b"] = np.nan
    with pytest.raises(IasemError, match=r"categories of ordered variable a are empty.*\[3 3 0\]"):
        ordinal_stats(data, ["a", "b"])


def test_error_infinite_values(small):
    with pytest.raises(IasemError, match="ordered variable a has infinite values"):
        ordinal_stats(small.assign(a=small["a"].replace(3, np.inf)), ["a", "b"])


def test_error_duplicate_and_no_names(small):
    with pytest.raises(IasemError, match="duplicate variable names: a"):
        ordinal_stats(small, ["a", "b", "a"])
    with pytest.raises(IasemError, match="no variables"):
        ordinal_stats(small, [])


def test_error_mixed_ordered_and_continuous():
    data = pd.read_csv(FIXTURES / "hs39_mixed.csv")
    names = [f"x{i}" for i in range(1, 10)]
    with pytest.raises(IasemError, match=r"mix of ordered and continuous.*not ordered: x1, x2, x3"):
        ordinal_stats(data, names, ordered=names[3:])
    ordinal_stats(data, names[3:], ordered=names)  # the ordered ones alone are fine
