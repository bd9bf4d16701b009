"""The contract's tier names: one list, one type."""

from __future__ import annotations

from typing import get_args

from graph.contract import TARGET_TIERS, TIER_NAMES_ZH, TIERS, Tier


def test_the_tier_type_names_exactly_the_target_tiers() -> None:
    assert get_args(Tier) == TARGET_TIERS


def test_target_tiers_are_tiers_of_the_contract_with_chinese_names() -> None:
    assert set(TARGET_TIERS) <= set(TIERS)
    assert set(TIER_NAMES_ZH) == set(TIERS)
