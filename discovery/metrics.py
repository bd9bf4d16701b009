"""Ranking metrics and the rules baseline the model must beat."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

DEFAULT_KS = (10, 25, 50, 100, 200)


def rules_score(features: pd.DataFrame) -> np.ndarray:
    """The rules baseline: class-I IP first, revenue breaks ties (unknown revenue counts as 0).

    This is what an office does without a model: sort by the two hard measures it
    can read off public and reported data.
    """
    ip = features["ip_class1_self_top3"].to_numpy(dtype=float)
    revenue = np.nan_to_num(features["fin_revenue_latest_wan"].to_numpy(dtype=float), nan=0.0)
    return np.nan_to_num(ip, nan=0.0) * 1e7 + np.clip(revenue, 0, 1e7 - 1)


def thresholds_rule_score(features: pd.DataFrame, threshold_ids: list[str]) -> np.ndarray:
    """The thresholds-on-visible-data rule: the criteria file alone, no model.

    Candidates known to miss a threshold score -inf (never listed); the others rank
    by how many of the tier's thresholds they are known to meet, then by the rules
    baseline (class-I IP, then revenue).
    """
    status = features[[f"std_{t}" for t in threshold_ids]].to_numpy(dtype=float)
    met = (status == 1).sum(axis=1).astype(float)
    score = met * 1e12 + rules_score(features)
    return np.where((status == 0).any(axis=1), -np.inf, score)


@dataclass(frozen=True)
class Baseline:
    """A simple rule every model is set beside on the held-out round."""

    gaps: str  # the card's key of the model's paired difference from it
    short: str  # its name in the printed lines, the card's columns and `compare`'s columns
    zh: str
    en: str
    instead: str  # what would do better where the model trails it


#: by their key in the card's metrics
BASELINES = {
    "rules_baseline": Baseline(
        "model_vs_rules",
        "rules",
        "规则基线",
        "the rules baseline",
        "an office sorting by class-I IP and revenue would have done better on that round.",
    ),
    "thresholds_rule": Baseline(
        "model_vs_thresholds_rule",
        "thresholds rule",
        "门槛规则",
        "the thresholds-on-visible-data rule",
        "the criteria file read alone (thresholds known met first, then class-I IP and "
        "revenue) would have done better on that round; the card's invited-population "
        "table shows whether it does among the companies a list goes to.",
    ),
}


def list_order(
    scores: np.ndarray, visible_miss: np.ndarray, below_floor: np.ndarray, floors: str
) -> np.ndarray:
    """Positions of the invitation list, best first.

    A visible miss of a threshold is never listed. Candidates below an empirical floor
    rank after every unmarked one (`rank_after`), are left out (`exclude`), or are
    treated like the others (`ignore`). Ties keep their input order.
    """
    scores = np.asarray(scores, dtype=float)
    keep = ~np.asarray(visible_miss, dtype=bool)
    marked = np.asarray(below_floor, dtype=bool)
    if floors == "exclude":
        keep &= ~marked
    after = marked if floors == "rank_after" else np.zeros(len(scores), dtype=bool)
    order = np.lexsort((-scores, after))
    return order[keep[order]]


def top_k_order(scores: np.ndarray) -> np.ndarray:
    """Positions sorted best first; ties keep their input order (stable)."""
    return np.argsort(-np.asarray(scores, dtype=float), kind="stable")


def precision_recall_at(
    scores: np.ndarray, positive: np.ndarray, ks: tuple[int, ...] = DEFAULT_KS
) -> dict:
    order = top_k_order(scores)
    positive = np.asarray(positive, dtype=bool)
    total = int(positive.sum())
    hits = np.cumsum(positive[order])
    out: dict[str, dict[str, float | int | None]] = {}
    for k in ks:
        kk = min(k, len(order))
        found = int(hits[kk - 1]) if kk else 0
        out[str(k)] = {
            "k": kk,
            "hits": found,
            "precision": found / kk if kk else None,
            "recall": found / total if total else None,
        }
    return out


def auc(scores: np.ndarray, labels: np.ndarray) -> float | None:
    labels = np.asarray(labels)
    if len(np.unique(labels)) < 2:
        return None
    return float(roc_auc_score(labels, scores))


def group_audit(
    scores: np.ndarray, positive: np.ndarray, groups: pd.Series, k: int
) -> list[dict[str, Any]]:
    """Precision and recall of the top `k`, per group (ownership, industry section, province)."""
    order = top_k_order(scores)
    in_top = np.zeros(len(order), dtype=bool)
    in_top[order[:k]] = True
    frame = pd.DataFrame(
        {
            "group": groups.astype("str").fillna("unknown").to_numpy(),
            "top": in_top,
            "pos": np.asarray(positive, bool),
        }
    )
    frame["hit"] = frame["top"] & frame["pos"]
    agg = frame.groupby("group", sort=True).agg(
        candidates=("top", "size"),
        listed=("top", "sum"),
        positives=("pos", "sum"),
        hits=("hit", "sum"),
    )
    rows: list[dict[str, Any]] = []
    for group, row in agg.iterrows():
        rows.append(
            {
                "group": str(group),
                "candidates": int(row.candidates),
                "listed": int(row.listed),
                "positives": int(row.positives),
                "precision": float(row.hits / row.listed) if row.listed else None,
                "recall": float(row.hits / row.positives) if row.positives else None,
            }
        )
    return rows
