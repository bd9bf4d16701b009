"""The Markdown report of a benchmark run: per size, our stages, the peers, the
pipelines with their precision / recall, and quality per pipeline; with a ladder, the
summary tables across sizes.
"""

from __future__ import annotations

from benchmarks.plan import DEFAULT_SCENARIO, FT_SETUPS, OUR_STAGES, PIPELINES, TOPS


def _f(x: float | None, digits: int = 1) -> str:
    return "–" if x is None else f"{x:,.{digits}f}"


def _cells(s: dict) -> str:
    """seconds | CPU s | peak MB | load average after the stage."""
    return (
        f"{_f(s.get('seconds'))} | {_f(s.get('cpu_seconds'))} | {_f(s.get('peak_rss_mb'), 0)} | "
        f"{_f(s.get('load_average_1min_after'))}"
    )


def _pr(q: dict | None) -> str:
    if not q or q.get("precision") is None:
        return "–"
    return f"{q['precision']:.3f} / {_f(q['recall'], 3)} ({q['hits']}/{q['listed']})"


def _stage_note(name: str, s: dict) -> str:
    note = _what_it_did(name, s)
    if s.get("other_processes"):
        note += (
            f"; {s['other_processes']} other process(es), the largest "
            f"{_f(s.get('largest_other_peak_rss_mb'), 0)} MB, their CPU "
            f"{_f(s.get('others_cpu_seconds'))} s"
        )
    return note


def _what_it_did(name: str, s: dict) -> str:
    r = s.get("result", {})
    if "error" in s:
        return "ERROR " + s["error"]
    if name == "simulate" and s.get("reused"):
        return "reused"
    if s.get("skipped"):
        return f"skipped ({s['skipped']})"
    if name == "ingest":
        steps = r.get("steps", {})
        return (
            f"validate, sort and fingerprint {_f(steps.get('validate', {}).get('seconds'))} s "
            f"({r.get('workers', 1)} process(es)), write {_f(steps.get('load', {}).get('seconds'))} s, "
            f"rejected {r.get('rejected')}"
        )
    if name == "features":
        fam = r.get("families", {})
        top = sorted(
            ((k, v["seconds"]) for k, v in fam.items() if k != "total"), key=lambda kv: -kv[1]
        )[:4]
        return f"{r.get('rows', 0):,} × {r.get('columns')}; " + ", ".join(
            f"{k} {v:.1f}" for k, v in top
        )
    if name in ("train", "nx_train", "rank", "nx_rank"):
        fs = r.get("feature_seconds", {})
        snaps = int(fs.get("snapshots", 0))
        feat = fs.get("total", 0.0)
        chain = fs.get("supply_chain", 0.0)
        overlap = (
            " (beside the next date's features)" if name.endswith("train") and snaps > 1 else ""
        )
        if snaps:
            bits = [
                f"{snaps} snapshot(s): features {feat:.1f} s (one read of the store "
                f"{fs.get('history', 0.0):.1f} s, supply chain {chain:.1f} s), "
                f"quality estimate {fs.get('quality_estimate', 0.0):.1f} s{overlap}"
            ]
        else:
            bits = ["snapshot read from training's disk cache"]
        if fs.get("lightgbm_fit"):
            bits.append(f"LightGBM fits {fs['lightgbm_fit']:.1f} s")
        if fs.get("reasons"):
            bits.append(f"reasons {fs['reasons']:.1f} s")
        if name.endswith("train"):
            for tier, t in r.get("tiers", {}).items():
                auc = t.get("validation_auc")
                bits.append(f"{tier} {t['seconds']:.1f} s" + (f" AUC {auc:.3f}" if auc else ""))
        return "; ".join(bits)
    if name == "rules":
        fs = r.get("feature_seconds", {})
        return (
            f"snapshot: features {fs.get('total', 0.0):.1f} s, "
            f"quality estimate {fs.get('quality_estimate', 0.0):.1f} s"
        )
    return ""


