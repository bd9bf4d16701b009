"""The ranked list as a file: an Excel workbook to forward as it is, or CSV for scripts.

The file is named by its tier and date (`invitations-specialized_sme-2025-12-31.xlsx`,
and in Chinese for browsers that read RFC 5987 names); its 概况 sheet gives the regions
it covers: the caller's own, narrowed by the region filter.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Response

from api.deps import AuditDep, ListReader, ServiceDep, resolve_as_of
from api.views import ListFilters, export_list, masked, scoped_list
from discovery.listfile import write_list
from discovery.names import tier_name

router = APIRouter(prefix="/exports", tags=["exports 导出"])
MEDIA = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


def disposition(tier: str, as_of: date, kind: str) -> str:
    """`attachment` with the file's name in ASCII, and in Chinese as RFC 5987 `filename*`."""
    day = as_of.isoformat()
    tier_zh = tier_name(tier).replace('"', "")  # no quotes in a Windows file name
    zh = f"邀请名单-{tier_zh}-{day}.{kind}"
    return (
        f'attachment; filename="invitations-{tier}-{day}.{kind}"; '
        f"filename*=UTF-8''{quote(zh, safe='')}"
    )


def _export(
    service: ServiceDep,
    principal: ListReader,
    audit: AuditDep,
    filters: ListFilters,
    kind: Literal["xlsx", "csv"],
) -> Response:
    as_of = resolve_as_of(filters.as_of)
    ranked, rows = scoped_list(service, principal, filters, as_of)
    rows = masked(service, principal, as_of, rows)
    exported = export_list(ranked, rows, filters)
    # the regions the caller is bound to, for the scope the file states
    exported = replace(exported, summary={**exported.summary, "regions": principal.region_filter})
    with tempfile.TemporaryDirectory(prefix="export-") as tmp:
        path = write_list(exported, Path(tmp) / f"list.{kind}")
        body = path.read_bytes()
    audit("export", {**filters.model_dump(), "as_of": as_of, "format": kind}, len(rows))
    return Response(
        body,
        media_type=MEDIA[kind],
        headers={"Content-Disposition": disposition(filters.tier, as_of, kind)},
    )


@router.get(
    "/invitations.xlsx",
    operation_id="exportListXlsx",
    response_class=Response,
    responses={200: {"content": {MEDIA["xlsx"]: {}}, "description": "the list as Excel"}},
)
def export_xlsx(
    service: ServiceDep,
    principal: ListReader,
    audit: AuditDep,
    filters: Annotated[ListFilters, Query()],
) -> Response:
    """The filtered ranked list as an Excel workbook, with column help (导出Excel)."""
    return _export(service, principal, audit, filters, "xlsx")


@router.get(
    "/invitations.csv",
    operation_id="exportListCsv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "the list as UTF-8 CSV"}},
)
def export_csv(
    service: ServiceDep,
    principal: ListReader,
    audit: AuditDep,
    filters: Annotated[ListFilters, Query()],
) -> Response:
    """The filtered ranked list as UTF-8 CSV, the columns of `discovery rank` (导出CSV)."""
    return _export(service, principal, audit, filters, "csv")
