"""iasem.validation.efa against R's psych 2.2.9 (GPArotation 2022.10.2).

The references are tests/fixtures/validation/efa_*.json, written by make_efa_fixtures.R beside them, for
Holzinger & Swineford's x1..x9 and a simulated 12-item Likert data set (efa_likert.csv, with missing answers).

Tolerances:

* 1e-10 where the computation is closed-form or deterministic given the same input: KMO, Bartlett, principal
  components, and every rotated table (loadings, h2, u2, Phi, variance) computed from psych's own uniquenesses.
* psych's minres/ML optimiser (``optim``, L-BFGS-B) stops with a projected gradient near 1e-5, ours near 1e-13.
  ``test_uniquenesses_are_psychs_plus_its_newton_step`` shows that the whole difference is psych's remaining
  gradient: one Newton step from psych's uniquenesses lands on ours, up to the step's second-order remainder.
  End to end, the tables then agree to ``PRINTED`` (5e-4: psych's printed digits, and then some).
* Parallel analysis draws different random numbers than R: the suggested number must be psych's, and the
  simulated means and 95% quantiles must agree within ``Z_MAX`` Monte Carlo standard errors.
"""

from __future__ import annotations

import functools
import importlib
import json

import numpy as np
import pandas as pd
import pytest

from iasem.errors import IasemError
from iasem.validation.efa import (
    EFAResult,
    efa,
    fit_factors,
    fit_uniquenesses,
    ledermann_bound,
    loadings_from_uniquenesses,
    parallel_analysis,
    rotate,
)

from .conftest import REPO

# The module itself (iasem.validation.efa the attribute is the function, exported by the package).
efa_module = importlib.import_module("iasem.validation.efa")

FIXTURES = REPO / "tests" / "fixtures" / "validation"
DATASETS = ("hs39", "likert")
EXACT = 1e-10
PRINTED = 5e-4
Z_MAX = 5.0
PA_ITER = 100  # psych's references used 500 iterations
PA_SEED = 20260415


@functools.cache
def reference(name: str) -> dict:
    return json.loads((FIXTURES / f"efa_{name}.json").read_text(encoding="utf-8"))


@functools.cache
def dataset(name: str) -> pd.DataFrame:
    return pd.read_csv(REPO / reference(name)["data"])


@functools.cache
def complete(name: str) -> np.ndarray:
    return dataset(name)[reference(name)["items"]].dropna().to_numpy(dtype=float)


@functools.cache
def correlation(name: str) -> np.ndarray:
    return np.corrcoef(complete(name), rowvar=False)


@functools.cache
def result(name: str) -> EFAResult:
    return efa(dataset(name), reference(name)["items"], n_factors=3, seed=1, parallel_iter=5)


def fit_cases(methods: tuple[str, ...] = ("minres", "ml", "principal"), *, extraction_only: bool = False) -> list:
    """One case per psych fit; with extraction_only, one per data set, method and number of factors."""
    cases, seen = [], set()
    for name in DATASETS:
        for index, fit in enumerate(reference(name)["fits"]):
            extraction = (name, fit["method"], fit["n_factors"])
            if fit["method"] not in methods or (extraction_only and extraction in seen):
                continue
            seen.add(extraction)
            case_id = f"{name}-{fit['method']}-{fit['rotation']}-{fit['n_factors']}"
            cases.append(pytest.param(name, index, id=case_id))
    return cases


def assert_tables(solution, fit: dict, tol: float) -> None:
    """Loadings, h2, u2, Phi and the variance table of a FactorSolution or EFAResult against psych's."""
    k = fit["n_factors"]
    expected = np.array(fit["loadings"], dtype=float).reshape(-1, k)
    np.testing.assert_allclose(solution.loadings.to_numpy(), expected, rtol=0, atol=tol)
    np.testing.assert_allclose(solution.communalities["h2"].to_numpy(), fit["h2"], rtol=0, atol=tol)
    np.testing.assert_allclose(solution.communalities["u2"].to_numpy(), fit["u2"], rtol=0, atol=tol)
    if fit["phi"] is None:
        assert solution.phi is None
    else:
        np.testing.assert_allclose(solution.phi.to_numpy(), np.array(fit["phi"]), rtol=0, atol=tol)
    for row, values in fit["variance"].items():
        np.testing.assert_allclose(solution.variance.loc[row].to_numpy(), values, rtol=0, atol=tol)


