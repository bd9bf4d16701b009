"""The analyst's entry point: one state directory, its store, criteria and model registry.

    import discovery
    ws = discovery.load()                         # $DISCOVERY_HOME and the configured store
    ws.simulate(5000, seed=1)                     # or ws.ingest("data/")
    new = ws.train("specialized_sme", "2025-06-30", promote=False)
    cmp = ws.compare("specialized_sme", "2025-06-30", ["serving", new])
    if cmp.best == new.model.model_id:
        ws.promote(new)
    ws.rank("specialized_sme", "2025-06-30", top=50).frame

Every method takes `as_of` (a `date` or "YYYY-MM-DD") and reads only facts known
then. Evaluations never score a round with a model that learned its outcomes:
`compare` refuses such a model, and `backtest` trains a fresh model per round from
the facts known at the round's start.

`feature_table` is the function behind `discovery features`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from discovery.criteria import Criteria, default_criteria, load_criteria
from discovery.labels import Round, examples, past_rounds
from discovery.labels import gate as gate_checks
from discovery.model import ScoringModel, snapshot
from discovery.registry import RegisteredModel, Registry, check_tier
from discovery.training import (
    DEFAULT_ROUNDS,
    RoundData,
    SnapshotCache,
    TrainResult,
    evaluate,
    primary_metric,
    serving_score_on,
)
from graph.contract import TIERS
from graph.errors import UsageError
from graph.factory import open_store
from graph.settings import Settings, get_settings
from graph.store import Store

if TYPE_CHECKING:
    import networkx as nx

    from discovery.ranking import RankedList
    from discovery.simulation import SimulationSummary
    from graph.loading import IngestReport

__all__ = ["Backtest", "Comparison", "Workspace", "feature_table", "load"]

#: a model to compare: "serving", a model id, a registered model, or a fresh training result
ModelRef = str | RegisteredModel | TrainResult
DateLike = date | str
RULES = "rules"


def feature_table(store: Store, as_of: date, criteria: Criteria) -> pd.DataFrame:
    """The feature table at `as_of` with `uscc` first, as `discovery features` writes it."""
    return snapshot(store, as_of, criteria).reset_index()


def load(
    home: str | Path | None = None,
    *,
    criteria: Criteria | str | Path | None = None,
    settings: Settings | None = None,
) -> Workspace:
    """Open the workspace under `home` (default `$DISCOVERY_HOME`) with the configured store.

    The store (embedded, or Neo4j with `DISCOVERY_STORE=neo4j`) is opened on first use,
    so loading an empty directory is fine: `simulate` or `ingest` fills it.
    """
    cfg = settings or get_settings()
    if home is not None:
        cfg = cfg.model_copy(update={"home": Path(home)})
    if criteria is None:
        crit = default_criteria()
    elif isinstance(criteria, Criteria):
        crit = criteria
    else:
        crit = load_criteria(criteria)
    return Workspace(cfg, crit)


def _day(value: DateLike, name: str = "as_of") -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise UsageError(f"{name} must be a date or a string YYYY-MM-DD, not {value!r}.") from None


@dataclass
class Comparison:
    """Models and the rules baseline scored on the same past round (never trained on).

    `scores` holds one row per candidate of the round (label, source, one column per
    model); `precision` and `recall` are indexed by K (1…); `summary` has one row per
    model with AUCs and precision, recall and lift at the list size `top`.
    """

    tier: str
    round: Round
    top: int
    scores: pd.DataFrame
    precision: pd.DataFrame
    recall: pd.DataFrame
    summary: pd.DataFrame

    @property
    def lift(self) -> pd.DataFrame:
        """Precision@K of every model divided by the rules baseline's (NaN where it is 0)."""
        base = self.precision[RULES].replace(0.0, np.nan)
        return self.precision.drop(columns=RULES).div(base, axis=0)

    @property
    def best(self) -> str:
        """The model (not the baseline) with the highest primary metric on the round."""
        models = self.summary.drop(index=RULES)
        return str(models["primary"].astype(float).idxmax())


@dataclass
class Backtest:
    """Per past round: the list a model trained then would have produced, against what happened.

    `rounds` has one row per round (candidates, certified, hits and recall of the
    top K, the rules baseline's, and how many listed and certified companies had
    never been on an earlier list); `lists` holds each round's ranked list.
    """

    tier: str
    top: int
    rounds: pd.DataFrame
    lists: dict[date, pd.DataFrame] = field(default_factory=dict)


