"""`discovery keys`: create, list and revoke the HTTP service's API keys (密钥).

A key is shown once, when it is created; afterwards only its id (the public part
of `sdk_<id>_<secret>`), role, regions, label and dates are ever shown.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table as RichTable

from discovery.cli_support import out, plain_errors
from graph.settings import get_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from discovery.records.schema import ApiKey

keys_app = typer.Typer(
    help="API keys of the HTTP service (密钥).", no_args_is_help=True, rich_markup_mode=None
)


@contextmanager
def records_session() -> Iterator[Session]:
    """A session on the records database the settings name, closed afterwards."""
    from discovery.records import open_records

    records = open_records(get_settings())
    try:
        with records.session() as session:
            yield session
    finally:
        records.close()


@keys_app.command("create")
@plain_errors
def keys_create(
    role: Annotated[str, typer.Option(help="official, analyst, platform or admin")],
    regions: Annotated[
        str | None,
        typer.Option(help="officials: region-code prefixes of 2, 4 or 6 digits, comma-separated"),
    ] = None,
    label: Annotated[str | None, typer.Option(help="a note on who holds the key")] = None,
) -> None:
    """Create an API key and print it once; only its digest is kept (创建密钥)."""
    from discovery.records import check_regions, create_key

    prefixes = [p for p in (regions or "").split(",") if p.strip()]
    check_regions(role, prefixes)
    with records_session() as session:
        key = create_key(session, role, prefixes, label)
    scope = f" for regions {','.join(key.regions)}" if key.regions else ""
    sys.stderr.write(f"created {key.role} key {key.key_id}{scope}; it is shown only this once:\n")
    sys.stdout.write(key.secret + "\n")


def _when(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%d %H:%M") if moment is not None else None


def _public(key: ApiKey) -> dict[str, Any]:
    """What may be shown of a key: never its digest or salt (the secret itself is not kept)."""
    return {
        "key_id": key.key_id,
        "role": key.role,
        "regions": list(key.region_prefixes),
        "label": key.label,
        "created": _when(key.created_at),
        "revoked": _when(key.revoked_at),
    }


@keys_app.command("list")
@plain_errors
def keys_list(
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Every key: id, role, regions, label, created and revoked (UTC); never a secret (密钥列表)."""
    from discovery.records.keys import list_keys

    with records_session() as session:
        keys = [_public(k) for k in list_keys(session)]
    if as_json:
        sys.stdout.write(json.dumps(keys, ensure_ascii=False, indent=2) + "\n")
        return
    if not keys:
        sys.stdout.write("no API keys yet; create one with `discovery keys create --role ROLE`\n")
        return
    grid = RichTable(title="API keys 密钥 (times in UTC)")
    for column in ("key id", "role", "regions", "label", "created", "revoked"):
        grid.add_column(column)
    for k in keys:
        regions = ",".join(k["regions"]) or "all 全部"
        grid.add_row(
            k["key_id"], k["role"], regions, k["label"] or "", k["created"], k["revoked"] or "—"
        )
    out.print(grid)


@keys_app.command("revoke")
@plain_errors
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="the key's id, as `discovery keys list` shows it")],
) -> None:
    """Revoke a key: the service refuses it (401) from the next request on (吊销密钥)."""
    from discovery.records.keys import revoke_key

    with records_session() as session:
        key, revoked = revoke_key(session, key_id)
    when = _when(key.revoked_at)
    if revoked:
        line = f"revoked {key.role} key {key.key_id} at {when} UTC; it no longer authenticates"
    else:
        line = f"{key.role} key {key.key_id} was already revoked at {when} UTC"
    sys.stdout.write(line + "\n")