# ---------------------------------------------------------------------------------------------------------------
# Sampling adequacy
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", DATASETS)
def test_kmo_matches_psych(name):
    ref = reference(name)
    kmo = result(name).kmo
    assert list(kmo.index) == [*ref["items"], "overall"]
    np.testing.assert_allclose(kmo.drop("overall").to_numpy(), ref["kmo"]["items"], rtol=0, atol=EXACT)
    assert kmo["overall"] == pytest.approx(ref["kmo"]["overall"], abs=EXACT)


@pytest.mark.parametrize("name", DATASETS)
def test_bartlett_matches_psych(name):
    ref = reference(name)["bartlett"]
    bartlett = result(name).bartlett
    assert bartlett["chisq"] == pytest.approx(ref["chisq"], rel=EXACT)
    assert bartlett["df"] == ref["df"]
    assert bartlett["pvalue"] == pytest.approx(ref["pvalue"], rel=1e-8)


def test_missing_answers_are_deleted_listwise_and_counted():
    ref = reference("likert")
    fitted = result("likert")
    assert (fitted.n_obs, fitted.dropped) == (ref["n_obs"], ref["dropped"])
    items = ref["items"]
    on_complete_rows = efa(dataset("likert")[items].dropna(), items, n_factors=3, seed=1, parallel_iter=5)
    assert on_complete_rows.dropped == 0
    pd.testing.assert_frame_equal(on_complete_rows.loadings, fitted.loadings)


# ---------------------------------------------------------------------------------------------------------------
# Extraction and rotation
# ---------------------------------------------------------------------------------------------------------------
def fit_like_psych(name: str, fit: dict, psi: np.ndarray | None = None):
    """fit_factors on the data set's correlations with the factors, method and rotation of psych's fit ``fit``
    (its uniquenesses ``psi`` given, or our own fitted)."""
    return fit_factors(
        correlation(name),
        fit["n_factors"],
        method=fit["method"],
        rotation=fit["rotation"],
        names=reference(name)["items"],
        psi=psi,
    )


@pytest.mark.parametrize(("name", "index"), fit_cases())
def test_tables_equal_psych_at_psychs_uniquenesses(name, index):
    """Given psych's uniquenesses (none for components), every table is psych's to rounding error: the loadings
    formula, psych's reflections and column order, the rotations (factor_analyzer's Rotator with GPArotation's
    settings; stats::promax for components), Phi, communalities and the variance table."""
    fit = reference(name)["fits"][index]
    psi = None if fit["psi"] is None else np.array(fit["psi"])
    assert_tables(fit_like_psych(name, fit, psi=psi), fit, EXACT)


@pytest.mark.parametrize(("name", "index"), fit_cases(("minres", "ml"), extraction_only=True))
def test_uniquenesses_are_psychs_plus_its_newton_step(name, index):
    fit = reference(name)["fits"][index]
    r, k, method = correlation(name), fit["n_factors"], fit["method"]
    objective = efa_module._uls_fit if method == "minres" else efa_module._ml_fit
    ours, converged = fit_uniquenesses(r, k, method)
    assert converged
    theirs = np.array(fit["psi"])
    # Our solution is at least as good an optimum of psych's fit function as psych's.
    assert objective(ours, r, k)[0] <= objective(theirs, r, k)[0]
    # A Newton step from psych's uniquenesses on the free ones (ours not at the 0.005 bound) lands on ours.
    free = np.flatnonzero(ours > efa_module.PSI_LOWER)
    gradient = objective(theirs, r, k)[1]
    h = 1e-6
    hessian = np.empty((free.size, free.size))
    for j, i in enumerate(free):
        step = np.zeros_like(theirs)
        step[i] = h
        hessian[:, j] = (objective(theirs + step, r, k)[1][free] - objective(theirs - step, r, k)[1][free]) / (2 * h)
    newton = theirs.copy()
    newton[free] -= np.linalg.solve(hessian, gradient[free])
    newton[ours <= efa_module.PSI_LOWER] = efa_module.PSI_LOWER
    distance = np.max(np.abs(ours - theirs))
    assert np.max(np.abs(ours - newton)) <= 0.01 * distance + 1e-9


