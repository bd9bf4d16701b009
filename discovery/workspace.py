"""The application service: one state directory, its store, criteria, models and caches.

    import discovery
    ws = discovery.load()                         # $DISCOVERY_HOME and the configured store
    ws.simulate(5000, seed=1)                     # or ws.ingest("data/")
    new = ws.train("specialized_sme", "2025-06-30", promote=False)
    cmp = ws.compare("specialized_sme", "2025-06-30", ["serving", new])
    if cmp.best == new.model.model_id:
        ws.promote(new)
    ws.rank("specialized_sme", "2025-06-30", top=50).frame

The CLI, the HTTP service and the notebooks all go through a `Workspace`: it is the
only place that opens the store, the model registry and the records database,
reads the criteria, lays out `$DISCOVERY_HOME` (`Settings.paths`), feeds recorded
invitation outcomes into training, and caches what is read or computed per date
(feature snapshots, the tables at a date, ranked lists). Every method takes
`as_of` (a `date` or "YYYY-MM-DD") and reads only facts known then.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import pandas as pd

from discovery.caching import Lru
from discovery.criteria import Criteria, default_criteria, load_criteria
from discovery.evaluation import Backtest, Comparison, ModelRef, backtest, compare
from discovery.labels import Round, examples
from discovery.labels import gate as gate_checks
from discovery.registry import RegisteredModel, Registry
from discovery.snapshots import SnapshotCache
from discovery.training import DEFAULT_ROUNDS, RoundData, TrainResult, serving_score_on
from discovery.vocabulary import DateLike, as_date, check_tier, decision_date
from discovery.workspace_models import ModelMethods
from features.context import TablesAt
from graph.contract import TIERS
from graph.errors import UsageError
from graph.factory import open_store
from graph.settings import Paths, Settings, get_settings
from graph.store import Store

if TYPE_CHECKING:
    import networkx as nx

    from discovery.company import CompanyFacts
    from discovery.ranking import RankedList
    from discovery.simulation import SimulationSummary
    from discovery.standard_check import StandardCheck
    from graph.loading import IngestReport

__all__ = ["Workspace", "load"]

#: (step, done, total) callbacks of long operations
Progress = Callable[[str, int, int], None]


def load(
    home: str | Path | None = None,
    *,
    criteria: Criteria | str | Path | None = None,
    settings: Settings | None = None,
    disk_cache: bool = True,
) -> Workspace:
    """Open the workspace under `home` (default `$DISCOVERY_HOME`) with the configured store.

    The store (embedded, or Neo4j with `DISCOVERY_STORE=neo4j`) is opened on first use,
    so loading an empty directory is fine: `simulate` or `ingest` fills it. Feature
    snapshots are kept on disk under the home (`disk_cache=False`: in memory only).
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
    return Workspace(cfg, crit, disk_cache=disk_cache)


