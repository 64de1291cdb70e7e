"""Bad banks and specs: every problem is named with its file and line, never a traceback."""

from __future__ import annotations

import re

import pytest

from iasem import InstrumentError, load_instrument

from .conftest import construct_yaml


def problems_of(spec) -> list[str]:
    with pytest.raises(InstrumentError) as info:
        load_instrument(spec)
    return [str(p) for p in info.value.problems]


def only(problems: list[str], file: str, line: int, pattern: str) -> None:
    matching = [p for p in problems if re.search(pattern, p)]
    assert matching, f"no problem matches {pattern!r} in {problems}"
    assert any(p.startswith(f"{file}:{line}:") or f"{file}:{line}:" in p for p in matching), matching


def test_unknown_scale_names_file_and_line(custom_spec, tmp_path):
    bank = construct_yaml().replace("    scale: agree5\n", "    scale: agree9\n", 1)
    spec = custom_spec("constructs: [mine]\nbank: [my_bank.yaml]\n", bank)
    only(problems_of(spec), str(tmp_path / "my_bank.yaml"), 8, r"unknown scale 'agree9'")


def test_unknown_item_scale(custom_spec, tmp_path):
    bank = construct_yaml().replace("      - code: mine2\n", "      - code: mine2\n        scale: sevenpoint\n")
    spec = custom_spec("constructs: [mine]\nbank: [my_bank.yaml]\n", bank)
    only(problems_of(spec), str(tmp_path / "my_bank.yaml"), 14, r"unknown scale 'sevenpoint'")


def test_item_scale_must_be_ordered(custom_spec, tmp_path):
    bank = construct_yaml().replace("      - code: mine2\n", "      - code: mine2\n        scale: sector\n")
    spec = custom_spec("constructs: [mine]\nbank: [my_bank.yaml]\n", bank)
    only(problems_of(spec), str(tmp_path / "my_bank.yaml"), 14, r"'sector' is single")


def test_duplicate_code_within_file(custom_spec, tmp_path):
    bank = construct_yaml().replace("code: mine3", "code: mine2")
    spec = custom_spec("constructs: [mine]\nbank: [my_bank.yaml]\n", bank)
    only(
        problems_of(spec),
        str(tmp_path / "my_bank.yaml"),
        16,
        r"duplicate item code 'mine2' \(first defined at .*my_bank.yaml:13\)",
    )


def test_duplicate_code_across_files_names_the_shipped_original(custom_spec, tmp_path):
    bank = construct_yaml(prefix="trust")  # trust1.. already exist in the shipped bank
    spec = custom_spec("constructs: [mine]\nbank: [my_bank.yaml]\n", bank)
    only(
        problems_of(spec),
        str(tmp_path / "my_bank.yaml"),
        10,
        r"duplicate item code 'trust1' \(first defined at survey_instruments/bank/thesis.yaml:\d+\)",
    )


def test_duplicate_construct_id(custom_spec, tmp_path):
    spec = custom_spec("constructs: [trust]\nbank: [my_bank.yaml]\n", construct_yaml(cid="trust"))
    only(
        problems_of(spec),
        str(tmp_path / "my_bank.yaml"),
        2,
        r"duplicate construct id 'trust' \(first defined at survey_instruments/bank/thesis.yaml:\d+\)",
    )


@pytest.mark.parametrize("code", ["Mine1", "1mine", "mine_1", "mine-1", "m" * 21, "mijn1é"])
def test_invalid_code(custom_spec, tmp_path, code):
    bank = construct_yaml().replace("code: mine1", f'code: "{code}"')
    spec = custom_spec("constructs: [mine]\nbank: [my_bank.yaml]\n", bank)
    only(problems_of(spec), str(tmp_path / "my_bank.yaml"), 10, r"invalid item code")


def test_missing_translation(custom_spec, tmp_path):
    bank = construct_yaml().replace('en: "Statement 3"', 'fr: "Phrase 3"')
    spec = custom_spec("constructs: [mine]\nbank: [my_bank.yaml]\n", bank)
    problems = problems_of(spec)
    only(
        problems,
        str(tmp_path / "my_bank.yaml"),
        18,
        r"missing translation: constructs\[0\]\.items\[2\]\.text has no 'en' text",
    )


