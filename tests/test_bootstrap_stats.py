"""iasem.engine.bootstrap: resampling, lavaan's bootstrap standard errors and percentile intervals, BCa.

- lavaan 0.6.14: tests/fixtures/lavaan/bootstrap_intervals.json (made by make_bootstrap_fixtures.R) holds
  lavaan's own bootstrap draws of the political-democracy mediation model with what parameterEstimates()
  reports from them, and lavaan's quantile helper ``norm.inter`` on fixed vectors. Same draws in, same
  numbers out, up to rounding (1e-14).
- scipy.stats.bootstrap(method="BCa"): ``draw`` reproduces scipy's resamples exactly given the same Generator,
  so with scipy's quantile rule (``rule="linear"``) the intervals agree to rounding, not Monte Carlo error.
  With lavaan's quantile rule the difference is bounded by the spacing of the order statistics around the
  BCa levels, checked as such.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.stats as st

from iasem.engine import bootstrap as bs
from iasem.errors import IasemError

FIXTURE = Path(__file__).parent / "fixtures" / "lavaan" / "bootstrap_intervals.json"
# The fixture's doubles are exact; only R's qnorm vs scipy's ndtri and summation order differ, so the numbers
# agree to rounding on the scale of the draws (an end near 0 is compared on that scale, not relative to itself).
ROUNDING = 1e-14


def _close(got, expected, draws, what: str) -> None:
    scale = float(np.max(np.abs(draws)))
    np.testing.assert_allclose(got, expected, rtol=ROUNDING, atol=ROUNDING * scale, err_msg=what)


@pytest.fixture(scope="module")
def lavaan_ref() -> dict:
    return json.loads(FIXTURE.read_text())


def _number(v: float | str) -> float:
    return float("nan") if v == "NA" else float(v)


def _poldem_columns(ref: dict) -> list[tuple[str, dict]]:
    return [("free", c) for c in ref["poldem"]["free"]] + [("defined", c) for c in ref["poldem"]["defined"]]


# ---------------------------------------------------------------------------------------------------------------
# lavaan 0.6.14
# ---------------------------------------------------------------------------------------------------------------


def test_norm_inter_matches_lavaan(lavaan_ref):
    for case in lavaan_ref["norm_inter"]:
        t = np.array([_number(v) for v in case["t"]])
        got = bs.quantile_norm_inter(t, case["alpha"])
        _close(got, case["value"], t[np.isfinite(t)], case["name"])


def test_percentile_interval_matches_lavaan(lavaan_ref):
    for _, col in _poldem_columns(lavaan_ref):
        draws = np.array(col["draws"])
        for level, key in ((0.95, "perc_95"), (0.90, "perc_90")):
            lower, upper = bs.percentile_interval(draws, level)
            _close([lower[0], upper[0]], col[key], draws, f"{col['name']} {key}")


def test_percentile_interval_columns_at_once(lavaan_ref):
    cols = [c for _, c in _poldem_columns(lavaan_ref)]
    draws = np.column_stack([c["draws"] for c in cols])
    lower, upper = bs.percentile_interval(draws, 0.95)
    _close(np.column_stack([lower, upper]), [c["perc_95"] for c in cols], draws, "all columns")


def test_bca_without_acceleration_is_lavaans_bca_simple(lavaan_ref):
    for _, col in _poldem_columns(lavaan_ref):
        lower, upper = bs.bca_interval(np.array(col["draws"]), [col["estimate"]], None, 0.95, ties="strict")
        _close([lower[0], upper[0]], col["bca_simple_95"], col["draws"], col["name"])


def test_se_matches_lavaan(lavaan_ref):
    # lavaan: free parameters sd with divisor B (ML), defined parameters sd with divisor B - 1.
    for kind, col in _poldem_columns(lavaan_ref):
        got = bs.se(np.array(col["draws"]), ddof=0 if kind == "free" else 1)[0]
        assert got == pytest.approx(col["se"], rel=ROUNDING), col["name"]
    free = lavaan_ref["poldem"]["free"][0]
    assert bs.se(np.array(free["draws"]), ddof=1)[0] != pytest.approx(free["se"], rel=1e-4)  # the divisor matters


# ---------------------------------------------------------------------------------------------------------------
# scipy.stats.bootstrap(method="BCa")
# ---------------------------------------------------------------------------------------------------------------

N, B, SEED = 40, 2000, 5
_sample = np.random.default_rng(11)
X = _sample.gamma(2.0, size=N)  # skewed, so that z0 and a are not ~0
Y = 0.6 * X + _sample.normal(size=N)


def _corr(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
    ac, bc = a - a.mean(axis, keepdims=True), b - b.mean(axis, keepdims=True)
    return (ac * bc).sum(axis) / np.sqrt((ac**2).sum(axis) * (bc**2).sum(axis))


STATISTICS = {
    "mean": (lambda s, axis=-1: np.mean(s, axis=axis), lambda i: np.array([X[i].mean()])),
    "variance": (lambda s, axis=-1: np.var(s, axis=axis, ddof=1), lambda i: np.array([np.var(X[i], ddof=1)])),
    "correlation": (_corr, lambda i: np.array([_corr(X[i], Y[i])])),
}


@pytest.fixture(scope="module", params=list(STATISTICS))
def scipy_case(request):
    statistic, refit = STATISTICS[request.param]
    data, paired = ((X, Y), True) if request.param == "correlation" else ((X,), False)
    res = st.bootstrap(data, statistic, paired=paired, n_resamples=B, method="BCa", rng=np.random.default_rng(SEED))
    draws = bs.draw(N, B, refit, np.random.default_rng(SEED))
    jack = bs.jackknife(N, refit)
    return res, draws, jack, refit(np.arange(N))


def test_draw_reproduces_scipys_resamples(scipy_case):
    res, draws, _, _ = scipy_case
    assert draws.attempted == B and draws.failed == 0 and draws.seed is None
    np.testing.assert_array_equal(draws.draws[:, 0], res.bootstrap_distribution)


def test_bca_matches_scipy(scipy_case):
    res, draws, jack, estimate = scipy_case
    lower, upper = bs.bca_interval(draws, estimate, jack, 0.95, rule="linear")
    ci = res.confidence_interval
    np.testing.assert_allclose([lower[0], upper[0]], [ci.low, ci.high], rtol=1e-13)
    # Both corrections matter far beyond that tolerance: without acceleration, and without either.
    no_a = bs.bca_interval(draws, estimate, None, 0.95, rule="linear")
    neither = bs.percentile_interval(draws, 0.95, rule="linear")
    for other in (no_a, neither):
        assert np.max(np.abs(np.r_[lower, upper] - np.r_[other]) / np.abs(np.r_[lower, upper])) > 1e-5


def test_bca_with_lavaans_quantile_rule_stays_within_one_order_statistic_spacing(scipy_case):
    # Same draws, z0 and a; only the quantile rule differs. At level alpha' type 7 interpolates between order
    # statistics h = (B - 1) alpha' and h + 1 (0-based), norm.inter between (B + 1) alpha' - 1 and (B + 1) alpha'
    # (0-based, truncated): both lie between the sorted draws t[lo] and t[hi] below.
    res, draws, jack, estimate = scipy_case
    lower, upper = bs.bca_interval(draws, estimate, jack, 0.95)
    t = np.sort(draws.draws[:, 0])
    z0, a = bs.bias_correction(draws, estimate)[0], bs.acceleration(jack)[0]
    for ours, theirs, z in ((lower[0], res.confidence_interval.low, st.norm.ppf(0.025)),
                            (upper[0], res.confidence_interval.high, st.norm.ppf(0.975))):  # fmt: skip
        level = st.norm.cdf(z0 + (z0 + z) / (1 - a * (z0 + z)))
        lo = min(int((B - 1) * level), int((B + 1) * level) - 1)
        hi = max(int((B - 1) * level) + 1, int((B + 1) * level))
        assert t[lo] <= ours <= t[hi] and t[lo] <= theirs <= t[hi]
        assert abs(ours - theirs) <= t[hi] - t[lo]


def test_acceleration_with_groups_matches_scipy_two_samples():
    # Two independent samples (lavaan's groups): scipy's multi-sample acceleration, fed scipy's own draws.
    x, y = X[:25], Y[25:] + 1.0
    res = st.bootstrap((x, y), lambda a, b, axis=-1: a.mean(axis) - b.mean(axis), n_resamples=B, method="BCa",
                       rng=np.random.default_rng(SEED))  # fmt: skip
    z = np.concatenate([x, y])

    def refit(i: np.ndarray) -> np.ndarray:
        return np.array([z[i[i < 25]].mean() - z[i[i >= 25]].mean()])

    jack = bs.jackknife([25, 15], refit)
    lower, upper = bs.bca_interval(res.bootstrap_distribution, refit(np.arange(40)), jack, 0.95, groups=[25, 15],
                                   rule="linear")  # fmt: skip
    np.testing.assert_allclose([lower[0], upper[0]], res.confidence_interval, rtol=1e-13)
    assert bs.acceleration(jack, [25, 15])[0] != pytest.approx(bs.acceleration(jack)[0], rel=1e-3)


def test_acceleration_formula():
    jack = np.array([[0.0], [0.0], [1.0]])  # d = (1/3, 1/3, -2/3)
    assert bs.acceleration(jack)[0] == pytest.approx((2 / 27 - 8 / 27) / (6 * (6 / 9) ** 1.5), rel=1e-15)
    assert bs.acceleration(np.array([1.0, 2.0, 3.0]))[0] == 0.0  # symmetric
    assert bs.acceleration(np.ones((5, 1)))[0] == 0.0  # no spread: 0, not NaN
    with_failure = np.array([[0.0], [np.nan], [0.0], [1.0]])  # a failed leave-one-out refit is skipped
    assert bs.acceleration(with_failure)[0] == pytest.approx(bs.acceleration(jack)[0], rel=1e-15)


# ---------------------------------------------------------------------------------------------------------------
# Sanity: the mean of normal data
# ---------------------------------------------------------------------------------------------------------------


def test_bca_for_a_normal_mean_is_close_to_the_t_interval():
    n, draws = 200, 20_000
    x = np.random.default_rng(101).normal(10.0, 3.0, n)

    def refit(i: np.ndarray) -> np.ndarray:
        return np.array([x[i].mean()])

    boot = bs.draw(n, draws, refit, 1)
    lower, upper = bs.bca_interval(boot, [x.mean()], bs.jackknife(n, refit), 0.95)
    se_t = x.std(ddof=1) / np.sqrt(n)
    t_q, z_q = st.t.ppf(0.975, n - 1), st.norm.ppf(0.975)
    # Expected gap: the bootstrap works with the plug-in sd (divisor n) and normal, not t, quantiles, so its
    # ends sit (t_q - z_q sqrt((n-1)/n)) se inwards; plus Monte Carlo error of the 2.5 % quantile,
    # sqrt(p (1 - p) / B) / phi(z_q) se, and of z0 (sd sqrt(pi / (2B)), entering twice: alpha' ~ Phi(2 z0 + z)).
    inwards = (t_q - z_q * np.sqrt((n - 1) / n)) * se_t
    mc_sd = np.hypot(np.sqrt(0.025 * 0.975 / draws) / st.norm.pdf(z_q), 2 * np.sqrt(np.pi / (2 * draws))) * se_t
    assert abs(lower[0] - (x.mean() - t_q * se_t) - inwards) < 4 * mc_sd
    assert abs(upper[0] - (x.mean() + t_q * se_t) + inwards) < 4 * mc_sd
    assert 4 * mc_sd < 0.06 * t_q * se_t  # i.e. the two intervals agree to within 6 % of the half-width


def test_bca_without_bias_and_acceleration_is_the_percentile_interval():
    draws = np.random.default_rng(3).normal(size=(400, 3)) ** 3  # skewed columns
    estimate = np.median(draws, axis=0)  # between the two middle draws: z0 = 0 exactly
    jack = np.tile([[1.0], [2.0], [3.0]], (1, 3))  # symmetric: a = 0 exactly
    assert np.all(bs.bias_correction(draws, estimate) == 0) and np.all(bs.acceleration(jack) == 0)
    for rule in ("norm_inter", "linear"):
        np.testing.assert_allclose(bs.bca_interval(draws, estimate, jack, 0.9, rule=rule),
                                   bs.percentile_interval(draws, 0.9, rule=rule), rtol=1e-12)  # fmt: skip


# ---------------------------------------------------------------------------------------------------------------
# Drawing: seeds, failures
# ---------------------------------------------------------------------------------------------------------------


def _sum_refit(i: np.ndarray) -> np.ndarray:
    return np.array([i.sum(), i.min()], dtype=float)


def test_seed_reproducibility():
    first, again = bs.draw(30, 50, _sum_refit, 7), bs.draw(30, 50, _sum_refit, 7)
    np.testing.assert_array_equal(first.draws, again.draws)
    assert first.seed == 7 and first.draws.shape == (50, 2)
    assert not np.array_equal(first.draws, bs.draw(30, 50, _sum_refit, 8).draws)
    fresh = bs.draw(30, 50, _sum_refit, None)  # a fresh seed is recorded and repeats the draws
    assert isinstance(fresh.seed, int)
    np.testing.assert_array_equal(fresh.draws, bs.draw(30, 50, _sum_refit, fresh.seed).draws)
    np.testing.assert_array_equal(bs.draw(30, 50, _sum_refit, np.random.default_rng(7)).draws, first.draws)


def test_failed_draws_are_dropped_and_counted():
    calls = []

    def flaky(i: np.ndarray) -> np.ndarray | None:
        calls.append(len(calls))
        if calls[-1] in (3, 7):
            return None  # did not converge
        values = _sum_refit(i)
        return values * np.nan if calls[-1] == 9 else values  # a non-finite estimate

    result = bs.draw(30, 20, flaky, 7)
    assert (result.attempted, result.failed, result.successful, result.failed_draws) == (20, 3, 17, (3, 7, 9))
    # The failures do not shift the random stream: the other draws are those of a run without failures.
    full = bs.draw(30, 20, _sum_refit, 7).draws
    np.testing.assert_array_equal(result.draws, np.delete(full, [3, 7, 9], axis=0))


def test_too_few_successful_draws_raise():
    def mostly_failing(i: np.ndarray) -> np.ndarray | None:
        return _sum_refit(i) if i[0] == -1 else None

    with pytest.raises(IasemError, match=r"only 0 of 10 bootstrap draws succeeded \(10 failed"):
        bs.draw(30, 10, mostly_failing, 1)
    with pytest.raises(IasemError, match="at least 2 draws"):
        bs.draw(30, 1, _sum_refit, 1)
    with pytest.raises(IasemError, match="at least 2 successful draws"):
        bs.se(np.ones((1, 3)))


def test_groups_are_resampled_within_groups():
    seen = []
    bs.draw([5, 3], 200, lambda i: seen.append(i.copy()) or np.zeros(1), 2)
    rows = np.vstack(seen)
    assert rows.shape == (200, 8)
    assert rows[:, :5].max() <= 4 and rows[:, 5:].min() >= 5 and rows[:, 5:].max() <= 7
    assert set(np.unique(rows)) == set(range(8))
    jack_rows = []
    bs.jackknife([5, 3], lambda i: jack_rows.append(i.copy()) or np.zeros(1))
    assert [sorted(set(range(8)) - set(r)) for r in jack_rows] == [[k] for k in range(8)]


# ---------------------------------------------------------------------------------------------------------------
# Degenerate columns
# ---------------------------------------------------------------------------------------------------------------


def test_degenerate_columns():
    rng = np.random.default_rng(4)
    draws = np.column_stack([np.full(100, 0.5), rng.normal(size=100), rng.normal(size=100) + 10])
    jack = rng.normal(size=(20, 3))
    lower, upper = bs.bca_interval(draws, [0.5, 0.0, 0.0], jack, 0.95)
    assert (lower[0], upper[0]) == (0.5, 0.5)  # no variance (a fixed parameter): the estimate
    assert np.isfinite([lower[1], upper[1]]).all()
    assert np.isnan([lower[2], upper[2]]).all()  # every draw above the estimate: z0 = -inf, no interval
    assert bs.bias_correction(draws, [0.5, 0.0, 0.0])[2] == -np.inf
    plower, pupper = bs.percentile_interval(draws, 0.95)
    assert (plower[0], pupper[0]) == (0.5, 0.5)


def test_bca_level_undefined_when_the_acceleration_folds_it():
    # 1 - a (z0 + z_alpha) <= 0 at the lower end: a ~ -1/6 (one outlying jackknife value), z0 + z_alpha ~ -6.4.
    draws = np.arange(1000.0)
    jack = np.r_[np.zeros(999), 1.0]
    estimate = [1.5]  # 2 of 1000 draws below: z0 = Phi^-1(0.002)
    a, z0 = bs.acceleration(jack)[0], bs.bias_correction(draws, estimate)[0]
    z = st.norm.ppf(0.0005)
    assert 1 - a * (z0 + z) < 0 < 1 - a * (z0 - z)
    lower, upper = bs.bca_interval(draws, estimate, jack, 0.999)
    assert np.isnan(lower[0]) and np.isfinite(upper[0])


def test_ties_conventions():
    draws = np.array([0.0, 1.0, 1.0, 1.0, 2.0, 3.0, 1.0, 0.5])
    # strict (Efron & Tibshirani 14.14, lavaan): 2 of 8 below; mid (scipy): (2 + 6) / 16.
    assert bs.bias_correction(draws, [1.0], ties="strict")[0] == pytest.approx(st.norm.ppf(2 / 8), rel=1e-15)
    assert bs.bias_correction(draws, [1.0])[0] == pytest.approx(st.norm.ppf(8 / 16), abs=1e-15)
    # mid ties: the interval of -theta is the mirror image of that of theta.
    jack = np.array([[0.0], [0.3], [1.0], [0.1]])
    lower, upper = bs.bca_interval(draws, [1.0], jack, 0.8, ties="mid")
    nlower, nupper = bs.bca_interval(-draws, [-1.0], -jack, 0.8, ties="mid")
    np.testing.assert_allclose([lower[0], upper[0]], [-nupper[0], -nlower[0]], rtol=1e-14)