@pytest.mark.parametrize(("name", "index"), fit_cases())
def test_tables_equal_psych_to_printed_precision(name, index):
    fit = reference(name)["fits"][index]
    solution = fit_like_psych(name, fit)
    assert solution.converged
    assert_tables(solution, fit, PRINTED)


@pytest.mark.parametrize("name", DATASETS)
def test_efa_returns_psychs_default_solution(name):
    """The default call (minres, oblimin) end to end, through the data checks and listwise deletion."""
    ref = reference(name)
    fit = next(f for f in ref["fits"] if (f["method"], f["rotation"], f["n_factors"]) == ("minres", "oblimin", 3))
    fitted = result(name)
    assert (fitted.method, fitted.rotation, fitted.n_factors) == ("minres", "oblimin", 3)
    assert list(fitted.loadings.columns) == ["MR1", "MR2", "MR3"]
    assert list(fitted.loadings.index) == ref["items"]
    assert fitted.converged and fitted.warnings == []
    assert_tables(fitted, fit, PRINTED)


def _fit(name: str, method: str, rotation: str, k: int) -> dict:
    return next(
        f for f in reference(name)["fits"] if (f["method"], f["rotation"], f["n_factors"]) == (method, rotation, k)
    )


def test_oblique_factors_are_sorted_by_phi_weighted_variance():
    """psych sorts oblique factors by diag(Phi L'L); FactorAnalyzer.fit sorts by colSums(L^2), which on HS39's
    4-factor ML oblimin solution would swap ML2 and ML3."""
    fit = _fit("hs39", "ml", "oblimin", 4)
    pattern = np.array(fit["loadings"])
    by_squares = (pattern**2).sum(axis=0)
    assert not np.all(np.diff(by_squares) <= 0), "the case must tell the two orders apart"
    solution = fit_factors(
        correlation("hs39"),
        4,
        method="ml",
        rotation="oblimin",
        names=reference("hs39")["items"],
        psi=np.array(fit["psi"]),
    )
    np.testing.assert_allclose(solution.loadings.to_numpy(), pattern, atol=EXACT)
    assert np.all(np.diff(solution.variance.loc["SS loadings"].to_numpy()) <= 0)


def test_phi_is_permuted_with_the_loadings():
    """FactorAnalyzer.fit reorders the loadings but leaves phi_ in the rotation's order: on HS39 (minres,
    oblimin) that Phi is off by 0.11. Ours follows its columns."""
    fit = _fit("hs39", "minres", "oblimin", 3)
    r, psi = correlation("hs39"), np.array(fit["psi"])
    unrotated = loadings_from_uniquenesses(r, psi, 3, "minres")
    unrotated = unrotated * np.sign(unrotated.sum(axis=0))
    _, raw_phi, converged = rotate(unrotated, "oblimin")
    assert converged
    expected = np.array(fit["phi"])
    assert np.max(np.abs(raw_phi - expected)) > 0.1, "the rotation's own order must differ from psych's"
    solution = fit_factors(r, 3, method="minres", rotation="oblimin", names=reference("hs39")["items"], psi=psi)
    np.testing.assert_allclose(solution.phi.to_numpy(), expected, atol=EXACT)


def test_oblique_communalities_are_not_row_sums_of_squared_pattern_loadings():
    """FactorAnalyzer.get_communalities() sums squared pattern loadings; the communality of an oblique solution
    is diag(L Phi L'), psych's h2 (0.1 higher for some HS39 items)."""
    fit = _fit("hs39", "minres", "oblimin", 3)
    pattern = np.array(fit["loadings"])
    assert np.max(np.abs((pattern**2).sum(axis=1) - fit["h2"])) > 0.05
    fitted = result("hs39")
    np.testing.assert_allclose(fitted.communalities["h2"].to_numpy(), fit["h2"], atol=PRINTED)
    implied = np.diag(fitted.loadings.to_numpy() @ fitted.phi.to_numpy() @ fitted.loadings.to_numpy().T)
    np.testing.assert_allclose(fitted.communalities["h2"].to_numpy(), implied, atol=1e-8)
    np.testing.assert_allclose(fitted.structure.to_numpy(), fitted.loadings.to_numpy() @ fitted.phi.to_numpy())


