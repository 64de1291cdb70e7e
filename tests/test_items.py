"""iasem.item_analysis against psych 2.2.9 (describe, skew, kurtosi, alpha's item statistics).

References: tests/fixtures/validation/*.json (make_validation_fixtures.R). All columns are closed forms:
1e-9 absolute (measured: 5e-14 at most). psych::describe's type-1 kurtosis of a data frame with missing
values divides by the number of rows instead of the item's answers (psych 2.2.9's kurtosi(), matrix branch);
type 1 is therefore compared with psych::kurtosi of the item alone (its vector branch), which follows the
definition.
"""

from __future__ import annotations

import json
import re
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import iasem
from iasem.errors import IasemError
from iasem.resources import resource_path
from iasem.validation import ValidationWarning

from .conftest import HS39

FIXTURES = Path(__file__).parent / "fixtures"
VALIDATION = FIXTURES / "validation"
TOL = 1e-9
COLUMNS = ["construct", "n", "missing.pct", "mean", "sd", "skewness", "kurtosis", "floor.pct", "ceiling.pct", "r.drop",
           "alpha.if.deleted", "note"]  # fmt: skip

CASES = {
    "hs39_validation": (resource_path("data") / "holzinger_swineford_1939.csv", "alpha"),
    "poldem_validation": (resource_path("data") / "political_democracy.csv", "alpha"),
    "hs39_ordinal_validation": (FIXTURES / "lavaan" / "hs39_ordinal5.csv", "alpha"),
    "hs39_missing_validation": (VALIDATION / "hs39_missing.csv", "alpha_pairwise"),
}


def reference(case: str) -> dict:
    return json.loads((VALIDATION / f"{case}.json").read_text())


@pytest.fixture(scope="module")
def hs39() -> pd.DataFrame:
    return pd.read_csv(resource_path("data") / "holzinger_swineford_1939.csv")


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("kind", [1, 2, 3])
def test_distribution_against_psych(case, kind):
    path, _ = CASES[case]
    ref = reference(case)
    with pytest.warns(ValidationWarning) if case == "hs39_missing_validation" else nullcontext():
        table = iasem.item_analysis(pd.read_csv(path), ref["constructs"], type=kind)
    assert list(table.columns) == COLUMNS
    described = ref["describe"][f"type{kind}"]
    assert list(table.index) == list(described)
    for item, d in described.items():
        row = table.loc[item]
        assert row["n"] == d["n"]
        assert row["mean"] == pytest.approx(d["mean"], abs=TOL)
        assert row["sd"] == pytest.approx(d["sd"], abs=TOL)
        assert row["skewness"] == pytest.approx(d["skew"], abs=TOL)
        assert row["skewness"] == pytest.approx(d["skew_vector"], abs=TOL)
        assert row["kurtosis"] == pytest.approx(d["kurtosis_vector"], abs=TOL)
        if case != "hs39_missing_validation" or kind != 1:
            assert row["kurtosis"] == pytest.approx(d["kurtosis"], abs=TOL)


def test_psych_type1_kurtosis_differs_only_by_its_row_count():
    """The documented psych difference: describe(type = 1) scales g2 + 3 by rows / answers."""
    ref = reference("hs39_missing_validation")
    rows = ref["nobs"]
    for d in ref["describe"]["type1"].values():
        assert d["kurtosis"] == pytest.approx((d["kurtosis_vector"] + 3) * rows / d["n"] - 3, abs=TOL)


@pytest.mark.parametrize("case", sorted(CASES))
def test_item_total_statistics_against_psych_alpha(case):
    path, key = CASES[case]
    ref = reference(case)
    missing = "pairwise" if key == "alpha_pairwise" else "listwise"
    table = iasem.item_analysis(pd.read_csv(path), ref["constructs"], missing=missing)
    for construct, a in ref[key].items():
        for item in a["r_drop"]:
            assert table.loc[item, "construct"] == construct
            assert table.loc[item, "r.drop"] == pytest.approx(a["r_drop"][item], abs=TOL)
            assert table.loc[item, "alpha.if.deleted"] == pytest.approx(a["alpha_drop"][item], abs=TOL)
            assert table.loc[item, "n"] == a["item_n"][item]
            assert table.loc[item, "mean"] == pytest.approx(a["item_mean"][item], abs=TOL)


