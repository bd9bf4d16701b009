"""`build_features`: one row per company known at `as_of`, one module per family.

Families run in the order of `features.registry` (those in `BESIDE` on a thread of
their own, beside the rest) and each returns its own prefixed columns, so the schema is
stable (same names, same order) for every date and store.
Families share one `Context`, which reads each table once and maps codes to integer
ids once. `build_features_at` builds many dates from one read of the store
(`features.history`), with the same tables as `build_features` at each date.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Collection, Generator, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from functools import partial
from typing import Literal

import pandas as pd

from features import registry, standards
from features.context import Context
from features.history import DatedContext, History
from features.memory import release_memory
from features.network import active_supply
from features.registry import family_of
from features.standards import ThresholdSpec
from graph.errors import UsageError
from graph.settings import Settings, get_settings
from graph.store import Store

#: where a build runs: in this process, or on a Dask cluster (`features.engine`)
Engine = Literal["pandas", "dask"]


def build_features(
    store: Store,
    as_of: date,
    thresholds: Sequence[ThresholdSpec] = (),
    *,
    families: Sequence[str] | None = None,
    timings: dict[str, dict[str, float]] | None = None,
    engine: Engine | None = None,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """The feature table at `as_of`: `uscc`, then each requested family's columns.

    Only facts known at `as_of` are used. `thresholds` add one `std_<id>` column each
    (1.0 met, 0.0 not met, NaN unknown); a threshold's measure is computed even when
    its family is not requested, but only requested families are returned. If
    `timings` is given, it receives per family the wall seconds and peak memory
    (`seconds`, `peak_rss_mb`, `peak_delta_mb`), plus `total`. `engine` is where the
    work runs (None: `settings.engine`; see `features.engine`). `settings` are those of
    the caller's workspace (None: the environment's, `graph.settings.get_settings`).
    """
    if _engine(engine, settings) == "dask":
        built = _iter_dask(store, [as_of], thresholds, families, timings, None, settings)
        return dict(built)[as_of]
    meter = Meter(timings)
    frame = _build(Context(store, as_of), thresholds, families, meter)
    meter.finish()
    return frame


def iter_features_at(
    store: Store,
    dates: Iterable[date],
    thresholds: Sequence[ThresholdSpec] = (),
    *,
    families: Sequence[str] | None = None,
    timings: dict[str, dict[str, float]] | None = None,
    history: History | None = None,
    engine: Engine | None = None,
    settings: Settings | None = None,
    busy_between: bool = False,
) -> Generator[tuple[date, pd.DataFrame], None, None]:
    """`(as_of, build_features(store, as_of, ...))` for each of `dates`, in their order,
    from one read of the store (`features.history`): the same tables, built faster.

    One table is made at a time, so the caller decides how many it keeps. A caller that
    builds more dates later passes the same `History` of `store` each time. `timings`
    receives `history` (reading and coding the store) and per family the seconds
    summed over the dates (`seconds` only), plus `total` (up to the latest date built).
    `engine` is where the work runs (None: `settings.engine`, as in `build_features`).
    `busy_between`: the caller keeps a core busy with each table while the next date is
    built (`discovery.snapshots`), so the families of every date but the first (which no
    table comes before) run one after another (a thread beside them only contends for
    that core and costs CPU, see `BESIDE`).
    """
    days = list(dict.fromkeys(dates))
    if not days:
        return
    if _engine(engine, settings) == "dask":
        yield from _iter_dask(store, days, thresholds, families, timings, history, settings)
        return
    meter = Meter(timings)
    with meter("history"):
        history = _history(store, days, history)
    for i, as_of in enumerate(days):
        steps: dict[str, dict[str, float]] | None = {} if timings is not None else None
        context = DatedContext(history, as_of)
        # the first date has no table before it for the caller to keep a core busy with
        beside = not busy_between or i == 0
        frame = _build(context, thresholds, families, Meter(steps), beside=beside)
        release_memory()  # the date's tables and the families' working arrays, let go
        _add_steps(timings, steps, meter)
        yield as_of, frame
        del frame  # the caller holds the table as long as it needs it, not this loop
    meter.finish()


def _engine(engine: Engine | None, settings: Settings | None) -> Engine:
    chosen = (settings or get_settings()).engine if engine is None else engine
    if chosen not in ("pandas", "dask"):
        raise UsageError(f"The feature engine must be pandas or dask, not {chosen!r}.")
    return chosen


def _history(store: Store, days: list[date], history: History | None) -> History:
    if history is None:
        history = History(store, max(days))
    elif history.store is not store:
        raise ValueError("the history must be read from the same store")
    return history.load()


def _add_steps(
    timings: dict[str, dict[str, float]] | None,
    steps: dict[str, dict[str, float]] | None,
    meter: Meter,
) -> None:
    """One date's steps added to the seconds summed over the dates."""
    if timings is None or steps is None:
        return
    for name, step in steps.items():
        timings.setdefault(name, {"seconds": 0.0})
        timings[name]["seconds"] = timings[name].get("seconds", 0.0) + step["seconds"]
    # so far: a caller may stop asking once it has its dates
    timings["total"] = {"seconds": time.perf_counter() - meter.start}


