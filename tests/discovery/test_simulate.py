"""The synthetic economy: contract shape, reproducibility, realism of the ladder and the truth."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from stdnum.cn import uscc as stdnum_uscc

from discovery.simulation import TRUTH_COLUMNS, SimulationSummary, simulate
from graph.contract import CLASS_ONE_IP_TYPES, OPEN_LISTING_KINDS, TABLES

N = 4000
SEED = 5
END = dt.date(2025, 12, 31)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, SimulationSummary]:
    base = tmp_path_factory.mktemp("sim")
    summary = simulate(N, SEED, base / "data", base / "truth.csv", end=END)
    return base / "data", base / "truth.csv", summary


def read(data: Path, table: str) -> pd.DataFrame:
    return pd.read_csv(data / f"{table}.csv", dtype=str, keep_default_na=False, na_values=[""])


@pytest.fixture(scope="module")
def tables(world) -> dict[str, pd.DataFrame]:
    return {name: read(world[0], name) for name in TABLES}


@pytest.fixture(scope="module")
def truth(world) -> pd.DataFrame:
    df = pd.read_csv(world[1], dtype={"uscc": str})
    return df


def holders(certs: pd.DataFrame, at: str) -> dict[str, set[str]]:
    live = (certs.certified_on <= at) & (at < certs.expires_on)
    live &= certs.revoked_on.isna() | (certs.revoked_on > at)
    return {t: set(g.uscc) for t, g in certs[live].groupby("tier")}


# ---------------------------------------------------------------- shape of the files
def test_same_seed_same_bytes_other_seed_differs(world, tmp_path: Path) -> None:
    data, truth_path, _ = world
    again = simulate(N, SEED, tmp_path / "again", tmp_path / "truth.csv", end=END)
    other = simulate(N, SEED + 1, tmp_path / "other", tmp_path / "truth_other.csv", end=END)
    assert again.rows == world[2].rows
    for name in TABLES:
        first = (data / f"{name}.csv").read_bytes()
        assert (tmp_path / "again" / f"{name}.csv").read_bytes() == first, name
    assert (tmp_path / "truth.csv").read_bytes() == truth_path.read_bytes()
    differ = [
        n
        for n in TABLES
        if (tmp_path / "other" / f"{n}.csv").read_bytes() != (data / f"{n}.csv").read_bytes()
    ]
    assert len(differ) == len(TABLES)
    assert other.rows != world[2].rows


def test_every_table_has_exactly_the_contract_columns(world) -> None:
    data = world[0]
    for name, spec in TABLES.items():
        header = (data / f"{name}.csv").read_text(encoding="utf-8").split("\n", 1)[0]
        assert header.split(",") == spec.column_names, name
    assert sorted(p.name for p in data.iterdir()) == sorted(f"{n}.csv" for n in TABLES)


def test_summary_counts_rows_and_holders(world, tables) -> None:
    summary = world[2]
    assert summary.rows == {n: len(t) for n, t in tables.items()}
    held = holders(tables["certifications"], END.isoformat())
    assert summary.holders == {t: len(held.get(t, set())) for t in summary.holders}


def test_every_credit_code_is_valid(tables) -> None:
    codes = set(tables["companies"].uscc)
    assert len(codes) == N
    for name, spec in TABLES.items():
        for col in spec.columns:
            if col.kind == "uscc":
                codes |= set(tables[name][col.name])
    inv = tables["investments"]
    codes |= set(inv.investor_id[inv.investor_type != "angel"])
    bad = [c for c in codes if not stdnum_uscc.is_valid(c) or c != c.upper()]
    assert not bad
    comp = tables["companies"]
    assert (comp.uscc.str[2:8] == comp.region_code).all()
    assert (comp.uscc.str[:2] == "91").all()
    # Organisation codes are unique among companies and counterparties alike.
    assert len({c[8:17] for c in codes}) == len(codes)


def test_values_follow_the_contract(tables) -> None:
    for name, spec in TABLES.items():
        df = tables[name]
        for col in spec.columns:
            values = df[col.name].dropna()
            if not col.nullable:
                assert len(values) == len(df), f"{name}.{col.name} has nulls"
            if col.kind == "enum":
                assert set(values) <= set(col.values), f"{name}.{col.name}"
            if col.kind == "bool":
                assert set(values) <= {"true", "false"}
            if col.kind in ("int", "decimal"):
                nums = values.astype(float)
                if col.low is not None:
                    assert (nums >= col.low).all(), f"{name}.{col.name}"
                if col.high is not None:
                    assert (nums <= col.high).all(), f"{name}.{col.name}"
            if col.pattern:
                assert values.str.fullmatch(col.pattern).all(), f"{name}.{col.name}"
            if col.kind == "date":
                assert values.str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    comp = tables["companies"]
    assert comp.name.str.endswith("有限公司").all()
    assert comp.industry_code.str[0].value_counts().idxmax() == "C"


def test_keys_are_unique_and_dates_ordered(tables) -> None:
    for name, spec in TABLES.items():
        df = tables[name]
        assert not df.duplicated(list(spec.key)).any(), name
        for early, late in spec.order:
            both = df[early].notna() & df[late].notna()
            assert (df.loc[both, early] <= df.loc[both, late]).all(), f"{name}: {early}>{late}"


# A certificate's expiry is its term, not an event: current holders' certificates expire later.
TERMS = {("certifications", "expires_on")}


def test_nothing_is_dated_after_the_end(tables) -> None:
    end = END.isoformat()
    for name, spec in TABLES.items():
        for col in spec.date_columns:
            if (name, col) in TERMS:
                continue
            assert (tables[name][col].dropna() <= end).all(), f"{name}.{col}"
    assert (tables["financials"].year.astype(int) < END.year).all()


def test_certificates_run_three_years(tables) -> None:
    c = tables["certifications"]
    certified = pd.to_datetime(c.certified_on)
    expires = pd.to_datetime(c.expires_on)
    assert ((expires - certified).dt.days.between(1095, 1096)).all()
    assert c.revoked_on.notna().any()


def test_parquet_and_another_end_date(tmp_path: Path) -> None:
    end = dt.date(2023, 6, 30)
    steps: list[str] = []
    summary = simulate(
        600,
        1,
        tmp_path / "pq",
        None,
        end=end,
        fmt="parquet",
        progress=lambda s, d, t: steps.append(s),
    )
    assert steps and steps[-1] == "done"
    for name, spec in TABLES.items():
        t = pq.read_table(tmp_path / "pq" / f"{name}.parquet")
        assert t.column_names == spec.column_names
        assert t.num_rows == summary.rows[name]
        for col in spec.date_columns:
            if (name, col) in TERMS:
                continue
            values = t.column(col).drop_null().to_pylist()
            assert str(t.schema.field(col).type) == "date32[day]"
            assert all(v <= end for v in values), f"{name}.{col}"
    assert not list((tmp_path / "pq").glob("*.csv"))


def test_truth_is_never_written_into_the_data_directory(world, tmp_path: Path) -> None:
    data, truth_path, _ = world
    assert truth_path.parent != data and not (data / truth_path.name).exists()
    with pytest.raises(ValueError):
        simulate(200, 1, tmp_path, tmp_path / "truth.csv")


# ---------------------------------------------------------------- realism
def test_pyramid_of_holders(world, tables) -> None:
    held = holders(tables["certifications"], END.isoformat())
    top = held.get("specialized_sme", set()) | held.get("little_giant", set())
    level1 = held.get("tech_sme", set()) | held.get("innovative_sme", set()) | top
    lg = held.get("little_giant", set())
    assert world[2].pyramid == (len(level1), len(top), len(lg))
    assert 5 <= len(top) / len(lg) <= 12
    assert 2.5 <= len(level1) / len(top) <= 6
    assert 0.18 <= len(level1) / N <= 0.33


def test_truth_matches_the_ladder_and_has_qualifiers(tables, truth) -> None:
    assert tuple(truth.columns) == TRUTH_COLUMNS
    assert list(truth.uscc) == list(tables["companies"].uscc)
    end = END.isoformat()
    held = holders(tables["certifications"], end)
    ev = tables["compliance_events"]
    open_kind = ev.kind.isin(OPEN_LISTING_KINDS)
    three = (END.replace(year=END.year - 3)).isoformat()
    bar = (open_kind & (ev.start_on <= end) & (ev.end_on.isna() | (ev.end_on > end))) | (
        ~open_kind & (ev.start_on > three) & (ev.start_on <= end)
    )
    barred = set(ev.uscc[bar])
    large = set(tables["companies"].uscc[tables["companies"].size_class == "large"])
    lower = held.get("tech_sme", set()) | held.get("innovative_sme", set())
    spec, lg = held.get("specialized_sme", set()), held.get("little_giant", set())
    cand_spec = (lower - spec - lg) - barred - large
    cand_lg = (spec - lg) - barred - large
    assert set(truth.uscc[truth.candidate_specialized_sme]) == cand_spec
    assert set(truth.uscc[truth.candidate_little_giant]) == cand_lg
    for tier, minimum in (("specialized_sme", 40), ("little_giant", 8)):
        cand, qual = truth[f"candidate_{tier}"], truth[f"qualifies_{tier}"]
        assert not (qual & ~cand).any()
        assert qual.sum() >= minimum, tier
        assert 0.05 <= qual.sum() / cand.sum() <= 0.35, tier
    assert (truth.quality_score[truth.qualifies_little_giant] >= 60).all()


def test_decisions_follow_the_true_score(tables, truth) -> None:
    """The last round is judged on the latest fiscal year, which the truth describes."""
    apps = tables["applications"].merge(truth[["uscc", "quality_score"]], on="uscc")
    apps = apps[apps.tier.isin(["specialized_sme", "little_giant"])]
    last = apps[apps.applied_on.str[:4] == str(END.year)]
    cut = np.where(last.tier == "little_giant", 60.0, 50.0)
    above = last.quality_score.to_numpy() >= cut
    approved = (last.outcome == "approved").to_numpy()
    rejected = (last.outcome == "rejected").to_numpy()
    assert approved.sum() >= 30 and rejected.sum() >= 30
    assert above[approved].mean() >= 0.95
    assert (~above[rejected]).mean() >= 0.90
    assert {"withdrawn", "approved", "rejected"} <= set(apps.outcome)


def test_many_qualifiers_never_applied(tables, truth) -> None:
    apps = tables["applications"]
    for tier in ("specialized_sme", "little_giant"):
        qualified = set(truth.uscc[truth[f"qualifies_{tier}"]])
        applied = set(apps.uscc[apps.tier == tier])
        assert len(qualified - applied) / len(qualified) >= 0.3, tier


def test_financials_are_partial_and_favour_holders(tables) -> None:
    fin = tables["financials"]
    covered = set(fin.uscc)
    assert 0.35 <= len(covered) / N <= 0.65
    assert fin.rd_expense_wan.isna().any() and fin.revenue_wan.notna().mean() > 0.9
    ever = set(tables["certifications"].uscc)
    assert len(covered & ever) / len(ever) > len(covered - ever) / (N - len(ever))
    month = fin.reported_on.str[5:7]
    assert month.isin(["03", "04", "05"]).all()
    scored = set(tables["quality_scores"].uscc)
    top = set(
        tables["certifications"].uscc[
            tables["certifications"].tier.isin(["specialized_sme", "little_giant"])
        ]
    )
    assert len(scored & top) > len(scored) / 2


def test_facts_follow_capability(tables, truth) -> None:
    cap = truth.set_index("uscc").capability
    pat = tables["patents"]
    inv = pat[pat.ip_type.isin(CLASS_ONE_IP_TYPES) & pat.granted_on.notna()]
    counts = inv.groupby("uscc").size().reindex(cap.index, fill_value=0)
    assert np.corrcoef(cap, np.log1p(counts))[0, 1] > 0.4
    assert set(pat.applicant_rank.astype(int)) >= {1, 2, 3}
    assert (pat.self_filed == "false").any() and pat.granted_on.isna().any()
    # Investors hold portfolios; government funds back more capable firms than angels do.
    investments = tables["investments"]
    assert investments.groupby("investor_id").size().max() >= 5
    by_type = (
        investments.assign(cap=investments.investee_uscc.map(cap))
        .groupby("investor_type")
        .cap.mean()
    )
    assert by_type["gov_fund"] > by_type["angel"]
    # Buyers: a heavy tail of chain leaders; ~3 % of links reach unprofiled companies.
    links = tables["supply_links"]
    assert len(links) >= 5 * N
    indeg = links.customer_uscc.value_counts()
    assert indeg.max() >= 10 * indeg.mean()
    outside = ~links.supplier_uscc.isin(cap.index) | ~links.customer_uscc.isin(cap.index)
    assert 0.01 <= outside.mean() <= 0.06
    large = set(tables["companies"].uscc[tables["companies"].size_class == "large"])
    to_large = links[links.customer_uscc.isin(large)].supplier_uscc.map(cap).mean()
    assert to_large > links.supplier_uscc.map(cap).mean()


def test_compliance_and_ownership(tables, truth) -> None:
    ev = tables["compliance_events"]
    abnormal = ev[ev.kind == "abnormal_operations"]
    assert 0.015 <= abnormal.uscc.nunique() / N <= 0.05
    assert abnormal.end_on.notna().mean() > 0.4
    assert ev.kind.nunique() >= 4
    comp = tables["companies"]
    shares = comp.ownership.value_counts(normalize=True)
    assert shares.idxmax() == "private" and len(shares) == 6
    assert 0.02 <= (comp.size_class == "large").mean() <= 0.06
    assert comp.size_class.isna().any()
    # Ownership does not change who qualifies (standards treat all alike).
    t = truth.assign(own=comp.ownership.to_numpy())
    rate = t[t.candidate_specialized_sme].groupby("own").qualifies_specialized_sme.mean()
    assert rate["private"] > 0 and abs(rate["state"] - rate["private"]) < 0.2


def test_invitations_agree_with_applications(tables) -> None:
    inv = tables["invitations"]
    assert len(inv) > 0
    apps = tables["applications"]
    keyed = apps.set_index(["uscc", "tier"])
    for outcome in ("approved", "rejected"):
        rows = inv[inv.outcome == outcome]
        for u, t in zip(rows.uscc, rows.tier, strict=True):
            assert outcome in set(keyed.loc[[(u, t)]].outcome)
