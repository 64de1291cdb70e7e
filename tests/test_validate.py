"""iasem.validate and `iasem validate`: the whole measurement report of an instrument on one data set."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import iasem
from iasem.cli import main
from iasem.errors import IasemError, OutputExistsError
from iasem.validation.constructs import as_constructs

REF = json.loads((Path(__file__).parent / "fixtures" / "reference" / "hs39_cfa_ml.json").read_text())
HS39 = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "speed": ["x7", "x8", "x9"]}


@pytest.fixture(scope="module")
def hs39() -> pd.DataFrame:
    return pd.read_csv(iasem.resources.resource_path("data") / "holzinger_swineford_1939.csv")


@pytest.fixture(scope="module")
def report(hs39) -> iasem.MeasurementReport:
    return iasem.validate(hs39, HS39, estimator="ML", group="school", seed=1)


def simulated_responses(instrument: iasem.Instrument, n: int = 300, seed: int = 5) -> pd.DataFrame:
    """Five-point answers from a correlated factor model with one factor per construct (loadings .75)."""
    constructs = as_constructs(instrument)
    rng = np.random.default_rng(seed)
    k = len(constructs)
    factors = rng.multivariate_normal(np.zeros(k), 0.4 + 0.6 * np.eye(k), size=n)
    columns = {}
    for j, items in enumerate(constructs.values()):
        for item in items:
            latent = 0.75 * factors[:, j] + np.sqrt(1 - 0.75**2) * rng.standard_normal(n)
            columns[item] = np.digitize(latent, [-1.3, -0.5, 0.3, 1.1]) + 1
    data = pd.DataFrame(columns)
    data["atype"] = rng.choice(["public-private", "public-ngo"], n)
    return data


def test_reliability_matches_semtools_and_psych(report):
    """The shared reference's compRelSEM omega, AVE and psych alpha per factor within 1e-3."""
    for column, key in (("alpha", "cronbach_alpha"), ("omega", "omega"), ("ave", "ave")):
        for factor, value in REF[key].items():
            assert report.reliability.loc[factor, column] == pytest.approx(value, rel=1e-3), (column, factor)


def test_the_cfa_is_lavaans_and_judged_by_hu_and_bentler(report):
    assert report.cfa.fit_measures["chisq"] == pytest.approx(REF["fit"]["chisq"], rel=1e-6)
    assert report.fit.loc["cfi", "value"] == pytest.approx(REF["fit"]["cfi"], rel=1e-6)
    assert report.fit.loc["cfi", "verdict"] == "fails" and report.fit.loc["srmr", "verdict"] == "meets"
    assert "Hu, L., & Bentler" in report.fit.loc["cfi", "source"]


def test_every_check_has_a_rule_a_verdict_and_a_source(report):
    verdicts = report.verdicts
    assert set(verdicts["check"]) >= {"alpha", "omega", "cr", "ave", "htmt", "fornell_larcker", "cfi", "tli",
                                      "rmsea", "srmr", "invariance: metric"}  # fmt: skip
    assert verdicts["verdict"].isin(["meets", "fails", "invariant", "not invariant", "poor fit",
                                     "acceptable fit"]).all()  # fmt: skip
    assert (verdicts["source"].str.len() > 20).all()
    alpha = verdicts.query("check == 'alpha'").set_index("construct")
    assert alpha["verdict"].to_dict() == {"visual": "fails", "textual": "meets", "speed": "fails"}
    assert verdicts.query("check == 'invariance: scalar'")["verdict"].item() == "not invariant"


def test_cutoffs_change_the_verdicts(hs39):
    lenient = iasem.validate(hs39, HS39, estimator="ML", cutoffs={"alpha": 0.6, "ave": 0.3}, exploratory=False)
    alpha = lenient.verdicts.query("check == 'alpha'")
    assert (alpha["verdict"] == "meets").all() and (alpha["cutoff"] == 0.6).all()
    assert lenient.efa is None and "efa_loadings" not in lenient.tables()


def test_efa_uses_one_factor_per_construct(report):
    assert report.efa.n_factors == 3 and report.efa.parallel.suggested == 3
    assert "EFA: 3 factors" in report.summary()


def test_write_is_atomic_and_refuses_to_overwrite(report, tmp_path):
    written = report.write(tmp_path / "out")
    names = {p.name for p in written}
    assert {"items.csv", "reliability.csv", "htmt.csv", "verdicts.csv", "invariance.csv", "report.json",
            "summary.txt"} <= names  # fmt: skip
    saved = json.loads((tmp_path / "out" / "report.json").read_text())
    assert saved["nobs"] == 301 and len(saved["verdicts"]) == len(report.verdicts)
    before = (tmp_path / "out" / "summary.txt").read_text()
    with pytest.raises(OutputExistsError):
        report.write(tmp_path / "out")
    assert (tmp_path / "out" / "summary.txt").read_text() == before
    assert not list((tmp_path / "out").glob("*.tmp*"))
    report.write(tmp_path / "out", force=True)


def test_an_instrument_is_validated_by_its_item_codes(tmp_path, capsys):
    instrument = iasem.load_instrument("relational")
    data = simulated_responses(instrument)
    csv = tmp_path / "responses.csv"
    data.to_csv(csv, index=False)
    out = tmp_path / "validation"
    assert main(["validate", str(csv), "--instrument", "relational", "--no-efa", "--out", str(out)]) == 0
    summary = (out / "summary.txt").read_text()
    assert "8 constructs, 300 respondents (MLR)" in summary
    reliability = pd.read_csv(out / "reliability.csv", index_col=0)
    assert list(reliability.index) == list(as_constructs(instrument))
    assert (reliability["alpha"] > 0.75).all()
    assert main(["validate", str(csv), "--instrument", "relational", "--out", str(out)]) == 1
    assert "exists; pass --force" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"missing": "pairwise"}, "missing='pairwise' is not available"),
        ({"group": "nosuch"}, "no group column 'nosuch'"),
        ({"cutoffs": {"alpha": 7}}, "between 0 and 1"),
    ],
)
def test_bad_arguments_are_refused(hs39, kwargs, message):
    with pytest.raises(IasemError, match=message):
        iasem.validate(hs39, HS39, **kwargs)


def test_missing_items_are_named(hs39):
    with pytest.raises(IasemError, match="x99"):
        iasem.validate(hs39, {"visual": ["x1", "x2", "x99"], "speed": ["x7", "x8", "x9"]})
