"""Monte Carlo power analysis (iasem/power.py, iasem/engine/montecarlo.py).

The batched replicates must equal single fits of the same data, replicate by replicate (estimates and
standard errors to 1e-6); local runs over any number of processes and Dask runs must give the same table;
and the summaries must behave as Monte Carlo theory says (type I error at alpha, 95 % coverage, no bias),
within bounds set by the Monte Carlo error of the replicates.
"""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

import iasem
from iasem import sem
from iasem.cli import main
from iasem.engine import batched, ls, montecarlo
from iasem.engine.estimate import parameters, start_values
from iasem.engine.lisrel import represent
from iasem.engine.sample_stats import SampleStats
from iasem.errors import IasemError
from iasem.simulation import design_of, load_population
from iasem.syntax import parse_model, partable, variable_roles

power_module = importlib.import_module("iasem.power")

# Two factors and a regression, with a zero path (for the type I error) and an indirect effect.
MEDIATION = """
x =~ 0.7*x1 + 0.7*x2 + 0.7*x3
m =~ 0.7*m1 + 0.7*m2 + 0.7*m3
y =~ 0.7*y1 + 0.7*y2 + 0.7*y3
m ~ a*x
y ~ b*m + c*x
ab := a*b
"""
POPULATION = {"a": 0.4, "b": 0.3, "c": 0.0}


@pytest.fixture(scope="module")
def design():
    return design_of(MEDIATION, population=POPULATION, scale=None)


def _study(design, estimator="ML"):
    return montecarlo.analysis_of(montecarlo.free_syntax(MEDIATION), design, estimator, ordered=False)


def _keys(study):
    return list(zip(study.rows["lhs"], study.rows["op"], study.rows["rhs"], strict=True))


def test_free_syntax_frees_population_values_and_keeps_labels():
    text = montecarlo.free_syntax("f =~ 0.8*x1 + NA*x2 + lam*x3\nx1 ~~ 0.3*x1\nx2 ~ 1\nd := lam*2")
    assert text.splitlines() == ["f =~ x1", "f =~ NA*x2", "f =~ lam*x3", "x1 ~~ x1", "x2 ~ 1", "d := lam*2"]


def test_population_values_of_the_analysis_model(design):
    study = _study(design)
    truth = dict(zip(_keys(study), study.truth, strict=True))
    # Marker scaling: loading 0.7 / 0.7 = 1, the factor variance 0.7^2 and residual variances 1 - 0.49; the
    # standardized paths stay as they are because every factor is scaled alike.
    assert truth[("x", "=~", "x2")] == pytest.approx(1.0, abs=1e-8)
    assert truth[("x", "~~", "x")] == pytest.approx(0.49, abs=1e-8)
    assert truth[("x2", "~~", "x2")] == pytest.approx(0.51, abs=1e-8)
    assert truth[("m", "~", "x")] == pytest.approx(0.4, abs=1e-8)
    assert truth[("y", "~", "x")] == pytest.approx(0.0, abs=1e-8)
    assert truth[("ab", ":=", "a*b")] == pytest.approx(0.4 * truth[("y", "~", "m")], abs=1e-12)


def test_batched_replicates_equal_single_fits(design):
    """Each replicate equals ``iasem.fit`` on that replicate's data (both at a single fit's tolerances)."""
    study = _study(design)
    assert study.batch is not None
    out = montecarlo.run(study, design, 200, np.arange(8), entropy=11)
    assert out.converged.all()
    for r in range(8):
        data = design.draw(200, montecarlo.replicate_generator(11, 200, r))
        single = iasem.fit(study.text, data).params.set_index(["lhs", "op", "rhs"]).loc[_keys(study)]
        np.testing.assert_allclose(out.est[r], single["est"], rtol=0, atol=1e-6)
        np.testing.assert_allclose(out.se[r], single["se"], rtol=0, atol=1e-6)


