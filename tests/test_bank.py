"""The shipped item bank: complete, well-formed, and traced to the frameworks."""

from __future__ import annotations

import re

import pytest
import yaml

from iasem import load_bank
from iasem.instruments.schema import ITEM_CODE_PATTERN, MIN_ITEMS, MIN_ITEMS_CONTEXT
from iasem.resources import resource_path

from .conftest import SHARED

COVERAGE = yaml.safe_load((resource_path("survey_instruments") / "coverage.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def bank():
    return load_bank()


@pytest.fixture(scope="module")
def framework():
    path = SHARED / "framework" / "framework.yaml"
    if not path.is_file():
        pytest.skip("../shared/framework is not beside this checkout")
    return {c["id"]: c for c in yaml.safe_load(path.read_text(encoding="utf-8"))["constructs"]}


def test_every_framework_concept_has_a_construct(bank):
    required = {row["id"]: row["framework_id"] for row in COVERAGE["constructs"]}
    assert len(required) >= 35
    missing = sorted(set(required) - set(bank.constructs))
    assert not missing, f"constructs listed in coverage.yaml but absent from the bank: {missing}"
    for cid, framework_id in required.items():
        assert bank.constructs[cid].framework_id == framework_id, cid


# The concepts issue 2 names, by their framework-digest ids: the thesis' relational model and the TNO
# report's phase themes, context factors, conflict types and performance dimensions.
NAMED_CONCEPTS = {
    "TH_RSA", "TH_KSR", "TH_GOV_FORMAL", "TH_GOV_INFORMAL", "TH_TRUST", "TH_SUCCESS", "TH_SOCCAP", "TH_NETORG",
    "TH_INTERDEP", "TH_SYMSTRUCT",
    "TNO_F1_PROBLEM", "TNO_F2_STAKEHOLDER_REP", "TNO_F3_UNIQUE_RESOURCES", "TNO_F4_SHARED_COURSE",
    "TNO_F5_FORMALISATION", "TNO_F6_PUBLIC_GOVERNANCE",
    "TNO_M1_PARTICIPATION", "TNO_M2_LEADERSHIP", "TNO_M3_OPEN_COMMUNICATION", "TNO_M4_TRUST_RELATION",
    "TNO_E1_EVAL_INTEGRATION", "TNO_E2_EVAL_TIMEPATHS",
    "TNO_C1_VOLUNTARINESS", "TNO_C2_PROACTIVE", "TNO_C3_POWER_STRUCTURE", "TNO_C4_PARTNER_HISTORY",
    "TNO_CONF_INSTITUTIONAL", "TNO_CONF_ACCOUNTABILITY", "TNO_CONF_INTELLECTUAL",
    "TNO_PERF_INTERNAL", "TNO_PERF_EXTERNAL",
}  # fmt: skip


def test_coverage_list_names_every_concept_of_the_brief(bank):
    listed = {row["framework_id"] for row in COVERAGE["constructs"]}
    assert listed >= NAMED_CONCEPTS, sorted(NAMED_CONCEPTS - listed)
    assert {c.framework_id for c in bank.constructs.values()} >= NAMED_CONCEPTS


def test_background_concepts_are_covered(bank):
    for row in COVERAGE["background"]:
        assert row["code"] in bank.background, row


def test_constructs_have_enough_items_and_both_languages(bank):
    for construct in bank.constructs.values():
        needed = MIN_ITEMS_CONTEXT if construct.category == "context" else MIN_ITEMS
        assert len(construct.items) >= needed, construct.id
        for item in construct.items:
            assert item.text.nl.strip() and item.text.en.strip()
            assert item.text.nl != item.text.en, f"{item.code}: Dutch and English texts are identical"


def test_item_codes_are_platform_safe_and_unique(bank):
    codes = [item.code for c in bank.constructs.values() for item in c.items]
    codes += [*bank.background, bank.attention_check.code]
    assert len(codes) == len(set(codes))
    assert all(re.fullmatch(ITEM_CODE_PATTERN, code) for code in codes)
    assert all(len(code) <= 20 for code in codes)


def test_every_construct_mixes_in_reverse_keyed_items_where_its_pitfall_pole_is_measured(bank):
    # Acquiescence control: most constructs carry at least one reverse-keyed item.
    with_reverse = [c.id for c in bank.constructs.values() if any(i.reverse for i in c.items)]
    assert len(with_reverse) >= len(bank.constructs) // 2


def test_required_scales_exist(bank):
    for scale_id in (
        "agree5",
        "agree7",
        "grade10",
        "alliance_type",
        "sector",
        "phase",
        "management_level",
        "yes_no",
        "alliance_goals",
        "partner_count",
        "years",
    ):
        assert scale_id in bank.scales
    assert [o.key for o in bank.scales["alliance_type"].options] == [
        "public_private",
        "public_ngo",
        "public_public",
        "multi_partner",
    ]
    assert [o.key for o in bank.scales["sector"].options] == ["market", "government", "ngo", "knowledge"]
    assert [o.value for o in bank.scales["grade10"].options] == list(range(1, 11))
    assert len(bank.scales["agree7"].options) == 7


def test_constructs_trace_to_the_framework_digest(bank, framework):
    for construct in bank.constructs.values():
        assert construct.framework_id in framework, construct.id
        fw = framework[construct.framework_id]
        assert construct.source == fw["source"], construct.id
        aspects = {a["id"] for a in fw["aspects"]}
        for item in construct.items:
            assert item.aspect in aspects, f"{item.code}: aspect {item.aspect} not in {construct.framework_id}"


def test_coverage_ids_trace_to_their_seed_section(framework):
    seeds = SHARED / "seeds"
    texts = {key: (seeds / name).read_text(encoding="utf-8").lower() for key, name in COVERAGE["seeds"].items()}
    for row in [*COVERAGE["constructs"], *COVERAGE["background"]]:
        assert row["framework_id"] in framework, row
        assert row["seed_heading"].lower() in texts[row["seed"]], row
    for row in COVERAGE["constructs"]:
        assert framework[row["framework_id"]]["source"] == row["source"], row["id"]
