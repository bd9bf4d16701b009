"""The model card in Markdown: what the model learned from, how it did, and for whom."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from discovery.explain import channel_of
from discovery.metrics import BASELINES
from discovery.names import labelled, region_name
from discovery.standard_change import Lift
from discovery.standard_check import decided_bars, render

if TYPE_CHECKING:
    from discovery.labels import RoundData


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v:.1%}"


def _num(v: float | None, digits: int = 3) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


def metric_text(value: float | None, ci: Sequence[float] | None = None) -> str:
    """'0.780 [0.66, 0.88]': a metric with its 95 % interval when there is one."""
    if value is None:
        return "—"
    return f"{value:.3f}" + (f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "")


def auc_text(ev: dict[str, Any], which: str = "auc_direct_evidence") -> str:
    """An AUC with its interval, or why the round cannot tell (thin evidence, undefined)."""
    thin = (ev.get("evidence") or {}).get("thin")
    if which == "auc_direct_evidence" and thin:
        return thin
    if ev.get(which) is None:
        return "证据不足 undefined: the round has approvals only, or none"
    return metric_text(ev[which], ev.get(f"{which}_ci"))


def summary_lines(card: dict[str, Any]) -> list[str]:
    """What `discovery train` prints about a card: validation with intervals, the invited
    population, the criteria read back, and the card's warnings."""
    m = card["metrics"]
    model = m["model"]
    valid = card["validation_round"]
    evidence = model.get("evidence") or {}
    baselines = _baselines(m)
    auc_of = "; ".join(f"{name} {auc_text(m[b])}" for b, name in baselines)
    lines = [
        f"validation round {valid['as_of']} → {valid['window_end']}: "
        f"{evidence.get('decisions', 0):,} decisions, {evidence.get('approvals', 0):,} approved, "
        f"{valid['candidates']:,} candidates (95% bootstrap intervals)",
        f"  AUC (approved vs rejected): {auc_text(model)}"
        + ("" if evidence.get("thin") else f" ({auc_of})"),
    ]
    for k, row in model["at_k"].items():
        whole = "" if row["k"] == int(k) else f" (all {row['k']} candidates)"
        theirs = "; ".join(
            f"{name} {metric_text(m[b]['at_k'][k]['precision'], m[b]['at_k'][k].get('precision_ci'))}"
            for b, name in baselines
        )
        lines.append(
            f"  precision@{k}{whole}: {metric_text(row['precision'], row.get('precision_ci'))} "
            f"({theirs})"
        )
    inv = card.get("invited_population")
    if inv:
        mine, rule = inv["model"], inv["thresholds_rule"]
        lines.append(
            f"invited population (held-out top {inv['top']}): {mine['visible_miss']} visible and "
            f"{mine['below_floor']} empirical-floor misses listed; later applicants approved "
            f"{mine['approved']}/{mine['later_applicants']}{_expected(mine)} (thresholds rule "
            f"{rule['approved']}/{rule['later_applicants']})"
        )
    check = card.get("standard_check") or {}
    for key, what in (("contradicted", "contradicted by approvals"), ("missing", "missing")):
        if check.get(key):
            lines.append(f"criteria {what}: {', '.join(check[key])} (discovery criteria check)")
    bars = decided_bars(check)
    if bars:
        lines.append(
            f"裁决严于文件 decisions stricter than the file: {', '.join(bars)}; the model learned "
            "that bar, the list's thresholds are the file's (discovery criteria check)"
        )
    lines += [Lift.from_json(x).text() for x in card.get("standard_changes", [])]
    lines += [f"注意 warning: {w}" for w in card.get("warnings", [])]
    return lines


