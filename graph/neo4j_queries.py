"""The graph model of the Neo4j store, and the Cypher it runs, built from constants only.

Model (one contract row is one node or one relationship, so a table reads back exactly):

    (:Company:Profiled {uscc, name, region_code, industry_code, established_on, ...})
        -[:IN_REGION]->(:Region {code})   -[:IN_INDUSTRY]->(:Industry {code})
    (:Company)                     counterparty without profile: no :Profiled label
    (:Company)-[:REPORTED {year, reported_on, revenue_wan, ...}]->(:FiscalYear {key, uscc, year})
    (:Company)-[:SCORED {year, score, computed_on}]->(:FiscalYear)
    (:Company)-[:SUPPLIES {start_on, end_on, amount_wan}]->(:Company)
    (:Investor {id, name, type})-[:INVESTED_IN {invested_on, round, amount_wan, equity_pct,
                                                investor_name, investor_type}]->(:Company)
    (:Company)-[:HOLDS_IP {applicant_rank, self_filed, ip_type, filed_on, granted_on,
                           lapsed_on}]->(:IP {id, ip_type, filed_on, granted_on, lapsed_on})
    (:Company)-[:WON {name, level, category, prize, awarded_on}]->(:Award {id, name, level, ...})
    (:Talent {id})-[:JOINED {program, level, joined_on, left_on}]->(:Company)
    (:Company)-[:CERTIFIED {certified_on, expires_on, revoked_on}]->(:Tier {code})
    (:Company)-[:APPLIED {applied_on, decided_on, outcome}]->(:Tier)
    (:Company)-[:INVITED {invitation_id, invited_on, outcome, outcome_on}]->(:Tier)
    (:Company)-[:HAD_EVENT {kind, start_on, end_on}]->(:ComplianceEvent {key, uscc, kind, start_on})

Every relationship that stands for a contract row carries the whole row (its dates
included) and a unique `key` built from the table's natural key, so MERGE finds it
and a uniqueness constraint guards it. Nodes shared by several rows (an IP right
with two applicants, an investor, an award) also hold the entity's attributes as
last written, for graph queries; reads take the row's own values from the
relationship. Composite natural keys become one `key` string (parts joined by
`|`), since Community edition enforces single-property uniqueness only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from graph.contract import TABLES, Table


@dataclass(frozen=True)
class NodeRef:
    """One end of a row's relationship: the node a column (or several) identifies."""

    label: str
    #: the unique property
    key: str
    #: contract columns whose values make the key (joined by `|` when more than one)
    columns: tuple[str, ...]
    #: node property <- contract column: the entity's attributes, as last written
    attributes: dict[str, str] = field(default_factory=dict)

    @property
    def single_column(self) -> str | None:
        """The column read back from this node's key, when the key is one column."""
        return self.columns[0] if len(self.columns) == 1 else None


@dataclass(frozen=True)
class RelTable:
    """A contract table stored as one relationship per row."""

    table: str
    rel: str
    source: NodeRef
    target: NodeRef

    @property
    def contract(self) -> Table:
        return TABLES[self.table]

    @property
    def endpoint_columns(self) -> dict[str, str]:
        """Contract column -> Cypher expression, for columns read from an endpoint's key."""
        out = {}
        if self.source.single_column:
            out[self.source.single_column] = f"a.{self.source.key}"
        if self.target.single_column:
            out[self.target.single_column] = f"b.{self.target.key}"
        return out

    @property
    def rel_columns(self) -> list[str]:
        """Contract columns stored on the relationship (everything not an endpoint key)."""
        ends = self.endpoint_columns
        return [c for c in self.contract.column_names if c not in ends]

    @property
    def key_fixes_endpoints(self) -> bool:
        """Whether the natural key names both endpoints (else an update may move the row)."""
        return set(self.source.columns) | set(self.target.columns) <= set(self.contract.key)


COMPANY = NodeRef("Company", "uscc", ("uscc",))
TIER = NodeRef("Tier", "code", ("tier",))
FISCAL_YEAR = NodeRef("FiscalYear", "key", ("uscc", "year"), {"uscc": "uscc", "year": "year"})

#: label of profiled companies (rows of `companies`); counterparties lack it
PROFILED = "Profiled"
REGION = NodeRef("Region", "code", ("region_code",))
INDUSTRY = NodeRef("Industry", "code", ("industry_code",))

