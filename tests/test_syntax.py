"""lavaan syntax -> formulas -> parameter table, checked against lavaan's own tables."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from iasem.syntax import ModelSyntaxError, parse_model, partable

from .conftest import HS39, MEDIATION, POLDEM

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference"


def reference_rows(name: str) -> list[tuple]:
    path = REFERENCE / f"{name}.json"
    if not path.is_file():
        pytest.skip("../shared/reference is not beside this checkout")
    return [(p["lhs"], p["op"], p["rhs"]) for p in json.loads(path.read_text())["params"]]


@pytest.mark.parametrize(
    ("name", "model", "free", "equalities"),
    [("hs39_cfa_ml", HS39, 21, 0), ("poldem_sem_ml", POLDEM, 31, 3), ("poldem_mediation_boot", MEDIATION, 25, 0)],
)
def test_partable_rows_follow_lavaan(name, model, free, equalities):
    table = partable(model)
    rows = [(r.lhs, r.op, r.rhs) for r in table.itertuples() if r.user != 2]
    assert rows == reference_rows(name)
    assert table["free"].max() == free
    assert (table["user"] == 2).sum() == equalities


def test_first_loading_fixed_and_defaults_added():
    table = partable(HS39).set_index(["lhs", "op", "rhs"])
    assert table.loc[("visual", "=~", "x1"), "free"] == 0 and table.loc[("visual", "=~", "x1"), "ustart"] == 1
    assert table.loc[("x1", "~~", "x1"), "user"] == 0 and table.loc[("x1", "~~", "x1"), "free"] > 0
    assert ("visual", "~~", "speed") in table.index


def test_std_lv_frees_loadings_and_fixes_factor_variances():
    table = partable(HS39, std_lv=True).set_index(["lhs", "op", "rhs"])
    assert table.loc[("visual", "=~", "x1"), "free"] > 0
    assert table.loc[("visual", "~~", "visual"), "free"] == 0 and table.loc[("visual", "~~", "visual"), "ustart"] == 1


def test_na_frees_and_number_fixes():
    table = partable("f =~ NA*x1 + 0.8*x2 + x3\nf ~~ 1*f").set_index(["lhs", "op", "rhs"])
    assert table.loc[("f", "=~", "x1"), "free"] > 0
    assert table.loc[("f", "=~", "x2"), "free"] == 0 and table.loc[("f", "=~", "x2"), "ustart"] == 0.8
    assert table.loc[("f", "~~", "f"), "free"] == 0


def test_meanstructure_adds_intercepts():
    table = partable(HS39, meanstructure=True)
    intercepts = table[table["op"] == "~1"]
    assert list(intercepts["lhs"]) == [f"x{i}" for i in range(1, 10)] + ["visual", "textual", "speed"]
    assert (intercepts.set_index("lhs").loc[["visual", "textual", "speed"], "free"] == 0).all()


def test_exogenous_observed_covariates_are_fixed_x():
    table = partable("y ~ x1 + x2")
    exo = table[table["exo"] == 1]
    assert [(r.lhs, r.rhs) for r in exo.itertuples()] == [("x1", "x1"), ("x1", "x2"), ("x2", "x2")]
    assert (exo["free"] == 0).all()
    assert not partable("y ~ x1 + x2", fixed_x=False)["exo"].any()


def test_defined_parameters_and_constraints_come_last():
    table = partable(MEDIATION + "\na > 0\n")
    tail = table.tail(3)
    assert list(tail["op"]) == [":=", ":=", ">"]
    assert list(tail["lhs"]) == ["indirect", "total", "a"]


def test_start_values_and_group_vectors_are_read():
    (row,) = parse_model("f =~ start(0.7)*x1")
    assert row.modifiers.start == [0.7]
    (row,) = parse_model("f =~ 0.5?x1")
    assert row.modifiers.start == [0.5]
    (row,) = parse_model("f =~ c(a, b)*x1")
    assert row.modifiers.label == ["a", "b"]
    (row,) = parse_model("f =~ c(1, NA)*x1")
    assert row.modifiers.fixed == [1.0, None]
    (row,) = parse_model('f =~ label("w")*x1')
    assert row.modifiers.label == ["w"]


def test_intercept_and_threshold_formulas():
    rows = parse_model("y ~ 1 + x\nu | t1 + t2\ny ~ m*1")
    assert [(r.lhs, r.op, r.rhs) for r in rows] == [
        ("y", "~1", ""), ("y", "~", "x"), ("u", "|", "t1"), ("u", "|", "t2"), ("y", "~1", "")]  # fmt: skip
    assert rows[-1].modifiers.label == ["m"]


def test_statements_continue_over_lines_and_split_on_semicolons():
    rows = parse_model("f =~ x1 + x2 +\n     x3\n  + x4; g =~ x5 + x6 + x7")
    assert [r.rhs for r in rows] == ["x1", "x2", "x3", "x4", "x5", "x6", "x7"]
    assert [r.line for r in rows] == [1, 1, 1, 1, 3, 3, 3]


@pytest.mark.parametrize(
    ("model", "line", "message"),
    [
        ("f =~ x1 + x2\n\ng =~ x3 +* x4", 3, "empty term|cannot read"),
        ("f =~ x1\nthis is not a formula", 2, "has no operator"),
        ("f =~ x1 + 2x", 1, "not a valid variable name"),
        ("f =~ x1 + x2\nf =~ x2", 2, "specified twice"),
        ("f =~ x1 + a*x2\nab := a*q", 2, "'q' .* is not a parameter label"),
        ("f =~ x1 + x2 +", 1, "empty term"),
    ],
)
def test_errors_name_the_line(model, line, message):
    with pytest.raises(ModelSyntaxError, match=rf"model:{line}: .*({message})"):
        partable(model)


def test_free_parameters_are_numbered_in_table_order():
    free = partable(POLDEM)["free"].to_numpy()
    numbered = free[free > 0]
    assert np.array_equal(numbered, np.arange(1, len(numbered) + 1))


LAVAAN = Path(__file__).parent / "fixtures" / "lavaan"


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("partable_hs39_cfa", {}),
        ("partable_poldem_sem", {}),
        ("partable_poldem_mediation", {}),
        ("partable_hs39_cfa_meanstructure", {"meanstructure": True}),
        ("partable_hs39_cfa_stdlv", {"std_lv": True}),
        ("partable_hs39_cfa_constraints", {}),
        ("partable_hs39_multigroup_scalar", {"ngroups": 2, "group_equal": ("loadings", "intercepts")}),
        ("partable_hs39_ordinal_wlsmv", {"ordered": {f"x{i}": 4 for i in range(1, 10)}}),
        # Multi-group WLSMV (make_wlsmv_groups_fixtures.R); group_equal as lavaan's options have it (for ordered
        # data lavaan adds "intercepts" to "thresholds" and vice versa).
        *(
            (
                f"wlsmv_groups_{step}",
                {
                    "ordered": {f"x{i}": 4 for i in range(1, 10)},
                    "ngroups": 2,
                    "group_equal": equal,
                    "std_lv": step.endswith("stdlv"),
                },
            )
            for step, equal in [
                ("configural", ()),
                ("loadings", ("loadings",)),
                ("thresholds", ("thresholds", "intercepts")),
                ("thresholds_loadings", ("thresholds", "loadings", "intercepts")),
                ("thresholds_loadings_intercepts", ("thresholds", "loadings", "intercepts")),
                ("thresholds_loadings_stdlv", ("thresholds", "loadings", "intercepts")),
            ]
        ),
    ],
)
def test_partable_equals_lavaans(name, options):
    """Row for row, lavaan 0.6.14's partable (tests/fixtures/lavaan, made by make_fixtures.R)."""
    fixture = json.loads((LAVAAN / f"{name}.json").read_text())
    assert sorted(options.get("group_equal", ())) == sorted(fixture["options"].get("group.equal", []))
    ours = partable(fixture["syntax"], **options)
    columns = ["id", "lhs", "op", "rhs", "user", "block", "group", "free", "exo", "label", "plabel"]
    theirs = [tuple(row[c] for c in columns) for row in fixture["partable"]]
    assert [tuple(row) for row in ours[columns].itertuples(index=False)] == theirs
    np.testing.assert_array_equal(
        ours["ustart"].to_numpy(dtype=float),
        np.array([np.nan if r["ustart"] is None else r["ustart"] for r in fixture["partable"]], dtype=float),
    )