@pytest.mark.parametrize(("method", "item"), [("minres", "x7"), ("ml", "x5")])
def test_heywood_cases_are_reported(method, item):
    fit = _fit("hs39", method, "oblimin", 4)
    assert min(fit["psi"]) == efa_module.PSI_LOWER
    fitted = efa(dataset("hs39"), reference("hs39")["items"], n_factors=4, method=method, seed=1, parallel_iter=5)
    assert any("Heywood" in w and repr(item) in w for w in fitted.warnings)
    # at the bound the gradient h2 + psi - 1 is positive: h2 > 1 - 0.005
    assert fitted.communalities.loc[item, "h2"] > 1 - efa_module.PSI_LOWER
    assert "Heywood" in fitted.summary()


def test_one_factor_is_not_rotated():
    fitted = efa(dataset("hs39"), reference("hs39")["items"], n_factors=1, rotation="promax", seed=1, parallel_iter=5)
    assert fitted.phi is None
    assert list(fitted.loadings.columns) == ["MR1"]
    assert_tables(fitted, _fit("hs39", "minres", "none", 1), PRINTED)


def test_gpa_convergence_check():
    fit = _fit("hs39", "minres", "none", 3)
    unrotated = np.array(fit["loadings"])
    assert not efa_module._gpa_converged(unrotated, np.eye(3))
    assert rotate(unrotated, "oblimin")[2]


def test_ledermann_bound():
    assert [ledermann_bound(p) for p in (3, 4, 5, 6, 9, 12)] == [1, 1, 2, 3, 5, 7]


# ---------------------------------------------------------------------------------------------------------------
# Parallel analysis
# ---------------------------------------------------------------------------------------------------------------
def parallel_cases() -> list:
    return [
        pytest.param(name, i, id=f"{name}-{'smc' if reference(name)['parallel'][i]['smc'] else 'fa1'}")
        for name in DATASETS
        for i in range(2)
    ]


@pytest.mark.parametrize(("name", "index"), parallel_cases())
def test_parallel_observed_eigenvalues_match_psych(name, index):
    ref = reference(name)["parallel"][index]
    r = correlation(name)
    if ref["smc"]:
        observed = efa_module.reduced_eigenvalues(r, components=False, smc_diagonal=True)
        np.testing.assert_allclose(observed, ref["fa_values"], rtol=0, atol=EXACT)
    else:
        # psych's fa.parallel puts the communalities of a one-factor minres fit on the diagonal: exactly psych's
        # eigenvalues at psych's uniquenesses, and within psych's optimiser precision at ours.
        one = loadings_from_uniquenesses(r, np.array(ref["psi1"]), 1, "minres")
        reduced = r.copy()
        np.fill_diagonal(reduced, (one**2).sum(axis=1))
        np.testing.assert_allclose(np.linalg.eigvalsh(reduced)[::-1], ref["fa_values"], rtol=0, atol=EXACT)
        observed = efa_module.reduced_eigenvalues(r, components=False, smc_diagonal=False)
        np.testing.assert_allclose(observed, ref["fa_values"], rtol=0, atol=PRINTED)
    components = efa_module.reduced_eigenvalues(r, components=True, smc_diagonal=ref["smc"])
    np.testing.assert_allclose(components, ref["pc_values"], rtol=0, atol=EXACT)


@pytest.mark.parametrize("components", [False, True], ids=["factors", "components"])
@pytest.mark.parametrize(("name", "index"), parallel_cases())
def test_parallel_analysis_agrees_with_psych(name, index, components):
    ref = reference(name)["parallel"][index]
    pa = parallel_analysis(complete(name), components=components, n_iter=PA_ITER, smc=ref["smc"], seed=PA_SEED)
    assert pa.suggested == (ref["ncomp"] if components else ref["nfact"])
    table = pa.eigenvalues
    np.testing.assert_allclose(
        table["observed"], ref["pc_values"] if components else ref["fa_values"], rtol=0, atol=PRINTED
    )
    simulated = ref["simulate_pc" if components else "simulate_fa"]
    se = np.array(simulated["sd"]) * np.sqrt(1 / PA_ITER + 1 / ref["n_iter"])
    assert np.max(np.abs(table["simulated_mean"] - simulated["mean"]) / se) < Z_MAX
    # The standard error of a 95% quantile of a normal sample is about 2.11 sd / sqrt(n).
    assert np.max(np.abs(table["simulated_quantile"] - simulated["q95"]) / (2.11 * se)) < Z_MAX