REL_TABLES: dict[str, RelTable] = {
    r.table: r
    for r in (
        RelTable("financials", "REPORTED", COMPANY, FISCAL_YEAR),
        RelTable("quality_scores", "SCORED", COMPANY, FISCAL_YEAR),
        RelTable(
            "supply_links",
            "SUPPLIES",
            NodeRef("Company", "uscc", ("supplier_uscc",)),
            NodeRef("Company", "uscc", ("customer_uscc",)),
        ),
        RelTable(
            "investments",
            "INVESTED_IN",
            NodeRef(
                "Investor",
                "id",
                ("investor_id",),
                {"name": "investor_name", "type": "investor_type"},
            ),
            NodeRef("Company", "uscc", ("investee_uscc",)),
        ),
        RelTable(
            "patents",
            "HOLDS_IP",
            COMPANY,
            NodeRef(
                "IP",
                "id",
                ("ip_id",),
                {
                    "ip_type": "ip_type",
                    "filed_on": "filed_on",
                    "granted_on": "granted_on",
                    "lapsed_on": "lapsed_on",
                },
            ),
        ),
        RelTable(
            "awards",
            "WON",
            COMPANY,
            NodeRef(
                "Award",
                "id",
                ("award_id",),
                {
                    "name": "name",
                    "level": "level",
                    "category": "category",
                    "prize": "prize",
                    "awarded_on": "awarded_on",
                },
            ),
        ),
        RelTable("talents", "JOINED", NodeRef("Talent", "id", ("person_id",)), COMPANY),
        RelTable("certifications", "CERTIFIED", COMPANY, TIER),
        RelTable("applications", "APPLIED", COMPANY, TIER),
        RelTable(
            "compliance_events",
            "HAD_EVENT",
            COMPANY,
            NodeRef(
                "ComplianceEvent",
                "key",
                ("uscc", "kind", "start_on"),
                {"uscc": "uscc", "kind": "kind", "start_on": "start_on"},
            ),
        ),
        RelTable("invitations", "INVITED", COMPANY, TIER),
    )
}

#: bookkeeping labels: never part of a contract table
LOAD_STATE = NodeRef("LoadState", "table", ("table",))
STORE_STATE = NodeRef("StoreState", "id", ("id",))
STORE_STATE_ID = "store"


def node_refs() -> list[NodeRef]:
    """Every node label with its unique key property (each once)."""
    refs = [COMPANY, REGION, INDUSTRY, LOAD_STATE, STORE_STATE]
    for rt in REL_TABLES.values():
        refs += [rt.source, rt.target]
    seen: dict[str, NodeRef] = {}
    for ref in refs:
        seen.setdefault(ref.label, ref)
    return list(seen.values())


def constraint_statements() -> list[str]:
    """Uniqueness constraints on every node key and on every row relationship's `key`."""
    out = [
        f"CREATE CONSTRAINT {ref.label.lower()}_{ref.key} IF NOT EXISTS "
        f"FOR (n:{ref.label}) REQUIRE n.{ref.key} IS UNIQUE"
        for ref in node_refs()
    ]
    out += [
        f"CREATE CONSTRAINT {rt.rel.lower()}_key IF NOT EXISTS "
        f"FOR ()-[r:{rt.rel}]-() REQUIRE r.key IS UNIQUE"
        for rt in REL_TABLES.values()
    ]
    return out


AWAIT_INDEXES = "CALL db.awaitIndexes(300)"

# -- loads: a batch travels as one list per column ----------------------------------------
# Each contract column `c` is the parameter `$c`, a list with one value per row (None
# when missing; dates as ISO text that `date()` makes Neo4j dates). Besides them:
# `$start_key`, `$end_key` (the key text of a row's two nodes), `$row_key` (the row's
# key text) and `$props` (how many properties the row's node or relationship holds:
# its non-null values, the key included), so that a row identical to the stored one is
# recognised with one comparison per column and not rewritten. Column lists pack much
# faster in the driver than a list or a map per row.
START_KEY, END_KEY, ROW_KEY, PROPS = "start_key", "end_key", "row_key", "props"
#: the element ids of a row's two nodes and of its stored relationship (`create_rows`, `update_rows`)
START_ID, END_ID, REL_ID = "start_id", "end_id", "rel_id"
assert not {START_KEY, END_KEY, ROW_KEY, PROPS, START_ID, END_ID, REL_ID, "keys", "i"} & {
    c for t in TABLES.values() for c in t.column_names
}


