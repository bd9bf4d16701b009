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

KEY_SEPARATOR = "|"


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

# -- rows travel as lists ----------------------------------------------------------------
# Each row is a list of plain values, dates as ISO text (`date()` in Cypher makes them
# Neo4j dates). Lists without keys and dates as text pack three times faster in the
# driver than maps of dates, and the driver's packing is what limits a load.
#
# companies:     [uscc, name, region_code, ...]          (the contract's columns in order)
# other tables:  [source key, target key, row key, *RelTable.rel_columns]


def _value(table: Table, column: str, index: int) -> str:
    """Cypher for a row value: `row[i]`, through `date()` for a date column."""
    raw = f"row[{index}]"
    return f"date({raw})" if table.column(column).kind == "date" else raw


def _same(var: str, exprs: dict[str, str], first: int) -> str:
    """Whether `var` already holds exactly these properties (nulls meaning: absent).

    `coalesce(a = b, ...)` because `a = null` is null, not false.
    """
    parts = [f"size(keys({var})) = size([x IN row[{first}..] WHERE x IS NOT NULL])"]
    parts += [
        f"coalesce({var}.{prop} = {expr}, {var}.{prop} IS NULL AND {expr} IS NULL)"
        for prop, expr in exprs.items()
    ]
    return "\n  AND ".join(parts)


def _company_exprs() -> dict[str, str]:
    table = TABLES["companies"]
    return {c: _value(table, c, i) for i, c in enumerate(table.column_names)}


def upsert_companies() -> str:
    """MERGE each company, mark it profiled, link its region and industry; rewrite only changes.

    Returns the number of rows and of rows that were new or different.
    """
    exprs = _company_exprs()
    props = ", ".join(f"{p}: {e}" for p, e in exprs.items())
    table = TABLES["companies"]
    region = exprs["region_code"]
    industry = exprs["industry_code"]
    assert table.column_names[0] == "uscc"
    # the old links were just deleted, so CREATE them: a MERGE would have to look through
    # the many companies of the region or industry for an existing one
    return f"""UNWIND $rows AS row
MERGE (c:Company {{uscc: row[0]}})
WITH c, row, (c:{PROFILED}
  AND {_same("c", exprs, 0)}) AS same
CALL (c, row, same) {{
  WITH c, row WHERE NOT same
  SET c = {{{props}}}
  SET c:{PROFILED}
  WITH c, row
  OPTIONAL MATCH (c)-[old:IN_REGION|IN_INDUSTRY]->()
  DELETE old
  WITH DISTINCT c, row
  MERGE (region:Region {{code: {region}}})
  MERGE (industry:Industry {{code: {industry}}})
  CREATE (c)-[:IN_REGION]->(region)
  CREATE (c)-[:IN_INDUSTRY]->(industry)
}}
RETURN count(*) AS rows, sum(CASE WHEN same THEN 0 ELSE 1 END) AS changed"""


ROW_VALUES_START = 3


def rel_exprs(rt: RelTable) -> dict[str, str]:
    """Contract column -> Cypher for its value in a row list of `rt`."""
    table = rt.contract
    out = {}
    for column in table.column_names:
        if column == rt.source.single_column:
            out[column] = "row[0]"
        elif column == rt.target.single_column:
            out[column] = "row[1]"
    for j, column in enumerate(rt.rel_columns):
        out[column] = _value(table, column, ROW_VALUES_START + j)
    return out


def upsert_rows(rt: RelTable) -> str:
    """MERGE both ends and the row's relationship; rewrite only rows that are new or differ.

    Returns the number of rows and of rows that were new or different.
    """
    src, dst = rt.source, rt.target
    exprs = rel_exprs(rt)
    rel_exprs_only = {"key": "row[2]", **{c: exprs[c] for c in rt.rel_columns}}
    props = ", ".join(f"{p}: {e}" for p, e in rel_exprs_only.items())
    lines = [
        "UNWIND $rows AS row",
        f"MERGE (a:{src.label} {{{src.key}: row[0]}})",
        f"MERGE (b:{dst.label} {{{dst.key}: row[1]}})",
    ]
    if not rt.key_fixes_endpoints:
        # the key does not name both ends: a row moved to another company or tier
        # would leave its old relationship behind unless we remove it first
        lines += [
            "WITH a, b, row",
            "CALL (a, b, row) {",
            f"  MATCH (x)-[old:{rt.rel} {{key: row[2]}}]->(y) WHERE x <> a OR y <> b",
            "  DELETE old",
            "}",
        ]
    lines += [
        f"MERGE (a)-[r:{rt.rel} {{key: row[2]}}]->(b)",
        f"WITH a, b, r, row, ({_same('r', rel_exprs_only, 2)}) AS same",
        "CALL (a, b, r, row, same) {",
        "  WITH a, b, r, row WHERE NOT same",
        f"  SET r = {{{props}}}",
    ]
    for var, ref in (("a", src), ("b", dst)):
        if ref.attributes:
            attrs = ", ".join(f"{p}: {exprs[c]}" for p, c in ref.attributes.items())
            # `+=` with a null value removes a stale attribute
            lines.append(f"  SET {var} += {{{attrs}}}")
    lines += [
        "}",
        "RETURN count(*) AS rows, sum(CASE WHEN same THEN 0 ELSE 1 END) AS changed",
    ]
    return "\n".join(lines)


def _returned(table: Table, column: str, expr: str) -> str:
    """A returned column; dates come back as ISO text (cheaper to unpack than date structs)."""
    if table.column(column).kind == "date":
        return f"toString({expr}) AS {column}"
    return f"{expr} AS {column}"


def read_companies() -> str:
    table = TABLES["companies"]
    columns = ", ".join(_returned(table, c, f"c.{c}") for c in table.column_names)
    return (
        f"MATCH (c:Company:{PROFILED}) "
        f"WHERE $as_of IS NULL OR c.{table.known_on} <= $as_of RETURN {columns}"
    )


def read_rows(rt: RelTable) -> str:
    ends = rt.endpoint_columns
    table = rt.contract
    assert table.known_on not in ends, "the known-on date must live on the relationship"
    columns = ", ".join(_returned(table, c, ends.get(c, f"r.{c}")) for c in table.column_names)
    return (
        f"MATCH (a:{rt.source.label})-[r:{rt.rel}]->(b:{rt.target.label}) "
        f"WHERE $as_of IS NULL OR r.{table.known_on} <= $as_of RETURN {columns}"
    )


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


def with_progress(upsert: str) -> str:
    """`upsert` plus the (:LoadState) bookkeeping, in the same query and so the same transaction.

    Parameters besides the upsert's: `$table`, `$load_id`, `$batches_done`. Returns the
    batch's `rows`, `changed`, and the load's running total `rows_changed` for the table.
    """
    return f"""CALL () {{
{upsert}
}}
MERGE (s:LoadState {{table: $table}})
SET s.rows_changed = CASE WHEN s.load_id = $load_id THEN coalesce(s.rows_changed, 0) ELSE 0 END
                     + changed,
    s.load_id = $load_id, s.batches_done = $batches_done, s.updated_at = datetime()
RETURN rows, changed, s.rows_changed AS rows_changed
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