def test_item_total_statistics_listwise_against_psych():
    ref = reference("hs39_missing_validation")
    data = pd.read_csv(VALIDATION / "hs39_missing.csv")
    with pytest.warns(ValidationWarning) as caught:
        table = iasem.item_analysis(data, ref["constructs"])
    assert [str(w.message) for w in caught] == [
        f"item_analysis: construct '{c}': r.drop and alpha.if.deleted use the {n} of 301 rows that answer all of "
        "its items (missing='listwise')"
        for c, n in (("visual", 251), ("textual", 277), ("speed", 276))
    ]
    for a in ref["alpha_listwise"].values():
        for item in a["r_drop"]:
            assert table.loc[item, "r.drop"] == pytest.approx(a["r_drop"][item], abs=TOL)
            assert table.loc[item, "alpha.if.deleted"] == pytest.approx(a["alpha_drop"][item], abs=TOL)
    missing = ref["n_missing"]
    for item, count in missing.items():
        assert table.loc[item, "missing.pct"] == pytest.approx(100 * count / 301, abs=TOL)
        assert table.loc[item, "n"] == 301 - count
    assert "listwise" in table.attrs["missing"]


def test_floor_and_ceiling():
    ref = reference("hs39_ordinal_validation")
    data = pd.read_csv(FIXTURES / "lavaan" / "hs39_ordinal5.csv")
    given = iasem.item_analysis(data, ref["constructs"], scale=(1, 5))
    observed = iasem.item_analysis(data, ref["constructs"])  # every answer 1..5 occurs: the same ends
    for item in ref["floor"]:
        assert given.loc[item, "floor.pct"] == pytest.approx(ref["floor"][item], abs=TOL)
        assert given.loc[item, "ceiling.pct"] == pytest.approx(ref["ceiling"][item], abs=TOL)
    pd.testing.assert_frame_equal(given, observed, check_like=True)
    assert observed.attrs["scale"].startswith("the construct's observed range")
    wider = iasem.item_analysis(data, ref["constructs"], scale=(0, 6))
    assert (wider[["floor.pct", "ceiling.pct"]] == 0).all(axis=None)
    per_item = iasem.item_analysis(data, {"v": ["x1", "x2"]}, scale={"x1": (1, 5), "x2": (1, 7)})
    assert per_item.loc["x2", "ceiling.pct"] == 0 and per_item.loc["x1", "ceiling.pct"] > 0


def test_instrument_scale_ends(custom_spec):
    """An instrument's own scale (agree7: 1..7) sets floor and ceiling, not the answers seen."""
    instrument = iasem.load_instrument(custom_spec("constructs: [trust, success]\nscale: agree7\n"))
    rng = np.random.default_rng(5)
    items = [q.code for q in instrument.likert_questions]
    data = pd.DataFrame({item: rng.integers(2, 6, 120) for item in items})  # answers 2..5 only
    data["trust1"] = np.r_[np.full(60, 7), rng.integers(2, 6, 60)]
    table = iasem.item_analysis(data, instrument)
    assert list(table.index) == items
    assert (table["floor.pct"] == 0).all()
    assert table.loc["trust1", "ceiling.pct"] == 50.0
    assert (table.drop(index="trust1")["ceiling.pct"] == 0).all()
    assert table.attrs["scale"] == "the response scale given (scale=) or the instrument's"


