"""iasem.simulate: population values in, responses out, and the values recovered by iasem.fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import iasem
from iasem.cli import main
from iasem.errors import IasemError
from iasem.resources import resource_path
from iasem.simulation import category_proportions

from .conftest import REPO

MODEL = """
rsa =~ rsa1 + rsa2 + rsa3
trust =~ trust1 + trust2 + trust3
trust ~ a*rsa
"""
POPULATION = {"rsa =~ rsa1": 0.8, "rsa =~ rsa2": 0.7, "rsa =~ rsa3": 0.6, "trust =~ trust1": 0.85,
              "trust =~ trust2": 0.75, "trust =~ trust3": 0.65, "a": 0.4}  # fmt: skip

# The shipped example datasets and the exact commands (also in data/README.md) that regenerate them.
SHIPPED = {
    "relational_trust_responses.csv": "simulate relational_trust --population data/relational_trust_population.yaml "
    "--thresholds skewed --n 400 --seed 20261 --out data/relational_trust_responses.csv",
    "intersectoral_performance_responses.csv": "simulate intersectoral_performance --population "
    "data/intersectoral_performance_population.yaml --n 600 --seed 20262 "
    "--out data/intersectoral_performance_responses.csv",
    "relational_social_capital_responses.csv": "simulate relational_social_capital --population "
    "data/relational_social_capital_population.yaml --thresholds skewed --n 400 --seed 20263 "
    "--out data/relational_social_capital_responses.csv",
}


def std_all(result: iasem.SEMResult) -> pd.Series:
    p = result.params[result.params["op"].isin(["=~", "~"])]
    return pd.Series(p["std.all"].to_numpy(), index=p["lhs"] + " " + p["op"] + " " + p["rhs"])


def expected() -> pd.Series:
    return pd.Series({("trust ~ rsa" if k == "a" else k): v for k, v in POPULATION.items()})


@pytest.mark.parametrize("name", list(SHIPPED))
def test_shipped_dataset_is_regenerated_byte_for_byte(name, tmp_path):
    command = SHIPPED[name]
    assert f"iasem {command}" in (REPO / "data" / "README.md").read_text(encoding="utf-8")
    argv = command.split()
    argv = [str(REPO / a) if a.startswith("data/") else a for a in argv]
    argv[argv.index("--out") + 1] = str(tmp_path / name)
    assert main(argv) == 0
    assert (tmp_path / name).read_bytes() == (resource_path("data") / name).read_bytes()


def test_continuous_recovery_at_large_n():
    data = iasem.simulate(MODEL, 20000, seed=3, population=POPULATION, scale=None)
    assert list(data.columns) == ["rsa1", "rsa2", "rsa3", "trust1", "trust2", "trust3"]
    np.testing.assert_allclose(data.var(), 1.0, atol=0.04)  # the standardized metric
    estimates = std_all(iasem.fit(MODEL, data))
    np.testing.assert_allclose(estimates[expected().index], expected(), atol=0.025)


def test_likert_recovery_with_wlsmv():
    data = iasem.simulate(MODEL, 20000, seed=4, population=POPULATION, thresholds="skewed")
    result = iasem.fit(MODEL, data, ordered=True)
    assert result.estimator == "WLSMV"
    np.testing.assert_allclose(std_all(result)[expected().index], expected(), atol=0.025)
    thresholds = result.params.query("op == '|' and lhs == 'rsa1'")
    error = thresholds["est"].to_numpy() - (np.array([-1.5, -0.5, 0.5, 1.5]) - 0.75)
    assert (np.abs(error) < 3 * thresholds["se"].to_numpy()).all()  # within sampling error


def test_fixed_values_in_the_syntax_are_population_values():
    data = iasem.simulate("f =~ 0.9*x1 + 0.8*x2 + 0.3*x3\ny ~ 0.5*f", 20000, seed=5, scale=None)
    population = data.attrs["population"].set_index(["lhs", "op", "rhs"])["value"]
    assert population[("f", "=~", "x3")] == 0.3
    assert population[("x3", "~~", "x3")] == pytest.approx(1 - 0.09)
    assert population[("y", "~~", "y")] == pytest.approx(1 - 0.25)  # an observed outcome, variance 1
    assert data.corr().loc["x1", "y"] == pytest.approx(0.45, abs=0.02)


def test_seeds_are_reproducible():
    first = iasem.simulate(MODEL, 50, seed=11, population=POPULATION)
    pd.testing.assert_frame_equal(first, iasem.simulate(MODEL, 50, seed=11, population=POPULATION))
    assert not first.equals(iasem.simulate(MODEL, 50, seed=12, population=POPULATION))


@pytest.mark.parametrize(
    ("scale", "thresholds", "values", "tau"),
    [
        ("agree5", None, [1, 2, 3, 4, 5], [-1.5, -0.5, 0.5, 1.5]),
        ("agree5", "skewed", [1, 2, 3, 4, 5], [-2.25, -1.25, -0.25, 0.75]),
        ("agree7", "symmetric", list(range(1, 8)), [-2.5 + 5 * k / 7 for k in range(1, 7)]),
        (3, [-0.3, 1.0], [1, 2, 3], [-0.3, 1.0]),
    ],
)
def test_category_proportions_match_the_thresholds(scale, thresholds, values, tau):
    data = iasem.simulate("f =~ x1 + x2", 20000, seed=6, scale=scale, thresholds=thresholds)
    np.testing.assert_allclose(data.attrs["thresholds"], tau)
    for item in ("x1", "x2"):
        shares = data[item].value_counts(normalize=True).reindex(values, fill_value=0)
        np.testing.assert_allclose(shares, category_proportions(tau), atol=0.012)


def test_groups_shares_and_group_specific_values():
    groups = {"atype": {"public_private": 0.5, "public_ngo": 0.3, "multi_partner": 0.2}}
    population = {**POPULATION, "multi_partner": {"a": 0.0}}
    data = iasem.simulate(MODEL, 1000, seed=7, population=population, groups=groups, scale=None)
    assert data.columns[0] == "atype"
    assert data["atype"].value_counts().to_dict() == {"public_private": 500, "public_ngo": 300, "multi_partner": 200}
    pop = data.attrs["population"].query("lhs == 'trust' and op == '~'").set_index("group")["value"]
    assert pop.to_dict() == {"public_private": 0.4, "public_ngo": 0.4, "multi_partner": 0.0}
    r = {label: group["rsa1"].corr(group["trust1"]) for label, group in data.groupby("atype")}
    assert r["multi_partner"] == pytest.approx(0.0, abs=0.15)
    assert r["public_private"] == pytest.approx(0.8 * 0.4 * 0.85, abs=0.1)


def test_population_from_a_fitted_parameter_table():
    data = iasem.simulate(MODEL, 300, seed=8, population=POPULATION, scale=None)
    fitted = iasem.fit(MODEL, data)
    again = iasem.simulate(MODEL, 10, seed=8, population=fitted.params, scale=None)
    got = again.attrs["population"].set_index(["lhs", "op", "rhs"])["value"]
    est = fitted.params.set_index(["lhs", "op", "rhs"])["est"]
    for key in [("rsa", "=~", "rsa2"), ("trust", "~", "rsa"), ("rsa", "~~", "rsa"), ("trust1", "~~", "trust1")]:
        assert got[key] == pytest.approx(est[key])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scale": "agree9"}, "unknown scale 'agree9'"),
        ({"scale": "sector"}, "scale 'sector' is a single scale; simulate needs an ordered one"),
        ({"population": {"trust =~ rsa1": 0.5}}, "population key 'trust =~ rsa1' is not a parameter"),
        ({"population": {"b": 0.5}}, "population key 'b' is not a parameter"),
        ({"population": {"a": "high"}}, "not a number"),
        ({"n": 0}, "n must be a whole number of at least 1"),
        ({"population": {"a": 1.2}}, "residual variance would not be positive"),
        ({"population": {"rsa =~ rsa1": 1.1}}, "the loadings of rsa1 explain"),
        ({"thresholds": [0.5, -0.5]}, "thresholds must be 4 increasing"),
        ({"thresholds": "lumpy"}, "thresholds 'lumpy' is not available"),
        ({"scale": None, "thresholds": "skewed"}, "thresholds need a categorical scale"),
        ({"groups": {"atype": {"x": 0.5, "y": 0.4}}}, "must be positive and sum to 1"),
        ({"population": {"z": {"a": 0.1}}}, "population has values for group(s) 'z'"),
    ],
)
def test_errors_are_named(kwargs, message):
    arguments = {"n": 10, "seed": 1, **kwargs}
    with pytest.raises(IasemError, match=message.replace("(", r"\(").replace(")", r"\)")):
        iasem.simulate(MODEL, **arguments)


def test_non_positive_definite_implied_covariance():
    model = "f1 =~ x1 + x2\nf2 =~ x3 + x4"
    with pytest.raises(IasemError, match="implied covariance matrix is not positive definite"):
        iasem.simulate(model, 10, seed=1, population={"f1 ~~ f2": 2.0})


def test_cli_writes_atomically_and_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "responses.csv"
    argv = ["simulate", "f =~ x1 + x2 + x3", "--n", "20", "--seed", "1", "--scale", "agree7", "--out", str(out)]
    assert main(argv) == 0
    data = pd.read_csv(out)
    assert data.shape == (20, 3) and data.isin(range(1, 8)).all().all()
    assert main(argv) == 1
    assert "exists; pass --force" in capsys.readouterr().err
    assert main([*argv[:-2], "--scale", "none", "--out", str(out), "--force"]) == 0
    assert pd.read_csv(out).dtypes.eq(float).all()
    assert main([*argv[:-2], "--scale", "agree9", "--out", str(tmp_path / "x.csv")]) == 1
    assert "unknown scale 'agree9'" in capsys.readouterr().err
