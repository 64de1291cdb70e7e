"""per_group_labels: a one-group model's labels and := effects rewritten per group (iasem/syntax/groups.py)."""

from __future__ import annotations

import pytest

from iasem.errors import IasemError
from iasem.sem import model_text
from iasem.syntax import parse_model
from iasem.syntax.groups import group_suffix, per_group_labels


def test_labels_comments_and_effects_built_on_effects():
    text = "y ~ a*x + b*m   # paths\nm ~ a2*x\nind := a2*b\ntotal := a + ind\n"
    out = per_group_labels(text, ["g one", "g-two"])
    assert out.splitlines() == [
        "y ~ c(a_g_one, a_g_two)*x + c(b_g_one, b_g_two)*m   # paths",
        "m ~ c(a2_g_one, a2_g_two)*x",
        "ind_g_one := a2_g_one*b_g_one",
        "ind_g_two := a2_g_two*b_g_two",
        "total_g_one := a_g_one + ind_g_one",
        "total_g_two := a_g_two + ind_g_two",
    ]


def test_the_shipped_intersectoral_model_gets_one_label_per_group():
    groups = ["public_private", "public_ngo", "public_public", "multi_partner"]
    formulas = parse_model(per_group_labels(model_text("intersectoral_performance"), groups))
    labelled = [f for f in formulas if f.modifiers.label]
    assert labelled and all(len(f.modifiers.label) == len(groups) for f in labelled)
    defined = [f.lhs for f in formulas if f.op == ":="]
    assert len(defined) == 4 * len(groups) and "history_external_multi_partner" in defined


def test_models_without_labels_are_left_alone():
    assert per_group_labels("y ~ x\n", ["a", "b"]) == "y ~ x\n"


@pytest.mark.parametrize(
    ("text", "groups", "message"),
    [
        ("y ~ c(a1, a2)*x\n", ["a", "b"], "already has labels per group"),
        ("y ~ a*x + b*z\na == b\n", ["a", "b"], "constraints"),
        ("y ~ a*x\n", ["g-1", "g 1"], "distinct label suffixes"),
    ],
)
def test_refusals(text, groups, message):
    with pytest.raises(IasemError, match=message):
        per_group_labels(text, groups)


def test_group_suffix():
    assert group_suffix("public-private") == "public_private"
    assert group_suffix(3) == "3"
    assert group_suffix("!!") == "group"