def test_notes_explain_every_gap(hs39):
    data = hs39[["x1", "x2", "x3", "x4", "x5", "x6", "x7"]].copy()
    data["x3"] = 4.0  # constant
    data["x6"] = 7 - data["x6"]  # reverse-keyed, not recoded
    data.loc[0, "x1"] = 99.0  # outside the scale
    constructs = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "single": ["x7"]}
    table = iasem.item_analysis(data, constructs, scale=(0, 10))
    assert table.loc["x3", "note"] == ("constant (every answer is 4): skewness, kurtosis and r.drop are undefined")
    assert table.loc["x3", ["skewness", "kurtosis", "r.drop"]].isna().all()
    assert table.loc["x3", "sd"] == 0
    assert table.loc["x3", "alpha.if.deleted"] == pytest.approx(
        2 * (1 - (data.x1.var() + data.x2.var()) / (data.x1 + data.x2).var()), abs=1e-12
    )
    assert table.loc["x1", "note"] == "1 answer outside the scale 0-10"
    assert table.loc["x6", "note"] == "r.drop < 0: it runs against the rest of its construct (reverse-keyed?)"
    assert table.loc["x6", "r.drop"] < 0
    assert table.loc["x7", "note"] == "single-item construct: no r.drop or alpha.if.deleted"
    assert np.isnan(table.loc["x7", "r.drop"]) and np.isnan(table.loc["x7", "alpha.if.deleted"])
    pair = iasem.item_analysis(hs39, {"pair": ["x4", "x5"]})
    assert (pair["note"] == "alpha.if.deleted needs a construct of 3 or more items").all()
    assert pair["r.drop"].notna().all() and pair["alpha.if.deleted"].isna().all()
    # Every NaN in a table has a note.
    for frame in (table, pair):
        gaps = frame.drop(columns=["construct", "note"]).isna().any(axis=1)
        assert (frame.loc[gaps, "note"] != "").all()


def test_few_answers(hs39):
    data = hs39[["x1", "x2", "x3"]].head(5).copy()
    data.loc[:, "x3"] = [1.0, 2.0, 4.0, np.nan, np.nan]
    data.loc[:, "x2"] = [np.nan] * 5
    table = iasem.item_analysis(data, {"v": ["x1", "x2", "x3"]}, type=2)
    assert table.loc["x2", "n"] == 0 and table.loc["x2", "missing.pct"] == 100
    assert table.loc["x2", "note"].startswith("no answers")
    assert table.loc["x3", "note"].startswith("3 answers: type-2 kurtosis needs more")
    assert not np.isnan(table.loc["x3", "skewness"]) and np.isnan(table.loc["x3", "kurtosis"])
    assert "only 0 rows answer all of the construct's items: no r.drop or alpha.if.deleted" in table.loc["x1", "note"]
    assert table.loc["x1", "note"] == "only 0 rows answer all of the construct's items: no r.drop or alpha.if.deleted"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"type": 4}, "type=4 is not available; the skewness/kurtosis types are 1, 2 and 3"),
        ({"scale": (5, 1)}, "the scale must have low < high, not (5, 1)"),
        ({"scale": "1-5"}, "the scale must be a pair (low, high), not '1-5'"),
        ({"scale": {"x1": (1, 5)}}, "scale has no (low, high) for item(s) x2, x3"),
        ({"missing": "ml"}, "missing='ml' is not available; available: listwise, pairwise"),
    ],
)
def test_bad_options(hs39, options, message):
    with pytest.raises(IasemError, match=re.escape(message)):
        iasem.item_analysis(hs39, {"visual": ["x1", "x2", "x3"]}, **options)


def test_single_items_and_syntax_are_accepted(hs39):
    table = iasem.item_analysis(hs39, HS39)
    assert list(table["construct"].unique()) == ["visual", "textual", "speed"]
    assert (table["note"] == "").all()


def test_reverse_keyed_item_of_an_instrument(custom_spec):
    """trust5 is reverse-keyed in the bank: left unrecoded it runs against its construct, and the note says so."""
    instrument = iasem.load_instrument(custom_spec("constructs: [trust, success]\nscale: agree7\n"))
    assert instrument.reverse_keyed() == ["trust5"]
    rng = np.random.default_rng(8)
    factor = rng.standard_normal(150)
    codes = [q.code for q in instrument.likert_questions]
    data = pd.DataFrame({code: np.clip(np.round(4 + 1.2 * factor + rng.standard_normal(150)), 1, 7) for code in codes})
    data["trust5"] = 8 - data["trust5"]  # as answered: agreeing is the unfavourable pole
    table = iasem.item_analysis(data, instrument)
    assert (
        table.loc["trust5", "note"]
        == "r.drop < 0: the instrument marks it reverse-keyed; recode it (low + high - x) first"
    )
    recoded = iasem.item_analysis(data.assign(trust5=8 - data["trust5"]), instrument)
    assert recoded.loc["trust5", "r.drop"] > 0 and recoded.loc["trust5", "note"] == ""
