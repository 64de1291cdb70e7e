"""The codebook: one row per question, valid against its Frictionless table schema."""

from __future__ import annotations

import csv
import json

import pytest

from iasem import codebook, export_instrument, load_instrument

from .conftest import construct_yaml


@pytest.mark.parametrize("spec_id", ["relational", "intersectoral", "full"])
def test_codebook_validates_with_frictionless(tmp_path, spec_id):
    frictionless = pytest.importorskip("frictionless")
    instrument = load_instrument(spec_id)
    paths = export_instrument(instrument, "codebook", tmp_path)
    csv_path = tmp_path / f"{spec_id}_codebook.csv"
    schema_path = tmp_path / f"{spec_id}_codebook.schema.json"
    assert sorted(paths) == sorted([csv_path, schema_path])
    schema = frictionless.Schema.from_descriptor(json.loads(schema_path.read_text()))
    report = frictionless.Resource(path=csv_path.name, basepath=str(tmp_path), schema=schema).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    with csv_path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["item"] for r in rows] == [q.code for q in instrument.questions]
    likert = [r for r in rows if r["kind"] == "likert"]
    assert len(likert) == sum(len(c.items) for c in instrument.constructs)
    assert {r["reverse"] for r in likert} == {"true", "false"}
    assert next(r for r in rows if r["kind"] == "attention")["expect"] == "4"


def test_frictionless_catches_a_broken_codebook(tmp_path):
    frictionless = pytest.importorskip("frictionless")
    export_instrument(load_instrument("relational"), "codebook", tmp_path)
    csv_path = tmp_path / "relational_codebook.csv"
    lines = csv_path.read_text(encoding="utf-8").splitlines()
    lines.append(lines[1])  # a duplicated item code violates the primary key
    csv_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    schema = frictionless.Schema.from_descriptor(json.loads((tmp_path / "relational_codebook.schema.json").read_text()))
    report = frictionless.Resource(path=csv_path.name, basepath=str(tmp_path), schema=schema).validate()
    assert not report.valid
    assert {error[0] for error in report.flatten(["type"])} == {"primary-key", "unique-error"}


def test_codebook_frame_carries_texts_in_both_languages():
    book = codebook(load_instrument("relational"))
    row = book.set_index("item").loc["trust1"]
    assert row["construct"] == "trust" and row["text_nl"] and row["text_en"] and row["scale"] == "agree5"
    assert row["values"].startswith("1=Strongly disagree | 2=Disagree")


def test_codebook_cells_cannot_run_as_formulas(custom_spec, tmp_path):
    spec = custom_spec("constructs: [mine]\nbank: [my_bank.yaml]\n", construct_yaml(first_text="=SUM(A1:A9)"))
    export_instrument(load_instrument(spec), "codebook", tmp_path / "out")
    with (tmp_path / "out" / "custom_codebook.csv").open(newline="", encoding="utf-8") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    assert "'=SUM(A1:A9)" in cells
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)
