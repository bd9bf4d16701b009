"""The named variants of the outside economy (`outside_economy.py` describes each): the
thresholds its reviewers apply and the mechanisms that differ from one variant to the next.
"""

from __future__ import annotations

BASE, S, LG = ("tech_sme", "innovative_sme"), "specialized_sme", "little_giant"
#: the thresholds as the 2026 measures and the 2022 annexes read: what applicants judge by
ANNEX = {
    S: {"niche_years": 2, "rd_expense": 100, "rd_share": 0.03, "revenue_or_equity": (1000, 2000),
        "quality": 50},
    LG: {"niche_years": 3, "main_share": 0.70, "main_growth": 0.05,
         "rd_share_band": ((10000, 0.03), (5000, 0.06)), "revenue": 5000, "rd_2y": 1200,
         "class_one_ip": 4, "supply_role": (1, 3), "quality": 60},
}  # fmt: skip
DRIFT = {
    S: {**ANNEX[S], "niche_years": 1, "rd_share": 0.025, "rd_staff_share": 0.15},
    LG: {**ANNEX[LG], "rd_staff_share": 0.15, "quality": 65},
}
#: the interim measures of 2022 as reviewers applied them before the 2026 measures: a
#: specialized SME needed a quality score >= 60 (2026: 50), a little giant no score (2026: 60)
INTERIM = {
    S: {**ANNEX[S], "quality": 60},
    LG: {k: x for k, x in ANNEX[LG].items() if k != "quality"},
}
#: review: thresholds per tier; noise: share of wrong decisions; on_file: share of non-holders
#: with statements; on_file_by (optional): (revenue cut in 万元, share below it, share at or
#: above it) in place of on_file, a company's own latest revenue deciding whether it files
#: (missing not at random); publish_by (optional): (score, share at or above it, share
#: under it) of the companies neither holding nor applying that publish a year's quality
#: score of their own accord, so a published score is likelier a good one; selection:
#: weight of the perceived misses in applying (1 strong); perception: noise of that
#: reading; eager: extra propensity to apply for specialized_sme; lumpy: heavy tails and
#: clusters in the generated economy; before, until: the standard published and applied in
#: the rounds before the year `until` (the truth reads `review`); quota (optional): per tier,
#: the share of the approvals the review would give that a round grants, as places dealt to
#: the provinces by their number of companies and taken by the highest quality scores
#: (`outside_review.rationed`), so where awareness brings many applicants qualifiers are
#: turned away and a province's rejections say nothing about the standard
VARIANTS: dict[str, dict] = {
    "outside_annex": {"review": ANNEX, "noise": 0.02, "on_file": 0.60, "selection": 1.0,
                      "perception": 0.25, "eager": 0.0, "lumpy": False},
    "outside_drift": {"review": DRIFT, "noise": 0.05, "on_file": 0.35, "selection": 0.5,
                      "perception": 0.45, "eager": 1.5, "lumpy": False},
    "outside_lumpy": {"review": ANNEX, "noise": 0.03, "on_file": 0.55, "selection": 1.0,
                      "perception": 0.25, "eager": 0.0, "lumpy": True},
    "outside_shift": {"review": ANNEX, "noise": 0.02, "on_file": 0.50, "selection": 1.0,
                      "perception": 0.25, "eager": 0.0, "lumpy": False,
                      "before": INTERIM, "until": 2026},
    "outside_unfiled": {"review": ANNEX, "noise": 0.02, "on_file": 0.45, "selection": 1.0,
                        "perception": 0.25, "eager": 0.0, "lumpy": False,
                        "on_file_by": (1000, 0.15, 0.75)},
    "outside_unfiled_rare": {"review": ANNEX, "noise": 0.02, "on_file": 0.45, "selection": 1.0,
                             "perception": 0.25, "eager": 0.0, "lumpy": False,
                             "on_file_by": (1000, 0.03, 0.30)},
    "outside_published": {"review": ANNEX, "noise": 0.02, "on_file": 0.60, "selection": 1.0,
                          "perception": 0.25, "eager": 0.0, "lumpy": False,
                          "publish_by": (60, 0.30, 0.03)},
    "outside_quota": {"review": ANNEX, "noise": 0.02, "on_file": 0.60, "selection": 1.0,
                      "perception": 0.25, "eager": 0.0, "lumpy": False,
                      "quota": {S: 0.8, LG: 0.7}},
}  # fmt: skip