def model_line(bundle: dict[str, Any], serving: bool) -> str:
    """One line about a registered model: id, tier, date, serving or not, validation metrics."""
    card = bundle.get("card", {})
    m = bundle.get("metrics", {})
    model, rules = m.get("model", {}), m.get("rules_baseline", {})
    parts = [
        f"{bundle.get('model_id', '?')} · {card.get('tier_zh', '')} {bundle.get('tier', '')}",
        f"as of {bundle.get('as_of', '?')}",
        "在用 serving" if serving else "未在用 not serving",
    ]
    if model:
        parts.append(
            f"validation {card.get('validation_round', {}).get('as_of', '?')}: AUC {auc_text(model)}"
        )
        top = str(_list_size(card, model))
        row, base = model.get("at_k", {}).get(top), rules.get("at_k", {}).get(top)
        if row:
            parts.append(
                f"precision@{top} {metric_text(row['precision'], row.get('precision_ci'))}"
                + (
                    f" (rules {metric_text(base['precision'], base.get('precision_ci'))})"
                    if base
                    else ""
                )
            )
    if card.get("warnings"):
        parts.append(f"警示 {len(card['warnings'])} warning(s)")
    return " · ".join(parts)


def _list_size(card: dict[str, Any], model: dict[str, Any]) -> int:
    """The K to show: the invited list's size where the card has it, else the largest K."""
    top = (card.get("invited_population") or {}).get("top")
    if top is not None and str(top) in model.get("at_k", {}):
        return int(top)
    return max((int(k) for k in model.get("at_k", {})), default=0)


def _baselines(metrics: dict[str, Any]) -> list[tuple[str, str]]:
    """(metrics key, short name) of each baseline the card was set beside: cards
    registered before the thresholds rule was compared show the rules baseline alone."""
    return [(key, base.short) for key, base in BASELINES.items() if key in metrics]


