"""The batched bootstrap engine (iasem/engine/batched.py) against the per-draw refits it replaces.

Every replicate of the batched Fisher scoring must equal the single fit (``estimate.minimise`` or ``ls.fit`` with
the bootstrap tolerances, from the same start) to 1e-6, the same replicates must fail, and ``iasem.fit(...,
bootstrap=B, seed=s)`` must give the same results whether the refits run batched or one by one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import iasem
from iasem import sem
from iasem.engine import batched, bootstrap, ls
from iasem.engine.estimate import Parameters, free_positions, group_parameters, parameters, start_values
from iasem.engine.lisrel import represent
from iasem.engine.sample_stats import SampleStats, model_columns, sample_stats
from iasem.errors import IasemError
from iasem.syntax import parse_model, partable, variable_roles
from tests.conftest import HS39, MEDIATION, POLDEM

FIXTURES = Path(__file__).parent / "fixtures" / "lavaan"
# A path model with fixed exogenous covariates (fixed.x): each replicate has its own fixed values.
FIXED_X = "y1 ~ x1 + x2\ny2 ~ y1 + x1"


@pytest.fixture(scope="module")
def poldem() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "political_democracy.csv")


@pytest.fixture(scope="module")
def hs39() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "holzinger_swineford_1939.csv")


def _model(syntax: str, data: pd.DataFrame, estimator: str):
    """What ``_fit_single`` builds for a complete-data fit: the table, parameters, data and the estimate."""
    formulas = parse_model(syntax)
    roles = variable_roles(formulas)
    table = partable(formulas)
    complete = model_columns(data, roles.ov).dropna()
    stats = sample_stats(data, roles.ov)
    if estimator in ls.ESTIMATORS:
        stats = ls.unbiased(stats)
    rep = represent(table, roles.ov, meanstructure=False)
    params = parameters(rep, table, stats)
    optimum = sem._estimate(params, stats, start_values(params, stats), estimator)
    assert optimum.converged
    return table, params, complete, optimum.state.x


def _single_fits(table, params: Parameters, complete: pd.DataFrame, x_hat, estimator: str, indices,
                 **tolerances) -> list[np.ndarray | None]:  # fmt: skip
    """The per-draw refits, written out as ``sem._refitter`` does them (None where a refit fails)."""
    values, names = complete.to_numpy(dtype=float), list(complete.columns)
    position, _ = free_positions(table)
    fixed_x = bool(((table["exo"] == 1) & (table["free"] == 0)).any())
    out = []
    for rows in indices:
        sample = values[rows]
        mean = sample.mean(axis=0)
        centred = sample - mean
        stats = SampleStats(names, len(rows), centred.T @ centred / len(rows), mean)
        if estimator in ls.ESTIMATORS:
            stats = ls.unbiased(stats)
        boot_params = group_parameters(params.rep, stats, position, params.n_free) if fixed_x else params
        try:
            optimum = sem._estimate(boot_params, stats, x_hat, estimator, **tolerances)
        except np.linalg.LinAlgError:
            out.append(None)
            continue
        out.append(optimum.state.x if optimum.converged else None)
    return out


def _batched_fits(table, params: Parameters, complete: pd.DataFrame, x_hat, estimator: str, indices,
                  **tolerances) -> batched.BatchFit:  # fmt: skip
    values, names = complete.to_numpy(dtype=float), list(complete.columns)
    cov, mean = batched.sample_moments(values, indices, unbiased=estimator in ls.ESTIMATORS)
    fixed_x = bool(((table["exo"] == 1) & (table["free"] == 0)).any())
    fixed = batched.fixed_values(params, names, cov, mean) if fixed_x else None
    return batched.minimise(params, cov, x_hat, estimator, fixed=fixed, **tolerances)


def _assert_same(single: list[np.ndarray | None], fitted: batched.BatchFit) -> None:
    failed = np.array([x is None for x in single])
    np.testing.assert_array_equal(fitted.failed, failed)
    for b in np.flatnonzero(~failed):
        np.testing.assert_allclose(fitted.x[b], single[b], rtol=0, atol=1e-6, err_msg=f"replicate {b}")


CASES = [
    pytest.param(MEDIATION, "poldem", "ML", id="mediation-ML"),
    pytest.param(MEDIATION, "poldem", "GLS", id="mediation-GLS"),
    pytest.param(MEDIATION, "poldem", "ULS", id="mediation-ULS"),
    pytest.param(HS39, "hs39", "ML", id="hs39-ML"),
    pytest.param(HS39, "hs39", "GLS", id="hs39-GLS"),
    pytest.param(HS39, "hs39", "ULS", id="hs39-ULS"),
    pytest.param(POLDEM, "poldem", "ML", id="poldem-equal-loadings-ML"),
    pytest.param(FIXED_X, "poldem", "ML", id="fixed-x-ML"),
]


@pytest.mark.parametrize(("syntax", "dataset", "estimator"), CASES)
def test_every_replicate_equals_its_single_fit(syntax, dataset, estimator, request):
    data = request.getfixturevalue(dataset)
    table, params, complete, x_hat = _model(syntax, data, estimator)
    assert batched.supported(params, estimator)
    indices = np.random.default_rng(1).integers(0, len(complete), size=(60, len(complete)))
    single = _single_fits(table, params, complete, x_hat, estimator, indices, **sem.BOOTSTRAP_TOLERANCES)
    fitted = _batched_fits(table, params, complete, x_hat, estimator, indices, **sem.BOOTSTRAP_TOLERANCES)
    _assert_same(single, fitted)


def test_failures_are_the_single_fits_failures(poldem):
    # GLS on the mediation model: some resamples fail to converge (per draw and batched alike).
    table, params, complete, x_hat = _model(MEDIATION, poldem, "GLS")
    indices = np.random.default_rng(1).integers(0, len(complete), size=(200, len(complete)))
    single = _single_fits(table, params, complete, x_hat, "GLS", indices, **sem.BOOTSTRAP_TOLERANCES)
    fitted = _batched_fits(table, params, complete, x_hat, "GLS", indices, **sem.BOOTSTRAP_TOLERANCES)
    assert fitted.failed.any() and not fitted.failed.all()
    _assert_same(single, fitted)


def test_too_few_iterations_fail_as_single_fits_do(hs39):
    table, params, complete, x_hat = _model(HS39, hs39, "ML")
    indices = np.random.default_rng(3).integers(0, len(complete), size=(30, len(complete)))
    tolerances = {**sem.BOOTSTRAP_TOLERANCES, "max_iter": 3}
    single = _single_fits(table, params, complete, x_hat, "ML", indices, **tolerances)
    fitted = _batched_fits(table, params, complete, x_hat, "ML", indices, **tolerances)
    assert fitted.failed.any()
    _assert_same(single, fitted)


def test_tight_tolerances_and_chunks(poldem, monkeypatch):
    # Default (tight) tolerances, from the start values, with at most 6 replicates iterating at once.
    table, params, complete, _ = _model(MEDIATION, poldem, "ML")
    monkeypatch.setattr(batched, "_CHUNK_BYTES", 6 * 8 * 2 * (params.n_free + len(params.rep.rows)) * 11**2)
    values = complete.to_numpy(dtype=float)
    indices = np.random.default_rng(5).integers(0, len(complete), size=(20, len(complete)))
    x0 = start_values(params, sample_stats(poldem, list(complete.columns)))
    single = _single_fits(table, params, complete, x0, "ML", indices)
    cov, _ = batched.sample_moments(values, indices)
    _assert_same(single, batched.minimise(params, cov, x0, "ML"))


def test_a_start_without_positive_definite_sigma_fails(poldem):
    _, params, complete, x_hat = _model(MEDIATION, poldem, "ML")
    values = complete.to_numpy(dtype=float)
    cov, _ = batched.sample_moments(values, np.tile(np.arange(len(values)), (3, 1)))
    starts = np.tile(x_hat, (3, 1))
    starts[1, :] = -1.0  # negative variances everywhere: Sigma is not positive definite
    fitted = batched.minimise(params, cov, starts, "ML", **sem.BOOTSTRAP_TOLERANCES)
    assert fitted.failed.tolist() == [False, True, False]
    np.testing.assert_allclose(fitted.x[0], x_hat, atol=1e-6)


def test_singular_i_minus_b_is_flagged_not_raised():
    # y1 ~ y2 and y2 ~ y1 both 1: I - B = [[1, -1], [-1, 1]] is singular (lisrel.fill would raise).
    formulas = parse_model("y1 ~ y2\ny2 ~ y1")
    table = partable(formulas)
    rep = represent(table, variable_roles(formulas).ov, meanstructure=False)
    values = np.tile(rep.rows["ustart"].to_numpy(dtype=float), (2, 1))
    values[np.isnan(values)] = 0.5
    k, _, _ = rep.locations["beta"]
    values[1, k] = 1.0
    mats, singular = batched.fill(rep, values)
    assert singular.tolist() == [False, True]
    assert np.all(np.isfinite(mats["ib_inv"][0])) and np.all(np.isnan(mats["ib_inv"][1]))


def test_matrices_and_derivatives_match_lisrel(poldem):
    from iasem.engine.lisrel import derivatives, fill

    _, params, _, x_hat = _model(POLDEM, poldem, "ML")
    rng = np.random.default_rng(0)
    xs = x_hat + 0.01 * rng.standard_normal((4, params.n_free))
    values = np.array([params.row_values(x) for x in xs])
    mats, singular = batched.fill(params.rep, values)
    assert not singular.any()
    rows = np.arange(len(params.rep.rows))
    sigma, (big_p, big_q, unit) = batched.implied_cov(mats), batched.rank_two_factors(params.rep, mats, rows)
    # dSigma_r = P_r Q_r' + Q_r P_r', with P_r a unit vector where ``unit`` says so.
    outer = np.einsum("bir,bjr->brij", big_p, big_q)
    d_sigma = outer + np.swapaxes(outer, 2, 3)
    np.testing.assert_array_equal(big_p[:, unit[unit >= 0], np.flatnonzero(unit >= 0)], 1.0)
    for b in range(4):
        single = fill(params.rep, values[b])
        np.testing.assert_allclose(sigma[b], single.implied_cov(), rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(d_sigma[b], derivatives(params.rep, single)[0], rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize(
    ("syntax", "dataset", "kwargs"),
    [
        pytest.param(MEDIATION, "poldem", {}, id="mediation-ML"),
        pytest.param(MEDIATION, "poldem", {"ci": "bca"}, id="mediation-ML-bca"),
        pytest.param(MEDIATION, "poldem", {"estimator": "GLS"}, id="mediation-GLS"),
        pytest.param(HS39, "hs39", {"estimator": "ULS"}, id="hs39-ULS"),
        pytest.param(FIXED_X, "poldem", {}, id="fixed-x-ML"),
    ],
)
def test_fit_gives_the_per_draw_results(syntax, dataset, kwargs, request, monkeypatch):
    data = request.getfixturevalue(dataset)
    calls = []
    minimise = batched.minimise
    monkeypatch.setattr(batched, "minimise", lambda *a, **k: calls.append(1) or minimise(*a, **k))
    new = iasem.fit(syntax, data, bootstrap=200, seed=1, **kwargs)
    assert calls  # the draws were refitted batched
    monkeypatch.setattr(batched, "ENABLED", False)
    old = iasem.fit(syntax, data, bootstrap=200, seed=1, **kwargs)
    assert new.warnings == old.warnings
    assert new.boot.shape == old.boot.shape
    np.testing.assert_allclose(new.boot.to_numpy(), old.boot.to_numpy(), rtol=0, atol=1e-6)
    numeric = ["est", "se", "z", "pvalue", "ci.lower", "ci.upper"]
    np.testing.assert_allclose(new.params[numeric].to_numpy(dtype=float), old.params[numeric].to_numpy(dtype=float),
                               rtol=0, atol=1e-6, equal_nan=True)  # fmt: skip


def test_draw_batched_draws_the_same_resamples():
    seen: list[np.ndarray] = []

    def refit(rows: np.ndarray) -> np.ndarray:
        seen.append(rows.copy())
        return np.array([rows.mean(), rows[0]])

    def refit_batch(indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        refit_batch.indices = indices
        return np.column_stack([indices.mean(axis=1), indices[:, 0]]), np.zeros(len(indices), dtype=bool)

    for sizes in (40, [15, 25]):
        seen.clear()
        one = bootstrap.draw(sizes, 50, refit, 11)
        many = bootstrap.draw_batched(sizes, 50, refit_batch, 11)
        np.testing.assert_array_equal(refit_batch.indices, np.array(seen))
        np.testing.assert_array_equal(one.draws, many.draws)
        assert (many.attempted, many.failed_draws, many.seed) == (50, (), 11)


def test_jackknife_batched_equals_the_per_row_jackknife(poldem):
    table, params, complete, x_hat = _model(MEDIATION, poldem, "ML")
    refit = sem._refitter(table, params.rep, params, complete, "ML", x_hat)
    assert refit.batch is not None
    per_row = bootstrap.jackknife(len(complete), refit)
    together = bootstrap.jackknife_batched(len(complete), refit.batch)
    assert together.shape == per_row.shape == (len(complete), params.n_free + 2)
    np.testing.assert_allclose(together, per_row, rtol=0, atol=1e-6)

    def all_fail(indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros((len(indices), 1)), np.ones(len(indices), dtype=bool)

    with pytest.raises(IasemError, match="all 5 leave-one-out refits failed"):
        bootstrap.jackknife_batched(5, all_fail)


def test_draw_batched_drops_flagged_and_non_finite_draws():
    def refit_batch(indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        values = np.column_stack([indices.mean(axis=1), indices[:, 0].astype(float)])
        values[2, 1] = np.nan
        failed = np.zeros(len(indices), dtype=bool)
        failed[[0, 5]] = True
        return values, failed

    result = bootstrap.draw_batched(20, 10, refit_batch, 1)
    assert result.failed_draws == (0, 2, 5) and result.draws.shape == (7, 2)

    def all_fail(indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros((len(indices), 1)), np.ones(len(indices), dtype=bool)

    with pytest.raises(IasemError, match="only 0 of 10 bootstrap draws succeeded"):
        bootstrap.draw_batched(20, 10, all_fail, 1)
    with pytest.raises(IasemError, match="at least 2 draws"):
        bootstrap.draw_batched(20, 1, all_fail, 1)


def test_unsupported_models_are_refused(hs39):
    formulas = parse_model(HS39)
    roles = variable_roles(formulas)
    table = partable(formulas, meanstructure=True)
    stats = sample_stats(hs39, roles.ov)
    params = parameters(represent(table, roles.ov, meanstructure=True), table, stats)
    assert not batched.supported(params, "ML")
    with pytest.raises(ValueError, match="cannot fit"):
        batched.minimise(params, stats.cov[None], start_values(params, stats))
    _, params, _, _ = _model(HS39, hs39, "ML")
    assert not batched.supported(params, "WLSMV")