def _iter_dask(
    store: Store,
    days: list[date],
    thresholds: Sequence[ThresholdSpec],
    families: Sequence[str] | None,
    timings: dict[str, dict[str, float]] | None,
    history: History | None,
    settings: Settings | None,
) -> Iterator[tuple[date, pd.DataFrame]]:
    """`iter_features_at` on a Dask cluster (`features.engine`): the same tables."""
    from features.engine import DaskRun, check_families, companies_at, dask_client

    names, wanted, needed = _plan(thresholds, families)
    check_families(needed)
    meter = Meter(timings)
    with dask_client(settings) as client:
        with meter("history"):
            run = DaskRun(client, _history(store, days, history))
        release_memory()  # the tables now on the workers, and the partitions cut from them
        try:
            for as_of in days:
                steps: dict[str, dict[str, float]] | None = {} if timings is not None else None
                step = Meter(steps)
                parts = run.families_at(as_of, needed, step)
                companies = companies_at(run.history, as_of)
                unfiled = _unfiled(thresholds, partial(run.history.holds_rows, as_of=as_of))
                frame = _assemble(companies, parts, names, wanted, thresholds, step, unfiled)
                del parts, companies
                release_memory()  # the families' frames gathered from the workers, let go
                _add_steps(timings, steps, meter)
                yield as_of, frame
                del frame  # the caller holds the table as long as it needs it
        finally:
            run.release()
    meter.finish()


def build_features_at(
    store: Store,
    dates: Iterable[date],
    thresholds: Sequence[ThresholdSpec] = (),
    *,
    families: Sequence[str] | None = None,
    timings: dict[str, dict[str, float]] | None = None,
    history: History | None = None,
    engine: Engine | None = None,
) -> dict[date, pd.DataFrame]:
    """The feature table at each of `dates` (see `iter_features_at`), by date."""
    built = iter_features_at(
        store, dates, thresholds, families=families, timings=timings, history=history, engine=engine
    )
    return dict(built)


#: families computed on a thread of their own, beside the others: their work is mostly
#: scipy's and numpy's (sparse products, projections), which let the GIL go, so it
#: overlaps the table work of the rest. Same tables; a family's timed seconds then
#: overlap those of the others. Where the caller keeps the other core busy anyway
#: (`iter_features_at(busy_between=True)`), the families run one after another.
BESIDE = frozenset({"embedding"})


def _build(
    ctx: Context,
    thresholds: Sequence[ThresholdSpec],
    families: Sequence[str] | None,
    meter: Meter,
    beside: bool = True,
) -> pd.DataFrame:
    """The table at `ctx`'s date; with `beside`, the families of `BESIDE` on a thread of
    their own."""
    names, wanted, needed = _plan(thresholds, families)
    with meter("context"):
        # reads and code -> id mappings several families share, timed once here
        companies = ctx.companies
        if needed & {"profile", "equity", "supply_chain", "embedding"}:
            ctx.prepare_graph()
        if needed & {"supply_chain", "embedding"}:
            active_supply(ctx)  # shared by both, made before either starts
    order = [f for f in registry.families() if f.name in needed]
    apart = [f for f in order if f.name in BESIDE] if beside else []
    parts: dict[str, pd.DataFrame] = {}
    with ThreadPoolExecutor(max(len(apart), 1), thread_name_prefix="family") as pool:
        started = {f.name: pool.submit(_computed, f, ctx, meter) for f in apart}
        for family in order:
            if family.name not in started:
                parts[family.name] = _computed(family, ctx, meter)
        parts.update((name, future.result()) for name, future in started.items())
    unfiled = _unfiled(thresholds, lambda t: not ctx.table(t).empty)
    return _assemble(companies, parts, names, wanted, thresholds, meter, unfiled)