def markdown(report: dict) -> str:
    m = report["machine"]
    lines = [
        "# Discovery benchmark",
        "",
        f"{report['created']} · {m['cpus']} CPUs, {m['memory_gb']} GB · Python {m['python']} · "
        f"load average at start {', '.join(f'{x:.1f}' for x in m['load_average_at_start'])} · "
        f"as_of {report['as_of']} · scenario {report.get('scenario', DEFAULT_SCENARIO)} · "
        f"seed {report['seed']} · {report['format']} · "
        f"OMP_WAIT_POLICY {report.get('omp_wait_policy', 'default')}",
        "",
        "Seconds are wall time; peak MB is the peak resident memory of the stage: its own "
        "process (`wait4` rusage) or, when larger, the sampled sum over its process group "
        "(worker processes included). Other work on the machine makes timings noisy. Precision / recall "
        "are against the world's truth (`qualifies_<tier>`), shown as `P / R (hits/listed)`.",
        "",
    ]
    for size in report["sizes"]:
        n = size["companies"]
        lines += [
            f"## {n:,} companies",
            "",
            "| stage | seconds | CPU s | peak MB | load | notes |",
            "|---|---:|---:|---:|---:|---|",
        ]
        for name, s in size["stages"].items():
            lines.append(f"| {name} | {_cells(s)} | {_stage_note(name, s)} |")
        if "end_to_end" in size:
            e = size["end_to_end"]
            lines.append(
                f"| **end to end** ({' + '.join(e['stages'])}) | **{_f(e['seconds'])}** | "
                f"| **{_f(e['peak_rss_mb'], 0)}** | | data directory → ranked lists |"
            )
        lines += [
            "",
            "| peer stage | seconds | CPU s | peak MB | load | notes |",
            "|---|---:|---:|---:|---:|---|",
        ]
        for peer, parts in size["peers"].items():
            if "skipped" in parts:
                lines.append(f"| {peer} | – | – | – | – | skipped: {parts['skipped']} |")
                continue
            for name, s in parts.items():
                note = _stage_note(name, s)
                if name.startswith("featuretools") and "result" in s:
                    r = s["result"]
                    note = (
                        f"{r.get('setup', 'deep')} set-up, depth {r.get('max_depth', 2)}: "
                        f"{r['features']} features × {r['instances']:,} (company, cutoff) rows; "
                        + ", ".join(f"{k} {v['seconds']:.1f}" for k, v in r["phases"].items())
                    )
                if name == "export":
                    note = "our labels/cutoffs + candidates for featuretools (not in its time)"
                lines.append(f"| {peer}: {name} | {_cells(s)} | {note} |")
        lines += [
            "",
            "| pipeline | seconds | peak MB | specialized_sme top 200 P / R | "
            "little_giant top 50 P / R | made of |",
            "|---|---:|---:|---|---|---|",
        ]
        for name, p in size.get("pipelines", {}).items():
            lines.append(
                f"| {name} | {_f(p['seconds'])} | {_f(p['peak_rss_mb'], 0)} | "
                f"{_pr(p.get('specialized_sme'))} | {_pr(p.get('little_giant'))} | "
                f"{' + '.join(p['stages'])} |"
            )
        lines += quality_table(size.get("quality") or {})
        sim = size["stages"].get("simulate", {}).get("result")
        if sim:
            lines += [
                "",
                "World: "
                + ", ".join(f"{k} {v:,}" for k, v in sim["rows"].items())
                + "; candidates "
                + ", ".join(f"{k} {v:,}" for k, v in sim["candidates"].items())
                + "; qualifying "
                + ", ".join(f"{k} {v:,}" for k, v in sim["qualifiers"].items()),
            ]
        lines.append("")
    if len(report["sizes"]) > 1:
        lines += ladder_table(report)
    if report.get("peers_stopped"):
        lines += ["## Where peers stopped", ""]
        lines += [f"- {p}: {why}" for p, why in report["peers_stopped"].items()]
        lines.append("")
    return "\n".join(lines)


def _ratio(hits: int | None, listed: int | None) -> str:
    if hits is None or listed is None:
        return "–"
    return f"{hits / listed:.3f} ({hits}/{listed})" if listed else f"– (0/{listed})"


def quality_table(quality: dict) -> list[str]:
    """Per pipeline and tier: precision, precision over non-applicants, non-candidates
    listed, and the share of the list that misses a hidden rule."""
    if not quality:
        return []
    lines = [
        "",
        "| pipeline | tier | precision (hits/listed) | expected hits (sum of the listed chances) "
        "| non-applicants: precision (hits/listed) | listed not candidates "
        "| listed with a hidden miss |",
        "|---|---|---|---:|---|---:|---|",
    ]
    for name, by_tier in quality.items():
        for tier in TOPS:
            q = by_tier.get(tier)
            if not q:
                continue
            missed = q.get("listed_with_hidden_miss")
            lines.append(
                f"| {name} | {tier} | {_ratio(q['hits'], q['listed'])} | "
                f"{_f(q.get('expected_hits'))} | "
                f"{_ratio(q.get('non_applicant_hits'), q.get('non_applicants_listed'))} | "
                f"{q.get('listed_not_candidates', '–')} | "
                + ("–" if missed is None else _ratio(missed, q["listed"]))
                + " |"
            )
    return lines


def ladder_table(report: dict) -> list[str]:
    head = ["companies", *OUR_STAGES, "end to end", "e2e peak MB"]
    names = ["rules", "networkx", *FT_SETUPS]
    head += [f"{p} s / MB" for p in names]
    lines = ["## Ladder", "", "| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
    for size in report["sizes"]:
        st = size["stages"]
        row = [f"{size['companies']:,}"]
        row += [
            "reused" if st.get(s, {}).get("reused") else _f(st.get(s, {}).get("seconds"))
            for s in OUR_STAGES
        ]
        e = size.get("end_to_end", {})
        row += [_f(e.get("seconds")), _f(e.get("peak_rss_mb"), 0)]
        pipes = size.get("pipelines", {})
        for p in names:
            if p in pipes:
                row.append(f"{_f(pipes[p]['seconds'])} / {_f(pipes[p]['peak_rss_mb'], 0)}")
            else:
                row.append("skipped" if "skipped" in size["peers"].get(p, {}) else "–")
        lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
        "Precision@K (specialized_sme top 200 · little_giant top 50):",
        "",
        "| companies | " + " | ".join(PIPELINES) + " |",
        "|---:|" + "---|" * len(PIPELINES),
    ]
    for size in report["sizes"]:
        q = size.get("quality", {})
        cells = []
        for name in PIPELINES:
            if name not in q:
                cells.append("–")
                continue
            ps = [q[name].get(t, {}).get("precision") for t in TOPS]
            cells.append(" · ".join(_f(x, 3) for x in ps))
        lines.append(f"| {size['companies']:,} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines
