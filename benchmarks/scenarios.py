"""The ranking benchmark per scenario: our lists against the rules, world by world.

`run.py --scenarios a,b,c` runs the whole ladder (sizes × seeds) once per scenario of
the simulator and writes `OUT_scenarios.md` and `OUT_scenarios.json` with this module;
it also rebuilds the summary from reports you already have:

    python benchmarks/scenarios.py b_file_standard_seed1.json b_looser_review_seed1.json \\
        --held-out looser_review --out b_scenarios.md

One row per scenario × size × seed × tier: the precision (hits/listed) of ours, of the
IP + revenue rule (`rules`), of the thresholds-on-visible-data rule (`thresholds_rule`)
and of featuretools (its list without our threshold filter: the deep set-up where it
ran, else the plain one at depth 2, else at depth 1, named in the cell); our precision over the listed companies that
never applied for the tier; our listed companies that are not candidates; and whether
ours is at least as precise as `thresholds_rule` and more precise than `rules` and
featuretools. `--held-out` only labels scenarios: those not named are marked as used
for tuning.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

TIERS = {"specialized_sme": 200, "little_giant": 50}
DEFAULT_SCENARIO = "file_standard"
#: the pipelines of the summary, besides ours
RIVALS = ("rules", "thresholds_rule", "featuretools")
VERDICT = "ours ≥ thresholds_rule and > rules and > featuretools"
#: the featuretools set-ups that stand for the `featuretools` rival, first that ran
FEATURETOOLS = {
    "featuretools": "",
    "featuretools_plain": "plain, depth 2",
    "featuretools_plain1": "plain, depth 1",
}


def rival_list(quality: dict, rival: str, tier: str) -> tuple[str, dict | None]:
    """The (pipeline, list quality) standing for `rival` on one world and tier: itself,
    or for featuretools the first set-up of `FEATURETOOLS` that made a list."""
    for name in FEATURETOOLS if rival == "featuretools" else (rival,):
        q = quality.get(name, {}).get(tier)
        if q:
            return name, q
    return rival, None


def _precision(q: dict | None) -> float | None:
    if not q or not q.get("listed"):
        return None
    return q["hits"] / q["listed"]


def verdict(quality: dict, tier: str) -> tuple[str | None, list[str]]:
    """("yes" / "no" / None, rivals that did not run) for one world and tier.

    Ours must be at least as precise as `thresholds_rule` and more precise than
    `rules` and featuretools. An empty rival list counts as precision 0; an empty or
    missing list of ours is "no" / None. Rivals that did not run are left out of the
    comparison and returned, so the report can say so.
    """
    ours = quality.get("ours", {}).get(tier)
    if not ours:
        return None, []
    p = _precision(ours)
    if p is None:
        return "no", []
    missing: list[str] = []
    ok = True
    for rival in RIVALS:
        _, theirs = rival_list(quality, rival, tier)
        if not theirs:
            missing.append(rival)
            continue
        d = round(p - (_precision(theirs) or 0.0), 9)
        ok &= d >= 0 if rival == "thresholds_rule" else d > 0
    return ("yes" if ok else "no"), missing


def rows(reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per scenario × size × seed × tier, in report order."""
    out = []
    for report in reports:
        scenario = report.get("scenario", DEFAULT_SCENARIO)
        for size in report["sizes"]:
            quality = size.get("quality") or {}
            for tier, k in TIERS.items():
                ours = quality.get("ours", {}).get(tier) or {}
                row: dict[str, Any] = {
                    "scenario": scenario,
                    "companies": size["companies"],
                    "seed": report["seed"],
                    "tier": tier,
                    "k": k,
                }
                for name in ("ours", *RIVALS):
                    used, q = rival_list(quality, name, tier)
                    if name == "featuretools":
                        row["featuretools_setup"] = used if q else None
                    row[name] = (
                        {"hits": q["hits"], "listed": q["listed"], "precision": _precision(q)}
                        if q
                        else None
                    )
                fresh = (
                    {"hits": ours["non_applicant_hits"], "listed": ours["non_applicants_listed"]}
                    if "non_applicants_listed" in ours
                    else None
                )
                if fresh:
                    fresh["precision"] = _precision(fresh)
                row["ours_non_applicants"] = fresh
                row["ours_listed_not_candidates"] = ours.get("listed_not_candidates")
                row["ours_hidden_miss_share"] = ours.get("hidden_miss_share")
                row["ours_expected_hits"] = ours.get("expected_hits")
                row["verdict"], row["verdict_without"] = verdict(quality, tier)
                out.append(row)
    return out


