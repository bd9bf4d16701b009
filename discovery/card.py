"""The model card in Markdown: what the model learned from, how it did, and for whom."""

from __future__ import annotations

from typing import Any

from discovery.standard_check import render


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v:.1%}"


def _num(v: float | None, digits: int = 3) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


def render_card(card: dict[str, Any]) -> str:
    m = card["metrics"]
    lines = [
        f"# 模型说明 Model card — {card['tier_zh']} `{card['tier']}`",
        "",
        f"- 训练截止 Trained as of: **{card['as_of']}** (facts known then only)",
        f"- 认定标准版本 Criteria version: {card['criteria_version']}",
        f"- 数据指纹 Data fingerprint: `{card['data_fingerprint']}`",
        f"- LightGBM {card['lightgbm_version']}, {card['feature_count']} features, "
        f"{card['params']['num_rounds']} trees",
        "",
        "## 样本与权重 Examples and how each source is weighted",
        "",
        "Candidates of yearly decision dates before the training date, labelled by what "
        "happened in the year after each date:",
        "",
        "| source | weight | why |",
        "|---|---|---|",
        f"| application approved / rejected | {card['weights']['application_approved_or_rejected']} "
        "| direct evidence of the review's verdict |",
        f"| certification without an application on file | {card['weights']['certification_without_application']} "
        "| the review approved it; the application record is missing |",
        f"| invitation outcome (approved / rejected) | {card['weights']['invitation_outcome']} "
        "| direct evidence, produced by earlier lists |",
        f"| candidate with no evidence (unlabeled) | {card['weights']['unlabeled_candidate']} "
        "| positive-unlabeled: not applying is not failing. A small weight shows the model "
        "the wider pool without teaching it that unaware companies are weak |",
        "",
        "Ownership is never a model input. The quality-evaluation score is used where "
        "published and estimated from the other features where not (`qs_estimate`).",
        "",
        "| round | candidates | evidence (rows / approvals) |",
        "|---|---|---|",
    ]
    for r in [*card["train_rounds"], card["validation_round"]]:
        role = "validation" if r is card["validation_round"] else "train"
        ev = ", ".join(f"{k} {v['rows']}/{v['positives']}" for k, v in r["by_source"].items())
        lines.append(f"| {r['as_of']} → {r['window_end']} ({role}) | {r['candidates']} | {ev} |")
    lines += [
        "",
        "## 验证 Validation on the latest past round (never trained on)",
        "",
        f"- AUC, direct evidence (approved vs rejected): **{_num(m['model']['auc_direct_evidence'])}** "
        f"(rules baseline {_num(m['rules_baseline']['auc_direct_evidence'])})",
        f"- AUC, all candidates vs approvals: {_num(m['model']['auc_all_candidates'])} "
        f"(rules baseline {_num(m['rules_baseline']['auc_all_candidates'])})",
        *_bar_lines(card),
        "",
        "Precision and recall of the top K against approvals observed in the round "
        "(a lower bound: qualifying companies that did not apply count as misses).",
        "",
        "| K | precision | recall | rules precision | rules recall | lift |",
        "|---|---|---|---|---|---|",
    ]
    for k, row in m["model"]["at_k"].items():
        base = m["rules_baseline"]["at_k"][k]
        lift = m["lift_over_rules"].get(k)
        lines.append(
            f"| {row['k']} | {_pct(row['precision'])} | {_pct(row['recall'])} | "
            f"{_pct(base['precision'])} | {_pct(base['recall'])} | {_num(lift, 2)} |"
        )
    lines += _invited_lines(card)
    if card.get("standard_check"):
        lines += [
            "",
            "## 标准与决定 The standard against its own decisions",
            "",
            "Every round's approvals and rejections read back against the criteria file, and "
            "the floor of each measure below which (almost) no approval fell. Well-evidenced "
            "floors mark candidates on the list (see the criteria file's `empirical_floors`).",
            "",
            *render(card["standard_check"]),
        ]
    lines += ["", "## 渠道重要性 Importance by channel (share of gain)", ""]
    lines += [f"- {ch}: {share:.1%}" for ch, share in card["importance_by_channel"].items()]
    lines += ["", "## 公平性审计 Fairness audit (top of the list on the validation round)", ""]
    for dimension, rows in card["fairness"].items():
        lines += [
            f"### {dimension}",
            "",
            "| group | candidates | listed | approvals | precision | recall |",
            "|---|---|---|---|---|---|",
        ]
        for row in rows:
            lines.append(
                f"| {row['group']} | {row['candidates']} | {row['listed']} | {row['positives']} | "
                f"{_pct(row['precision'])} | {_pct(row['recall'])} |"
            )
        lines.append("")
    return "\n".join(lines) + "\n"


def _invited_lines(card: dict[str, Any]) -> list[str]:
    """The held-out round read on the population the list goes to."""
    inv = card.get("invited_population")
    if not inv:
        return []
    lines = [
        "",
        "## 邀请对象验证 Validation on the population we invite",
        "",
        f"The held-out model's top {inv['top']} at {inv['round']}, built as the list is "
        "(visible misses out, empirical-floor misses after; floors from the training rounds "
        "only). Applicants select themselves on the thresholds, so the AUC above says little "
        "about non-applicants; this does. Approval rate: of listed companies that applied or "
        "answered an invitation in the round (none had applied at its date).",
        "",
        "| list | listed | visible miss | below a floor | later applicants | approved | rate |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for key, name in (
        ("model", "ours"),
        ("thresholds_rule", "thresholds on visible data"),
        ("rules_baseline", "IP + revenue rule"),
    ):
        r = inv[key]
        lines.append(
            f"| {name} | {r['listed']} | {r['visible_miss']} | {r['below_floor']} | "
            f"{r['later_applicants']} | {r['approved']} | {_pct(r['approval_rate'])} |"
        )
    return lines


def _bar_lines(card: dict[str, Any]) -> list[str]:
    """The quality bar's part in the score, and the booster's AUC without it."""
    bar = card.get("quality_bar") or {}
    alone = card["metrics"].get("booster_alone")
    if bar.get("cut") is None or alone is None:
        return ["- 质量门槛 Quality bar: not used (no cut or too few published scores)"]
    return [
        f"- 质量门槛 Quality bar: score = booster probability × P(quality score "
        f"{'>' if bar.get('strict') else '≥'} {bar['cut']:g}), estimate error σ = "
        f"{bar['sigma']:.1f} points; the booster alone has AUC "
        f"{_num(alone['auc_direct_evidence'])} (direct evidence) and "
        f"{_num(alone['auc_all_candidates'])} (all candidates)",
    ]