@pytest.mark.parametrize("estimator", ["ML", "GLS", "ULS"])
def test_batched_replicates_reach_the_single_fit_optimum(design, estimator):
    """At small n (60) or under GLS and ULS a single fit at the default tolerances stops up to 3e-6 from its
    optimum (so does the batched path, on other replicates), so both run to tight tolerances here: the
    optimum and its standard errors must agree."""
    study = _study(design, estimator)
    tight = {"tol": 1e-14, "gtol": 1e-10, "xtol": 1e-10}
    n = 60
    out = montecarlo.run(study, design, n, np.arange(5), entropy=5, tolerances=tight)
    formulas = parse_model(study.text)
    roles = variable_roles(formulas)
    table = partable(formulas)
    for r in range(5):
        values = design.draw_values(n, montecarlo.replicate_generator(5, n, r))[0]
        centred = values - values.mean(axis=0)
        stats = SampleStats(design.names, n, centred.T @ centred / n, values.mean(axis=0))
        stats = ls.unbiased(stats) if estimator in ls.ESTIMATORS else stats
        params = parameters(represent(table, roles.ov, meanstructure=False), table, stats)
        optimum = sem._estimate(params, stats, start_values(params, stats), estimator, **tight)
        assert optimum.converged
        x = optimum.state.x
        scale = n - 1 if estimator in ls.ESTIMATORS else n
        se = np.sqrt(np.diag(np.linalg.inv(scale * optimum.state.information)))
        np.testing.assert_allclose(out.est[r][: len(study.batch.free_columns)], x[study.batch.free_columns], atol=1e-8)
        np.testing.assert_allclose(out.se[r][: len(study.batch.free_columns)], se[study.batch.free_columns],
                                   atol=1e-8)  # fmt: skip


def test_chord_iterations_reach_the_fisher_scoring_optimum(design):
    study = _study(design)
    samples = np.stack([design.draw_values(80, montecarlo.replicate_generator(2, 80, r))[0] for r in range(40)])
    cov, _ = batched.moments(samples)
    scoring = batched.minimise(study.batch.params, cov, study.batch.x0, "ML", tol=1e-14, gtol=1e-10, xtol=1e-10)
    chord = batched.minimise(study.batch.params, cov, study.batch.x0, "ML", refresh=3, tol=1e-14, gtol=1e-10,
                             xtol=1e-10)  # fmt: skip
    assert not scoring.failed.any() and not chord.failed.any()
    np.testing.assert_allclose(chord.x, scoring.x, atol=1e-9)


def test_replicates_do_not_depend_on_chunks(design):
    study = _study(design)
    whole = montecarlo.run(study, design, 100, np.arange(12), entropy=3)
    parts = [montecarlo.run(study, design, 100, np.arange(a, b), entropy=3) for a, b in ((0, 5), (5, 12))]
    np.testing.assert_allclose(np.vstack([p.est for p in parts]), whole.est, rtol=0, atol=1e-12)


def test_per_replicate_path_for_mlr_equals_fit(design):
    study = _study(design, "MLR")
    assert study.batch is None
    out = montecarlo.run(study, design, 120, np.arange(2), entropy=8)
    for r in range(2):
        data = design.draw(120, montecarlo.replicate_generator(8, 120, r))
        single = iasem.fit(study.text, data, estimator="MLR").params.set_index(["lhs", "op", "rhs"]).loc[_keys(study)]
        np.testing.assert_array_equal(out.est[r], single["est"])
        np.testing.assert_array_equal(out.se[r], single["se"])


