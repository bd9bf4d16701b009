"""Ranked lists, computed once per (tier, date, serving model, store version) and kept in memory.

Ranking needs the features of every company, so a list is computed in full (the
`list_size` best invitable companies) on first use and then filtered and paged
per request. A new load (new store version) or a promotion (new serving model)
changes the key, so a stale list is never served.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from api.evidence import Facts
from discovery.criteria import Criteria
from discovery.explain import reasons as explain_reasons
from discovery.labels import gate
from discovery.model import ScoringModel, snapshot
from discovery.quality import ESTIMATE_COLUMN
from discovery.ranking import RankedList, check_texts, rank
from discovery.registry import RegisteredModel, Registry
from graph.contract import TIER_NAMES_ZH
from graph.store import Store

T = TypeVar("T")

GATE_TEXT = {
    "holds_tier_or_above": "已获该层级或更高认定 already holds this tier or a higher one",
    "not_on_rung_below": "未获前一层级认定 does not hold the tier below",
    "barred": "存在限制性合规事件 barred by a compliance event",
    "large": "大型企业 a large enterprise",
}


def store_version(store: Store) -> str:
    """A cheap token that changes whenever the store's content does."""
    for attr in ("current_version", "version"):
        method = getattr(store, attr, None)
        if callable(method):
            value = method()
            if value:
                return str(value)
    return store.fingerprint()


def split_reasons(text: object) -> list[str]:
    return [r for r in str(text).split("；") if r] if isinstance(text, str) else []


def status_of(text: str) -> str:
    if text.startswith("达标"):
        return "met"
    if text.startswith("未达标"):
        return "not_met"
    return "unknown"


@dataclass
class TierView:
    """What one company looks like for one tier."""

    tier: str
    model_id: str | None
    eligible: bool
    gate: dict[str, bool]
    gate_reasons: list[str]
    rank: int | None
    invitable: bool
    score: float | None
    checks: list[dict[str, Any]]
    reasons: list[str]
    quality_score: float | None
    quality_score_source: str | None


