"""Groups of a relationship table's rows that can be written at once: every row in exactly
one group, and no node shared by two groups of a round."""

from __future__ import annotations

import os
import subprocess
import sys
from itertools import combinations
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from graph.neo4j_lanes import classes, groups, tournament


def random_keys(rng: np.random.Generator, n: int, distinct: int, prefix: str) -> pa.Array:
    return pa.array([f"{prefix}{i}" for i in rng.integers(0, distinct, n)])


@pytest.mark.parametrize("teams", [2, 4, 6, 8])
def test_the_tournament_meets_every_pair_once_and_every_class_once_a_round(teams: int) -> None:
    rounds = tournament(teams)
    assert len(rounds) == teams - 1
    met = [frozenset(pair) for pairs in rounds for pair in pairs]
    assert sorted(map(sorted, met)) == sorted(
        map(sorted, map(frozenset, combinations(range(teams), 2)))
    )
    for pairs in rounds:
        assert sorted(x for pair in pairs for x in pair) == list(range(teams))


@pytest.mark.parametrize("lanes", [2, 3, 4])
@pytest.mark.parametrize("same_label", [True, False])
def test_every_row_is_in_one_group_and_a_rounds_groups_share_no_node(
    lanes: int, same_label: bool
) -> None:
    rng = np.random.default_rng(lanes)
    # few distinct nodes, so that hubs and rows within one class occur
    start = random_keys(rng, 5_000, 300, "c")
    end = random_keys(rng, 5_000, 60 if not same_label else 300, "c" if same_label else "ip")
    rounds = groups(start, end, same_label, lanes)
    rows = np.concatenate([g for group in rounds for g in group])
    assert np.array_equal(np.sort(rows), np.arange(5_000))  # each row once
    assert all(len(group) <= lanes and all(len(g) for g in group) for group in rounds)
    assert sum(len(group) > 1 for group in rounds) >= 1  # something runs side by side
    s, e = np.asarray(start.to_pylist()), np.asarray(end.to_pylist())
    for group in rounds:
        assert all(np.all(np.diff(g) > 0) for g in group)  # the rows' order kept
        for g, h in combinations(group, 2):
            if same_label:
                assert not (set(s[g]) | set(e[g])) & (set(s[h]) | set(e[h]))
            else:
                assert not set(s[g]) & set(s[h])
                assert not set(e[g]) & set(e[h])


def test_one_lane_is_one_group_in_order() -> None:
    keys = pa.array(["b", "a", "b"])
    [[rows]] = groups(keys, keys, True, 1)
    assert rows.tolist() == [0, 1, 2]


def test_a_keys_class_is_the_same_in_another_process() -> None:
    """A rerun of an interrupted load must deal the rows to the same groups as the first."""
    keys = [f"91110000{i:010d}" for i in range(200)]
    here = classes(pa.array(keys), 4).tolist()
    assert len(set(here)) == 4
    code = (
        "import sys, pyarrow as pa\n"
        "from graph.neo4j_lanes import classes\n"
        f"print(classes(pa.array({keys!r}), 4).tolist())\n"
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(root)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env, cwd=root
    )
    assert out.stdout.strip() == str(here)
