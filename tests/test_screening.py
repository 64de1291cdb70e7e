"""Screening of responses (iasem/responses/screening.py): Little's MCAR test against lavaan's EM moments
(tests/fixtures/responses/make_mcar_fixture.R), the indicators on constructed cases, and exclusion only on
request, logged."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import iasem
from iasem.engine.fiml import missing_data
from iasem.errors import IasemError
from iasem.responses import read_responses
from iasem.responses.screening import (
    CHECKS,
    ScreeningRules,
    exclude,
    little_mcar,
    longstring,
    mahalanobis,
    missing_patterns,
    screen,
)
from tests.responses_support import answers

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "responses" / "little_mcar.json").read_text())


@pytest.mark.parametrize("case", ["mcar", "mar"])
def test_little_mcar_matches_the_r_reference(case):
    ref = FIXTURE[case]
    data = pd.DataFrame(ref["data"]).astype(float)
    result = little_mcar(data)
    moments = missing_data(data, list(data.columns))
    np.testing.assert_allclose(moments.h1_mean, ref["mean"], rtol=0, atol=1e-7)
    np.testing.assert_allclose(moments.h1_cov, ref["cov"], rtol=0, atol=1e-7)
    assert result["df"] == ref["df"] and result["n_patterns"] == ref["n_patterns"]
    assert result["chi2"] == pytest.approx(ref["chi2"], rel=1e-6)
    assert result["p"] == pytest.approx(ref["p"], rel=1e-5, abs=1e-300)


def test_mar_data_are_told_to_use_fiml(tmp_path):
    data = pd.DataFrame(FIXTURE["mar"]["data"]).astype(float)
    assert little_mcar(data)["p"] < 1e-10
    from iasem.responses.screening import _advice

    assert "use FIML" in _advice(little_mcar(data), data)


def test_longstring_counts_runs_and_missing_breaks_them():
    frame = pd.DataFrame([[1, 1, 1, 2, 2], [3, None, 3, 3, 3], [5, 4, 3, 2, 1]], dtype=float)
    assert longstring(frame).tolist() == [3, 3, 1]


def test_mahalanobis_on_complete_data_equals_the_textbook_formula():
    rng = np.random.default_rng(0)
    values = pd.DataFrame(rng.normal(size=(200, 4)), columns=list("abcd"))
    values.iloc[0] = [6, -6, 6, -6]
    out = mahalanobis(values)
    centred = values - values.mean()
    cov = centred.T @ centred / len(values)  # ML covariance: EM on complete data
    d2 = np.einsum("ij,jk,ik->i", centred, np.linalg.inv(cov), centred)
    np.testing.assert_allclose(out["mahalanobis"], d2, rtol=1e-8)
    assert (out["mahalanobis_df"] == 4).all()
    assert out["mahalanobis_p"].iloc[0] < 0.001


def test_missing_patterns_count_every_row():
    frame = pd.DataFrame({"a": [1, None, 2, None], "b": [1, 2, None, None]})
    table = missing_patterns(frame)
    assert table["n"].sum() == 4 and set(table.columns) == {"a", "b", "n", "n_missing"}


@pytest.fixture
def responses(tmp_path):
    instrument = iasem.load_instrument("relational")
    given = answers(instrument, 150, 5)
    items = [q.code for q in instrument.likert_questions]
    given.loc[3, items] = 4  # a straight-liner
    given.loc[4, "duration"] = 20  # a speeder: 20 s for 40 items
    given.loc[6, "id"] = given.loc[5, "id"]  # a duplicated id
    flat = given.copy()
    flat["goals"] = [",".join(map(str, v)) for v in given["goals"]]
    path = tmp_path / "responses.csv"
    flat.to_csv(path, index=False)
    return read_responses(path, instrument, platform="csv"), given


def test_screen_flags_each_constructed_case(responses):
    data, _ = responses
    result = screen(data)
    flags = result.flags.reset_index(drop=True)
    assert flags.loc[3, "straightlining"] and flags.loc[3, "longstring"] == len(data.items)
    assert flags.loc[4, "speeder"] and not flags.drop(index=4)["speeder"].any()
    assert flags.loc[5, "duplicate_id"] and flags.loc[6, "duplicate_id"]
    # answers() fails the attention check for every seventh respondent (k % 7 == 0).
    assert flags["attention"].tolist() == [k % 7 == 0 for k in range(150)]
    assert flags.loc[149, "incomplete"] and flags.loc[149, "answered"] < 0.2
    assert list(result.counts().index) == list(CHECKS)
    logged = result.log[result.log["check"] == "speeder"]
    assert logged["row"].tolist() == [data.meta["line"].iloc[4]] and "s per item" in logged["reason"].iloc[0]


def test_nothing_is_excluded_unless_asked_and_exclusions_are_logged(responses):
    data, _ = responses
    result = screen(data)
    assert len(data.data) == 150
    kept = exclude(data, result, ["speeder", "attention"])
    dropped = result.flags[["speeder", "attention"]].any(axis=1)
    assert len(kept.data) == 150 - int(dropped.sum())
    entries = kept.log[kept.log["action"] == "excluded"]
    assert sorted(entries["respondent"]) == sorted(result.flags.index[dropped])
    assert entries["row"].notna().all()
    with pytest.raises(IasemError, match="unknown check"):
        exclude(data, result, ["lazy"])


def test_rules_change_the_cutoffs(responses):
    data, _ = responses
    strict = screen(data, ScreeningRules(seconds_per_item=40.0, longstring=3))
    assert strict.flags["speeder"].sum() > screen(data).flags["speeder"].sum()
    assert strict.flags["straightlining"].sum() > 1
