"""Data uploads: a data directory as files or one zip, validated and loaded like `discovery ingest`."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.deps import AuditDep, Auditor, ServiceDep, SessionDep, Uploader
from api.schemas import ErrorPublic, UploadPublic
from api.uploads import FRAMING, FormReader, Unpacker, UploadTooLarge, discard, work_directory
from discovery import records

router = APIRouter(prefix="/data", tags=["data 数据"])
SHOWN_REJECTS = 1000


UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "title": "Upload",
                    "required": ["files"],
                    "properties": {
                        "files": {
                            "type": "array",
                            "title": "Files",
                            "description": "<table>.csv / .parquet files, or one .zip",
                            "items": {
                                "type": "string",
                                "contentMediaType": "application/octet-stream",
                            },
                        }
                    },
                }
            }
        },
    }
}


def _check_length(request: Request, limit: int) -> None:
    """Refuse by the declared length before a byte of the body is read."""
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit + FRAMING:
        raise UploadTooLarge(limit)


@router.post(
    "",
    operation_id="uploadData",
    response_model=UploadPublic,
    responses={
        409: {
            "model": ErrorPublic,
            "description": "Idempotency-Key reused for other content, or its request still runs",
        },
        413: {"model": ErrorPublic},
        400: {
            "model": ErrorPublic,
            "description": "not contract tables, or a required one missing",
        },
    },
    openapi_extra=UPLOAD_BODY,
)
async def upload(
    request: Request,
    service: ServiceDep,
    principal: Uploader,
    session: SessionDep,
    audit: AuditDep,
    idempotency_key: Annotated[
        str | None,
        Header(alias="Idempotency-Key", max_length=200, description="repeat-safe upload key"),
    ] = None,
) -> UploadPublic:
    """Validate and load a data directory; bad rows are reported, the rest loads (上传数据).

    The key and its role are checked, and the declared length against the limit,
    before the body is read; the body is then streamed to disk and counted as it comes.
    """
    limit, unpacked_limit = service.settings.upload_limits
    _check_length(request, limit)
    work = await run_in_threadpool(work_directory)
    unpacker = Unpacker(work, limit, unpacked_limit)
    try:
        reader = FormReader(request.headers.get("content-type"), unpacker)
        async for chunk in request.stream():
            await run_in_threadpool(reader.feed, chunk)
        await run_in_threadpool(reader.finish)
        digest = unpacker.finish()
        return await run_in_threadpool(
            _load, service, session, audit, principal.key_id, idempotency_key, work, digest
        )
    finally:
        unpacker.close()
        await run_in_threadpool(discard, work)


def _load(
    service: ServiceDep,
    session: Session,
    audit: Auditor,
    key_id: str,
    idempotency_key: str | None,
    work: Path,
    digest: str,
) -> UploadPublic:
    """Load the unpacked directory once per `Idempotency-Key`, claimed before loading."""
    if idempotency_key:
        earlier = records.claim(session, key_id, idempotency_key, digest)
        if earlier is not None:
            return UploadPublic(**{**earlier.result, "replayed": True})
    try:
        result = _ingest(service, work)
    except BaseException:
        if idempotency_key:
            records.release(session, key_id, idempotency_key)
        raise
    if idempotency_key:
        records.complete(session, key_id, idempotency_key, result)
    audit(
        "upload",
        {"upload_id": result["upload_id"], "tables": sorted(result["tables"])},
        result["loaded_rows"],
    )
    return UploadPublic(**result)


def _ingest(service: ServiceDep, directory: Path) -> dict[str, Any]:
    upload_id = f"UP-{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"
    rejects_path = service.workspace.paths.uploads / upload_id / "rejects.csv"
    report = service.workspace.ingest(directory, rejects_path, shown_as="")
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
