"""Shared entry points for the CLI and notebooks."""

from __future__ import annotations

from datetime import date

import pandas as pd

from discovery.criteria import Criteria
from discovery.model import snapshot
from graph.store import Store


def feature_table(store: Store, as_of: date, criteria: Criteria) -> pd.DataFrame:
    """The feature table at `as_of` with `uscc` first, as `discovery features` writes it."""
    return snapshot(store, as_of, criteria).reset_index()
