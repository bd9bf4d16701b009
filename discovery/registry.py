"""The model registry: every trained model kept with its schema, metrics and provenance.

Layout under `$DISCOVERY_HOME/models/<tier>/`:
    <model_id>/model.txt      LightGBM booster (text format)
    <model_id>/bundle.json    feature schema, calibration, metrics, fingerprint, criteria version
    <model_id>/card.md        the model card for people
    SERVING                   the id of the serving model (replaced atomically)

A model directory is written aside under a temporary name, fsynced, then renamed;
promotion replaces the SERVING pointer in one `os.replace`. A failed run leaves no
model directory, and a worse one never moves the pointer unless forced. A run killed
while writing leaves its `.staging-*` folder; the next registration removes it.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from discovery.vocabulary import check_tier
from graph.contract import TARGET_TIERS
from graph.errors import DiscoveryError, UsageError
from graph.fsutil import atomic_write_text, exclusive_lock, fsync_dir, fsync_tree, remove_staging


class SchemaMismatchError(DiscoveryError):
    """The features at hand are not the ones the model was trained on."""


class PromotionRefused(DiscoveryError):
    """The candidate is worse on its validation round than the serving model."""


@dataclass(frozen=True, repr=False)
class RegisteredModel:
    """A model in the registry: its folder and its bundle (schema, metrics, card).

    Printed, it is one line (id, tier, date, serving or not, validation metrics with
    their intervals); `bundle["card"]` and `card.md` hold the rest.
    """

    tier: str
    model_id: str
    path: Path
    bundle: dict[str, Any]

    @property
    def serving(self) -> bool:
        """Whether the registry's serving pointer names this model now."""
        pointer = self.path.parent / "SERVING"
        try:
            return pointer.read_text(encoding="utf-8").strip() == self.model_id
        except OSError:
            return False

    def __str__(self) -> str:
        from discovery.card import model_line

        described = {**self.bundle, "model_id": self.model_id, "tier": self.tier}
        return model_line(described, self.serving)

    def __repr__(self) -> str:
        return f"<RegisteredModel {self}>"

    @property
    def booster_path(self) -> Path:
        return self.path / "model.txt"

    @property
    def metrics(self) -> dict[str, Any]:
        return self.bundle["metrics"]

    @property
    def primary_metric(self) -> float:
        return float(self.bundle["metrics"]["primary"])


