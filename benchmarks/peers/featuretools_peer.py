"""Peer pipeline: featuretools deep feature synthesis with cutoff times + LightGBM.

Two set-ups (`--setup`):

- `plain`: what a user starts with: `ft.dfs` with its default primitives and depth
  (`max_depth=2`; `--max-depth 1` for aggregations of each table's own columns only),
  no interesting values;
- `deep`: a tuned set-up: 9 aggregation and 2 transform primitives chosen for this
  data, `where` primitives on IP type, tier and award level (interesting values).

Both build the same entity set (the same tables, keys and leakage rules below).

Runs in its own virtual environment (benchmarks/peers/.venvs/featuretools, pinned by
requirements-featuretools.txt: featuretools 1.31 needs pandas < 3), so it imports
nothing from the project. It reads:

- the contract data directory (CSV or Parquet, the same files our ingest reads;
  no validation — the simulated data is valid);
- `--examples`: one row per (uscc, tier, time, set). `set == "train"` rows are our
  training examples (`discovery.training.select_rounds`: label, weight,
  cutoff = the round's as_of); `set == "rank"` rows are the gated candidates at the
  decision date, with `known_miss` (a threshold known to be missed, from our side);
- `--params`: the LightGBM parameters and rounds of our recipe, and the list sizes.

Leakage: every example gets its own cutoff time (its round's date). featuretools
drops child rows whose time index is after the cutoff; facts that become known
later than their row's time index (a patent's grant, a link's end, an application's
decision, a revocation) are declared as secondary time index columns, so they read
as missing until their own date. Columns with no date of their own that are only
known later (`lapsed_on`, `left_on`) are not used.

Writes `--out` (JSON): per tier the ranked uscc list (gate only, and gate + known
thresholds), and the seconds of each phase.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
import warnings
from pathlib import Path

import featuretools as ft
import lightgbm as lgb
import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")

DATES = {
    "companies": ["established_on", "niche_since"],
    "financials": ["reported_on"],
    "supply_links": ["start_on", "end_on"],
    "investments": ["invested_on"],
    "patents": ["filed_on", "granted_on", "lapsed_on"],
    "awards": ["awarded_on"],
    "talents": ["joined_on", "left_on"],
    "certifications": ["certified_on", "expires_on", "revoked_on"],
    "applications": ["applied_on", "decided_on"],
    "compliance_events": ["start_on", "end_on"],
    "quality_scores": ["computed_on"],
}
AGG = ["count", "sum", "mean", "max", "min", "std", "num_unique", "mode", "time_since_last"]
TRANS = ["time_since", "year"]
WHERE = ["count", "sum"]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def read_table(directory: Path, name: str) -> pd.DataFrame | None:
    pq, csv = directory / f"{name}.parquet", directory / f"{name}.csv"
    if pq.exists():
        frame = pd.read_parquet(pq)
    elif csv.exists():
        frame = pd.read_csv(csv, dtype=str, keep_default_na=False, na_values=[""])
    else:
        return None
    for col in DATES.get(name, []):
        if col in frame:
            frame[col] = pd.to_datetime(frame[col], errors="coerce")
    return frame


def numeric(frame: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    for c in cols:
        if c in frame:
            frame[c] = pd.to_numeric(frame[c], errors="coerce").astype("float64")
    return frame


def flag_until(frame: pd.DataFrame, when: str, name: str, mask: pd.Series | None = None) -> None:
    """A 1.0 column known from `when` on (NaN before: featuretools blanks it until then)."""
    on = frame[when].notna() if mask is None else (frame[when].notna() & mask)
    frame[name] = np.where(on, 1.0, 0.0)


def entityset(data: Path, interesting: bool = True) -> ft.EntitySet:
    es = ft.EntitySet("discovery")
    comp = read_table(data, "companies")
    # what a practitioner derives from the codes; ownership never enters (as in ours)
    comp = comp[
        ["uscc", "region_code", "industry_code", "size_class", "established_on", "niche_since"]
    ].copy()
    comp["province"] = comp["region_code"].astype(str).str.slice(0, 2)
    comp["city"] = comp["region_code"].astype(str).str.slice(0, 4)
    comp["industry_section"] = comp["industry_code"].astype(str).str.slice(0, 1)
    codes = set(comp["uscc"])
    cats = ["region_code", "industry_code", "size_class", "province", "city", "industry_section"]
    es.add_dataframe(
        dataframe_name="companies",
        dataframe=comp,
        index="uscc",
        time_index="established_on",
        logical_types={c: "Categorical" for c in cats},
    )

    def child(
        name: str,
        frame: pd.DataFrame,
        key: str,
        time_index: str,
        cats: list[str],
        secondary: dict[str, list[str]] | None = None,
        parent_name: str | None = None,
    ) -> None:
        frame = frame.loc[frame[key].isin(codes)].reset_index(drop=True)
        frame.insert(0, "row_id", np.arange(len(frame)))
        # a date column with no value at all (no right revoked yet) is still a date:
        # woodwork cannot infer it, so every time index is typed explicitly
        dated = [time_index, *(secondary or {})]
        es.add_dataframe(
            dataframe_name=parent_name or name,
            dataframe=frame,
            index="row_id",
            time_index=time_index,
            secondary_time_index=secondary,
            logical_types={**{c: "Categorical" for c in cats}, **dict.fromkeys(dated, "Datetime")},
        )
        es.add_relationship("companies", "uscc", parent_name or name, key)

    fin = read_table(data, "financials")
    if fin is not None:
        cols = [
            "revenue_wan",
            "main_business_revenue_wan",
            "rd_expense_wan",
            "net_profit_wan",
            "total_assets_wan",
            "export_revenue_wan",
            "employees",
            "rd_staff",
            "year",
        ]
        fin = numeric(fin, cols)
        fin["rd_ratio"] = fin["rd_expense_wan"] / fin["revenue_wan"].where(fin["revenue_wan"] > 0)
        child(
            "financials", fin[["uscc", "reported_on", *cols, "rd_ratio"]], "uscc", "reported_on", []
        )

    links = read_table(data, "supply_links")
    if links is not None:
        links = numeric(links, ["amount_wan"])
        flag_until(links, "end_on", "ended")
        base = links[
            ["supplier_uscc", "customer_uscc", "start_on", "end_on", "amount_wan", "ended"]
        ]
        # one dataframe per side: the company as seller (its customers) and as buyer
        child(
            "sales",
            base.drop(columns=["customer_uscc"]).copy(),
            "supplier_uscc",
            "start_on",
            [],
            {"end_on": ["end_on", "ended"]},
        )
        child(
            "purchases",
            base.drop(columns=["supplier_uscc"]).copy(),
            "customer_uscc",
            "start_on",
            [],
            {"end_on": ["end_on", "ended"]},
        )

    inv = read_table(data, "investments")
    if inv is not None:
        inv = numeric(inv, ["amount_wan", "equity_pct"])
        cols = [
            "investee_uscc",
            "invested_on",
            "investor_type",
            "round",
            "amount_wan",
            "equity_pct",
        ]
        child(
            "investments",
            inv[cols].copy(),
            "investee_uscc",
            "invested_on",
            ["investor_type", "round"],
        )

    pat = read_table(data, "patents")
    if pat is not None:
        pat = numeric(pat, ["applicant_rank"])
        pat["self_filed"] = pat["self_filed"].astype(str).str.lower().isin(["true", "1"])
        pat["self_filed"] = pat["self_filed"].astype(float)
        flag_until(pat, "granted_on", "granted")
        cols = [
            "uscc",
            "filed_on",
            "granted_on",
            "ip_type",
            "applicant_rank",
            "self_filed",
            "granted",
        ]
        child(
            "patents",
            pat[cols].copy(),
            "uscc",
            "filed_on",
            ["ip_type"],
            {"granted_on": ["granted_on", "granted"]},
        )

    aw = read_table(data, "awards")
    if aw is not None:
        cols = ["uscc", "awarded_on", "level", "category", "prize"]
        child("awards", aw[cols].copy(), "uscc", "awarded_on", ["level", "category", "prize"])

    tal = read_table(data, "talents")
    if tal is not None:
        child("talents", tal[["uscc", "joined_on", "level"]].copy(), "uscc", "joined_on", ["level"])

    cert = read_table(data, "certifications")
    if cert is not None:
        flag_until(cert, "revoked_on", "revoked")
        cols = ["uscc", "certified_on", "expires_on", "revoked_on", "tier", "revoked"]
        child(
            "certifications",
            cert[cols].copy(),
            "uscc",
            "certified_on",
            ["tier"],
            {"revoked_on": ["revoked_on", "revoked"]},
        )

    apps = read_table(data, "applications")
    if apps is not None:
        apps["rejected"] = np.where(apps["outcome"] == "rejected", 1.0, 0.0)
        apps["approved"] = np.where(apps["outcome"] == "approved", 1.0, 0.0)
        cols = ["uscc", "applied_on", "decided_on", "tier", "rejected", "approved"]
        child(
            "applications",
            apps[cols].copy(),
            "uscc",
            "applied_on",
            ["tier"],
            {"decided_on": ["decided_on", "rejected", "approved"]},
        )

    ev = read_table(data, "compliance_events")
    if ev is not None:
        child(
            "compliance_events",
            ev[["uscc", "start_on", "kind"]].copy(),
            "uscc",
            "start_on",
            ["kind"],
        )

    qs = read_table(data, "quality_scores")
    if qs is not None:
        qs = numeric(qs, ["score", "year"])
        child(
            "quality_scores",
            qs[["uscc", "computed_on", "score", "year"]].copy(),
            "uscc",
            "computed_on",
            [],
        )

    if not interesting:
        return es
    es.add_interesting_values(
        dataframe_name="patents",
        values={"ip_type": ["invention", "utility_model", "software_copyright"]},
    )
    es.add_interesting_values(
        dataframe_name="certifications",
        values={"tier": ["tech_sme", "innovative_sme", "specialized_sme", "little_giant"]},
    )
    es.add_interesting_values(dataframe_name="awards", values={"level": ["national", "provincial"]})
    return es


def model_matrix(fm: pd.DataFrame) -> pd.DataFrame:
    out = {}
    for c in fm.columns:
        col = fm[c]
        if (
            isinstance(col.dtype, pd.CategoricalDtype)
            or col.dtype == object
            or col.dtype == "string"
        ):
            out[c] = col.astype("string").astype("category")
        else:
            out[c] = pd.to_numeric(col, errors="coerce").astype("float64")
    frame = pd.DataFrame(out, index=fm.index)
    frame.columns = [f"f{i}" for i in range(frame.shape[1])]  # LightGBM-safe names
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--examples", type=Path, required=True)
    parser.add_argument("--params", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--setup", choices=["deep", "plain"], default="deep")
    parser.add_argument("--max-depth", type=int, default=2)
    args = parser.parse_args()
    deep = args.setup == "deep"
    cfg = json.loads(args.params.read_text())
    phases: dict[str, dict[str, float]] = {}
    t_all = time.perf_counter()

    def mark(name: str, t0: float) -> float:
        phases[name] = {"seconds": time.perf_counter() - t0, "peak_rss_mb_so_far": peak_mb()}
        return time.perf_counter()

    t0 = time.perf_counter()
    es = entityset(args.data, interesting=deep)
    ex = pd.read_parquet(args.examples)
    ex["time"] = pd.to_datetime(ex["time"])
    t0 = mark("load_and_entityset", t0)

    # one instance per distinct (company, cutoff); the tiers share them
    cutoffs = ex[["uscc", "time"]].drop_duplicates().rename(columns={"uscc": "instance_id"})
    cutoffs = cutoffs.sort_values("time", kind="stable").reset_index(drop=True)
    # the plain set-up takes featuretools' default primitives (None)
    defs = ft.dfs(
        entityset=es,
        target_dataframe_name="companies",
        agg_primitives=AGG if deep else None,
        trans_primitives=TRANS if deep else None,
        where_primitives=WHERE if deep else None,
        max_depth=args.max_depth,
        features_only=True,
    )
    t0 = mark("dfs_definitions", t0)
    fm = ft.calculate_feature_matrix(
        defs, es, cutoff_time=cutoffs, cutoff_time_in_index=True, verbose=False
    )
    t0 = mark("calculate_feature_matrix", t0)

    matrix = model_matrix(fm)
    matrix.index = pd.MultiIndex.from_arrays(
        [fm.index.get_level_values(0).astype(str), pd.to_datetime(fm.index.get_level_values(1))],
        names=["uscc", "time"],
    )
    params = dict(cfg["params"])
    lists: dict[str, dict[str, list[str]]] = {}
    fit_s = score_s = 0.0
    for tier, top in cfg["top"].items():
        rows = ex.loc[ex["tier"] == tier]
        train, cand = rows.loc[rows["set"] == "train"], rows.loc[rows["set"] == "rank"]
        if train["label"].sum() < 5 or not len(cand):
            lists[tier] = {"gate": [], "gate_thresholds": [], "note": "not enough evidence"}
            continue
        t1 = time.perf_counter()
        x = matrix.loc[pd.MultiIndex.from_frame(train[["uscc", "time"]])]
        data = lgb.Dataset(
            x,
            label=train["label"].to_numpy(),
            weight=train["weight"].to_numpy(),
            free_raw_data=False,
        )
        booster = lgb.train(params, data, cfg["num_rounds"])
        fit_s += time.perf_counter() - t1
        t1 = time.perf_counter()
        xc = matrix.loc[pd.MultiIndex.from_frame(cand[["uscc", "time"]])]
        score = booster.predict(xc)
        order = np.argsort(-score, kind="stable")
        codes = cand["uscc"].to_numpy()
        miss = cand["known_miss"].to_numpy(dtype=bool)
        lists[tier] = {
            "gate": [str(c) for c in codes[order][:top]],
            "gate_thresholds": [str(c) for c in codes[order][~miss[order]][:top]],
        }
        score_s += time.perf_counter() - t1
    phases["lightgbm_fit"] = {"seconds": fit_s, "peak_rss_mb_so_far": peak_mb()}
    phases["score_and_rank"] = {"seconds": score_s, "peak_rss_mb_so_far": peak_mb()}
    result = {
        "seconds": time.perf_counter() - t_all,
        "setup": args.setup,
        "max_depth": args.max_depth,
        "phases": phases,
        "features": len(defs),
        "instances": len(cutoffs),
        "lists": lists,
        "featuretools": ft.__version__,
        "pandas": pd.__version__,
        "lightgbm": lgb.__version__,
        "peak_rss_mb": peak_mb(),
    }
    args.out.write_text(json.dumps(result))
    print(json.dumps({k: v for k, v in result.items() if k != "lists"}))


if __name__ == "__main__":
    main()
