"""The ranked lists each pipeline writes, and their scores against the world's truth.

Every pipeline writes its list per tier to `<world>/lists/<pipeline>.<tier>.txt`, one
code a line; `score_lists` reads them back against `truth.csv`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from benchmarks.plan import TOPS

#: truth columns a world must have to be reused (older worlds lack the last ones)
TRUTH_NEEDS = ("qualifies_", "candidate_", "applied_", "misses_")


def write_list(world: Path, name: str, tier: str, codes: list[str]) -> None:
    out = world / "lists"
    out.mkdir(exist_ok=True)
    (out / f"{name}.{tier}.txt").write_text("\n".join(codes) + ("\n" if codes else ""))


def truth_flag(truth: Any, column: str, codes: list[str]) -> Any:
    """A boolean truth column for `codes` (missing codes and values read false)."""
    return truth[column].eq(True).reindex(codes, fill_value=False).to_numpy(dtype=bool)


def score_lists(world: Path, names: list[str]) -> dict[str, dict]:
    """Every pipeline's lists against the world's truth, per tier.

    precision / recall@K from `qualifies_<tier>`; when the truth has them (worlds of the
    scenario simulator): precision over the listed companies that never applied for the
    tier (`applied_<tier>` false), listed companies that are not candidates
    (`candidate_<tier>` false: they hold the tier, are barred, off the ladder or
    large), and listed companies whose `misses_<tier>` names a hidden rule they miss.
    """
    import pandas as pd

    truth = pd.read_csv(world / "truth.csv", dtype={"uscc": str})
    truth = truth.set_index("uscc")
    out: dict[str, dict] = {}
    for name in names:
        row: dict[str, Any] = {}
        for tier, k in TOPS.items():
            path = world / "lists" / f"{name}.{tier}.txt"
            if not path.exists():
                continue
            codes = [c for c in path.read_text().split("\n") if c]
            total = int(truth[f"qualifies_{tier}"].eq(True).sum())
            qual = truth_flag(truth, f"qualifies_{tier}", codes)
            hits = int(qual.sum())
            q: dict[str, Any] = {
                "k": k,
                "listed": len(codes),
                "hits": hits,
                "qualifying": total,
                "precision": hits / len(codes) if codes else None,
                "recall": hits / total if total else None,
            }
            if f"applied_{tier}" in truth:
                fresh = ~truth_flag(truth, f"applied_{tier}", codes)
                n_fresh, fresh_hits = int(fresh.sum()), int((qual & fresh).sum())
                q["non_applicants_listed"] = n_fresh
                q["non_applicant_hits"] = fresh_hits
                q["non_applicant_precision"] = fresh_hits / n_fresh if n_fresh else None
            if f"candidate_{tier}" in truth:
                q["listed_not_candidates"] = int(
                    (~truth_flag(truth, f"candidate_{tier}", codes)).sum()
                )
            if f"misses_{tier}" in truth:
                misses = truth[f"misses_{tier}"].fillna("").astype(str).str.len() > 0
                missed = int(misses.reindex(codes, fill_value=False).to_numpy(dtype=bool).sum())
                q["listed_with_hidden_miss"] = missed
                q["hidden_miss_share"] = missed / len(codes) if codes else None
            row[tier] = q
        out[name] = row
    return out


def reusable(world: Path) -> bool:
    """A simulated world is there, and its truth has every column the scoring reads."""
    truth = world / "truth.csv"
    if not (truth.exists() and (world / "data").exists()):
        return False
    with open(truth, encoding="utf-8") as fh:
        header = fh.readline().strip().split(",")
    return all(f"{col}{tier}" in header for col in TRUTH_NEEDS for tier in TOPS)


def worlds_parser(doc: str | None, help_text: str) -> argparse.ArgumentParser:
    """The command line of a script that reads worlds `run.py` left trained: its
    description (the first paragraph of `doc`) and the world directories."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    parser.add_argument("worlds", nargs="+", type=Path, help=help_text)
    return parser
