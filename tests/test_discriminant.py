"""iasem.htmt / htmt_ci / fornell_larcker against semTools 0.5.6 (htmt, AVE) and lavaan 0.6.14 (cor.lv).

References: tests/fixtures/validation/*.json (make_validation_fixtures.R) and the shared
tests/fixtures/reference/hs39_cfa_ml.json. Tolerances, never loosened to pass:
- HTMT and HTMT2 of Pearson correlations (closed forms): 1e-12 absolute (measured: 1e-15);
- of polychoric correlations: 1e-7 absolute (measured: 1e-8, the polychorics' own agreement with lavaan);
- Fornell-Larcker (sqrt AVE, factor correlations from the fitted model): 1e-5 relative (measured: 5e-7).

Note: the shared reference's "htmt" was made with semTools' default, which in semTools 0.5.6 is HTMT2
(htmt2 = TRUE); it equals iasem.htmt(..., htmt2=True). The original HTMT is iasem's default.
"""

from __future__ import annotations

import json
import re
import warnings
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
CLOSED = 1e-12
POLYCHORIC = 1e-7
MODEL_RTOL = 1e-5

DATASETS = {
    "hs39_validation": resource_path("data") / "holzinger_swineford_1939.csv",
    "poldem_validation": resource_path("data") / "political_democracy.csv",
    "hs39_ordinal_validation": FIXTURES / "lavaan" / "hs39_ordinal5.csv",
}


def reference(case: str) -> dict:
    return json.loads((VALIDATION / f"{case}.json").read_text())


def as_frame(matrix: dict) -> pd.DataFrame:
    return pd.DataFrame(matrix).T.loc[list(matrix), list(matrix)]


@pytest.fixture(scope="module")
def hs39() -> pd.DataFrame:
    return pd.read_csv(resource_path("data") / "holzinger_swineford_1939.csv")


@pytest.fixture(scope="module")
def incomplete() -> pd.DataFrame:
    return pd.read_csv(VALIDATION / "hs39_missing.csv")


def test_shared_reference_is_htmt2(hs39):
    ref = json.loads((FIXTURES / "reference" / "hs39_cfa_ml.json").read_text())
    table = iasem.htmt(hs39, HS39, htmt2=True)
    for pair, value in ref["htmt"].items():
        a, b = pair.split("_")
        assert table.loc[a, b] == pytest.approx(value, rel=1e-3)
        assert table.loc[a, b] == pytest.approx(value, abs=1e-9)  # the reference keeps 10 digits


@pytest.mark.parametrize("case", sorted(DATASETS))
@pytest.mark.parametrize(
    ("key", "options"),
    [("htmt", {}), ("htmt2", {"htmt2": True}), ("htmt_signed", {"absolute": False})],
)
def test_htmt_against_semtools(case, key, options):
    ref = reference(case)
    table = iasem.htmt(pd.read_csv(DATASETS[case]), ref["constructs"], **options)
    expected = as_frame(ref["htmt"][key])
    pd.testing.assert_index_equal(table.index, expected.index)
    pd.testing.assert_index_equal(table.columns, expected.columns)
    np.testing.assert_allclose(table.to_numpy(), expected.to_numpy(), rtol=0, atol=CLOSED)
    np.testing.assert_array_equal(table.to_numpy(), table.to_numpy().T)


@pytest.mark.parametrize("key", ["htmt", "htmt2"])
def test_htmt_of_polychoric_correlations(key):
    ref = reference("hs39_ordinal_validation")
    data = pd.read_csv(DATASETS["hs39_ordinal_validation"])
    table = iasem.htmt(data, ref["constructs"], ordinal=True, htmt2=key == "htmt2")
    np.testing.assert_allclose(table.to_numpy(), as_frame(ref["ordinal"][key]).to_numpy(), rtol=0, atol=POLYCHORIC)


