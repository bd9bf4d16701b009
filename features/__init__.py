"""Point-in-time features: one row per company known at a date, from the five discovery channels.

    from features import build_features, ThresholdSpec, write_table
    table = build_features(store, date(2025, 6, 30), thresholds=[...])

Layer rule: this package imports `graph` only.
"""

from features.build import FAMILIES, PREFIXES, build_features, feature_columns
from features.io import write_table
from features.standards import MEASURES, THRESHOLD_MEASURES, Condition, ThresholdSpec
from features.status import HOLD_GROUPS, barred_at, holds_at

__all__ = [
    "FAMILIES",
    "HOLD_GROUPS",
    "MEASURES",
    "PREFIXES",
    "THRESHOLD_MEASURES",
    "Condition",
    "ThresholdSpec",
    "barred_at",
    "build_features",
    "feature_columns",
    "holds_at",
    "write_table",
]