def _value(table: Table, column: str) -> str:
    """Cypher for row `i`'s value of a column: `$c[i]`, through `date()` for a date column."""
    raw = f"${column}[i]"
    return f"date({raw})" if table.column(column).kind == "date" else raw


def _unchanged(var: str, exprs: dict[str, str]) -> str:
    """Whether `var` already holds exactly these properties (null meaning: absent).

    `coalesce(a = b, ...)` because `a = null` is null, not false.
    """
    parts = [f"size(keys({var})) = ${PROPS}[i]"]
    parts += [
        f"coalesce({var}.{prop} = {expr}, {var}.{prop} IS NULL AND {expr} IS NULL)"
        for prop, expr in exprs.items()
    ]
    return "\n  AND ".join(parts)


def merge_nodes(ref: NodeRef) -> str:
    """Make sure a node exists for each key in `$keys` (distinct); an index seek when it does.

    Returns `keys` and `ids`: each key with its node's element id, so that the rows'
    relationships are created between nodes found by id, not by a second index seek.
    """
    return (
        f"UNWIND $keys AS k MERGE (n:{ref.label} {{{ref.key}: k}}) "
        "RETURN collect(k) AS keys, collect(elementId(n)) AS ids"
    )


def _company_exprs() -> dict[str, str]:
    table = TABLES["companies"]
    return {c: _value(table, c) for c in table.column_names}


def upsert_companies() -> str:
    """MERGE each company and write its profile where it is new or different.

    Returns `changed`: the row numbers of the companies written, whose region and
    industry links `link_companies` then rewrites.
    """
    exprs = _company_exprs()
    props = ", ".join(f"{p}: {e}" for p, e in exprs.items())
    return f"""UNWIND range(0, size($uscc) - 1) AS i
MERGE (c:{COMPANY.label} {{uscc: $uscc[i]}})
WITH c, i WHERE NOT (c:{PROFILED}
  AND {_unchanged("c", {k: v for k, v in exprs.items() if k != "uscc"})})
SET c = {{{props}}}, c:{PROFILED}
RETURN collect(i) AS changed"""


def link_companies() -> str:
    """Replace the region and industry links of the companies in `$uscc` (nodes exist)."""
    return f"""UNWIND range(0, size($uscc) - 1) AS i
MATCH (c:{COMPANY.label} {{uscc: $uscc[i]}})
OPTIONAL MATCH (c)-[old:IN_REGION|IN_INDUSTRY]->()
DELETE old
WITH DISTINCT c, i
MATCH (region:{REGION.label} {{{REGION.key}: $region_code[i]}})
MATCH (industry:{INDUSTRY.label} {{{INDUSTRY.key}: $industry_code[i]}})
CREATE (c)-[:IN_REGION]->(region), (c)-[:IN_INDUSTRY]->(industry)"""


def rel_exprs(rt: RelTable) -> dict[str, str]:
    """Contract column -> Cypher for its value in row `i` of `rt`'s parameters."""
    table = rt.contract
    out = {}
    for column in table.column_names:
        if column == rt.source.single_column:
            out[column] = f"${START_KEY}[i]"
        elif column == rt.target.single_column:
            out[column] = f"${END_KEY}[i]"
        else:
            out[column] = _value(table, column)
    return out


def upsert_rows(rt: RelTable) -> str:
    """Find both nodes by key (`merge_nodes` made them), MERGE the row's relationship, and
    write it (and its nodes' attributes) where it is new or different.

    Returns `changed`: how many rows were new or different.
    """
    src, dst = rt.source, rt.target
    exprs = rel_exprs(rt)
    values = {c: exprs[c] for c in rt.rel_columns}
    lines = [
        f"MATCH (a:{src.label} {{{src.key}: ${START_KEY}[i]}})",
        f"MATCH (b:{dst.label} {{{dst.key}: ${END_KEY}[i]}})",
    ]
    if not rt.key_fixes_endpoints:
        # the key does not name both ends: a row moved to another company or tier
        # would leave its old relationship behind unless we remove it first
        lines += [
            "CALL (a, b, i) {",
            f"  MATCH (x)-[old:{rt.rel} {{key: ${ROW_KEY}[i]}}]->(y) WHERE x <> a OR y <> b",
            "  DELETE old",
            "}",
        ]
    lines += [
        f"MERGE (a)-[r:{rt.rel} {{key: ${ROW_KEY}[i]}}]->(b)",
        f"WITH a, b, r, i WHERE NOT ({_unchanged('r', values)})",
        f"SET r = {{{_row_props(rt)}}}",
    ]
    return _row_lines(rt, "\n".join(lines))


