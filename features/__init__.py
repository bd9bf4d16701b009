"""Point-in-time features: one row per company known at a date, from the five discovery channels.

    from features import build_features, ThresholdSpec, write_table
    table = build_features(store, date(2025, 6, 30), thresholds=[...])

The families, their column prefixes and reason channels are in `features.registry`.

Layer rule: this package imports `graph` only.
"""

from features import registry
from features.build import build_features, build_features_at, feature_columns, iter_features_at
from features.history import History
from features.io import write_table
from features.registry import Family, channel_of, families, family_of
from features.standards import MEASURES, THRESHOLD_MEASURES, Condition, ThresholdSpec
from features.status import HOLD_GROUPS, barred_at, holds_at

__all__ = [
    "HOLD_GROUPS",
    "MEASURES",
    "THRESHOLD_MEASURES",
    "Condition",
    "Family",
    "History",
    "ThresholdSpec",
    "barred_at",
    "build_features",
    "build_features_at",
    "channel_of",
    "families",
    "family_of",
    "feature_columns",
    "holds_at",
    "iter_features_at",
    "registry",
    "write_table",
]
