"""A model's feature schema: the names, order, dtypes and category vocabularies of the
inputs it was trained on, and the model matrix made from a feature table with them.

A feature table that does not match is refused with a plain message: a model never
scores columns it did not learn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from discovery.registry import SchemaMismatchError
from features import feature_columns
from features import registry as feature_registry
from features.profile import TENURE_COLUMNS
from graph.errors import UsageError

#: never model inputs: the standards treat every ownership type alike (and it is not a feature)
FORBIDDEN_INPUTS = ("ownership",)
#: not inputs of the scoring model: the standard is the same in every province, while the
#: decisions it learns from also carry where a company is (how many apply there, places
#: dealt to provinces); learned, that moved the lists towards provinces with places to
#: spare and away from qualifiers where many apply (`benchmarks/README.md`, "A review
#: within provincial places"). Lists are still cut by region, the card's fairness audit
#: still reads the province, and the quality-score estimate still reads both.
LOCATION_INPUTS = ("profile_province", "profile_city")
#: inputs of the quality-score estimate (`discovery.quality`), not of the scoring model,
#: which reads the estimate. The years a company has held each tier correct the
#: estimate for companies that have just reached a tier (their scores sit nearer the bar
#: than long-time holders' with the same facts); as inputs of the booster they moved the
#: benchmark lists both ways (`benchmarks/README.md`, "The quality bar's σ").
ESTIMATE_ONLY = TENURE_COLUMNS


@dataclass(frozen=True)
class FeatureSchema:
    names: tuple[str, ...]
    kinds: tuple[str, ...]  # "numeric" or "category"
    categories: dict[str, list[str]]

    @classmethod
    def of(cls, frame: pd.DataFrame) -> FeatureSchema:
        names = tuple(
            c
            for c in feature_columns(frame.reset_index())
            if c not in FORBIDDEN_INPUTS and c not in ESTIMATE_ONLY and c not in LOCATION_INPUTS
        )
        kinds = tuple(
            "category" if isinstance(frame[c].dtype, pd.CategoricalDtype) else "numeric"
            for c in names
        )
        categories = {
            c: [str(v) for v in frame[c].cat.categories]
            for c, k in zip(names, kinds, strict=True)
            if k == "category"
        }
        return cls(names, kinds, categories)

    def to_json(self) -> dict[str, Any]:
        return {"names": list(self.names), "kinds": list(self.kinds), "categories": self.categories}

    def numeric(self) -> tuple[str, ...]:
        return tuple(n for n, k in zip(self.names, self.kinds, strict=True) if k == "numeric")

    def subset(self, wanted: Sequence[str] | str | None) -> FeatureSchema:
        """The schema restricted to `wanted`: column names, family names (`ip`, `financial`,
        see `features.registry`) or column prefixes (`ip_`), in the schema's order.

        An unknown name, or one that matches no model input, is refused.
        """
        items = feature_choice(wanted)
        if items is None:
            return self
        prefixes = {f.name: f.prefix for f in feature_registry.families()}
        keep: set[str] = set()
        for item in items:
            prefix = prefixes.get(item, item if item.endswith("_") else None)
            found = {n for n in self.names if n == item or (prefix and n.startswith(prefix))}
            if not found:
                raise _unknown_feature(item)
            keep |= found
        chosen = [i for i, n in enumerate(self.names) if n in keep]
        names = tuple(self.names[i] for i in chosen)
        return FeatureSchema(
            names,
            tuple(self.kinds[i] for i in chosen),
            {k: v for k, v in self.categories.items() if k in names},
        )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeatureSchema:
        return cls(
            tuple(data["names"]),
            tuple(data["kinds"]),
            {k: list(v) for k, v in data["categories"].items()},
        )

    def matrix(self, frame: pd.DataFrame, model_id: str = "the model") -> pd.DataFrame:
        """The model's inputs from a feature table, or a plain refusal when they do not match."""
        missing = [c for c in self.names if c not in frame.columns]
        if missing:
            shown = ", ".join(missing[:6]) + (" …" if len(missing) > 6 else "")
            raise SchemaMismatchError(
                f"{model_id} was trained on features this data does not have ({shown}); "
                "retrain it with `discovery train` for the current feature set."
            )
        dtypes = frame.dtypes  # one lookup; a column taken from the frame costs ~0.2 ms
        for name, kind in zip(self.names, self.kinds, strict=True):
            is_cat = isinstance(dtypes[name], pd.CategoricalDtype)
            if (kind == "category") != is_cat:
                raise SchemaMismatchError(
                    f"{model_id} expects {name} to be {kind}, but it is "
                    f"{'category' if is_cat else 'numeric'} here; retrain the model."
                )
        # numpy numbers and flags become float64 in one conversion, the rest column by column
        plain = [n for n in self.numeric() if _plain_number(dtypes[n])]
        block = frame[plain].to_numpy(dtype="float64")
        at = {name: i for i, name in enumerate(plain)}
        out: dict[str, Any] = {}
        for name, kind in zip(self.names, self.kinds, strict=True):
            if kind == "category":
                # same vocabulary and codes as in training; unseen values become missing
                # (looked up, not left to the constructor: pandas 4 refuses them there)
                categories = pd.Index(self.categories[name], dtype="str")
                codes = categories.get_indexer(frame[name].astype("str"))
                out[name] = pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(categories))
            elif name in at:
                out[name] = block[:, at[name]]
            else:
                out[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
        return pd.DataFrame(out, index=frame.index)


def _plain_number(dtype: Any) -> bool:
    """A numpy integer, float or bool dtype (not pandas' nullable ones, nor text)."""
    return isinstance(dtype, np.dtype) and dtype.kind in "biuf"


def _unknown_feature(item: object) -> UsageError:
    families = ", ".join(f.name for f in feature_registry.families())
    return UsageError(
        f"Unknown feature {item!r}: name a model input (ws.features(as_of).columns), "
        f"a family ({families}) or a column prefix such as 'ip_'."
    )


def feature_choice(wanted: Sequence[str] | str | None) -> list[str] | None:
    """`wanted` (see `FeatureSchema.subset`) as a list, refusing at once what no
    registered family could make; whether a named column exists is known only once the
    feature table is built."""
    if wanted is None:
        return None
    items = [wanted] if isinstance(wanted, str) else list(wanted)
    if not items:
        raise UsageError("features is empty: name at least one feature, family or prefix.")
    families = {f.name for f in feature_registry.families()}
    prefixes = tuple(feature_registry.prefix_channels())
    for item in items:
        if not isinstance(item, str) or not (item in families or item.startswith(prefixes)):
            raise _unknown_feature(item)
    return items