# A batch of rows is split by what the graph already holds, so that most rows skip the
# MERGE (a locking seek, both ends' keys compared, a read/write `Eager`): `stored_rows`
# finds the batch's keys through the relationship key index and returns what they hold;
# the client leaves identical rows out, `create_rows` writes the new ones between nodes
# found by element id (`merge_nodes` returned them) and `update_rows` rewrites the
# changed ones by their relationship's element id. Anything else (a row moved to other
# nodes, a key held by a relationship this loader did not write) goes through
# `upsert_rows`, which deletes the moved row or meets the uniqueness constraint.
def stored_rows(rt: RelTable) -> str:
    """The stored relationships of the keys in `$row_key`, one list per column: `i` (the
    row's number in the batch), the keys of both ends, `rel_id`, `props` and each column."""
    src, dst = rt.source, rt.target
    columns = "".join(
        f", [x IN found | {_returned(rt.contract, c, f'x.{c}')}] AS {c}" for c in rt.rel_columns
    )
    return f"""UNWIND range(0, size(${ROW_KEY}) - 1) AS i
MATCH ()-[r:{rt.rel} {{key: ${ROW_KEY}[i]}}]->()
WITH collect(i) AS i, collect(r) AS found
RETURN i, [x IN found | startNode(x).{src.key}] AS {START_KEY},
       [x IN found | endNode(x).{dst.key}] AS {END_KEY}, [x IN found | elementId(x)] AS {REL_ID},
       [x IN found | size(keys(x))] AS {PROPS}{columns}"""


def _row_lines(rt: RelTable, write: str) -> str:
    """`write` (the relationship `r`), then its nodes' attributes, then the count."""
    exprs = rel_exprs(rt)
    lines = [f"UNWIND range(0, size(${ROW_KEY}) - 1) AS i", write]
    for var, ref in (("a", rt.source), ("b", rt.target)):
        if ref.attributes:
            attrs = ", ".join(f"{p}: {exprs[c]}" for p, c in ref.attributes.items())
            # `+=` with a null value removes a stale attribute
            lines.append(f"SET {var} += {{{attrs}}}")
    lines.append("RETURN count(*) AS changed")
    return "\n".join(lines)


def _row_props(rt: RelTable) -> str:
    exprs = rel_exprs(rt)
    values = {"key": f"${ROW_KEY}[i]", **{c: exprs[c] for c in rt.rel_columns}}
    return ", ".join(f"{p}: {e}" for p, e in values.items())


def create_rows(rt: RelTable) -> str:
    """CREATE each row's relationship (no relationship holds its key yet); a null value in
    the map is no property, as with `SET r = {...}`."""
    write = (
        f"MATCH (a) WHERE elementId(a) = ${START_ID}[i]\n"
        f"MATCH (b) WHERE elementId(b) = ${END_ID}[i]\n"
        f"CREATE (a)-[r:{rt.rel} {{{_row_props(rt)}}}]->(b)"
    )
    return _row_lines(rt, write)


def update_rows(rt: RelTable) -> str:
    """Rewrite each row's relationship, found by its element id (between the row's ends)."""
    write = f"MATCH (a)-[r]->(b) WHERE elementId(r) = ${REL_ID}[i]\nSET r = {{{_row_props(rt)}}}"
    return _row_lines(rt, write)


# -- reads: pages of rows, each page one record of column lists ---------------------------
# Streaming one record per row costs the driver a Bolt message each (tens of microseconds
# in Python); a page arrives as one record holding one list per column, which the
# driver unpacks fast and pandas takes as is. Pages follow the unique index of the
# company end of the table's rows, so each page is an index range seek and its memory
# stays bounded: `$after` is the last key of the previous page ("" for the first),
# `$page` the number of company nodes per page. Lists keep nulls (a list comprehension
# does; `collect` would drop them), so the columns stay aligned.
def _returned(table: Table, column: str, expr: str) -> str:
    """A returned value; dates come back as ISO text (cheaper to unpack than date structs)."""
    if table.column(column).kind == "date":
        return f"toString({expr})"
    return expr