@pytest.mark.parametrize("missing", ["listwise", "pairwise"])
@pytest.mark.parametrize("key", ["htmt", "htmt2"])
def test_htmt_with_missing_values(incomplete, missing, key):
    ref = reference("hs39_missing_validation")
    if missing == "listwise":
        with pytest.warns(ValidationWarning, match=re.escape("htmt: 95 of 301 rows miss an answer to some item; the "
                                                             "correlations use the 206 complete rows")):  # fmt: skip
            table = iasem.htmt(incomplete, ref["constructs"], htmt2=key == "htmt2")
    else:
        table = iasem.htmt(incomplete, ref["constructs"], htmt2=key == "htmt2", missing="pairwise")
    expected = as_frame(ref[f"htmt_{missing}"][key])
    np.testing.assert_allclose(table.to_numpy(), expected.to_numpy(), rtol=0, atol=CLOSED)


@pytest.mark.parametrize("case", sorted(DATASETS))
def test_fornell_larcker_against_semtools_and_lavaan(case):
    ref = reference(case)
    table = iasem.fornell_larcker(pd.read_csv(DATASETS[case]), ref["constructs"])
    check_fornell_larcker(table, ref["cfa"])


@pytest.mark.parametrize(("missing", "key"), [("listwise", "cfa_listwise"), ("pairwise", "cfa_fiml")])
def test_fornell_larcker_with_missing_values(incomplete, missing, key):
    ref = reference("hs39_missing_validation")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = iasem.fornell_larcker(incomplete, ref["constructs"], missing=missing)
    dropped = [str(w.message) for w in caught if issubclass(w.category, ValidationWarning)]
    if missing == "listwise":
        assert dropped == ["fornell_larcker: 95 of 301 rows are left out; the measurement model uses the complete rows "
                           "(missing='listwise'): 206"]  # fmt: skip
    else:
        assert dropped == []
    check_fornell_larcker(table, ref[key])
    assert table.attrs["n_cfa"] == ref[key]["nobs"]


def check_fornell_larcker(table: pd.DataFrame, cfa: dict) -> None:
    names = list(cfa["ave"])
    assert list(table.index) == list(table.columns) == names
    for i, a in enumerate(names):
        assert table.loc[a, a] == pytest.approx(np.sqrt(cfa["ave"][a]), rel=MODEL_RTOL)
        for b in names[i + 1 :]:
            assert table.loc[b, a] == pytest.approx(cfa["cor_lv"][b][a], rel=MODEL_RTOL)
            assert np.isnan(table.loc[a, b])


# ---------------------------------------------------------------------------------------------------------------
# Bootstrap intervals
# ---------------------------------------------------------------------------------------------------------------
def test_htmt_ci_is_the_percentile_interval_of_resampled_htmt(hs39):
    """The vectorised bootstrap equals iasem.htmt on each resample (the draws of numpy's default_rng(seed),
    rows drawn with replacement, one (n_boot, n) block), summarised by R's type-7 quantiles."""
    n_boot, seed = 40, 11
    table = iasem.htmt_ci(hs39, HS39, n_boot=n_boot, seed=seed, level=0.9)
    rows = np.random.default_rng(seed).integers(0, len(hs39), (n_boot, len(hs39)))
    items = [f"x{i}" for i in range(1, 10)]
    draws = np.array([iasem.htmt(hs39[items].iloc[r].reset_index(drop=True), HS39).to_numpy() for r in rows])
    full = iasem.htmt(hs39, HS39)
    for k, row in table.iterrows():
        a, b = row["construct1"], row["construct2"]
        i, j = full.index.get_loc(a), full.columns.get_loc(b)
        assert row["htmt"] == full.loc[a, b]
        assert row["ci.lower"] == pytest.approx(np.quantile(draws[:, i, j], 0.05), abs=1e-12), k
        assert row["ci.upper"] == pytest.approx(np.quantile(draws[:, i, j], 0.95), abs=1e-12), k
    assert (table["n_boot"] == n_boot).all()
    assert list(zip(table["construct1"], table["construct2"], strict=True)) == [
        ("visual", "textual"), ("visual", "speed"), ("textual", "speed")
    ]  # fmt: skip


def test_htmt_ci_reproducible_and_covering(hs39):
    first = iasem.htmt_ci(hs39, HS39, n_boot=300, seed=2, htmt2=True)
    again = iasem.htmt_ci(hs39, HS39, n_boot=300, seed=2, htmt2=True)
    pd.testing.assert_frame_equal(first, again)
    assert "htmt2" in first.columns
    assert ((first["ci.lower"] < first["htmt2"]) & (first["htmt2"] < first["ci.upper"])).all()
    narrow = iasem.htmt_ci(hs39, HS39, n_boot=300, seed=2, htmt2=True, level=0.5)
    assert ((narrow["ci.upper"] - narrow["ci.lower"]) < (first["ci.upper"] - first["ci.lower"])).all()