def test_power_summaries_behave_as_monte_carlo_theory_says():
    reps = 400
    table = iasem.power(MEDIATION, n=[150], reps=reps, population=POPULATION, seed=20, n_jobs=1, progress=False)
    assert list(table.columns) == power_module.POWER_COLUMNS
    row = table.set_index("label")
    assert (table["converged"] == 1.0).all()
    # The zero path c: rejections are type I errors, at alpha = .05 within 4 Monte Carlo SEs.
    mc_se = np.sqrt(0.05 * 0.95 / reps)
    assert abs(row.loc["c", "power"] - 0.05) < 4 * mc_se
    assert np.isnan(row.loc["c", "rel_bias"])
    # Power of the Wald test, approximately Phi(|theta| / se - z) (+ the far tail), for every path.
    for label in ("a", "b", "ab"):
        ratio = row.loc[label, "population"] / row.loc[label, "mean_se"]
        expected = st.norm.cdf(abs(ratio) - 1.959964) + st.norm.cdf(-abs(ratio) - 1.959964)
        assert abs(row.loc[label, "power"] - expected) < 4 * np.sqrt(expected * (1 - expected) / reps) + 0.02
    # Coverage of the 95 % Wald interval and unbiased estimates for the structural paths.
    for label in ("a", "b", "c"):
        assert abs(row.loc[label, "coverage"] - 0.95) < 4 * np.sqrt(0.95 * 0.05 / reps)
        assert abs(row.loc[label, "bias"]) < 4 * row.loc[label, "sd"] / np.sqrt(reps)
    # se_bias compares the standard errors with the spread of the estimates (at n = 150 ML's standard errors
    # run up to 10 % small, as Monte Carlo studies of CFA report; asymptotically they agree).
    np.testing.assert_allclose(table["se_bias"], table["mean_se"] / table["sd"] - 1)
    assert (table.loc[table["op"].isin(["~", "=~"]), "se_bias"].abs() < 0.15).all()
    assert table.attrs["seed"] == 20 and table.attrs["reps"] == reps


def test_same_seed_same_table_over_workers_and_chunks(monkeypatch):
    kwargs = {"population": POPULATION, "seed": 4, "progress": False}
    one = iasem.power(MEDIATION, n=[80, 120], reps=30, n_jobs=1, **kwargs)
    three = iasem.power(MEDIATION, n=[80, 120], reps=30, n_jobs=3, **kwargs)  # threads, 10 replicates each
    pd.testing.assert_frame_equal(one, three, check_exact=False, rtol=0, atol=1e-12)
    # One fit per replicate (MLR) in worker processes, in chunks of 2.
    monkeypatch.setattr(power_module, "CHUNK", 2)
    serial = iasem.power(MEDIATION, n=[80], reps=4, estimator="MLR", n_jobs=1, **kwargs)
    pooled = iasem.power(MEDIATION, n=[80], reps=4, estimator="MLR", n_jobs=2, **kwargs)
    pd.testing.assert_frame_equal(serial, pooled, check_exact=False, rtol=0, atol=1e-12)


def test_dask_local_cluster_gives_the_local_numbers():
    distributed = pytest.importorskip("distributed")
    kwargs = {"population": POPULATION, "seed": 9, "progress": False}
    local = iasem.power(MEDIATION, n=[90, 150], reps=24, n_jobs=1, **kwargs)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        on_dask = iasem.power(MEDIATION, n=[90, 150], reps=24, backend="dask", scheduler=cluster.scheduler_address,
                              **kwargs)  # fmt: skip
    pd.testing.assert_frame_equal(local, on_dask, check_exact=False, rtol=0, atol=1e-12)


def test_smallest_n_and_power_curves():
    table = iasem.power(MEDIATION, n=[40, 100, 250], reps=60, population=POPULATION, seed=2, n_jobs=1,
                        progress=False)  # fmt: skip
    smallest = iasem.smallest_n(table, 0.8).set_index("label")
    by_label = table.set_index(["label", "n"])["power"]
    for label in ("a", "b", "ab"):
        n = smallest.loc[label, "n"]
        if pd.isna(n):
            assert (table.loc[table["label"] == label, "power"] < 0.8).all()
        else:
            assert by_label[(label, n)] >= 0.8
            assert all(by_label[(label, m)] < 0.8 for m in (40, 100, 250) if m < n)
    assert pd.isna(smallest.loc["c", "n"]) or smallest.loc["c", "power"] >= 0.8
    assert smallest["n"].dtype == "Int64"
    ax = iasem.plot_power(table)
    assert {line.get_label() for line in ax.get_lines()} >= {"a", "b", "c", "ab"}
    with pytest.raises(IasemError, match="no parameter"):
        iasem.plot_power(table, ["nope"])


