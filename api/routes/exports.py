"""The ranked list as a file: Excel (with a sheet explaining every column) or CSV."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from api.deps import AuditDep, ListReader, ServiceDep, resolve_as_of
from api.views import ListFilters, export_list, masked, scoped_list
from discovery.ranking import write_list

router = APIRouter(prefix="/exports", tags=["exports 导出"])
MEDIA = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


def _export(
    service: ServiceDep,
    principal: ListReader,
    audit: AuditDep,
    filters: ListFilters,
    kind: Literal["xlsx", "csv"],
) -> Response:
    as_of = resolve_as_of(filters.as_of)
    name = f"invitations-{filters.tier}-{as_of.isoformat()}.{kind}"
    ranked, rows = scoped_list(service, principal, filters, as_of)
    rows = masked(service, principal, as_of, rows)
    with tempfile.TemporaryDirectory(prefix="export-") as tmp:
        path = write_list(export_list(ranked, rows, filters), Path(tmp) / name)
        body = path.read_bytes()
    audit("export", {**filters.model_dump(), "as_of": as_of, "format": kind}, len(rows))
    return Response(
        body,
        media_type=MEDIA[kind],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
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