def test_htmt_ci_other_paths_run(incomplete):
    """Pairwise correlations and polychorics are recomputed per draw (slower paths)."""
    pairwise = iasem.htmt_ci(incomplete, HS39, n_boot=30, seed=1, missing="pairwise")
    point = iasem.htmt(incomplete, HS39, missing="pairwise")
    assert pairwise["htmt"].tolist() == [point.loc["visual", "textual"], point.loc["visual", "speed"],
                                         point.loc["textual", "speed"]]  # fmt: skip
    ordinal = iasem.htmt_ci(pd.read_csv(DATASETS["hs39_ordinal_validation"]), HS39, n_boot=10, seed=1, ordinal=True)
    assert (ordinal["n_boot"] == 10).all()
    assert ((ordinal["ci.lower"] <= ordinal["htmt"]) & (ordinal["htmt"] <= ordinal["ci.upper"])).all()


def test_htmt_ci_drops_draws_without_variance():
    """A nearly constant item: draws in which it is constant give no value and are reported."""
    rng = np.random.default_rng(0)
    f = rng.standard_normal((12, 2))
    data = pd.DataFrame({f"a{i}": f[:, 0] + rng.standard_normal(12) for i in range(3)}
                        | {f"b{i}": f[:, 1] + rng.standard_normal(12) for i in range(2)})  # fmt: skip
    data["b2"] = 0.0
    data.loc[0, "b2"] = 1.0
    with pytest.warns(ValidationWarning, match=r"htmt_ci: \d+ of 200 bootstrap draws gave no value"):
        table = iasem.htmt_ci(data, {"a": ["a0", "a1", "a2"], "b": ["b0", "b1", "b2"]}, n_boot=200, seed=3)
    assert 0 < table.loc[0, "n_boot"] < 200
    assert np.isfinite(table[["ci.lower", "ci.upper"]]).all(axis=None)


# ---------------------------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda d: iasem.htmt(d, {"visual": ["x1"], "speed": ["x7", "x8"]}),
         "construct 'visual' has 1 item; this statistic needs at least 2"),
        (lambda d: iasem.htmt(d.assign(x8=2.0), HS39), "construct 'speed': item 'x8' is constant"),
        (lambda d: iasem.htmt(d, HS39, ordinal=True), "construct 'visual': item 'x1' has"),
        (lambda d: iasem.htmt(d, HS39, ordinal=True, missing="pairwise"), "ordinal=True uses the complete rows only"),
        (lambda d: iasem.htmt(d.assign(x2=-d.x2, x3=-d.x3), HS39, absolute=False),
         "the items of visual (mean r = -0.133) do not correlate positively on average"),
        (lambda d: iasem.htmt_ci(d, HS39, n_boot=0), "n_boot must be a positive whole number of draws, not 0"),
        (lambda d: iasem.htmt_ci(d, HS39, seed=1.5), "seed must be a whole number, not 1.5"),
        (lambda d: iasem.htmt_ci(d, HS39, level=95), "level must lie between 0 and 1, not 95"),
        (lambda d: iasem.fornell_larcker(d, {"pair": ["x1", "x2"]}),
         "fornell_larcker: a one-factor model of 2 items is not identified"),
        (lambda d: iasem.fornell_larcker(d.assign(x5=1.0), HS39), "construct 'textual': item 'x5' is constant"),
    ],
)  # fmt: skip
def test_errors(hs39, call, message):
    with pytest.raises(IasemError, match=re.escape(message)):
        call(hs39)


def test_pairwise_needs_overlapping_answers(hs39):
    data = hs39[["x1", "x2", "x3", "x4", "x5", "x6"]].copy()
    data.loc[:150, "x1"] = np.nan
    data.loc[150:, "x4"] = np.nan
    with pytest.raises(IasemError, match="items 'x1' and 'x4' are answered together by too few rows"):
        iasem.htmt(data, {"a": ["x1", "x2", "x3"], "b": ["x4", "x5", "x6"]}, missing="pairwise")