def test_empty_translation(custom_spec, tmp_path):
    bank = construct_yaml().replace('en: "Statement 3"', 'en: "  "')
    spec = custom_spec("constructs: [mine]\nbank: [my_bank.yaml]\n", bank)
    only(problems_of(spec), str(tmp_path / "my_bank.yaml"), 18, r"missing translation")


def test_empty_construct(custom_spec, tmp_path):
    bank = construct_yaml().split("    items:\n")[0] + "    items: []\n"
    spec = custom_spec("constructs: [mine]\nbank: [my_bank.yaml]\n", bank)
    only(problems_of(spec), str(tmp_path / "my_bank.yaml"), 2, r"construct 'mine' is empty")


def test_too_few_items(custom_spec, tmp_path):
    spec = custom_spec("constructs: [mine]\nbank: [my_bank.yaml]\n", construct_yaml(n=3))
    only(problems_of(spec), str(tmp_path / "my_bank.yaml"), 2, r"has 3 items; at least 4")


def test_context_constructs_may_have_three_items(custom_spec):
    bank = construct_yaml(n=3).replace("category: relational", "category: context")
    spec = custom_spec("constructs: [mine]\nbank: [my_bank.yaml]\n", bank)
    assert len(load_instrument(spec).likert_questions) == 3


def test_all_problems_are_reported_together(custom_spec):
    bank = construct_yaml().replace("code: mine3", "code: mine2").replace('en: "Statement 4"', 'de: "x"')
    spec = custom_spec("constructs: [mine]\nbank: [my_bank.yaml]\n", bank)
    problems = problems_of(spec)
    assert any("missing translation" in p for p in problems)


def test_yaml_syntax_error(custom_spec, tmp_path):
    spec = custom_spec("constructs: [mine\nbank: [my_bank.yaml]\n", construct_yaml())
    problems = problems_of(spec)
    assert problems[0].startswith(f"{tmp_path / 'custom.yaml'}:")
    assert "YAML syntax error" in problems[0]


def test_duplicate_yaml_key(custom_spec, tmp_path):
    spec = custom_spec("constructs: [trust]\nscale: agree5\nscale: agree7\n")
    only(problems_of(spec), str(tmp_path / "custom.yaml"), 8, r"duplicate key 'scale'")


def test_unknown_construct_and_background_in_spec(custom_spec, tmp_path):
    spec = custom_spec("constructs:\n  - trust\n  - nosuch\nbackground: [atype, shoesize]\n")
    problems = problems_of(spec)
    only(problems, str(tmp_path / "custom.yaml"), 8, r"unknown construct 'nosuch'")
    only(problems, str(tmp_path / "custom.yaml"), 9, r"unknown background question 'shoesize'")


def test_spec_scale_must_be_known_likert(custom_spec, tmp_path):
    only(
        problems_of(custom_spec("constructs: [trust]\nscale: agree9\n")),
        str(tmp_path / "custom.yaml"),
        7,
        "unknown scale 'agree9'",
    )
    only(
        problems_of(custom_spec("constructs: [trust]\nscale: grade10\n")),
        str(tmp_path / "custom.yaml"),
        7,
        "not a likert scale",
    )


def test_unknown_spec_field(custom_spec, tmp_path):
    only(
        problems_of(custom_spec("constructs: [trust]\nshuffle: yes\n")),
        str(tmp_path / "custom.yaml"),
        7,
        "shuffle: Extra inputs",
    )


def test_missing_spec_file_lists_shipped_specs(tmp_path):
    problems = problems_of(tmp_path / "nope.yaml")
    assert "no such spec file" in problems[0] and "relational" in problems[0]


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("id: caf\xe9\n".encode("latin-1"))
    assert "not UTF-8" in problems_of(path)[0]


def test_missing_bank_file(custom_spec, tmp_path):
    only(
        problems_of(custom_spec("constructs: [trust]\nbank: [missing.yaml]\n")),
        str(tmp_path / "custom.yaml"),
        7,
        "bank file .* not found",
    )


def test_platform_reference_syntax_in_a_text(custom_spec, tmp_path):
    bank = construct_yaml().replace('en: "Statement 3"', 'en: "Costs ${amount}"')
    spec = custom_spec("constructs: [mine]\nbank: [my_bank.yaml]\n", bank)
    only(problems_of(spec), str(tmp_path / "my_bank.yaml"), 18, r"text contains '\$\{'")