class Workspace(ModelMethods):
    """A state directory's store, criteria and model registry, with every operation on them."""

    #: per-date tables and ranked lists kept in memory
    CACHED_DATES = 4
    CACHED_LISTS = 8

    def __init__(
        self,
        settings: Settings,
        criteria: Criteria,
        *,
        disk_cache: bool = True,
    ) -> None:
        self.settings = settings
        self.criteria = criteria
        self.paths: Paths = settings.paths
        self.registry = Registry(self.paths.models)
        #: models trained with `register=False`: kept for comparison, never served
        self.scratch = Registry(self.paths.scratch_models)
        self._disk_cache = disk_cache
        self._store: Store | None = None
        self._snapshots: SnapshotCache | None = None
        self._snapshot_version: str | None = None
        self._open = threading.Lock()
        self._tables = Lru(self.CACHED_DATES)
        self._lists = Lru(self.CACHED_LISTS)
        self._gates = Lru(self.CACHED_LISTS)

    def __repr__(self) -> str:
        return f"Workspace(home={str(self.home)!r}, store={self.settings.store!r})"

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the store's connections (the embedded store holds none) and the caches."""
        with self._open:
            if self._store is not None:
                self._store.close()
                self._store = None
            self._forget()

    def _forget(self) -> None:
        self._snapshots = None
        for cache in (self._tables, self._lists, self._gates):
            cache.clear()

    @property
    def home(self) -> Path:
        return self.settings.home

    @property
    def store(self) -> Store:
        """The configured store, opened on first use."""
        if self._store is None:
            with self._open:
                if self._store is None:
                    self._store = open_store(self.settings)
        return self._store

    def version(self) -> str:
        """A token of the store's content: every cache key carries it."""
        return self.store.version()

    def snapshots(self, as_of: date) -> pd.DataFrame:
        """The feature snapshot at `as_of` (features and quality estimate), cached."""
        return self.snapshot_cache(as_of)

    @property
    def snapshot_cache(self) -> SnapshotCache:
        """The one snapshot cache: in memory, and on disk under the home unless disabled."""
        version = self.version()  # data loaded by another process makes a new cache
        cache = self._snapshots
        if cache is None or self._snapshot_version != version:
            folder = self.paths.snapshots if self._disk_cache else None
            cache = self._snapshots = SnapshotCache(
                self.store, self.criteria, folder, settings=self.settings
            )
            self._snapshot_version = version
        return cache

    def tables(self, as_of: date) -> TablesAt:
        """The store's tables at `as_of`, each read once and shared by every reader."""
        return self._tables.get((as_of, self.version()), lambda: TablesAt(self.store, as_of))

    def table(self, name: str, as_of: DateLike) -> pd.DataFrame:
        """One contract table as known at `as_of` (shared: copy it before changing it)."""
        return self.tables(as_date(as_of))(name)

    def counts(self) -> dict[str, int]:
        """Rows per table in the store."""
        return self.store.counts()

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
        out = self.paths.simulated(seed, companies)
        summary = simulate(companies, seed, out, truth, end=as_date(end, "end"))
        self.ingest(out)
        return summary

    def ingest(
        self,
        data_dir: str | Path,
        rejects: str | Path | None = None,
        *,
        on_table: Callable[[str], None] | None = None,
        progress: Progress | None = None,
        shown_as: str | None = None,
    ) -> IngestReport:
        """Validate a data directory and load it; bad rows go to `rejects` (default
        home/rejects.csv). Errors name the directory as `shown_as` when given."""
        from graph.loading import ingest

        report = ingest(
            Path(data_dir),
            self.store,
            Path(rejects or self.paths.rejects),
            on_table=on_table,
            progress=progress,
            shown_as=shown_as,
        )
        self._forget()  # what was read or computed from the old data is stale
        return report

    def status(self) -> dict[str, Any]:
        """What the store and the model registry hold."""
        return {
            "home": str(self.home),
            "store": self.store.describe(),
            "models": self.registry.summary(),
        }

    def features(self, as_of: DateLike) -> pd.DataFrame:
        """Point-in-time features of every company known at `as_of`, indexed by `uscc` (cached)."""
        return self.snapshots(decision_date(as_of))

    def feature_table(self, as_of: DateLike) -> pd.DataFrame:
        """The feature table at `as_of` with `uscc` first, as `discovery features` writes it."""
        return self.features(as_of).reset_index()

    def write_features(self, as_of: DateLike, path: Path) -> pd.DataFrame:
        """Write the feature table at `as_of` to `.parquet` or `.csv`; returns it."""
        from features import write_table

        if path.suffix not in (".parquet", ".csv"):
            raise UsageError(
                f"the feature table must end in .parquet or .csv, not '{path.suffix or path.name}'."
            )
        frame = self.feature_table(as_of)
        write_table(frame, path)
        return frame

    def holdings(self, as_of: DateLike) -> pd.DataFrame:
        """Per company known at `as_of`: one bool column per tier held, and the `highest` one."""
        from features import holds_at

        day = as_date(as_of)
        tables = self.tables(day)
        codes = tables("companies")["uscc"].astype("str")
        held = holds_at(tables("certifications"), day)
        held = held.reindex(pd.Index(codes, name="uscc"), fill_value=False)
        highest = pd.Series("none", index=held.index, dtype=object)
        for tier in TIERS:  # lowest first, so the highest held wins
            highest[held[tier].to_numpy()] = tier
        return held.assign(highest=highest)

    def gate(self, tier: str, as_of: DateLike) -> pd.DataFrame:
        """The gate checks per company (ladder, holding, barred, large) and who is `eligible`."""
        day = as_date(as_of)
        check_tier(tier)
        return self._gates.get(
            (tier, day, self.version()),
            lambda: gate_checks(self.store, tier, day, self.criteria),
        )

    def examples(self, tier: str, rnd: Round) -> pd.DataFrame:
        """The labelled candidates of a past round."""
        return examples(self.store, tier, rnd, self.criteria)

    # -- models -------------------------------------------------------------------------
    def feed_outcomes(self) -> int:
        """Upsert the invitations recorded by the service into the store (they are labels too)."""
        from discovery.records import feed_outcomes

        fed = feed_outcomes(self.store, self.settings)
        if fed:
            self._forget()
        return fed

    def serving(self, tier: str) -> RegisteredModel | None:
        """The model that serves `tier` now, if any."""
        return self.registry.serving(check_tier(tier))

    def models(self, tier: str) -> pd.DataFrame:
        """Every registered model of `tier`, oldest first, with its validation metrics."""
        return self.registry.table(check_tier(tier), self.criteria.default_top(tier))

    def promote(self, model: ModelRef, *, force: bool = False) -> bool:
        """Make `model` serve its tier unless it is worse than the serving one on its validation round.

        The serving model is re-scored on the candidate's validation round when it
        was trained before that round; otherwise its stored metric is the bar.
        Returns True when the pointer moved; raises `PromotionRefused` when worse.
        """
        candidate = self.resolve(model, tier=None)
        if candidate.path.parent.parent == self.scratch.root:
            raise UsageError(
                f"{candidate.model_id} was trained with register=False; train it again to promote it."
            )
        valid = candidate.bundle["card"]["validation_round"]
        rnd = Round(date.fromisoformat(valid["as_of"]), date.fromisoformat(valid["window_end"]))
        bar = None
        if self.registry.serving(candidate.tier) is not None:  # the round's data only when needed
            data = RoundData(rnd, self.examples(candidate.tier, rnd), self.snapshots(rnd.as_of))
            bar = serving_score_on(self.registry, candidate.tier, data)
        return self.registry.promote(candidate, force=force, serving_score=bar)

    def resolve(self, ref: ModelRef, tier: str | None) -> RegisteredModel:
        """A registered model from a reference: "serving", a model id, or a training result."""
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

    # -- lists ----------------------------------------------------------------------------
    def rank(
        self, tier: str, as_of: DateLike, *, top: int | None = None, region: str | None = None
    ) -> RankedList:
        """The serving model's invitation list for `tier` at `as_of` (gates, thresholds, reasons)."""
        from discovery.ranking import rank

        check_tier(tier)
        day = decision_date(as_of)
        return rank(
            self.store,
            tier,
            day,
            self.registry,
            self.criteria,
            top=top or self.criteria.default_top(tier),
            region=region,
            features=lambda: self.snapshots(day),  # built only once a model serves
            tables=self.tables(day),
        )

    def ranked(self, tier: str, as_of: DateLike, size: int) -> RankedList:
        """The `size` best invitable companies, computed once per tier, date, model and data.

        The service filters and pages this list per request; a new load or a
        promotion changes the key, so a stale list is never served.
        """
        check_tier(tier)
        day = decision_date(as_of)
        serving = self.registry.serving(tier)
        key = (tier, day, serving.model_id if serving else None, self.version(), size)
        return self._lists.get(key, lambda: self.rank(tier, day, top=size))

    def assess(self, tier: str, as_of: DateLike, uscc: str, size: int) -> dict[str, Any]:
        """One company for one tier: its gates and its row as the list shows it (see `ranking.assess`)."""
        from discovery.ranking import assess

        day = decision_date(as_of)
        return assess(
            uscc,
            self.gate(tier, day),
            self.registry.serving(tier),
            lambda: self.ranked(tier, day, size),
            lambda: self.snapshots(day).loc[[uscc]],
            self.tables(day),
            self.criteria,
        )

    def standard_check(
        self,
        tier: str,
        as_of: DateLike,
        *,
        rounds: int = DEFAULT_ROUNDS,
        progress: Progress | None = None,
    ) -> StandardCheck:
        """The criteria read back from past decisions: contradicted thresholds, floors."""
        from discovery.training import standard_check_at

        if rounds < 1:
            raise UsageError("rounds must be at least 1.")
        return standard_check_at(
            self.store,
            check_tier(tier),
            decision_date(as_of),
            self.criteria,
            rounds,
            self.snapshot_cache,
            progress,
        )

    # -- evaluation -----------------------------------------------------------------------
    def compare(
        self,
        tier: str,
        as_of: DateLike,
        models: Sequence[ModelRef] = ("serving",),
        *,
        max_k: int = 200,
    ) -> Comparison:
        """Score `models` and the rules baseline on the last round that ended by `as_of`.

        See `discovery.evaluation.compare`.
        """
        return compare(self, tier, as_of, models, max_k=max_k)

    def backtest(
        self,
        tier: str,
        as_of: DateLike,
        *,
        top: int | None = None,
        rounds: int = 3,
        train_rounds: int = DEFAULT_ROUNDS,
    ) -> Backtest:
        """Replay the last `rounds` rounds (see `discovery.evaluation.backtest`)."""
        return backtest(self, tier, as_of, top=top, rounds=rounds, train_rounds=train_rounds)

    # -- one company ----------------------------------------------------------------------
    def company_facts(self, as_of: DateLike) -> CompanyFacts:
        """Evidence about companies at `as_of`, over the shared per-date tables."""
        from discovery.company import CompanyFacts

        return CompanyFacts(self.tables(as_date(as_of)))

    def graph_neighbourhood(self, uscc: str, as_of: DateLike, hops: int = 1) -> nx.DiGraph:
        """The supply-chain and investor neighbourhood of a company at `as_of`, for drawing.

        See `discovery.company.to_networkx` for the nodes and edges; only links active
        at `as_of` are drawn.
        """
        from discovery.company import neighbourhood, to_networkx

        day = as_date(as_of)
        tables = self.tables(day)
        companies = tables("companies").set_index("uscc")
        if uscc not in companies.index:
            raise UsageError(f"There is no company {uscc} known at {day}.")
        near = neighbourhood(tables, uscc, hops)
        return to_networkx(near, companies, self.holdings(day)["highest"])
