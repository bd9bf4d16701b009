"""Who is asking, and what they may see (the region scope of every entry point).

An official is bound to region-code prefixes and never sees a company outside
them: such companies are filtered out of lists and exports, answer 404 exactly
like a company that does not exist, and appear in another company's evidence or
graph only as an anonymous "company outside your region" (no code, no name,
no region). A counterparty without a profile (no company row) has no known
region and counts as outside. Investor ids are never shown to officials
(corporate investors are companies with codes); investor names are, unless the
investor is a company outside the official's regions or a company whose region
is unknown (a corporate investor, or one with a credit code, without a profile).

Reasons name the companies they mention by identity (code, text as written):
`mask_reason` replaces exactly the mentions the caller may not see, then any
credit code left in the text that the caller may not see.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

OUTSIDE_LABEL = "区外企业 (company outside your region)"
NOT_FOUND = "没有这家企业 No company with this code is known."
#: an 18-character unified social credit code (GB 32100 alphabet), standing alone
CREDIT_CODE = re.compile(
    r"(?<![0-9A-Z])[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}(?![0-9A-Z])"
)


def company_like_investor(investor_id: str, investor_type: str, profiled: bool) -> bool:
    """Whether an investor is a company (so scoped by region): profiled, corporate, or a code."""
    return profiled or investor_type == "corporate" or bool(CREDIT_CODE.fullmatch(investor_id))


@dataclass(frozen=True)
class Principal:
    """The caller behind an API key."""

    key_id: str
    role: str
    regions: tuple[str, ...] = ()

    @property
    def is_official(self) -> bool:
        return self.role == "official"

    @property
    def region_filter(self) -> tuple[str, ...] | None:
        """The prefixes the caller is bound to, None when it sees every region."""
        return self.regions if self.is_official else None

    def sees(self, region_code: object) -> bool:
        if not self.is_official:
            return True
        return isinstance(region_code, str) and region_code.startswith(self.regions)

    def sees_all(self, region_codes: pd.Series) -> np.ndarray:
        """Per row, whether the caller may see a company of that region."""
        if not self.is_official:
            return np.ones(len(region_codes), dtype=bool)
        codes = region_codes.astype("string").fillna("")
        return codes.str.startswith(self.regions).to_numpy(dtype=bool)


def mask_names(text: str, names: Iterable[str]) -> str:
    """`text` with each of `names` replaced by the anonymous label (longest names first)."""
    for name in sorted(set(names), key=len, reverse=True):
        if name:
            text = text.replace(name, OUTSIDE_LABEL)
    return text


def mask_reason(
    text: str, mentions: Iterable[tuple[str, str]], visible: Callable[[str], bool]
) -> str:
    """`text` with every mention of a company not `visible` (by code) and any such code masked."""
    hidden = [shown for code, shown in mentions if not visible(code)]
    text = mask_names(text, hidden)
    return CREDIT_CODE.sub(lambda m: m[0] if visible(m[0]) else OUTSIDE_LABEL, text)
