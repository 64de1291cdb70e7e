"""Standardized and normalized residuals against lavaan 0.6.14's ``residuals(fit, type = ...)`` and
``lavResiduals(fit)$cov.z`` (tests/fixtures/lavaan/residuals_*.json, written by make_modindices_fixtures.R).

As in test_modindices, two comparisons per case. At lavaan's own estimates the z-statistics agree within 1e-8
relative, which pins the formula. At iasem's own estimates they inherit the difference of the two optimisers'
stopping points (see test_modindices): each z within 1e-3 relative, or 1e-3 absolute where the z itself is
below 1 (a z of 0.125 moves by 1.3e-4 in the multi-group case). Residuals below 1e-5 are reported undivided by
both programs, so those entries (the ~0 variances of a CFA) are raw differences of ~1e-6 at most.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import iasem
from iasem.engine.residuals import residuals
from iasem.errors import IasemError

from .conftest import HS39, POLDEM
from .test_modindices import at_lavaan_estimates

FIXTURES = Path(__file__).parent / "fixtures" / "lavaan"
HS = pd.read_csv(FIXTURES / "holzinger_swineford_1939.csv")
PD = pd.read_csv(FIXTURES / "political_democracy.csv")
CASES = {
    "hs39_cfa": (HS39, HS, {}),
    "poldem_sem": (POLDEM, PD, {}),
    "hs39_multigroup_metric": (HS39, HS, {"group": "school", "group_equal": ("loadings",)}),
}
KINDS = ("standardized", "normalized")


def lavaan(name: str) -> dict:
    return json.loads((FIXTURES / f"residuals_{name}.json").read_text())


def fitted(name: str) -> iasem.SEMResult:
    model, data, options = CASES[name]
    return iasem.fit(model, data, **options)


def matrix(plain: dict) -> pd.DataFrame:
    values = np.array([[np.nan if v is None else v for v in row] for row in plain["values"]], dtype=float)
    return pd.DataFrame(values, index=plain["rownames"], columns=plain["colnames"])


def assert_groups_match(ours: list[dict], theirs: list[dict], rtol: float, atol: float) -> None:
    assert len(ours) == len(theirs)
    for mine, ref in zip(ours, theirs, strict=True):
        expected = matrix(ref["cov"])
        cov = mine["cov"].loc[expected.index, expected.columns]
        np.testing.assert_allclose(cov, expected, rtol=rtol, atol=atol)
        assert ("mean" in mine) == (ref["mean"] is not None)
        if ref["mean"] is not None:
            mean = pd.Series(ref["mean"], dtype=float)
            np.testing.assert_allclose(mine["mean"].loc[mean.index], mean, rtol=rtol, atol=atol)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", list(CASES))
def test_matches_lavaan_at_own_estimates(name, kind):
    assert_groups_match(residuals(fitted(name).engine, kind), lavaan(name)[kind], rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", list(CASES))
def test_matches_lavaan_exactly_at_lavaans_estimates(name, kind):
    ref = lavaan(name)
    ours = residuals(at_lavaan_estimates(fitted(name), ref), kind)
    assert_groups_match(ours, ref[kind], rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("name", list(CASES))
def test_lavresiduals_z_statistics_are_the_standardized_residuals(name):
    """lavResiduals()' cov.z (z of the correlation residuals) equals the standardized residuals off the
    diagonal: the correlation scaling divides a residual and its standard error alike."""
    ref = lavaan(name)
    ours = residuals(at_lavaan_estimates(fitted(name), ref))
    for mine, theirs in zip(ours, ref["lavResiduals_cov_z"], strict=True):
        expected = matrix(theirs["cov.z"])
        off = ~np.eye(len(expected), dtype=bool)
        cov = mine["cov"].loc[expected.index, expected.columns].to_numpy()
        np.testing.assert_allclose(cov[off], expected.to_numpy()[off], rtol=1e-8)


def test_result_residuals_stack_groups_and_keep_raw():
    result = fitted("hs39_multigroup_metric")
    res = result.residuals
    assert list(res) == ["raw", "cor", "standardized", "standardized.mean", "normalized", "normalized.mean"]
    labels = ["Pasteur", "Grant-White"]
    assert list(res["standardized"].index.get_level_values(0).unique()) == labels
    assert res["standardized"].shape == res["raw"].shape == (18, 9)
    assert list(res["standardized.mean"].index) == labels
    ref = lavaan("hs39_multigroup_metric")["standardized"][1]
    assert res["standardized"].loc[("Grant-White", "x7"), "x8"] == pytest.approx(matrix(ref["cov"]).loc["x7", "x8"],
                                                                                  rel=1e-3)  # fmt: skip


def test_result_residuals_single_group():
    res = fitted("hs39_cfa").residuals
    assert list(res) == ["raw", "cor", "standardized", "normalized"]
    z = res["standardized"]
    assert z.loc["x7", "x8"] == pytest.approx(4.823, abs=1e-3) and z.loc["x8", "x7"] == z.loc["x7", "x8"]


def test_no_standard_errors_same_residuals():
    standard = fitted("hs39_cfa").residuals["standardized"]
    pd.testing.assert_frame_equal(iasem.fit(HS39, HS, se="none").residuals["standardized"], standard)


@pytest.mark.parametrize("options", [{"estimator": "ULS"}, {"estimator": "MLR"}, {"missing": "fiml"}, {"se": "robust"}])
def test_unsupported_fits_say_why(options):
    res = iasem.fit(HS39, HS, **options).residuals
    assert "raw" in res and "standardized" not in res
    with pytest.raises(IasemError, match="standardized residuals"):
        res["standardized"]
    with pytest.raises(KeyError):
        res["no such kind"]


def test_fixed_exogenous_covariates_are_refused():
    result = iasem.fit("dem60 =~ y1 + y2 + y3 + y4\ndem60 ~ x1", PD)
    with pytest.raises(IasemError, match="exogenous"):
        residuals(result.engine)


def test_unknown_kind():
    with pytest.raises(IasemError, match="kind"):
        residuals(fitted("hs39_cfa").engine, "cor.bentler")