class _Lru:
    """A small thread-safe LRU whose values are computed once per key, even under concurrency."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._computing: dict[tuple, threading.Lock] = {}

    def get(self, key: tuple, compute: Callable[[], T]) -> T:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            gate_lock = self._computing.setdefault(key, threading.Lock())
        with gate_lock:
            with self._lock:
                if key in self._items:
                    return self._items[key]
            value = compute()
            with self._lock:
                self._items[key] = value
                self._items.move_to_end(key)
                while len(self._items) > self.capacity:
                    self._items.popitem(last=False)
                self._computing.pop(key, None)
            return value


class ListCache:
    def __init__(
        self,
        store: Store,
        registry: Registry,
        criteria: Criteria,
        list_size: int = 2000,
        capacity: int = 8,
    ) -> None:
        self.store = store
        self.registry = registry
        self.criteria = criteria
        self.list_size = list_size
        self._lists = _Lru(capacity)
        self._snapshots = _Lru(max(2, capacity // 2))
        self._gates = _Lru(capacity)
        self._models = _Lru(8)
        self._facts = _Lru(max(2, capacity // 2))

    def facts(self, as_of: date) -> Facts:
        """The store's tables at `as_of` (read lazily, shared by requests until the next load)."""
        key = (as_of, store_version(self.store))
        return self._facts.get(key, lambda: Facts(self.store, as_of))

    def snapshot(self, as_of: date) -> pd.DataFrame:
        key = (as_of, store_version(self.store))
        return self._snapshots.get(key, lambda: snapshot(self.store, as_of, self.criteria))

    def model(self, serving: RegisteredModel) -> ScoringModel:
        return self._models.get((serving.model_id,), lambda: ScoringModel.load(serving))

    def ranked(self, tier: str, as_of: date) -> RankedList:
        """The full ranked list (raises `UsageError` when no model serves `tier`)."""
        serving = self.registry.serving(tier)
        model_id = serving.model_id if serving else None
        key = (tier, as_of, model_id, store_version(self.store))
        return self._lists.get(
            key,
            lambda: rank(
                self.store,
                tier,
                as_of,
                self.registry,
                self.criteria,
                top=self.list_size,
                features=self.snapshot(as_of),
            ),
        )

    def gates(self, tier: str, as_of: date) -> pd.DataFrame:
        key = (tier, as_of, store_version(self.store))
        return self._gates.get(key, lambda: gate(self.store, tier, as_of, self.criteria))

    def view(self, tier: str, as_of: date, uscc: str) -> TierView:
        """The company's gate, score, thresholds and reasons for `tier` at `as_of`."""
        gates = self.gates(tier, as_of)
        flags = {k: bool(gates.at[uscc, k]) for k in gates.columns if k != "eligible"}
        flags["not_on_rung_below"] = not flags.pop("holds_rung_below")
        eligible = bool(gates.at[uscc, "eligible"])
        why_not = [GATE_TEXT[k] for k, v in flags.items() if v]
        serving = self.registry.serving(tier)
        thresholds = list(self.criteria.thresholds_for(tier))
        empty = TierView(
            tier, serving.model_id if serving else None, eligible, flags, why_not,
            None, False, None, [], [], None, None,
        )  # fmt: skip
        if not eligible or serving is None:
            return empty
        ranked = self.ranked(tier, as_of)
        hit = ranked.frame.loc[ranked.frame["uscc"] == uscc]
        if len(hit):
            row = hit.iloc[0]
            return TierView(
                tier, ranked.model_id, True, flags, [], int(row["rank"]), True,
                float(row["score"]), checks_of(row, thresholds), split_reasons(row["reasons"]),
                _float(row["quality_score"]), str(row["quality_score_source"]),
            )  # fmt: skip
        # eligible but not listed: known to miss a threshold (or below the list's length)
        snap = self.snapshot(as_of)
        x = snap.loc[[uscc]]
        model = self.model(serving)
        score = float(np.round(model.probability(x)[0], 4))
        texts = check_texts(x, thresholds, model.bar).iloc[0]
        checks = checks_of(texts.rename(lambda tid: f"check_{tid}"), thresholds)
        why = explain_reasons(self.store, as_of, x, model.contributions(x))[uscc]
        published = x.iloc[0].get("std_quality_score")
        estimate = x.iloc[0].get(ESTIMATE_COLUMN)
        shown = published if not pd.isna(published) else estimate
        return TierView(
            tier, serving.model_id, True, flags, [], None,
            not any(c["status"] == "not_met" for c in checks), score, checks, why,
            _float(shown), "公布 published" if not pd.isna(published) else "估计 estimated",
        )  # fmt: skip


def _float(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def checks_of(row: pd.Series, thresholds: list) -> list[dict[str, Any]]:
    """The threshold checks of one ranked row, with their labels."""
    return [
        {
            "id": t.id,
            "label_zh": t.label_zh,
            "label_en": t.label_en,
            "status": status_of(str(row[f"check_{t.id}"])),
            "text": str(row[f"check_{t.id}"]),
        }
        for t in thresholds
    ]


def filtered(
    frame: pd.DataFrame,
    *,
    regions: tuple[str, ...] | None,
    region: str | None,
    industry: str | None,
    min_score: float | None,
) -> pd.DataFrame:
    """Rows of a ranked frame within the caller's regions and the request's filters."""
    keep = np.ones(len(frame), dtype=bool)
    codes = frame["region_code"].astype(str)
    if regions is not None:
        keep &= codes.str.startswith(regions).to_numpy(dtype=bool)
    if region:
        keep &= codes.str.startswith(region).to_numpy(dtype=bool)
    if industry:
        keep &= frame["industry_code"].astype(str).str.startswith(industry).to_numpy(dtype=bool)
    if min_score is not None:
        keep &= (frame["score"] >= min_score).to_numpy(dtype=bool)
    return frame.loc[keep]


def tier_name(tier: str) -> str:
    return TIER_NAMES_ZH[tier]
