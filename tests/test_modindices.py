"""Modification indices against lavaan 0.6.14's ``modindices(fit)`` (tests/fixtures/lavaan/modindices_*.json,
written by make_modindices_fixtures.R).

Two comparisons per case:

* at iasem's own estimates, as a user sees them: mi, epc and the standardized EPCs within 1e-3 relative (the
  issue's bar). What is left there comes from the estimates: lavaan's optimiser stops about 1e-5 (relative)
  from the optimum, where iasem's Fisher scoring gets closer (its gradient is 1e-8..1e-7 against lavaan's
  1e-6), and a modification index is a squared gradient;
* at lavaan's own estimates (the fixture's parTable est): the same statistics within 1e-8 relative, which pins
  the formulas (candidate set, information, constraints, standardization) independently of the optimiser.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import iasem
from iasem.engine.estimate import evaluate
from iasem.engine.fitted import FittedModel
from iasem.engine.modindices import MODEL_OPS, modification_indices
from iasem.errors import IasemError

from .conftest import HS39, POLDEM

FIXTURES = Path(__file__).parent / "fixtures" / "lavaan"
HS = pd.read_csv(FIXTURES / "holzinger_swineford_1939.csv")
PD = pd.read_csv(FIXTURES / "political_democracy.csv")
FIXED_X = """
ind60 =~ x1 + x2 + x3
dem60 =~ y1 + y2 + y3 + y4
dem60 ~ ind60 + y5 + y6
x1 ~ y7
"""
CASES = {
    "hs39_cfa": (HS39, HS, {}),
    "hs39_cfa_stdlv": (HS39, HS, {"std_lv": True}),
    "poldem_sem": (POLDEM, PD, {}),
    "hs39_multigroup_metric": (HS39, HS, {"group": "school", "group_equal": ("loadings",)}),
    "poldem_fixedx": (FIXED_X, PD, {}),
}
# At iasem's own estimates. poldem_fixedx is compared at lavaan's estimates only: there, lavaan's estimates are
# 3e-6 (relative) from iasem's and two indices below 0.1 (x2 ~~ x3: 0.0546 in lavaan) move by 1.7e-3 relative.
OWN_ESTIMATE_CASES = [name for name in CASES if name != "poldem_fixedx"]
STATISTICS = ["mi", "epc", "sepc.lv", "sepc.all", "sepc.nox"]


def lavaan(name: str) -> dict:
    return json.loads((FIXTURES / f"modindices_{name}.json").read_text())


def fitted(name: str) -> iasem.SEMResult:
    model, data, options = CASES[name]
    return iasem.fit(model, data, **options)


def at_lavaan_estimates(result: iasem.SEMResult, ref: dict) -> FittedModel:
    """The fitted model with its states evaluated at lavaan's estimates (the fixture's ``partable`` est)."""
    engine = result.engine
    est = {(r["lhs"], r["op"], r["rhs"], r["group"]): r["est"] for r in ref["partable"]}
    x = engine.x.copy()
    for g, params in enumerate(engine.params, start=1):
        rows = engine.table[engine.table["op"].isin(MODEL_OPS) & (engine.table["group"] == g)]
        for k, r in enumerate(rows.itertuples()):
            if params.index[k] >= 0:
                x[params.index[k]] = est[(r.lhs, r.op, r.rhs, g)]
    states = [evaluate(p, s, x) for p, s in zip(engine.params, engine.stats, strict=True)]
    return dataclasses.replace(engine, states=states, vcov=None)  # no standard errors at these estimates


def keys(frame: pd.DataFrame) -> list[tuple]:
    columns = ["lhs", "op", "rhs"] + (["group"] if "group" in frame else [])
    return list(frame[columns].itertuples(index=False, name=None))


def assert_matches(ours: pd.DataFrame, theirs: pd.DataFrame, rtol: float, atol: float = 0.0) -> None:
    assert keys(ours) == keys(theirs)
    for column in STATISTICS:
        np.testing.assert_allclose(ours[column], theirs[column], rtol=rtol, atol=atol, err_msg=column)


@pytest.mark.parametrize("name", list(CASES))
def test_candidates_are_lavaans_in_lavaans_order(name):
    ours = fitted(name).modindices()
    theirs = pd.DataFrame(lavaan(name)["modindices"])
    assert keys(ours) == keys(theirs)
    expected = ["lhs", "op", "rhs", "group", *STATISTICS] if "group" in theirs else ["lhs", "op", "rhs", *STATISTICS]
    assert list(ours.columns) == expected


@pytest.mark.parametrize("name", OWN_ESTIMATE_CASES)
def test_matches_lavaan_at_own_estimates(name):
    assert_matches(fitted(name).modindices(), pd.DataFrame(lavaan(name)["modindices"]), rtol=1e-3)


@pytest.mark.parametrize("name", list(CASES))
def test_matches_lavaan_exactly_at_lavaans_estimates(name):
    ref = lavaan(name)
    ours = modification_indices(at_lavaan_estimates(fitted(name), ref))
    assert_matches(ours, pd.DataFrame(ref["modindices"]), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("name", ["poldem_sem", "hs39_multigroup_metric"])
def test_sort_and_minimum_value(name):
    ref = lavaan(name)
    theirs = pd.DataFrame(ref["modindices_sorted"])
    ours = modification_indices(at_lavaan_estimates(fitted(name), ref), sort=True, minimum_value=3)
    assert_matches(ours, theirs, rtol=1e-8, atol=1e-10)
    own = fitted(name).modindices(sort=True, minimum_value=3)
    assert keys(own) == keys(theirs)
    assert own["mi"].is_monotonic_decreasing and (own["mi"] > 3).all()


def test_equality_constraints_keep_a_fixed_loading_identified():
    """With the loadings of dem60 and dem65 equal (labels a, b, c), freeing a scaling loading is identified:
    lavaan lists dem60 =~ y1 (mi 0.238) while the HS39 CFA's scaling loadings have no index."""
    poldem = fitted("poldem_sem").modindices().set_index(["lhs", "op", "rhs"])
    assert poldem.loc[("dem60", "=~", "y1"), "mi"] == pytest.approx(0.238426, rel=1e-3)
    hs = fitted("hs39_cfa").modindices()
    assert not ((hs["op"] == "=~") & (hs["rhs"] == "x1") & (hs["lhs"] == "visual")).any()


@pytest.mark.parametrize("options", [{"estimator": "MLR"}, {"se": "robust"}, {"se": "none"}])
def test_standard_errors_do_not_change_the_indices(options):
    """lavaan's modindices use the expected information whatever the standard errors (MLR included)."""
    ml = fitted("hs39_cfa").modindices()
    other = iasem.fit(HS39, HS, **options).modindices()
    pd.testing.assert_frame_equal(ml, other, rtol=1e-10)


@pytest.mark.parametrize("options", [{"estimator": "ULS"}, {"estimator": "GLS"}, {"missing": "fiml"}])
def test_unsupported_fits_are_refused(options):
    result = iasem.fit(HS39, HS, **options)
    with pytest.raises(IasemError, match="modification indices"):
        result.modindices()


def test_hs39_is_fast():
    result = fitted("hs39_cfa")
    start = time.perf_counter()
    result.modindices()
    assert time.perf_counter() - start < 0.5
