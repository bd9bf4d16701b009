"""The shared words: tiers, decision dates and region prefixes, checked by one rule each."""

from __future__ import annotations

from datetime import date

import pytest

from discovery.records import check_regions
from discovery.vocabulary import check_region, check_tier, decision_date
from graph.errors import UsageError


@pytest.mark.parametrize("prefix", ["32", "3202", "320214"])
def test_region_prefixes_of_2_4_or_6_ascii_digits_are_accepted(prefix: str) -> None:
    assert check_region(prefix) == prefix
    assert check_regions("official", [prefix]) == (prefix,)


@pytest.mark.parametrize("prefix", ["３２", "32０2", "٣٢", "3", "32021", "32a"])
def test_full_width_and_other_digits_are_refused(prefix: str) -> None:
    with pytest.raises(UsageError, match="0-9"):
        check_region(prefix)
    with pytest.raises(UsageError):
        check_regions("official", [prefix])


def test_a_decision_date_lies_between_2000_and_today_and_names_no_flag() -> None:
    today = date(2026, 12, 1)
    assert decision_date("2025-12-31", today=today) == date(2025, 12, 31)
    for bad in ("2026-12-02", "1999-12-31"):
        with pytest.raises(UsageError, match="as_of must lie between") as caught:
            decision_date(bad, today=today)
        assert "--" not in str(caught.value)
    with pytest.raises(UsageError, match="YYYY-MM-DD"):
        decision_date("31/12/2025")


def test_an_unknown_tier_is_refused_with_the_known_ones() -> None:
    assert check_tier("little_giant") == "little_giant"
    with pytest.raises(UsageError, match="specialized_sme, little_giant"):
        check_tier("giant")