def page_anchor(table: str) -> tuple[NodeRef, str]:
    """The company end a table's pages follow, and its variable in `read_page`."""
    if table == "companies":
        return COMPANY, "c"
    rt = REL_TABLES[table]
    if rt.source.label == COMPANY.label:
        return rt.source, "a"
    assert rt.target.label == COMPANY.label, f"{table} has no company end to page by"
    return rt.target, "b"


def read_page(table: str) -> str:
    """One page of `table`: one list per contract column (named after it), `nodes` (the
    company nodes the page covered) and `last` (the last one's key)."""
    contract = TABLES[table]
    anchor, var = page_anchor(table)
    if table == "companies":
        body = f"UNWIND page AS c WITH c WHERE c:{PROFILED} RETURN collect(c) AS found"
        columns = [
            f"[x IN found | {_returned(contract, c, f'x.{c}')}] AS {c}"
            for c in contract.column_names
        ]
    else:
        rt = REL_TABLES[table]
        ends = rt.endpoint_columns
        end_lists = "".join(f", collect({e}) AS {c}" for c, e in ends.items())
        body = (
            f"UNWIND page AS {var} "
            f"MATCH (a:{rt.source.label})-[r:{rt.rel}]->(b:{rt.target.label}) "
            f"RETURN collect(r) AS found{end_lists}"
        )
        columns = [
            c if c in ends else f"[x IN found | {_returned(contract, c, f'x.{c}')}] AS {c}"
            for c in contract.column_names
        ]
    return f"""MATCH (n:{anchor.label}) WHERE n.{anchor.key} > $after
WITH n ORDER BY n.{anchor.key} LIMIT $page
WITH collect(n) AS page
CALL (page) {{ {body} }}
RETURN {", ".join(columns)}, size(page) AS nodes, page[-1].{anchor.key} AS last"""


def count_rows(table: str) -> str:
    """Rows held in `table` (answered from Neo4j's count store)."""
    if table == "companies":
        return f"MATCH (c:{PROFILED}) RETURN count(c) AS {table}"
    return f"MATCH ()-[r:{REL_TABLES[table].rel}]->() RETURN count(r) AS {table}"


def count_all() -> str:
    """Rows per contract table, in one query returning one record."""
    calls = "\n".join(f"CALL () {{ {count_rows(name)} }}" for name in TABLES)
    return f"{calls}\nRETURN {', '.join(TABLES)}"


GET_LOAD_STATE = "MATCH (s:LoadState {table: $table}) RETURN s.load_id AS load_id, s.batches_done AS batches_done, s.rows_changed AS rows_changed"
#: a load's progress on a table, written in each batch's transaction; returns the running total
SET_LOAD_STATE = """
MERGE (s:LoadState {table: $table})
SET s.rows_changed = CASE WHEN s.load_id = $load_id THEN coalesce(s.rows_changed, 0) ELSE 0 END
                     + $changed,
    s.load_id = $load_id, s.batches_done = $batches_done, s.updated_at = datetime()
RETURN s.rows_changed AS rows_changed
"""
CLEAR_LOAD_STATE = "MATCH (s:LoadState) DELETE s"
#: the load counter, and the progress of every unfinished load (one text per table)
GET_VERSION = """
OPTIONAL MATCH (s:StoreState {id: $id})
OPTIONAL MATCH (l:LoadState)
RETURN s.version AS version,
       collect(l.table + ':' + l.load_id + ':' + toString(l.batches_done)) AS unfinished
"""
BUMP_STORE_STATE = """
MERGE (s:StoreState {id: $id})
SET s.version = coalesce(s.version, 0) + 1, s.loaded_at = datetime(), s.source = $source
RETURN s.version AS version
"""
#: delete up to $limit relationships, then nodes; run each until it returns 0
DELETE_SOME_RELATIONSHIPS = (
    "MATCH ()-[r]->() WITH r LIMIT $limit DELETE r RETURN count(*) AS deleted"
)
DELETE_SOME_NODES = "MATCH (n) WITH n LIMIT $limit DETACH DELETE n RETURN count(*) AS deleted"