def _computed(family: registry.Family, ctx: Context, meter: Meter) -> pd.DataFrame:
    with meter(family.name):
        return family.compute(ctx)


def _unfiled(thresholds: Sequence[ThresholdSpec], holds: Callable[[str], bool]) -> set[str]:
    """The registry tables the thresholds count from that hold no row at the date
    (`holds(table)`: whether it holds one)."""
    tables = {standards.COUNTED_FROM.get(m) for spec in thresholds for m in spec.measures}
    return {t for t in tables if t is not None and not holds(t)}


def _plan(
    thresholds: Sequence[ThresholdSpec], families: Sequence[str] | None
) -> tuple[list[str], list[str], set[str]]:
    """The families in output order, those asked for, and those to compute (the asked
    ones and those whose measures the thresholds read)."""
    order = registry.families()  # as they stand now, with any `registry.replaced` in place
    names = [f.name for f in order]
    wanted = names if families is None else list(families)
    unknown = [f for f in wanted if f not in names]
    if unknown:
        raise UsageError(f"Unknown feature families {unknown}; they are: {', '.join(names)}.")
    needed = set(wanted) | {family_of(m) for spec in thresholds for m in spec.measures}
    if thresholds:
        needed.add("standards")
    return names, wanted, needed


def _assemble(
    companies: pd.DataFrame,
    parts: dict[str, pd.DataFrame],
    names: list[str],
    wanted: list[str],
    thresholds: Sequence[ThresholdSpec],
    meter: Meter,
    unfiled: Collection[str] = (),
) -> pd.DataFrame:
    """`uscc`, then the wanted families' columns; the standards family gets one column
    per threshold, from the measures of the families before it (unknown where they are
    counted from a registry in `unfiled`, see `standards.threshold_columns`)."""
    with meter("assemble"):
        if "standards" in parts and thresholds:
            measures = {
                m: parts[family_of(m)][m].to_numpy() for s in thresholds for m in s.measures
            }
            parts["standards"] = pd.concat(
                [parts["standards"], standards.threshold_columns(thresholds, measures, unfiled)],
                axis=1,
            )
        return pd.concat(
            [pd.DataFrame({"uscc": companies["uscc"].astype("str")})]
            + [parts[name] for name in names if name in wanted],
            axis=1,
        )


def feature_columns(frame: pd.DataFrame) -> list[str]:
    """The columns of a feature table a model may use (everything but the key)."""
    return [c for c in frame.columns if c != "uscc"]


# -- timing and memory ----------------------------------------------------------------
def _rss_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class Meter:
    """Wall time and peak resident memory per step, sampled by a background thread.

    `with meter("name"): ...` records the step into `sink[name]`; `finish()` adds
    `sink["total"]`. With no sink (None) nothing is measured.
    RSS rather than tracemalloc: Arrow string buffers and scipy's C++ allocations are
    invisible to tracemalloc, and RSS sampling costs nothing measurable.
    """

    INTERVAL = 0.005

    def __init__(self, sink: dict[str, dict[str, float]] | None) -> None:
        self.sink = sink
        self.start = time.perf_counter()
        self.base = _rss_bytes() if sink is not None else 0
        self.overall_peak = self.base

    def __call__(self, name: str) -> _Step:
        return _Step(self, name)

    def finish(self) -> None:
        if self.sink is None:
            return
        self.sink["total"] = {
            "seconds": time.perf_counter() - self.start,
            "peak_rss_mb": self.overall_peak / 2**20,
            "peak_delta_mb": (self.overall_peak - self.base) / 2**20,
        }


class _Step:
    def __init__(self, meter: Meter, name: str) -> None:
        self.meter = meter
        self.name = name
        self.peak = 0
        self._stop = threading.Event()

    def _sample(self) -> None:
        while not self._stop.wait(Meter.INTERVAL):
            self.peak = max(self.peak, _rss_bytes())

    def __enter__(self) -> _Step:
        if self.meter.sink is None:
            return self
        self.t0 = time.perf_counter()
        self.rss0 = _rss_bytes()
        self.peak = self.rss0
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.meter.sink is None:
            return
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_bytes())
        self.meter.overall_peak = max(self.meter.overall_peak, self.peak)
        self.meter.sink[self.name] = {
            "seconds": time.perf_counter() - self.t0,
            "peak_rss_mb": self.peak / 2**20,
            "peak_delta_mb": (self.peak - self.rss0) / 2**20,
        }