class Workspace:
    """A state directory's store, criteria and model registry, with the analyst's operations."""

    def __init__(self, settings: Settings, criteria: Criteria) -> None:
        self.settings = settings
        self.criteria = criteria
        self.registry = Registry(settings.home / "models")
        #: models trained with `register=False`: kept for comparison, never served
        self.scratch = Registry(settings.home / "scratch" / "models")
        self._store: Store | None = None
        self._snapshots: SnapshotCache | None = None

    def __repr__(self) -> str:
        return f"Workspace(home={str(self.home)!r}, store={self.settings.store!r})"

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the store's connections (the embedded store holds none)."""
        if self._store is not None:
            self._store.close()
            self._store = None
            self._snapshots = None

    @property
    def home(self) -> Path:
        return self.settings.home

    @property
    def store(self) -> Store:
        """The configured store, opened on first use."""
        if self._store is None:
            self._store = open_store(self.settings)
        return self._store

    @property
    def _cache(self) -> SnapshotCache:
        if self._snapshots is None:
            self._snapshots = SnapshotCache(self.store, self.criteria)
        return self._snapshots

    # -- data ---------------------------------------------------------------------------
    def simulate(
        self,
        companies: int = 5000,
        seed: int = 0,
        *,
        end: DateLike = date(2025, 12, 31),
        truth: Path | None = None,
    ) -> SimulationSummary:
        """Simulate a seeded world into `home/simulated/` and ingest it (same seed, same world)."""
        from discovery.simulation import simulate

        if companies < 100:
            raise UsageError("companies must be at least 100.")
        out = self.home / "simulated" / f"seed-{seed}-{companies}"
        summary = simulate(companies, seed, out, truth, end=_day(end, "end"))
        self.ingest(out)
        return summary

    def ingest(self, data_dir: str | Path, rejects: str | Path | None = None) -> IngestReport:
        """Validate a data directory and load it; bad rows go to `rejects` (default home/rejects.csv)."""
        from graph.loading import ingest

        report = ingest(Path(data_dir), self.store, Path(rejects or self.home / "rejects.csv"))
        self._snapshots = None  # features of the old data are stale
        return report

    def features(self, as_of: DateLike) -> pd.DataFrame:
        """Point-in-time features of every company known at `as_of`, indexed by `uscc` (cached)."""
        return self._cache(_day(as_of))

    def holdings(self, as_of: DateLike) -> pd.DataFrame:
        """Per company known at `as_of`: one bool column per tier held, and the `highest` one."""
        from features import holds_at

        day = _day(as_of)
        codes = self.store.read("companies", day)["uscc"].astype("str")
        held = holds_at(self.store.read("certifications", day), day)
        held = held.reindex(pd.Index(codes, name="uscc"), fill_value=False)
        highest = pd.Series("none", index=held.index, dtype=object)
        for tier in TIERS:  # lowest first, so the highest held wins
            highest[held[tier].to_numpy()] = tier
        return held.assign(highest=highest)

    def gate(self, tier: str, as_of: DateLike) -> pd.DataFrame:
        """The gate checks per company (ladder, holding, barred, large) and who is `eligible`."""
        return gate_checks(self.store, check_tier(tier), _day(as_of), self.criteria)

    # -- models -------------------------------------------------------------------------
    def train(
        self,
        tier: str,
        as_of: DateLike,
        *,
        register: bool = True,
        promote: bool = True,
        force: bool = False,
        rounds: int = DEFAULT_ROUNDS,
    ) -> TrainResult:
        """Train a model for `tier` from the facts known at `as_of`, validated on the last past round.

        `register=False` keeps the model in the scratch registry (never served, but
        comparable); `promote=False` registers without touching the serving pointer;
        `force` promotes even when worse. The result carries the model card and the
        held-out scores of the validation round (`result.validation`).
        """
        from discovery.training import train_tier

        check_tier(tier)
        if rounds < 2:
            raise UsageError("rounds must be at least 2 (one to learn from, one to validate on).")
        return train_tier(
            self.store,
            tier,
            _day(as_of),
            self.criteria,
            self.registry if register else self.scratch,
            n_rounds=rounds,
            force=force,
            promote=promote and register,
            snapshots=self._cache,
        )

    def serving(self, tier: str) -> RegisteredModel | None:
        """The model that serves `tier` now, if any."""
        return self.registry.serving(check_tier(tier))

    def models(self, tier: str) -> pd.DataFrame:
        """Every registered model of `tier`, oldest first, with its validation metrics."""
        serving = self.serving(tier)
        rows = []
        for m in self.registry.list(tier):
            card = m.bundle.get("card", {})
            top = str(self.criteria.default_top(tier))
            at_top = m.metrics["model"]["at_k"].get(top, {})
            rows.append(
                {
                    "model_id": m.model_id,
                    "as_of": m.bundle.get("as_of"),
                    "trained_at": card.get("trained_at"),
                    "validation_round": card.get("validation_round", {}).get("as_of"),
                    "primary": m.primary_metric,
                    f"precision@{top}": at_top.get("precision"),
                    f"lift@{top}": m.metrics.get("lift_over_rules", {}).get(top),
                    "serving": serving is not None and m.model_id == serving.model_id,
                }
            )
        return pd.DataFrame(rows, columns=None if rows else ["model_id"]).set_index("model_id")

    def promote(self, model: ModelRef, *, force: bool = False) -> bool:
        """Make `model` serve its tier unless it is worse than the serving one on its validation round.

        The serving model is re-scored on the candidate's validation round when it
        was trained before that round; otherwise its stored metric is the bar.
        Returns True when the pointer moved; raises `PromotionRefused` when worse.
        """
        candidate = self._resolve(model, tier=None)
        if candidate.path.parent.parent == self.scratch.root:
            raise UsageError(
                f"{candidate.model_id} was trained with register=False; train it again to promote it."
            )
        valid = candidate.bundle["card"]["validation_round"]
        rnd = Round(date.fromisoformat(valid["as_of"]), date.fromisoformat(valid["window_end"]))
        bar = None
        if self.registry.serving(candidate.tier) is not None:  # the round's data only when needed
            data = RoundData(rnd, self._examples(candidate.tier, rnd), self._cache(rnd.as_of))
            bar = serving_score_on(self.registry, candidate.tier, data)
        return self.registry.promote(candidate, force=force, serving_score=bar)

    # -- lists and evaluation -----------------------------------------------------------
    def rank(
        self, tier: str, as_of: DateLike, *, top: int = 100, region: str | None = None
    ) -> RankedList:
        """The serving model's invitation list for `tier` at `as_of` (gates, thresholds, reasons)."""
        from discovery.ranking import rank

        day = _day(as_of)
        return rank(
            self.store,
            tier,
            day,
            self.registry,
            self.criteria,
            top=top,
            region=region,
            features=self._cache(day),
        )

    def compare(
        self,
        tier: str,
        as_of: DateLike,
        models: Sequence[ModelRef] = ("serving",),
        *,
        max_k: int = 200,
    ) -> Comparison:
        """Score `models` and the rules baseline on the last round that ended by `as_of`.

        A model trained on that round's outcomes cannot be compared on it: pass the
        `TrainResult` of a fresh training (its held-out scores are used) or compare
        as of a later date.
        """
        check_tier(tier)
        if max_k < 1:
            raise UsageError("max_k must be at least 1.")
        if isinstance(models, str | RegisteredModel | TrainResult):
            models = [models]
        rnd = past_rounds(_day(as_of), 1)[0]
        data = RoundData(rnd, self._examples(tier, rnd), self._cache(rnd.as_of))
        if len(data.examples) == 0:
            raise UsageError(f"The round {rnd.as_of} → {rnd.window_end} has no {tier} candidates.")
        scores = data.examples[["label", "source"]].copy()
        for ref in models:
            name, values = self._held_out_scores(ref, tier, data)
            scores[name] = values
        scores[RULES] = _rules(data.candidates)
        top = self.criteria.default_top(tier)
        return _comparison(tier, rnd, top, scores, max_k)

    def backtest(
        self,
        tier: str,
        as_of: DateLike,
        *,
        top: int | None = None,
        rounds: int = 3,
        train_rounds: int = DEFAULT_ROUNDS,
    ) -> Backtest:
        """Replay the last `rounds` rounds: list the top `top` at each round's start, then check.

        For each round a fresh model is trained from the facts known at its start
        (never registered), the list is made as `rank` makes it (gates, thresholds),
        and the list is checked against who was certified in the round. "New" counts
        companies never on an earlier list of this backtest nor invited before.
        Rounds without enough evidence to train on are kept with a `note`.
        """
        from discovery.ranking import rank, threshold_status
        from discovery.training import NotEnoughEvidence, train_tier

        check_tier(tier)
        top = top or self.criteria.default_top(tier)
        if top < 1 or rounds < 1:
            raise UsageError("top and rounds must be at least 1.")
        rows: list[dict[str, Any]] = []
        lists: dict[date, pd.DataFrame] = {}
        earlier: set[str] = set()
        thresholds = list(self.criteria.thresholds_for(tier))
        for rnd in past_rounds(_day(as_of), rounds):
            ex = self._examples(tier, rnd)
            certified = set(ex.index[(ex["label"] == 1).to_numpy()])
            invited = self.store.read("invitations", rnd.as_of)
            earlier |= set(invited.loc[invited["tier"] == tier, "uscc"].astype("str"))
            row: dict[str, Any] = {
                "round": rnd.as_of,
                "window_end": rnd.window_end,
                "candidates": len(ex),
                "certified": len(certified),
            }
            with tempfile.TemporaryDirectory(prefix="backtest-") as tmp:
                registry = Registry(Path(tmp))
                try:
                    train_tier(
                        self.store,
                        tier,
                        rnd.as_of,
                        self.criteria,
                        registry,
                        n_rounds=train_rounds,
                        snapshots=self._cache,
                    )
                except NotEnoughEvidence as exc:
                    rows.append({**row, "note": str(exc)})
                    continue
                ranked = rank(
                    self.store,
                    tier,
                    rnd.as_of,
                    registry,
                    self.criteria,
                    top=top,
                    features=self._cache(rnd.as_of),
                )
            listed = list(ranked.frame["uscc"])
            hits = [c for c in listed if c in certified]
            x = self._cache(rnd.as_of).loc[ex.index]
            invitable = ~(threshold_status(x, thresholds) == 0).any(axis=1).to_numpy()
            rules_scores = _rules(x)[invitable]
            rules_top = x.index[invitable][np.argsort(-rules_scores, kind="stable")[:top]]
            row.update(
                listed=len(listed),
                hits=len(hits),
                precision=len(hits) / len(listed) if listed else np.nan,
                recall=len(hits) / len(certified) if certified else np.nan,
                rules_hits=len(certified.intersection(rules_top)),
                rules_recall=(
                    len(certified.intersection(rules_top)) / len(certified) if certified else np.nan
                ),
                new_listed=sum(c not in earlier for c in listed),
                new_hits=sum(c not in earlier for c in hits),
                note="",
            )
            rows.append(row)
            lists[rnd.as_of] = ranked.frame.assign(certified=[c in certified for c in listed])
            earlier |= set(listed)
        return Backtest(tier, top, pd.DataFrame(rows).set_index("round"), lists)

    # -- graph --------------------------------------------------------------------------
    def graph_neighbourhood(self, uscc: str, as_of: DateLike, hops: int = 1) -> nx.DiGraph:
        """The supply-chain and investor neighbourhood of a company at `as_of`, for drawing.

        Nodes are companies (`kind="company"`, with `name`, `region_code`, `tier` =
        highest tier held, `hop`) and investors (`kind="investor"`, `investor_type`);
        edges run supplier → customer (`kind="supplies"`) and investor → company
        (`kind="invested_in"`). Only links active at `as_of` are drawn.
        """
        import networkx as nx

        day = _day(as_of)
        if not 1 <= hops <= 3:
            raise UsageError(f"hops must be 1, 2 or 3, not {hops}.")
        companies = self.store.read("companies", day).set_index("uscc")
        if uscc not in companies.index:
            raise UsageError(f"There is no company {uscc} known at {day}.")
        links = self.store.read("supply_links", day)
        links = links.loc[links["end_on"].isna().to_numpy()]  # later ends read blank at as_of
        invest = self.store.read("investments", day)
        invest = invest.assign(investor=("investor:" + invest["investor_id"].astype("str")))

        hop_of: dict[str, int] = {uscc: 0}
        frontier = {uscc}
        supplies = links.iloc[0:0]
        invested = invest.iloc[0:0]
        for h in range(1, hops + 1):
            touch = links["supplier_uscc"].isin(frontier) | links["customer_uscc"].isin(frontier)
            inv = invest["investee_uscc"].isin(frontier) | invest["investor"].isin(frontier)
            supplies = pd.concat([supplies, links.loc[touch.to_numpy()]]).drop_duplicates()
            invested = pd.concat([invested, invest.loc[inv.to_numpy()]]).drop_duplicates()
            reached = (
                set(supplies["supplier_uscc"])
                | set(supplies["customer_uscc"])
                | set(invested["investee_uscc"])
                | set(invested["investor"])
            )
            frontier = {str(n) for n in reached} - hop_of.keys()
            hop_of.update(dict.fromkeys(frontier, h))

        held = self.holdings(day)["highest"]
        graph = nx.DiGraph(uscc=uscc, as_of=day.isoformat())
        investors = invest.drop_duplicates("investor").set_index("investor")
        for node, h in hop_of.items():
            if node.startswith("investor:"):
                row = investors.loc[node]
                graph.add_node(
                    node,
                    kind="investor",
                    name=row["investor_name"],
                    investor_type=row["investor_type"],
                    hop=h,
                )
            else:  # a counterparty may lie outside the data (no company row): drawn unnamed
                known = node in companies.index
                graph.add_node(
                    node,
                    kind="company",
                    name=companies.at[node, "name"] if known else None,
                    region_code=companies.at[node, "region_code"] if known else None,
                    tier=held.get(node, "none"),
                    hop=h,
                )
        for r in supplies.itertuples(index=False):
            graph.add_edge(
                r.supplier_uscc, r.customer_uscc, kind="supplies", since=r.start_on.date()
            )
        for r in invested.itertuples(index=False):
            graph.add_edge(
                r.investor, r.investee_uscc, kind="invested_in", since=r.invested_on.date()
            )
        return graph

    # -- helpers ------------------------------------------------------------------------
    def _examples(self, tier: str, rnd: Round) -> pd.DataFrame:
        return examples(self.store, tier, rnd, self.criteria)

    def _resolve(self, ref: ModelRef, tier: str | None) -> RegisteredModel:
        if isinstance(ref, TrainResult):
            return ref.model
        if isinstance(ref, RegisteredModel):
            return ref
        if ref == "serving":
            if tier is None:
                raise UsageError("Name a model id, not 'serving', here.")
            serving = self.serving(tier)
            if serving is None:
                raise UsageError(f"No model serves {tier} yet; train one first.")
            return serving
        for registry in (self.registry, self.scratch):
            try:
                return registry.find(ref)
            except UsageError:
                continue
        raise UsageError(f"There is no model '{ref}'.")

    def _held_out_scores(self, ref: ModelRef, tier: str, data: RoundData) -> tuple[str, np.ndarray]:
        """A model's scores on the round's candidates, refusing a model that saw the round."""
        model = self._resolve(ref, tier)
        if model.tier != tier:
            raise UsageError(f"{model.model_id} is a {model.tier} model, not {tier}.")
        if isinstance(ref, TrainResult) and ref.validation is not None:
            valid_as_of = ref.card["validation_round"]["as_of"]
            if valid_as_of == data.round.as_of.isoformat():
                raw = ref.validation["raw"].reindex(data.examples.index)
                return model.model_id, raw.to_numpy(dtype=float)
        trained_as_of = date.fromisoformat(model.bundle["as_of"])
        if trained_as_of > data.round.as_of:
            raise UsageError(
                f"{model.model_id} learned from outcomes up to {trained_as_of}, which include the round "
                f"{data.round.as_of} → {data.round.window_end}; compare it as of a later date, or pass "
                "the TrainResult of the training to use its held-out scores."
            )
        return model.model_id, ScoringModel.load(model).raw(data.candidates)


