"""Multi-group ML (listwise) against lavaan 0.6.14: ``cfa(model, data, group = "school", group.equal = ...)``.

Fixtures: tests/fixtures/lavaan (hs39_multigroup_ml: metric; partable_hs39_multigroup_scalar: scalar, with
estimates) and tests/fixtures/reference/hs39_invariance_school.json (configural, metric, scalar fit measures).
Tolerances as in test_parity_ml: estimates 1e-4 relative, standard errors 1 %, fit measures 1e-3 relative.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import iasem
from iasem.errors import IasemError
from iasem.resources import resource_path
from iasem.syntax import partable

from .conftest import HS39, assert_params_match

FIXTURES = Path(__file__).parent / "fixtures"
DATA = pd.read_csv(resource_path("data") / "holzinger_swineford_1939.csv")
STEPS = {"configural": (), "metric": ("loadings",), "scalar": ("loadings", "intercepts")}
LAVAAN_CASES = {"hs39_multigroup_ml": ("loadings",), "partable_hs39_multigroup_scalar": ("loadings", "intercepts")}
FIT_MEASURES = ["npar", "chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper",
                "rmsea.pvalue", "srmr", "logl", "unrestricted.logl", "aic", "bic", "baseline.chisq", "baseline.df",
                "ntotal"]  # fmt: skip


def lavaan(name: str) -> dict:
    return json.loads((FIXTURES / "lavaan" / f"{name}.json").read_text())


def fitted(group_equal: tuple[str, ...]) -> iasem.SEMResult:
    return iasem.fit(HS39, DATA, group="school", group_equal=group_equal)


@pytest.mark.parametrize("name", list(LAVAAN_CASES))
def test_estimates_and_standard_errors(name):
    ref = lavaan(name)
    result = fitted(LAVAAN_CASES[name])
    assert result.converged and not result.warnings
    theirs = pd.DataFrame(ref["params"])
    theirs = theirs[theirs["op"] != "=="]
    table = result.params.merge(theirs, on=["lhs", "op", "rhs", "group"], suffixes=("", "_ref"), validate="1:1")
    assert len(table) == len(result.params) == len(theirs)
    assert list(table["label"]) == list(table["label_ref"])
    assert_params_match(table)


@pytest.mark.parametrize("name", list(LAVAAN_CASES))
def test_fit_measures(name):
    ref = lavaan(name)
    result = fitted(LAVAAN_CASES[name])
    for measure in FIT_MEASURES:
        assert result.fit_measures[measure] == pytest.approx(ref["fit"][measure], rel=1e-3, abs=1e-6), measure


@pytest.mark.parametrize("step", list(STEPS))
def test_invariance_steps(step):
    ref = json.loads((FIXTURES / "reference" / "hs39_invariance_school.json").read_text())["steps"][step]
    result = fitted(STEPS[step])
    assert result.converged
    for measure, value in ref.items():
        assert result.fit_measures[measure] == pytest.approx(value, rel=1e-3), measure


def test_chi_square_differences_follow_lavaans_lrt():
    lrt = json.loads((FIXTURES / "reference" / "hs39_invariance_school.json").read_text())["lrt"]
    fits = [fitted(STEPS[step]).fit_measures for step in STEPS]
    for before, after, row in zip(fits[:-1], fits[1:], lrt[1:], strict=True):
        assert after["chisq"] - before["chisq"] == pytest.approx(row["Chisq diff"], rel=1e-3)
        assert after["df"] - before["df"] == row["Df diff"]


def test_groups_in_order_of_appearance_and_chisq_is_the_sum_over_groups():
    result = fitted(())
    assert (
        list(dict.fromkeys(result.sample_cov.index.get_level_values(0))) == lavaan("hs39_multigroup_ml")["group.label"]
    )
    assert sorted(result.params["group"].unique()) == [1, 2]
    # Configural: each group is its own single-group model with a meanstructure.
    single = [iasem.fit(HS39, DATA[DATA["school"] == s]).fit_measures["chisq"] for s in ("Pasteur", "Grant-White")]
    assert result.fit_measures["chisq"] == pytest.approx(sum(single), rel=1e-6)
    raw = result.residuals["raw"]
    assert raw.shape == (18, 9)


def test_per_group_modifiers_apply_group_by_group():
    table = partable("f =~ x1 + c(a, b)*x2 + c(1, NA)*x3 + l*x4", ngroups=2)
    rows = table.set_index(["lhs", "op", "rhs", "group"])
    assert rows.loc[("f", "=~", "x2", 1), "label"] == "a" and rows.loc[("f", "=~", "x2", 2), "label"] == "b"
    assert rows.loc[("f", "=~", "x3", 1), "free"] == 0 and rows.loc[("f", "=~", "x3", 1), "ustart"] == 1
    assert rows.loc[("f", "=~", "x3", 2), "free"] > 0
    # One label for both groups makes the loading equal across groups.
    eq = table[table["op"] == "=="]
    assert [(r.lhs, r.rhs) for r in eq.itertuples()] == [
        (rows.loc[("f", "=~", "x4", 1), "plabel"], rows.loc[("f", "=~", "x4", 2), "plabel"])
    ]
    assert (table.loc[table["group"] > 0, "block"] == table.loc[table["group"] > 0, "group"]).all()


def test_latent_means_free_only_with_equal_intercepts():
    def lv_means(group_equal):
        table = partable(HS39, ngroups=2, group_equal=group_equal)
        return table[(table["op"] == "~1") & table["lhs"].isin(["visual", "textual", "speed"])]

    assert (lv_means(("loadings",))["free"] == 0).all()
    scalar = lv_means(("loadings", "intercepts"))
    assert (scalar.loc[scalar["group"] == 1, "free"] == 0).all() and (
        scalar.loc[scalar["group"] == 2, "free"] > 0
    ).all()
    assert (lv_means(("loadings", "intercepts", "means"))["free"] == 0).all()


def test_equal_residuals_add_one_constraint_per_indicator():
    strong = partable(HS39, ngroups=2, group_equal=("loadings", "intercepts", "residuals"))
    assert (strong["user"] == 2).sum() == 6 + 9 + 9


def test_errors():
    with pytest.raises(IasemError, match="group column"):
        iasem.fit(HS39, DATA, group="nope")
    with pytest.raises(IasemError, match="group_equal"):
        iasem.fit(HS39, DATA, group_equal=("loadings",))
    with pytest.raises(IasemError, match="not available"):
        iasem.fit(HS39, DATA, group="school", group_equal=("loading",))
    with pytest.raises(IasemError, match="2 group"):
        partable("f =~ x1 + c(a, b, c)*x2 + x3", ngroups=2)
    with pytest.raises(IasemError, match="at least 2"):
        iasem.fit(HS39, DATA[DATA["school"] == "Pasteur"], group="school")