@pytest.mark.parametrize("name", DATASETS)
def test_parallel_analysis_on_resampled_data_agrees_with_psych(name):
    ref = reference(name)["parallel"][1]  # SMC = TRUE
    pa = parallel_analysis(complete(name), n_iter=PA_ITER, data="resample", smc=True, seed=PA_SEED)
    resampled = ref["resample_fa"]
    se = np.array(resampled["sd"]) * np.sqrt(1 / PA_ITER + 1 / ref["n_iter"])
    assert np.max(np.abs(pa.eigenvalues["simulated_mean"] - resampled["mean"]) / se) < Z_MAX
    assert pa.suggested == ref["nfact"]
    assert pa.data == "resample"


def test_parallel_analysis_is_reproducible_by_its_seed():
    x = complete("hs39")
    first = parallel_analysis(x, n_iter=10, seed=7)
    again = parallel_analysis(x, n_iter=10, seed=first.seed)
    pd.testing.assert_frame_equal(first.eigenvalues, again.eigenvalues)
    drawn = parallel_analysis(x, n_iter=3, smc=True)
    assert isinstance(drawn.seed, int)
    pd.testing.assert_frame_equal(
        parallel_analysis(x, n_iter=3, smc=True, seed=drawn.seed).eigenvalues, drawn.eigenvalues
    )


def test_parallel_analysis_with_horns_mean_rule():
    pa = parallel_analysis(complete("hs39"), n_iter=20, quantile=None, smc=True, seed=3)
    table = pa.eigenvalues
    assert table["simulated_quantile"].isna().all()
    above = (table["observed"] > table["simulated_mean"]).to_numpy()
    assert pa.suggested == int(np.argmin(above)) == 3


def test_n_factors_defaults_to_the_parallel_analysis_suggestion():
    fitted = efa(dataset("hs39"), reference("hs39")["items"], seed=PA_SEED, parallel_iter=PA_ITER)
    assert fitted.parallel.suggested == reference("hs39")["parallel"][0]["nfact"] == fitted.n_factors == 3
    principal = efa(
        dataset("hs39"),
        reference("hs39")["items"],
        method="principal",
        rotation="varimax",
        seed=PA_SEED,
        parallel_iter=20,
    )
    assert principal.parallel.kind == "components"
    assert principal.n_factors == principal.parallel.suggested == reference("hs39")["parallel"][0]["ncomp"]
    assert list(principal.loadings.columns) == ["RC1", "RC2", "RC3"]


def test_a_suggestion_of_no_factors_fits_one_with_a_warning():
    noise = pd.DataFrame(np.random.default_rng(11).standard_normal((200, 6)), columns=[f"v{i}" for i in range(6)])
    fitted = efa(noise, list(noise.columns), seed=5, parallel_iter=50)
    assert fitted.parallel.suggested == 0
    assert fitted.n_factors == 1
    assert any("suggests 0 factors" in w for w in fitted.warnings)


# ---------------------------------------------------------------------------------------------------------------
# The boundary
# ---------------------------------------------------------------------------------------------------------------
HS_ITEMS = [f"x{i}" for i in range(1, 10)]


def _hs_with(**columns) -> pd.DataFrame:
    return dataset("hs39").assign(**columns)