def test_wlsmv_on_ordered_items_recovers_the_latent_values():
    table = iasem.power(MEDIATION, n=[300], reps=6, estimator="WLSMV", scale="agree5", population=POPULATION,
                        seed=1, n_jobs=1, progress=False)  # fmt: skip
    row = table.set_index(["lhs", "op", "rhs"])
    assert row.loc[("x1", "|", "t1"), "population"] == pytest.approx(-1.5)
    assert row.loc[("m", "~", "x"), "population"] == pytest.approx(0.4, abs=1e-8)
    assert (table["converged"] == 1.0).all()


def test_categorized_moments_match_a_large_sample():
    """ML on Likert answers: the truth is fitted to the exact moments of the categorized responses."""
    design = design_of("f =~ 0.8*a + 0.6*b + 0.7*c", scale="agree5", thresholds="skewed")
    cov, mean = montecarlo._population_moments(design, ["a", "b", "c"], ordered=False)
    big = design.draw(200_000, np.random.default_rng(0)).to_numpy(dtype=float)
    np.testing.assert_allclose(mean, big.mean(axis=0), atol=0.01)
    np.testing.assert_allclose(cov, np.cov(big, rowvar=False), atol=0.01)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": [0]}, "n must be"),
        ({"n": [5]}, "not larger than the 9 observed"),
        ({"reps": 0}, "reps must be"),
        ({"alpha": 1.5}, "alpha must be between"),
        ({"estimator": "DWLS"}, "estimator must be one of"),
        ({"estimator": "WLSMV"}, "give a categorical scale"),
        ({"backend": "ray"}, "backend must be one of"),
        ({"backend": "dask"}, "needs scheduler="),
        ({"n_jobs": 0}, "n_jobs must be"),
    ],
)
def test_bad_arguments_are_refused_plainly(kwargs, message):
    args = {"n": [100], "reps": 2, "population": POPULATION, "seed": 1, "progress": False, **kwargs}
    with pytest.raises(IasemError, match=message):
        iasem.power(MEDIATION, **args)


def test_cli_power_writes_tables_and_curves(tmp_path, capsys):
    population = tmp_path / "population.yaml"
    population.write_text("population:\n  a: 0.4\n  b: 0.3\n  c: 0.0\n", encoding="utf-8")
    model = tmp_path / "mediation.lav"
    model.write_text(MEDIATION, encoding="utf-8")
    out = tmp_path / "power"
    args = ["power", str(model), "--population", str(population), "--n", "60,120", "--reps", "20", "--seed", "3",
            "--jobs", "1", "--quiet", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "Smallest n (of 60, 120)" in printed and "ab" in printed
    table = pd.read_csv(out / "power.csv")
    assert set(table["n"]) == {60, 120}
    assert (out / "power.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    given = load_population(population)["population"]
    expected = iasem.power(MEDIATION, n=[60, 120], reps=20, seed=3, population=given, n_jobs=1, progress=False)
    np.testing.assert_allclose(table["power"], expected["power"])
    assert main(args) == 1  # no overwrite without --force
    assert "--force" in capsys.readouterr().err
    assert main([*args, "--force"]) == 0


def test_replicates_that_do_not_converge_are_counted_and_reported():
    """At n = 12 a 9-item model often fails (improper or unidentified samples): the share is reported, a
    warning says how many, and the summaries are over the others."""
    with pytest.warns(UserWarning, match="replicates did not converge"):
        table = iasem.power(MEDIATION, n=[12], reps=40, population=POPULATION, seed=1, n_jobs=1, progress=False)
    share = table["converged"].iloc[0]
    assert 0 < share < 1 and (table["converged"] == share).all()
    assert (table["reps"] == 40).all()


def test_wlsmv_replicates_with_an_empty_category_still_count():
    """Skewed agree5 answers at n = 60 leave the lowest category (1.2 %) empty for some item in most samples:
    those items' thresholds cannot be lined up with the population's and are left out of that replicate; the
    replicate and its other parameters count."""
    table = iasem.power(MEDIATION, n=[60], reps=4, estimator="WLSMV", scale="agree5", thresholds="skewed",
                        population=POPULATION, seed=3, n_jobs=1, progress=False)  # fmt: skip
    assert (table["converged"] == 1.0).all()
    paths = table[table["op"] == "~"]
    assert paths["mean"].notna().all()
