"""The project's models (models/*.lav): they parse, use the bank's item codes, cite their sources, and recover
population values from data simulated from them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import iasem
from iasem import load_bank
from iasem.resources import resource_path
from iasem.syntax import parse_model, partable

LAVAAN_DIR = Path(__file__).parent / "fixtures" / "lavaan"
MODELS = ["relational_trust", "relational_social_capital", "intersectoral_performance"]


def model_text(name: str) -> str:
    return (resource_path("models") / f"{name}.lav").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", MODELS)
def test_measurement_part_uses_the_bank(name):
    bank = load_bank()
    loadings = {}
    for formula in parse_model(model_text(name)):
        if formula.op == "=~":
            loadings.setdefault(formula.lhs, []).append(formula.rhs)
    for construct, items in loadings.items():
        assert items == [item.code for item in bank.constructs[construct].items], construct


@pytest.mark.parametrize("name", MODELS)
def test_every_structural_path_cites_a_seed_section(name):
    """A regression line carries its source inline, or the comment that opens its paragraph does."""
    block_comment = ""
    for line in model_text(name).splitlines():
        stripped = line.strip()
        if not stripped:
            block_comment = ""
            continue
        if stripped.startswith("#"):
            block_comment = block_comment or stripped
            continue
        code, _, inline = stripped.partition("#")
        is_regression = re.search(r"(?<![=~])~(?![~*1])", code) and "=~" not in code
        if is_regression:
            cited = inline or block_comment
            assert re.search(r"(TNO s\d|THESIS \w|TP\d\d|HP\d\d|HR\d\d)", cited), f"{name}: {line}"


def test_relational_trust_defines_indirect_effects_through_trust():
    table = partable(model_text("relational_trust"))
    defined = table[table["op"] == ":="]
    assert {"ind_rsa", "ind_ksr", "ind_fgov", "ind_igov"} <= set(defined["lhs"])


@pytest.mark.parametrize("name", ["relational_trust", "relational_social_capital"])
def test_population_values_are_recovered(name):
    """Simulate from the model at known values, refit, and find them again (n large, so within a few SE)."""
    text = model_text(name)
    rng = np.random.default_rng(20261122)
    loadings = {f.rhs: 0.8 for f in parse_model(text) if f.op == "=~"}
    probe = iasem.fit(text, _simulate(text, rng, 4000, loadings))
    assert probe.converged, probe.warnings
    table = probe.params
    regressions = table[table["op"] == "~"]
    assert np.all(np.abs(regressions["est"] - 0.2) < 4 * regressions["se"] + 1e-9)
    assert probe.fit_measures["rmsea"] < 0.02 and probe.fit_measures["cfi"] > 0.99


def _simulate(text: str, rng: np.random.Generator, n: int, loadings: dict[str, float]) -> pd.DataFrame:
    """Data from the model with every regression 0.2, loadings 0.8 (first fixed 1), unit factor variances."""
    from iasem.engine.lisrel import fill, represent
    from iasem.syntax import variable_roles

    formulas = parse_model(text)
    table = partable(formulas)
    roles = variable_roles(formulas)
    rep = represent(table, roles.ov, meanstructure=False)
    values = []
    for r in rep.rows.itertuples():
        if r.op == "=~":
            values.append(1.0 if r.free == 0 else 0.8)
        elif r.op == "~":
            values.append(0.2)
        elif r.op == "~~" and r.lhs == r.rhs:
            values.append(0.36 if r.lhs in loadings else 1.0)
        else:
            values.append(0.0)
    sigma = fill(rep, np.array(values)).implied_cov()
    return pd.DataFrame(rng.multivariate_normal(np.zeros(len(roles.ov)), sigma, size=n), columns=roles.ov)


def test_cli_fit_writes_the_tables(tmp_path, capsys):
    from iasem.cli import main

    data = resource_path("data") / "holzinger_swineford_1939.csv"
    model = tmp_path / "hs.lav"
    model.write_text("visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9\n")
    assert main(["fit", str(model), str(data), "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "params.csv").is_file() and (tmp_path / "out" / "summary.txt").is_file()
    assert main(["fit", str(model), str(data), "--out", str(tmp_path / "out")]) == 1
    assert "exists; pass --force" in capsys.readouterr().err


def test_fit_rejects_what_it_cannot_do_yet_with_a_clear_message():
    data = pd.read_csv(resource_path("data") / "holzinger_swineford_1939.csv")
    with pytest.raises(iasem.IasemError, match="estimator 'WLSM' is not available"):
        iasem.fit("f =~ x1 + x2 + x3", data, estimator="WLSM")
    with pytest.raises(iasem.IasemError, match="needs ordered variables"):
        iasem.fit("f =~ x1 + x2 + x3", data, estimator="WLSMV")
    with pytest.raises(iasem.IasemError, match="no column"):
        iasem.fit("f =~ x1 + x2 + nosuch", data)


def test_cli_fit_bootstrap_and_ordered(tmp_path, capsys):
    from iasem.cli import main

    democracy = resource_path("data") / "political_democracy.csv"
    model = tmp_path / "mediation.lav"
    model.write_text("ind60 =~ x1 + x2 + x3\ndem60 =~ y1 + y2 + y3 + y4\ndem60 ~ a*ind60\nsq := a*a\n")
    out = tmp_path / "boot"
    args = ["fit", str(model), str(democracy), "--bootstrap", "50", "--seed", "3", "--ci", "bca", "--out", str(out)]
    assert main(args) == 0
    params = pd.read_csv(out / "params.csv")
    assert params.loc[params["op"] == ":=", "se"].iloc[0] > 0
    assert "bootstrap, 50 draws" in (out / "summary.txt").read_text()
    measures = json.loads((out / "fit_measures.json").read_text())
    assert measures["df"] > 0
    likert = tmp_path / "likert.csv"
    pd.read_csv(LAVAAN_DIR / "hs39_ordinal5.csv").to_csv(likert, index=False)
    hs_model = tmp_path / "hs.lav"
    hs_model.write_text("visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9\n")
    assert main(["fit", str(hs_model), str(likert), "--ordered", "all", "--out", str(tmp_path / "ord")]) == 0
    assert json.loads((tmp_path / "ord" / "fit_measures.json").read_text())["chisq.scaled"] > 0
    capsys.readouterr()
    bad = ["fit", str(model), str(democracy), "--bootstrap", "10", "--se", "robust", "--out", str(tmp_path / "bad")]
    assert main(bad) == 1
    assert "bootstrap standard errors" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()