@pytest.mark.parametrize(
    ("data", "items", "kwargs", "message"),
    [
        pytest.param(lambda: dataset("hs39").to_numpy(), HS_ITEMS, {}, "pandas DataFrame", id="not-a-frame"),
        pytest.param(lambda: dataset("hs39"), "x1", {}, "list of column names", id="items-string"),
        pytest.param(lambda: dataset("hs39"), ["x1", "x2"], {}, "at least 3 items", id="two-items"),
        pytest.param(lambda: dataset("hs39"), ["x1", "x2", "x1"], {}, "'x1' more than once", id="duplicate"),
        pytest.param(
            lambda: dataset("hs39"), [*HS_ITEMS, "x10", "y"], {}, "'x10', 'y' not in the data", id="missing-columns"
        ),
        pytest.param(
            lambda: _hs_with(x3=dataset("hs39")["x3"].astype(str)),
            HS_ITEMS,
            {},
            "column 'x3' is not numeric",
            id="text-column",
        ),
        pytest.param(
            lambda: _hs_with(x2=np.where(np.arange(301) == 5, np.inf, dataset("hs39")["x2"])),
            HS_ITEMS,
            {},
            "'x2' hold infinite values",
            id="infinite",
        ),
        pytest.param(lambda: _hs_with(x4=2.0), HS_ITEMS, {}, "'x4' have the same value", id="constant"),
        pytest.param(
            lambda: dataset("hs39").head(9),
            HS_ITEMS,
            {},
            "at least 10 complete rows; the data have 9",
            id="too-few-rows",
        ),
        pytest.param(
            lambda: _hs_with(x1=np.where(np.arange(301) < 295, np.nan, 1.0)),
            HS_ITEMS,
            {},
            "the data have 6 (295 dropped",
            id="too-few-complete-rows",
        ),
        pytest.param(
            lambda: _hs_with(x9=dataset("hs39")["x1"] + dataset("hs39")["x2"]),
            HS_ITEMS,
            {},
            "singular: 'x1', 'x2', 'x9'",
            id="linear-combination",
        ),
        pytest.param(lambda: dataset("hs39"), HS_ITEMS, {"n_factors": 0}, "n_factors must be a positive", id="nf-0"),
        pytest.param(lambda: dataset("hs39"), HS_ITEMS, {"n_factors": True}, "n_factors must be", id="nf-bool"),
        pytest.param(lambda: dataset("hs39"), HS_ITEMS, {"n_factors": 2.0}, "n_factors must be", id="nf-float"),
        pytest.param(
            lambda: dataset("hs39"),
            HS_ITEMS,
            {"n_factors": 6},
            "at most 5 (the Ledermann bound for 9",
            id="nf-ledermann",
        ),
        pytest.param(
            lambda: dataset("hs39"),
            HS_ITEMS,
            {"n_factors": 10, "method": "principal"},
            "at most 9 (there are 9 items)",
            id="nf-components",
        ),
        pytest.param(
            lambda: dataset("hs39"), HS_ITEMS, {"rotation": "quartimax"}, "unknown rotation 'quartimax'", id="rotation"
        ),
        pytest.param(lambda: dataset("hs39"), HS_ITEMS, {"method": "pa"}, "unknown method 'pa'", id="method"),
        pytest.param(lambda: dataset("hs39"), HS_ITEMS, {"parallel_quantile": 1.5}, "parallel_quantile", id="quantile"),
        pytest.param(lambda: dataset("hs39"), HS_ITEMS, {"parallel_iter": 0}, "parallel_iter", id="iterations"),
        pytest.param(
            lambda: dataset("hs39"),
            HS_ITEMS,
            {"parallel_data": "bootstrap"},
            "unknown parallel_data",
            id="parallel-data",
        ),
        pytest.param(lambda: dataset("hs39"), HS_ITEMS, {"parallel_smc": "yes"}, "parallel_smc", id="smc"),
        pytest.param(lambda: dataset("hs39"), HS_ITEMS, {"seed": -1}, "seed must be", id="seed"),
    ],
)
def test_bad_arguments_are_named(data, items, kwargs, message):
    with pytest.raises(IasemError) as error:
        efa(data(), items, **kwargs)
    assert message in str(error.value)


def test_methods_and_rotations_are_case_insensitive_and_none_means_unrotated():
    fitted = efa(dataset("hs39"), HS_ITEMS, n_factors=2, method="ML", rotation=None, seed=1, parallel_iter=5)
    assert (fitted.method, fitted.rotation, fitted.phi) == ("ml", "none", None)


def test_summary_and_repr():
    fitted = result("likert")
    text = fitted.summary()
    for part in (
        "minres, oblimin rotation, 3 factors",
        "423 rows used (27 dropped",
        "KMO",
        "Bartlett",
        "Parallel analysis (5 simulated data sets, 95% quantile, seed 1)",
        "Loadings (pattern matrix)",
        "SS loadings",
        "Factor correlations",
        "tru4",
    ):
        assert part in text
    assert repr(fitted) == (
        "EFAResult(method='minres', rotation='oblimin', n_factors=3, n_obs=423, dropped=27, converged=True)"
    )
    assert fitted.uniquenesses.equals(fitted.communalities["u2"])