def roles(reports: list[dict[str, Any]], held_out: list[str]) -> dict[str, str]:
    """Each scenario of the reports: "held out" or "used for tuning" (from --held-out)."""
    names = dict.fromkeys(r.get("scenario", DEFAULT_SCENARIO) for r in reports)
    return {s: "held out" if s in held_out else "used for tuning" for s in names}


def summary(reports: list[dict[str, Any]], held_out: list[str]) -> dict[str, Any]:
    """The JSON of the summary."""
    return {"verdict": VERDICT, "scenarios": roles(reports, held_out), "rows": rows(reports)}


def _cell(q: dict | None) -> str:
    if not q:
        return "–"
    if not q["listed"]:
        return "– (0/0)"
    return f"{q['hits'] / q['listed']:.3f} ({q['hits']}/{q['listed']})"


def _verdict_cell(row: dict) -> str:
    if row["verdict"] is None:
        return "–"
    if row["verdict_without"]:
        return f"{row['verdict']} (without {', '.join(row['verdict_without'])})"
    return row["verdict"]


def markdown(reports: list[dict[str, Any]], held_out: list[str]) -> str:
    data = summary(reports, held_out)
    lines = [
        "# Ranking benchmark per scenario",
        "",
        "Each row is one simulated world (scenario, size, seed) and one tier. Precision "
        "is `qualifies_<tier>` in the world's truth among the listed, shown as "
        "`precision (hits/listed)`; lists can be shorter than K when few candidates pass "
        "their filter. `ours non-applicants`: the same among our listed companies that "
        "never applied for the tier. `ours listed non-candidates`: our listed companies "
        "that are not candidates in the truth (must be 0). `ours expected`: the hits our "
        "list forecasts, the sum of the chances it shows officials. Last column: "
        f"{VERDICT} (precision).",
        "",
        "Scenarios:",
        "",
    ]
    lines += [f"- `{s}`: {role}" for s, role in data["scenarios"].items()]
    head = [
        "scenario",
        "companies",
        "seed",
        "tier",
        "ours",
        "ours expected",
        "rules",
        "thresholds_rule",
        "featuretools",
        "ours non-applicants",
        "ours listed non-candidates",
        VERDICT,
    ]
    lines += [
        "",
        "| " + " | ".join(head) + " |",
        "|---|---:|---:|---|---|---:|---|---|---|---|---:|---|",
    ]
    for row in data["rows"]:
        nc = row["ours_listed_not_candidates"]
        cells = [
            row["scenario"],
            f"{row['companies']:,}",
            str(row["seed"]),
            f"{row['tier']} top {row['k']}",
            _cell(row["ours"]),
            "–" if row.get("ours_expected_hits") is None else f"{row['ours_expected_hits']:.1f}",
            _cell(row["rules"]),
            _cell(row["thresholds_rule"]),
            _cell(row["featuretools"])
            + (
                f" · {FEATURETOOLS[setup]}"
                if (setup := row.get("featuretools_setup")) and FEATURETOOLS[setup]
                else ""
            ),
            _cell(row["ours_non_applicants"]),
            "–" if nc is None else str(nc),
            _verdict_cell(row),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    tally: dict[tuple[str, str], list[int]] = {}
    for row in data["rows"]:
        if row["verdict"] is None:
            continue
        t = tally.setdefault((row["scenario"], row["tier"]), [0, 0])
        t[0] += row["verdict"] == "yes"
        t[1] += 1
    if tally:
        lines += ["", "Worlds where ours wins (last column yes):", ""]
        for (scenario, tier), (yes, total) in tally.items():
            role = data["scenarios"].get(scenario, "")
            lines.append(f"- `{scenario}` ({role}) · {tier}: {yes} of {total}")
    lines.append("")
    return "\n".join(lines)


def write(reports: list[dict[str, Any]], held_out: list[str], base: Path) -> tuple[Path, Path]:
    """`<base stem>_scenarios.md` and `.json` beside `base`."""
    md = base.with_name(f"{base.stem}_scenarios.md")
    js = md.with_suffix(".json")
    md.write_text(markdown(reports, held_out), encoding="utf-8")
    js.write_text(json.dumps(summary(reports, held_out), indent=2), encoding="utf-8")
    return md, js


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("reports", nargs="+", type=Path, help="run.py JSON reports")
    parser.add_argument("--held-out", default="", help="comma-separated scenario names")
    parser.add_argument("--out", type=Path, help="write the Markdown here (and .json beside)")
    args = parser.parse_args()
    reports = [json.loads(p.read_text(encoding="utf-8")) for p in args.reports]
    held_out = [s for s in args.held_out.split(",") if s]
    text = markdown(reports, held_out)
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        args.out.with_suffix(".json").write_text(
            json.dumps(summary(reports, held_out), indent=2), encoding="utf-8"
        )


if __name__ == "__main__":
    main()