def _rules(features: pd.DataFrame) -> np.ndarray:
    from discovery.metrics import rules_score

    return rules_score(features)


def _comparison(tier: str, rnd: Round, top: int, scores: pd.DataFrame, max_k: int) -> Comparison:
    positive = (scores["label"] == 1).to_numpy()
    names = [c for c in scores.columns if c not in ("label", "source")]
    ks = np.arange(1, min(max_k, len(scores)) + 1)
    data = RoundData(rnd, scores[["label", "source"]], scores)  # evaluate reads the labels only
    precision: dict[str, np.ndarray] = {}
    recall: dict[str, np.ndarray] = {}
    summary: dict[str, dict[str, Any]] = {}
    for name in names:
        values = scores[name].to_numpy(dtype=float)
        hits = np.cumsum(positive[np.argsort(-values, kind="stable")])[ks - 1]
        precision[name] = hits / ks
        recall[name] = hits / positive.sum() if positive.any() else np.full(len(ks), np.nan)
        ev = evaluate(values, data, (top,))
        at = ev["at_k"][str(top)]
        summary[name] = {
            "primary": primary_metric(ev),
            "auc_direct_evidence": ev["auc_direct_evidence"],
            "auc_all_candidates": ev["auc_all_candidates"],
            f"precision@{top}": at["precision"],
            f"recall@{top}": at["recall"],
        }
    frame = pd.DataFrame.from_dict(summary, orient="index")
    base = frame.loc[RULES, f"precision@{top}"]
    frame[f"lift@{top}"] = frame[f"precision@{top}"].astype(float) / base if base else np.nan
    index = pd.Index(ks, name="k")
    return Comparison(
        tier,
        rnd,
        top,
        scores,
        pd.DataFrame(precision, index=index),
        pd.DataFrame(recall, index=index),
        frame,
    )
