"""The graph families on a Dask cluster: `features.supply_chain` and `features.embedding`
with their matrices held as blocks of rows on the workers (`features.dask_graph`), the
same columns as on one machine.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from features import embedding
from features.common import as_float
from features.context import Context
from features.dask_graph import Blocks, row_degree, row_sums, step_block
from features.network import hub_nodes, pagerank_steps, paths_through_hubs
from graph.store import active_at


def supply_chain(client: Any, ctx: Context, parts: int) -> pd.DataFrame:
    """`features.supply_chain.compute(ctx)` with the graph held as blocks on the cluster."""
    n, n_nodes = ctx.n, ctx.n_nodes
    links = ctx.table("supply_links")
    sup, cus = ctx.supply_nodes
    active = active_at(links, "end_on", ctx.as_of)
    s, c = sup[active], cus[active]
    other = s != c
    supplies = Blocks.of_edges(client, [s[other]], [c[other]], n_nodes, parts)
    bought = Blocks.of_edges(client, [c[other]], [s[other]], n_nodes, parts)
    try:
        out: dict[str, np.ndarray] = {}
        sells_to, buys_from = supplies.gather(row_degree), bought.gather(row_degree)
        out["customers"] = sells_to[:n]
        out["suppliers"] = buys_from[:n]
        large = np.zeros(n_nodes, dtype=np.float32)
        large[:n] = (ctx.companies["size_class"] == "large").to_numpy(dtype=bool, na_value=False)
        # neighbours carrying each flag, every flag in one product (0/1 sums are exact)
        groups = list(ctx.node_holds)
        flags = np.column_stack([large, *(ctx.node_holds[g] for g in groups)]).astype(np.float32)
        customers = _count(supplies, flags, n)
        suppliers = _count(bought, flags[:, 1:], n)
        out["leader_customers"] = customers[:, 0]
        for k, group in enumerate(groups):
            out[f"customers_{group}"] = customers[:, k + 1]
            out[f"suppliers_{group}"] = suppliers[:, k]
        # the paths through hubs on the client, from the edges (as `two_hop_counts`)
        hub = hub_nodes(sells_to, buys_from)
        hubs = np.flatnonzero(hub)
        out["customers_2hop"] = supplies.two_hop(hubs)[:n]
        out["suppliers_2hop"] = bought.two_hop(hubs)[:n]
        if len(hubs):
            out["customers_2hop"] += paths_through_hubs(s[other], c[other], hub, sells_to)[:n]
            out["suppliers_2hop"] += paths_through_hubs(c[other], s[other], hub, buys_from)[:n]
        amount = np.nan_to_num(as_float(links["amount_wan"]), nan=0.0)
        sellers = np.where(active & (sup < n), sup, -1)
        buyers = np.where(active & (cus < n), cus, -1)
        out["sales_wan"] = np.bincount(
            sellers[sellers >= 0], weights=amount[sellers >= 0], minlength=n
        )
        out["purchases_wan"] = np.bincount(
            buyers[buyers >= 0], weights=amount[buyers >= 0], minlength=n
        )
        # PageRank of `bought` (rank flows customer -> supplier): L^T = supplies
        out_degree = bought.gather(row_sums)
        rank = pagerank_steps(supplies.times, out_degree)
        out["pagerank"] = rank[:n] * n_nodes
    finally:
        supplies.release()
        bought.release()
    return pd.DataFrame({"chain_" + k: v for k, v in out.items()})


def _count(blocks: Blocks, flag: np.ndarray, n: int) -> np.ndarray:
    return np.rint(blocks.times(flag))[:n].astype(np.int64)


def embedding_columns(client: Any, ctx: Context, parts: int) -> pd.DataFrame:
    """`features.embedding.compute(ctx)` with the combined graph as blocks on the cluster."""
    sup, cus = ctx.supply_nodes
    active = active_at(ctx.table("supply_links"), "end_on", ctx.as_of)
    s, c = sup[active], cus[active]
    other = s != c
    src, dst, total, projection = embedding.combined_edges(ctx, (s[other], c[other]))
    adj = Blocks.of_edges(client, src, dst, total, parts)
    del src, dst  # on the workers now
    step = Blocks(client, adj.map(step_block), adj.bounds)
    adj.release()
    try:
        emb = step.fastrp(projection, embedding.ITERATION_WEIGHTS, ctx.n)
    finally:
        step.release()
    dims = projection[0].shape[1]
    return pd.DataFrame(emb, columns=[f"{embedding.PREFIX}{i:02d}" for i in range(dims)])
