"""Data uploads: a data directory as files or one zip, validated and loaded like `discovery ingest`."""

from __future__ import annotations

import secrets
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Header, Request, UploadFile

from api.deps import AuditDep, ServiceDep, SessionDep, Uploader
from api.schemas import ErrorPublic, UploadPublic
from api.uploads import Unpacker, UploadTooLarge, discard
from discovery import records

router = APIRouter(prefix="/data", tags=["data 数据"])
SHOWN_REJECTS = 1000


def _check_length(request: Request, limit: int) -> None:
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit + (1 << 20):
        raise UploadTooLarge(limit)


@router.post(
    "",
    response_model=UploadPublic,
    responses={
        409: {"model": ErrorPublic, "description": "Idempotency-Key reused for other content"},
        413: {"model": ErrorPublic},
        400: {
            "model": ErrorPublic,
            "description": "not contract tables, or a required one missing",
        },
    },
)
def upload(
    request: Request,
    service: ServiceDep,
    principal: Uploader,
    session: SessionDep,
    audit: AuditDep,
    files: Annotated[
        list[UploadFile], File(description="<table>.csv / .parquet files, or one .zip")
    ],
    idempotency_key: Annotated[
        str | None,
        Header(alias="Idempotency-Key", max_length=200, description="repeat-safe upload key"),
    ] = None,
) -> UploadPublic:
    """Validate and load a data directory; bad rows are reported, the rest loads (上传数据)."""
    limit = service.settings.max_upload_mb << 20
    _check_length(request, limit)
    work = Path(tempfile.mkdtemp(prefix="upload-"))
    try:
        unpacker = Unpacker(work, limit)
        for item in files:
            unpacker.add(item.file, item.filename or "")
        digest = unpacker.finish()
        if idempotency_key:
            earlier = records.replay(session, principal.key_id, idempotency_key, digest)
            if earlier is not None:
                return UploadPublic(**{**earlier.result, "replayed": True})
        result = _ingest(service, work)
    finally:
        discard(work)
    if idempotency_key:
        records.remember(session, principal.key_id, idempotency_key, digest, result)
    audit(
        "upload",
        {"upload_id": result["upload_id"], "tables": sorted(result["tables"])},
        result["loaded_rows"],
    )
    return UploadPublic(**result)


def _ingest(service: ServiceDep, directory: Path) -> dict[str, Any]:
    upload_id = f"UP-{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"
    rejects_path = service.workspace.paths.uploads / upload_id / "rejects.csv"
    report = service.workspace.ingest(directory, rejects_path)
    rejects = report.batch.rejects.copy()
    if len(rejects):
        rejects["file"] = rejects["file"].map(lambda f: Path(str(f)).name)
        rejects.to_csv(rejects_path, index=False, encoding="utf-8")
    shown = (
        rejects.head(SHOWN_REJECTS).astype(object).where(rejects.head(SHOWN_REJECTS).notna(), None)
    )
    return {
        "upload_id": upload_id,
        "tables": report.batch.summary(),
        "loaded_rows": report.loaded_rows,
        "rejected_rows": report.rejected_rows,
        "changed": report.result.changed,
        "version": report.result.version,
        "rejects": [
            {
                "file": str(r["file"]),
                "line": None if r["line"] is None else int(r["line"]),
                "column": None if r["column"] is None else str(r["column"]),
                "value": None if r["value"] is None else str(r["value"]),
                "reason": str(r["reason"]),
            }
            for r in shown.to_dict("records")
        ],
        "rejects_total": len(rejects),
    }