def render_card(card: dict[str, Any]) -> str:
    m = card["metrics"]
    baselines = _baselines(m)
    lines = [
        f"# 模型说明 Model card — {card['tier_zh']} `{card['tier']}`",
        "",
        f"- 训练截止 Trained as of: **{card['as_of']}** (facts known then only)",
        f"- 认定标准版本 Criteria version: {card['criteria_version']}",
        f"- 数据指纹 Data fingerprint: `{card['data_fingerprint']}`",
        f"- LightGBM {card['lightgbm_version']}, {card['feature_count']} features, "
        f"{card['params']['num_rounds']} trees",
        *_choice_lines(card),
        *_warning_lines(card),
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
    evidence = m["model"].get("evidence") or {}
    lines += [
        "",
        "## 验证 Validation on the latest past round (never trained on)",
        "",
        f"{evidence.get('decisions', 0):,} decisions ({evidence.get('approvals', 0):,} approved) "
        f"among {evidence.get('candidates', 0):,} candidates. Brackets are 95 % bootstrap "
        "intervals (1,000 resamples of the round's candidates, seeded).",
        "",
        *[
            f"- AUC, {what}: {bold}{auc_text(m['model'], key)}{bold} ("
            + "; ".join(f"{name} {auc_text(m[b], key)}" for b, name in baselines)
            + ")"
            for key, what, bold in (
                ("auc_direct_evidence", "direct evidence (approved vs rejected)", "**"),
                ("auc_all_candidates", "all candidates vs approvals", ""),
            )
        ],
        *_bar_lines(card),
        "",
        "Precision and recall of the top K against approvals observed in the round "
        "(a lower bound: qualifying companies that did not apply count as misses). "
        "Model − rule is the paired difference in precision, with its interval; "
        "the rules baseline sorts by class-I IP, then revenue, and the thresholds rule reads "
        "the criteria file alone (thresholds known met first, visible misses never).",
        "",
        "| K | precision | recall | "
        + " | ".join(f"{name} precision | model − {name}" for _, name in baselines)
        + " | rules recall | lift over rules |",
        "|---|---|---|" + "---|---|" * len(baselines) + "---|---|",
    ]
    for k, row in m["model"]["at_k"].items():
        cells = [_pct_ci(row), _pct(row["recall"])]
        for b, _ in baselines:
            gap = (m.get(BASELINES[b].gaps) or {}).get("precision", {}).get(k)
            cells += [_pct_ci(m[b]["at_k"][k]), _gap_text(gap)]
        cells += [
            _pct(m["rules_baseline"]["at_k"][k]["recall"]),
            _num(m["lift_over_rules"].get(k), 2),
        ]
        lines.append(f"| {row['k']} | " + " | ".join(cells) + " |")
    lines += _invited_lines(card)
    lines += _missing_lines(card)
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
    if card.get("standard_changes"):
        lines += [
            "",
            "Thresholds the file lowered from the standard it replaced, where the past "
            "decisions still held the old bar: a company between the two values is scored "
            "as if at the old bar (`discovery/standard_change.py`).",
            "",
            *[f"- {Lift.from_json(x).text()}" for x in card["standard_changes"]],
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
            group = row["group"]
            if dimension == "province":  # by name, the code beside
                group = labelled(region_name(group), group)
            lines.append(
                f"| {group} | {row['candidates']} | {row['listed']} | {row['positives']} | "
                f"{_pct(row['precision'])} | {_pct(row['recall'])} |"
            )
        lines.append("")
    return "\n".join(lines) + "\n"


def _pct_ci(row: dict[str, Any]) -> str:
    ci = row.get("precision_ci")
    return _pct(row["precision"]) + (f" [{ci[0]:.0%}, {ci[1]:.0%}]" if ci else "")


def _gap_text(gap: dict[str, Any] | None) -> str:
    if not gap or gap.get("difference") is None:
        return "—"
    ci = gap.get("difference_ci")
    text = f"{gap['difference']:+.1%}" + (f" [{ci[0]:+.0%}, {ci[1]:+.0%}]" if ci else "")
    return text + (" **落后 behind**" if gap.get("trails") else "")


def _choice_lines(card: dict[str, Any]) -> list[str]:
    """The analyst's own choices: parameters that override the recipe, a feature subset."""
    lines = []
    if card.get("params_overridden"):
        shown = ", ".join(f"{k}={v}" for k, v in card["params_overridden"].items())
        lines.append(f"- 参数调整 Parameters overriding the recipe: {shown}")
    if card.get("features_chosen"):
        lines.append(f"- 特征子集 Feature subset: {', '.join(card['features_chosen'])}")
    return lines


def _warning_lines(card: dict[str, Any]) -> list[str]:
    if not card.get("warnings"):
        return []
    return ["", "## 警示 Warnings", "", *[f"- **{w}**" for w in card["warnings"]]]


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
        "answered an invitation in the round (none had applied at its date). Forecast: the "
        "approvals the chances our list showed add up to over those later applicants; well "
        "below the approvals, the list's chances were pessimistic on the invited population.",
        "",
        "| list | listed | visible miss | below a floor | later applicants | approved | "
        "forecast 预计 | rate |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, name in (
        ("model", "ours"),
        ("thresholds_rule", "thresholds on visible data"),
        ("rules_baseline", "IP + revenue rule"),
    ):
        r = inv[key]
        forecast = r.get("expected_approved")
        lines.append(
            f"| {name} | {r['listed']} | {r['visible_miss']} | {r['below_floor']} | "
            f"{r['later_applicants']} | {r['approved']} | "
            f"{'–' if forecast is None else f'{forecast:.1f}'} | {_pct(r['approval_rate'])} |"
        )
    mine = inv["model"]
    if "shift" in mine:
        lines += [
            "",
            f"读数校正 Read on the invited: the serving model's chances are moved by "
            f"{mine['shift']:+.2f} on the log-odds scale, the shift that best forecasts these "
            f"later applicants' approvals (a normal prior centred on 0 keeps a few of them "
            f"from moving it far); with it their forecast is {mine['expected_after']:.1f} "
            f"against {mine['approved']} approved. The list's chances and its forecast use "
            "the moved map.",
        ]
    split = mine.get("by_figures")
    if split:  # older cards do not have it
        blank, filed = split["figure_not_on_file"], split["figures_on_file"]
        lines += [
            "",
            f"未报送数据 Figures not on file: {blank['later_applicants']} of these later "
            f"applicants had a threshold's figure not on file at the round's date, "
            f"{blank['approved']} approved against a forecast of "
            f"{blank['expected_approved']:.1f}; with every figure on file "
            f"{filed['approved']} of {filed['later_applicants']}, forecast "
            f"{filed['expected_approved']:.1f}. The chance of a missing figure is learned "
            "from the companies that file: where the first falls well short of its forecast, "
            "those that do not file qualify less often than the filers suggest.",
        ]
    return lines


def _expected(row: dict[str, Any]) -> str:
    """The list's own forecast, as " (forecast 3.2)", where the card has it (older cards
    do not: nothing)."""
    value = row.get("expected_approved")
    if value is None:
        return ""
    moved = f", chances moved {row['shift']:+.2f} log-odds" if "shift" in row else ""
    return f" (forecast {value:.1f}{moved})"


def _missing_lines(card: dict[str, Any]) -> list[str]:
    """Per threshold, the learned chance that it is met where its figure is not on file."""
    missing = card.get("missing_figures")
    if not missing:
        return []
    lines = [
        "",
        "## 缺失数据的达标把握 Thresholds whose figure is not on file",
        "",
        f"Score = {missing['rule']}.",
        "",
        "A blank figure is evidence of a miss where past approvals had it blank less often "
        "than past rejected applicants: the ratio of the two odds (1 = no sign) lowers the "
        "chance only where the criteria file says `when_unknown: decisions`.",
        "",
        "| threshold | candidates with the figure | of which met | learned from "
        "| candidates without it | mean chance | unknown: past approvals · past rejected "
        "applicants | odds ratio |",
        "|---|---:|---:|---|---:|---:|---|---:|",
    ]
    for t in missing["thresholds"]:
        learned = t["learned_from"]
        if t.get("calibration_slope") is not None and t["learned_from"] != "the share met":
            # 0: the other facts tell nothing of it, 1: the classifier's chance as it is
            learned += f" (recalibrated, slope {t['calibration_slope']:.2f})"
        lines.append(
            f"| `{t['status']}` | {t['known']:,} | {_pct(t['met_share'])} | {learned} "
            f"| {t['unknown_rows']:,} | {_pct(t['mean_chance'])} | {_unknown_evidence(t)} |"
        )
    return lines


def _unknown_evidence(t: dict[str, Any]) -> str:
    """The blank-figure evidence of one threshold: two cells of the card's table."""
    if "rejections" not in t:  # a card from before the evidence was read from rejections
        return "— | —"

    def share(unknown: int, of: int) -> str:
        return f"{unknown / of:.1%} of {of:,}" if of else "—"

    used = " (used)" if t.get("by_decisions") else ""
    return (
        f"{share(t['approvals_unknown'], t['approvals'])} · "
        f"{share(t['rejections_unknown'], t['rejections'])} "
        f"| {t['missingness_ratio']:.3f}{used}"
    )


def _sigma_source(bar: dict[str, Any]) -> str:
    """Whose published scores the bar's σ was measured on, in the card's words."""
    whose = {"candidates": "the tier's candidates", "all": "every company"}.get(
        bar.get("sigma_from", "")
    )
    return f" (measured on {bar['evidence']:,} published scores of {whose})" if whose else ""


def _bar_lines(card: dict[str, Any]) -> list[str]:
    """The quality bar's part in the score, and the booster's AUC without it."""
    bar = card.get("quality_bar") or {}
    alone = card["metrics"].get("booster_alone")
    if bar.get("cut") is None or alone is None:
        return ["- 质量门槛 Quality bar: not used (no cut or too few published scores)"]
    return [
        f"- 质量门槛 Quality bar: score = booster probability × P(quality score "
        f"{'>' if bar.get('strict') else '≥'} {bar['cut']:g}), estimate error σ = "
        f"{bar['sigma']:.1f} points{_sigma_source(bar)}; the booster alone has AUC "
        f"{auc_text(alone)} (direct evidence) and "
        f"{auc_text(alone, 'auc_all_candidates')} (all candidates)",
    ]


def round_summary(d: RoundData) -> dict[str, Any]:
    ex = d.examples
    return {
        "as_of": d.round.as_of.isoformat(),
        "window_end": d.round.window_end.isoformat(),
        "candidates": len(ex),
        "by_source": {
            str(src): {"rows": len(g), "positives": int(g["label"].sum())}
            for src, g in ex.groupby("source")
        },
    }


def importance_by_channel(importance: pd.Series) -> dict[str, float]:
    total = float(importance.sum()) or 1.0
    grouped = importance.groupby([channel_of(f) for f in importance.index]).sum() / total
    return {str(k): round(float(v), 4) for k, v in grouped.sort_values(ascending=False).items()}
