"""``iasem.fit(bootstrap=N)`` against lavaan 0.6.14's ``sem(..., se = "bootstrap", bootstrap = 2000)`` on Bollen's
mediation model (tests/fixtures/reference/poldem_mediation_boot.json).

Bootstrap figures depend on the random draws, so ours and lavaan's differ by Monte Carlo error. The tolerance is
that error, estimated from our own draws and never widened to pass: four standard errors of the difference
between two independent estimates (ours from B_ours draws, lavaan's from 2000).

- A bootstrap standard error s from B draws has Monte Carlo variance (m4 - s^4) / (4 s^2 B), m4 the draws'
  fourth central moment.
- A percentile q_p from B draws has Monte Carlo standard error sqrt(p (1 - p) / B) / f(q_p); f(q_p) is read
  from the draws as the spacing of the quantiles p +- sqrt(p (1 - p) / B) (Maritz & Jarrett, 1978).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import iasem
from iasem.errors import IasemError

FIXTURES = Path(__file__).parent / "fixtures"
REF = json.loads((FIXTURES / "reference" / "poldem_mediation_boot.json").read_text())
SYNTAX = json.loads((FIXTURES / "lavaan" / "partable_poldem_mediation.json").read_text())["syntax"]
LAVAAN_DRAWS = 2000
OUR_DRAWS = 1000
LEVEL = 0.95


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "lavaan" / "political_democracy.csv")


@pytest.fixture(scope="module")
def boot(data) -> iasem.SEMResult:
    return iasem.fit(SYNTAX, data, bootstrap=OUR_DRAWS, seed=20260521)


def _se_mc_sd(draws: np.ndarray, b: int) -> float:
    centred = draws - draws.mean()
    s2, m4 = np.mean(centred**2), np.mean(centred**4)
    return float(np.sqrt((m4 - s2**2) / (4 * s2 * b)))


def _quantile_mc_sd(draws: np.ndarray, p: float, b: int) -> float:
    half = np.sqrt(p * (1 - p) / b)
    lo, hi = np.quantile(draws, [max(p - half, 0.0), min(p + half, 1.0)])
    return float((hi - lo) / 2)


def _joined(result: iasem.SEMResult) -> pd.DataFrame:
    ours = result.params.set_index(["lhs", "op", "rhs"])
    theirs = pd.DataFrame(REF["params"]).set_index(["lhs", "op", "rhs"])
    return ours.join(theirs, how="inner", suffixes=("", "_ref"))


def test_estimates_are_the_ml_ones(boot):
    table = _joined(boot)
    assert len(table) == len(REF["params"])
    np.testing.assert_allclose(table["est"], table["est_ref"], rtol=1e-4, atol=1e-6)
    assert boot.boot.shape == (OUR_DRAWS, 27) and not boot.warnings


def test_standard_errors_and_percentile_intervals_within_monte_carlo_error(boot):
    table = _joined(boot)
    free = table[table["se_ref"] > 0]
    assert len(free) == 27
    for (lhs, op, rhs), row in free.iterrows():
        draws = boot.boot[lhs if op == ":=" else f"{lhs}{op}{rhs}"].to_numpy()
        se_tol = 4 * np.hypot(_se_mc_sd(draws, OUR_DRAWS), _se_mc_sd(draws, LAVAAN_DRAWS))
        assert abs(row["se"] - row["se_ref"]) < se_tol, (lhs, op, rhs)
        for column, p in (("ci.lower", (1 - LEVEL) / 2), ("ci.upper", (1 + LEVEL) / 2)):
            tol = 4 * np.hypot(_quantile_mc_sd(draws, p, OUR_DRAWS), _quantile_mc_sd(draws, p, LAVAAN_DRAWS))
            assert abs(row[column] - row[f"{column}_ref"]) < tol, (lhs, op, rhs, column)


def test_defined_effects_match_lavaans_percentile_intervals(boot):
    ours = boot.params.set_index("lhs")
    for ref in REF["boot_percentile"]:
        draws = boot.boot[ref["lhs"]].to_numpy()
        for column, p in (("ci.lower", (1 - LEVEL) / 2), ("ci.upper", (1 + LEVEL) / 2)):
            tol = 4 * np.hypot(_quantile_mc_sd(draws, p, OUR_DRAWS), _quantile_mc_sd(draws, p, LAVAAN_DRAWS))
            assert ours.loc[ref["lhs"], column] == pytest.approx(ref[column], abs=tol)
        se_tol = 4 * np.hypot(_se_mc_sd(draws, OUR_DRAWS), _se_mc_sd(draws, LAVAAN_DRAWS))
        assert ours.loc[ref["lhs"], "se"] == pytest.approx(ref["se"], abs=se_tol)


def test_same_seed_same_draws(data):
    first = iasem.fit(SYNTAX, data, bootstrap=20, seed=7)
    second = iasem.fit(SYNTAX, data, bootstrap=20, seed=7)
    other = iasem.fit(SYNTAX, data, bootstrap=20, seed=8)
    pd.testing.assert_frame_equal(first.params, second.params)
    assert not np.allclose(first.params["se"], other.params["se"])


def test_bca_uses_the_jackknife_acceleration(data, boot):
    bca = iasem.fit(SYNTAX, data, bootstrap=OUR_DRAWS, seed=20260521, ci="bca")
    ours, perc = bca.params.set_index("lhs"), boot.params.set_index("lhs")
    for name in ("indirect", "total"):
        est, lower, upper = ours.loc[name, ["est", "ci.lower", "ci.upper"]]
        assert lower < est < upper
        # Same draws, same SE; only the interval's ends move.
        assert ours.loc[name, "se"] == perc.loc[name, "se"]
        assert (lower, upper) != (perc.loc[name, "ci.lower"], perc.loc[name, "ci.upper"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"bootstrap": -1}, "whole number of draws"),
        ({"bootstrap": 10, "se": "robust"}, "bootstrap standard errors"),
        ({"bootstrap": 10, "ci": "bc"}, "ci='bc' is not available"),
        ({"bootstrap": 10, "seed": "x"}, "seed must be a whole number"),
        ({"bootstrap": 10, "missing": "fiml"}, "complete, continuous data only"),
        ({"bootstrap": 10, "estimator": "MLR"}, "need estimator='ML'"),
    ],
)
def test_bad_bootstrap_options_are_refused(data, kwargs, message):
    with pytest.raises(IasemError, match=message):
        iasem.fit(SYNTAX, data, **kwargs)
