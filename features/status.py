"""Holding and barring status at a date, as the contract defines them.

The ranking layer uses these as gates (ladder, already holding, barred); the feature
families use `holds_at` for the tiers of counterparties and portfolio companies.
Both accept a raw table or a point-in-time read: facts dated after `as_of` are
ignored either way.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from graph.contract import OPEN_LISTING_KINDS, TIERS
from graph.store import active_at

#: Tier groups used for neighbour and investor features. `tech_sme` and
#: `innovative_sme` form one rung of the ladder, so they are counted together.
HOLD_GROUPS: dict[str, tuple[str, ...]] = {
    "innov": ("tech_sme", "innovative_sme"),
    "specialized": ("specialized_sme",),
    "little_giant": ("little_giant",),
}

#: How long an event of a non-listing kind bars an application, unless the criteria
#: file says otherwise (`barring.recent_event.lookback_years`).
BAR_YEARS = 3


def holding_rows(certifications: pd.DataFrame, as_of: date) -> tuple[np.ndarray, np.ndarray]:
    """Per certification row: its tier's position in `TIERS` (-1 for none), and whether
    the row makes its company hold that tier at `as_of`.

    Holding: a row of that tier with certified_on ≤ as_of < expires_on and revoked_on
    empty or after as_of.
    """
    cut = pd.Timestamp(as_of)
    certs = certifications
    active = (
        (certs["certified_on"] <= cut)
        & (certs["expires_on"] > cut)
        & active_at(certs, "revoked_on", as_of)
    ).fillna(False)
    tier_pos = pd.Index(TIERS).get_indexer(certs["tier"].astype("str"))
    return tier_pos, active.to_numpy(dtype=bool) & (tier_pos >= 0)


def holds_at(certifications: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Per company (index `uscc`, sorted), one bool column per tier: holds it at `as_of`
    (a row of the tier holding at `as_of`, see `holding_rows`). Only companies with at
    least one certification row appear.
    """
    certs = certifications
    tier_pos, holding = holding_rows(certs, as_of)
    codes, uniques = pd.factorize(certs["uscc"].astype("str"), sort=True)
    on = holding & (codes >= 0)
    held = np.zeros((len(uniques), len(TIERS)), dtype=bool)
    held[codes[on], tier_pos[on]] = True
    return pd.DataFrame(
        held, index=pd.Index(uniques, dtype="str", name="uscc"), columns=list(TIERS)
    )


def barred_at(
    compliance_events: pd.DataFrame, as_of: date, lookback_years: int = BAR_YEARS
) -> pd.Series:
    """Per company with any event (index `uscc`, sorted): barred from applying at `as_of`.

    Barred while an abnormal-operations or serious-dishonesty listing is open
    (start_on ≤ as_of, end_on empty or after as_of), or when an event of any other
    kind started after the same calendar day `lookback_years` years before `as_of` and
    on or before `as_of` (29 February maps to 28 February).
    """
    cut = pd.Timestamp(as_of)
    since = cut - pd.DateOffset(years=lookback_years)
    ev = compliance_events
    started = (ev["start_on"] <= cut).fillna(False)
    listing = ev["kind"].isin(OPEN_LISTING_KINDS)
    still_open = active_at(ev, "end_on", as_of)
    recent = (ev["start_on"] > since).fillna(False)
    bars = started & ((listing & still_open) | (~listing & recent))
    out = (
        pd.DataFrame({"uscc": ev["uscc"].astype("str"), "barred": bars.astype(bool)})
        .groupby("uscc", sort=True)["barred"]
        .any()
    )
    out.index = pd.Index(out.index, dtype="str", name="uscc")
    return out.astype(bool).rename("barred")
