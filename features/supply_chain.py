"""Supply chain: customers and suppliers at `as_of`, who they are, and network position.

Little giants typically supply chain leaders (链主) and other certified companies, so
the tiers held by a company's counterparties and its place in the supply network
are strong signals. Links count while active at `as_of` (started on or before, not
ended by then); a pair linked by several rows counts once. Counterparties of
unknown profile are nodes of the network too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.common import as_float
from features.context import Context
from features.network import active_supply, pagerank, two_hop_counts
from graph.store import active_at

PREFIX = "chain_"


def compute(ctx: Context) -> pd.DataFrame:
    n, n_nodes = ctx.n, ctx.n_nodes
    supplies = active_supply(ctx)  # [s, c] = 1: s supplies c
    bought = supplies.T.tocsr()  # [c, s] = 1: c buys from s
    out: dict[str, np.ndarray] = {}
    out["customers"] = np.diff(supplies.indptr)[:n].astype(np.int64)
    out["suppliers"] = np.diff(bought.indptr)[:n].astype(np.int64)

    large = np.zeros(n_nodes, dtype=np.float32)
    large[:n] = (ctx.companies["size_class"] == "large").to_numpy(dtype=bool, na_value=False)
    out["leader_customers"] = _count(supplies, large, n)
    for group, holds in ctx.node_holds.items():
        flag = holds.astype(np.float32)
        out[f"customers_{group}"] = _count(supplies, flag, n)
        out[f"suppliers_{group}"] = _count(bought, flag, n)
    out["customers_2hop"] = two_hop_counts(supplies, n)
    out["suppliers_2hop"] = two_hop_counts(bought, n)

    links = ctx.table("supply_links")
    sup, cus = ctx.supply_nodes
    active = active_at(links, "end_on", ctx.as_of)
    amount = np.nan_to_num(as_float(links["amount_wan"]), nan=0.0)
    sellers = np.where(active & (sup < n), sup, -1)
    buyers = np.where(active & (cus < n), cus, -1)
    out["sales_wan"] = np.bincount(sellers[sellers >= 0], weights=amount[sellers >= 0], minlength=n)
    out["purchases_wan"] = np.bincount(
        buyers[buyers >= 0], weights=amount[buyers >= 0], minlength=n
    )

    # a customer endorses its supplier: rank flows customer -> supplier, so suppliers of
    # well-connected buyers rank high. Scaled by the node count so the mean is 1 and
    # values stay comparable between dates and regions of different size.
    rank = pagerank(bought, backward=supplies)  # bought's transpose is supplies
    out["pagerank"] = rank[:n] * n_nodes
    return pd.DataFrame({PREFIX + k: v for k, v in out.items()})


def _count(adj, flag: np.ndarray, n: int) -> np.ndarray:
    """Neighbours per row carrying `flag` (a 0/1 vector over nodes)."""
    return np.rint(adj @ flag)[:n].astype(np.int64)
