"""Who is asking, and what they may see (the region scope of every entry point).

An official is bound to region-code prefixes and never sees a company outside
them: such companies are filtered out of lists and exports, answer 404 exactly
like a company that does not exist, and appear in another company's evidence or
graph only as an anonymous "company outside your region" (no code, no name,
no region). Investor ids are never shown to officials (corporate investors are
companies with codes); investor names are, unless the investor is a company of
the store outside the official's regions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

OUTSIDE_LABEL = "区外企业 (company outside your region)"
NOT_FOUND = "没有这家企业 No company with this code is known."


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
