"""The `Workspace`'s methods that make and take apart models: `train` and `explain`.

A mixin of `discovery.workspace.Workspace` (the one service every entry point uses),
kept in its own module so that each stays readable; `WorkspaceLike` says what these
methods use of the workspace.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd

from discovery.training import DEFAULT_ROUNDS, TrainResult
from discovery.vocabulary import DateLike, check_tier, decision_date

if TYPE_CHECKING:
    from discovery.contributions import Explanation
    from discovery.criteria import Criteria
    from discovery.registry import RegisteredModel, Registry
    from discovery.snapshots import SnapshotCache
    from features.context import TablesAt
    from graph.store import Store

#: (step, done, total) callbacks of long operations
Progress = Callable[[str, int, int], None]
#: a model: "serving", a model id, a registered model, or a fresh training result
ModelRef = str | TrainResult


class WorkspaceLike(Protocol):
    """What `train` and `explain` use of the workspace."""

    criteria: Criteria
    registry: Registry
    scratch: Registry

    @property
    def store(self) -> Store: ...

    @property
    def snapshot_cache(self) -> SnapshotCache: ...

    def snapshots(self, as_of: date) -> pd.DataFrame: ...

    def tables(self, as_of: date) -> TablesAt: ...

    def feed_outcomes(self) -> int: ...

    def resolve(self, ref: Any, tier: str | None) -> RegisteredModel: ...


class ModelMethods:
    """`Workspace.train` and `Workspace.explain`."""

    def train(
        self: WorkspaceLike,
        tier: str,
        as_of: DateLike,
        *,
        register: bool = True,
        promote: bool = True,
        force: bool = False,
        rounds: int = DEFAULT_ROUNDS,
        params: Mapping[str, Any] | None = None,
        features: Sequence[str] | str | None = None,
        progress: Progress | None = None,
    ) -> TrainResult:
        """Train a model for `tier` from the facts known at `as_of`, validated on the last past round.

        The outcomes of invitations recorded by the service are added to the evidence
        first. `register=False` keeps the model in the scratch registry (never served,
        but comparable); `promote=False` registers without touching the serving
        pointer; `force` promotes even when worse. `params` override the recipe's
        LightGBM parameters (`discovery.model.PARAMS`, `num_rounds` trees), e.g.
        `{"num_leaves": 31}`; `features` keeps only some inputs: column names, families
        (`"ip"`, `"financial"`, …) or prefixes (`"chain_"`). Unknown names are refused.
        The result carries the model card (with bootstrap intervals and `warnings`) and
        the held-out scores of the validation round (`result.validation`).
        """
        from discovery.training import train_tier

        day, tier = decision_date(as_of), check_tier(tier)
        fed = self.feed_outcomes()
        result = train_tier(
            self.store,
            tier,
            day,
            self.criteria,
            self.registry if register else self.scratch,
            n_rounds=rounds,
            force=force,
            promote=promote and register,
            snapshots=self.snapshot_cache,
            progress=progress,
            params=params,
            features=features,
        )
        result.outcomes_fed = fed
        return result

    def explain(
        self: WorkspaceLike, uscc: str, tier: str, as_of: DateLike, *, model: ModelRef = "serving"
    ) -> Explanation:
        """One company's score taken apart: each input's contribution (LightGBM `pred_contrib`,
        log-odds) in a tidy frame, largest first, with the reasons a list prints for it.

        `model` is "serving" (default), a model id or a training result. See
        `discovery.contributions.Explanation`.
        """
        from discovery.contributions import explain

        day = decision_date(as_of)
        registered = self.resolve(model, check_tier(tier))
        return explain(registered, uscc, day, self.snapshots(day), self.tables(day))
