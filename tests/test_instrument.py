"""Specs resolved against the bank: layout, scale, order, attention check and the measurement model."""

from __future__ import annotations

import pytest

from iasem import load_bank, load_instrument
from iasem.instruments.instrument import shipped_specs


@pytest.mark.parametrize("spec_id", ["relational", "intersectoral", "full"])
def test_shipped_specs_load(spec_id):
    instrument = load_instrument(spec_id)
    assert instrument.id == spec_id
    assert set(instrument.languages) == {"nl", "en"}
    codes = [q.code for q in instrument.questions]
    assert len(codes) == len(set(codes))
    expected = sum(len(c.items) for c in instrument.constructs)
    assert len(instrument.likert_questions) == expected


def test_shipped_specs_are_the_three_the_brief_asks_for():
    assert {"relational", "intersectoral", "full"} <= set(shipped_specs())


def test_relational_spec_holds_the_thesis_model():
    instrument = load_instrument("relational")
    assert [c.id for c in instrument.constructs][:6] == ["rsa", "ksr", "fgov", "igov", "trust", "success"]


def test_full_spec_holds_every_construct():
    assert [c.id for c in load_instrument("full").constructs] == list(load_bank().constructs)


def test_measurement_model_is_derived_from_the_bank():
    instrument = load_instrument("relational")
    lines = instrument.measurement_model().strip().splitlines()
    assert len(lines) == len(instrument.constructs)
    for line, construct in zip(lines, instrument.constructs, strict=True):
        lhs, rhs = line.split(" =~ ")
        assert lhs == construct.id
        assert rhs.split(" + ") == [item.code for item in construct.items]


def test_measurement_model_parses_with_semopy():
    semopy = pytest.importorskip("semopy")
    desc = load_instrument("intersectoral").measurement_model()
    model = semopy.Model(desc)
    assert set(model.vars["latent"]) == {c.id for c in load_instrument("intersectoral").constructs}


def test_grouped_order_gives_one_matrix_page_per_construct_then_background():
    instrument = load_instrument("relational")
    matrices = [p for p in instrument.pages if p.kind == "matrix"]
    assert [p.name for p in matrices] == [c.id for c in instrument.constructs]
    assert instrument.pages[-1].kind == "background"
    assert [q.code for q in instrument.pages[-1].questions] == list(instrument.spec.background)


def test_spec_scale_replaces_agreement_scale_but_keeps_the_grade(custom_spec):
    instrument = load_instrument(custom_spec("constructs: [trust, success]\nscale: agree7\nbackground: [grade]\n"))
    assert {q.scale_id for q in instrument.likert_questions} == {"agree7"}
    assert all(len(q.scale.options) == 7 for q in instrument.likert_questions)
    grade = instrument.pages[-1].questions[0]
    assert grade.scale_id == "grade10"


def test_random_order_is_reproducible_from_the_seed(custom_spec, write):
    spec = custom_spec("constructs: [trust, rsa, ksr]\norder: {mode: random, seed: 7, page_size: 4}\n")
    first = [q.code for q in load_instrument(spec).questions]
    again = [q.code for q in load_instrument(spec).questions]
    assert first == again
    grouped = [q.code for q in load_instrument(custom_spec("constructs: [trust, rsa, ksr]\n")).questions]
    assert sorted(first) == sorted(grouped) and first != grouped
    other_seed = custom_spec("constructs: [trust, rsa, ksr]\norder: {mode: random, seed: 8, page_size: 4}\n")
    assert [q.code for q in load_instrument(other_seed).questions] != first
    pages = load_instrument(spec).pages
    assert all(len(p.questions) <= 4 for p in pages) and pages[0].name == "part_1"


@pytest.mark.parametrize(("scale", "expect"), [("agree5", 4), ("agree7", 6)])
def test_attention_check_sits_inside_a_matrix_and_expects_agree(custom_spec, scale, expect):
    instrument = load_instrument(custom_spec(f"constructs: [trust, rsa, ksr]\nscale: {scale}\nattention_check: true\n"))
    checks = [(p, q) for p in instrument.pages for q in p.questions if q.kind == "attention"]
    assert len(checks) == 1
    page, check = checks[0]
    assert page.kind == "matrix" and page.questions[0].kind == "likert"
    assert check.expect == expect and check.scale_id == scale
    assert check.code == "attn1"


def test_no_attention_check_unless_asked(custom_spec):
    instrument = load_instrument(custom_spec("constructs: [trust]\n"))
    assert all(q.kind != "attention" for q in instrument.questions)


def test_default_language_must_be_offered(custom_spec):
    from iasem import InstrumentError

    with pytest.raises(InstrumentError, match="default_language 'nl' is not among"):
        load_instrument(custom_spec("constructs: [trust]\nlanguages: [en]\n"))


def test_reverse_keyed_items_are_known():
    instrument = load_instrument("relational")
    reverse = instrument.reverse_keyed()
    assert reverse and all(q.reverse for q in instrument.likert_questions if q.code in reverse)


def test_summary_names_counts():
    text = load_instrument("intersectoral").summary()
    assert "instrument intersectoral" in text and "Likert items" in text
