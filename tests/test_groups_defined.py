"""Defined parameters (:=) and the bootstrap with groups.

:= rows over a multi-group model are checked against lavaan (tests/fixtures/lavaan/groups_defined_*.json, written
by make_groups_defined_fixtures.R): with group-specific labels (``c(a1, a2)*x``) and with a label shared by the
groups (one parameter, equal across groups; its standardised value is the first group's, as lavaan's).

The bootstrap resamples within groups, as lavaan's; its draws cannot be matched with R's random numbers, so
its refits are checked against iasem's own joint multi-group refit of the same resample: the per-group batched
refit (groups that share no parameter) must reach the same optimum.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import iasem
from iasem.engine import batched, bootstrap, bootstrap_groups
from iasem.errors import IasemError
from iasem.resources import resource_path

from .conftest import assert_params_match

FIXTURES = Path(__file__).parent / "fixtures" / "lavaan"
DATA = pd.read_csv(resource_path("data") / "holzinger_swineford_1939.csv")
TIGHT = {"tol": 1e-13, "gtol": 1e-9, "xtol": 1e-9}


def lavaan(name: str) -> dict:
    return json.loads((FIXTURES / f"groups_defined_{name}.json").read_text())


@pytest.mark.parametrize("name", ["specific", "shared"])
def test_defined_parameters_match_lavaan(name):
    ref = lavaan(name)
    result = iasem.fit(ref["syntax"], DATA, group="school")
    assert result.converged
    theirs = pd.DataFrame(ref["params"])
    theirs = theirs[theirs["op"] != "=="]
    table = result.params.merge(theirs, on=["lhs", "op", "rhs", "group"], suffixes=("", "_ref"), validate="1:1")
    assert len(table) == len(result.params) == len(theirs)
    defined = table[table["op"] == ":="]
    assert len(defined) == sum(1 for line in ref["syntax"].splitlines() if ":=" in line)
    assert (defined["group"] == 0).all()
    assert_params_match(table)


def _groups_fit(syntax: str) -> tuple:
    result = iasem.fit(syntax, DATA, group="school")
    engine = result.engine
    values = [DATA.loc[DATA["school"] == label, engine.stats[0].names].to_numpy(float)
              for label in dict.fromkeys(DATA["school"])]  # fmt: skip
    return result, engine, values


def test_batched_refits_of_separate_groups_reach_the_joint_optimum():
    result, engine, values = _groups_fit(lavaan("specific")["syntax"])
    x_hat = _x(result)
    refit = bootstrap_groups.refitter(engine.table, engine.reps, engine.params, values, engine.stats[0].names, x_hat,
                                      None, TIGHT)  # fmt: skip
    assert refit.batch is not None
    sizes = [len(v) for v in values]
    _, _, resamples = bootstrap._resamples(sizes, 12, 7)
    indices = np.stack(list(resamples))
    batch, failed = refit.batch(indices)
    assert not failed.any()
    for b, rows in enumerate(indices):
        joint = refit(rows)
        np.testing.assert_allclose(batch[b], joint, rtol=1e-6, atol=1e-7)


def _x(result) -> np.ndarray:
    """The joint x at the estimates: each free parameter's value, read from the parameter table's rows."""
    engine = result.engine
    x = np.full(engine.params[0].n_free, np.nan)
    rows = 0
    for p in engine.params:
        n = len(p.rep.rows)
        free = p.index >= 0
        x[p.index[free]] = result.params["est"].to_numpy()[rows : rows + n][free]
        rows += n
    return x


def test_shared_parameters_refit_jointly():
    result, engine, values = _groups_fit(lavaan("shared")["syntax"])
    refit = bootstrap_groups.refitter(engine.table, engine.reps, engine.params, values, engine.stats[0].names,
                                      _x(result), None, TIGHT)  # fmt: skip
    assert refit.batch is None  # the groups share `a`: no per-group split


def test_bootstrap_with_groups_resamples_within_groups():
    syntax = lavaan("specific")["syntax"]
    result = iasem.fit(syntax, DATA, group="school", bootstrap=100, seed=3)
    again = iasem.fit(syntax, DATA, group="school", bootstrap=100, seed=3)
    pd.testing.assert_frame_equal(result.params, again.params)
    # A few resamples of HS39's smaller groups give an inadmissible model: dropped, as lavaan drops them.
    assert result.boot.shape[0] >= 90
    assert {"ind1", "ind2", "diff", "textual~visual.g2"} <= set(result.boot.columns)
    params = result.params.set_index(["lhs", "op", "rhs", "group"])
    for name in ("ind1", "ind2", "diff"):
        row = params.loc[(name, ":=", params.xs(name, level="lhs").index[0][1], 0)]
        draws = result.boot[name]
        assert row["se"] == pytest.approx(draws.std(ddof=1))
        assert row["ci.lower"] < row["est"] < row["ci.upper"]
    # The same draws refitted jointly (Fisher scoring, no per-group split) drop the same draws and give the
    # same replicates up to where each stops: both stop at the bootstrap tolerances (steps below xtol = 1e-4),
    # the batched chord method converging linearly, so they may stand up to a few times 1e-4 apart in a flat
    # direction. At tight tolerances both reach the same optimum to 1e-6 (the test above).
    batched.ENABLED = False
    try:
        joint = iasem.fit(syntax, DATA, group="school", bootstrap=100, seed=3)
    finally:
        batched.ENABLED = True
    assert len(joint.boot) == len(result.boot)
    np.testing.assert_allclose(joint.boot.to_numpy(), result.boot.to_numpy(), atol=1e-3)
    np.testing.assert_allclose(joint.params["se"], result.params["se"], rtol=1e-3)


def test_bootstrap_with_groups_refuses_what_it_cannot_do():
    syntax = lavaan("specific")["syntax"]
    with pytest.raises(IasemError, match="BCa"):
        iasem.fit(syntax, DATA, group="school", bootstrap=50, ci="bca")
    with pytest.raises(IasemError, match="constraints"):
        iasem.fit(syntax + "a1 == a2\n", DATA, group="school")