class Registry:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _tier_dir(self, tier: str) -> Path:
        return self.root / check_tier(tier)

    def new_id(self, tier: str) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        existing = {p.name for p in self._tier_dir(tier).glob(f"{tier}-{stamp}*")}
        n = 0
        while f"{tier}-{stamp}-{n}" in existing:
            n += 1
        return f"{tier}-{stamp}-{n}"

    def register(
        self, tier: str, booster_text: str, bundle: dict[str, Any], card_md: str
    ) -> RegisteredModel:
        """Write a model aside, fsync it, then give it its final name."""
        tier_dir = self._tier_dir(tier)
        tier_dir.mkdir(parents=True, exist_ok=True)
        with exclusive_lock(tier_dir / ".lock"):
            remove_staging(tier_dir)
            model_id = self.new_id(tier)
            staging = tier_dir / f".staging-{model_id}-{os.getpid()}"
            staging.mkdir()
            try:
                (staging / "model.txt").write_text(booster_text, encoding="utf-8")
                full = {**bundle, "model_id": model_id, "tier": tier}
                (staging / "bundle.json").write_text(
                    json.dumps(full, ensure_ascii=False, indent=2, default=str), encoding="utf-8"
                )
                (staging / "card.md").write_text(card_md, encoding="utf-8")
                fsync_tree(staging)
                os.replace(staging, tier_dir / model_id)
                fsync_dir(tier_dir)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
        return self.get(tier, model_id)

    def get(self, tier: str, model_id: str) -> RegisteredModel:
        path = self._tier_dir(tier) / model_id
        bundle_path = path / "bundle.json"
        if not bundle_path.is_file():
            raise UsageError(f"There is no model '{model_id}' for {tier}.")
        return RegisteredModel(
            tier, model_id, path, json.loads(bundle_path.read_text(encoding="utf-8"))
        )

    def find(self, model_id: str) -> RegisteredModel:
        for tier in TARGET_TIERS:
            if (self._tier_dir(tier) / model_id / "bundle.json").is_file():
                return self.get(tier, model_id)
        raise UsageError(f"There is no model '{model_id}'.")

    def list(self, tier: str) -> list[RegisteredModel]:
        tier_dir = self._tier_dir(tier)
        if not tier_dir.exists():
            return []
        ids = sorted(
            p.name for p in tier_dir.iterdir() if p.is_dir() and not p.name.startswith(".")
        )
        return [self.get(tier, i) for i in ids if (tier_dir / i / "bundle.json").is_file()]

    def serving(self, tier: str) -> RegisteredModel | None:
        pointer = self._tier_dir(tier) / "SERVING"
        if not pointer.is_file():
            return None
        return self.get(tier, pointer.read_text(encoding="utf-8").strip())

    def promote(
        self, model: RegisteredModel, force: bool = False, serving_score: float | None = None
    ) -> bool:
        """Make `model` the serving one unless it is worse than the current one.

        `serving_score` is the serving model's metric on the candidate's own
        validation round, when the caller could compute it; otherwise the serving
        model's stored metric is used. Returns True when the pointer moved. Raises
        `PromotionRefused` when the candidate is worse and `force` is not set.
        """
        tier_dir = self._tier_dir(model.tier)
        with exclusive_lock(tier_dir / ".lock"):
            current = self.serving(model.tier)
            bar = None
            if current is not None and current.model_id != model.model_id:
                bar = current.primary_metric if serving_score is None else serving_score
            worse = bar is not None and model.primary_metric < bar
            if worse and not force:
                assert current is not None
                raise PromotionRefused(
                    f"Model {model.model_id} scores {model.primary_metric:.4f} on its validation round, "
                    f"below the serving {current.model_id} ({bar:.4f}); "
                    "it stays registered but does not serve. Use force to promote it anyway."
                )
            atomic_write_text(tier_dir / "SERVING", model.model_id + "\n")
        return current is None or current.model_id != model.model_id

    def table(self, tier: str, top: int) -> pd.DataFrame:
        """Every registered model of `tier`, oldest first, with its metrics at list size `top`
        and their 95 % intervals (`…_low`, `…_high`; empty for models that predate them)."""
        serving = self.serving(tier)
        rows = []
        for m in self.list(tier):
            card = m.bundle.get("card", {})
            model = m.metrics["model"]
            at_top = model["at_k"].get(str(top), {})
            # the primary metric's interval: AUC on direct evidence, else on all candidates
            which = (
                "auc_direct_evidence" if model.get("auc_direct_evidence") else "auc_all_candidates"
            )
            primary_ci = model.get(f"{which}_ci") or (None, None)
            precision_ci = at_top.get("precision_ci") or (None, None)
            rows.append(
                {
                    "model_id": m.model_id,
                    "as_of": m.bundle.get("as_of"),
                    "trained_at": card.get("trained_at"),
                    "validation_round": card.get("validation_round", {}).get("as_of"),
                    "primary": m.primary_metric,
                    "primary_low": primary_ci[0],
                    "primary_high": primary_ci[1],
                    f"precision@{top}": at_top.get("precision"),
                    f"precision@{top}_low": precision_ci[0],
                    f"precision@{top}_high": precision_ci[1],
                    f"lift@{top}": m.metrics.get("lift_over_rules", {}).get(str(top)),
                    "serving": serving is not None and m.model_id == serving.model_id,
                }
            )
        return pd.DataFrame(rows, columns=None if rows else ["model_id"]).set_index("model_id")

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for tier in TARGET_TIERS:
            serving = self.serving(tier)
            out[tier] = {
                "models": len(self.list(tier)),
                "serving": serving.model_id if serving else None,
                "serving_as_of": serving.bundle.get("as_of") if serving else None,
                "serving_primary_metric": serving.primary_metric if serving else None,
            }
        return out
