"""Hikvision ISAPI event push ("HTTP listening"): each terminal is configured with its own URL,
`/ISAPI/events/<serial>` (optionally `?token=`), and POSTs AccessControllerEvent JSON, alone or in
multipart with the `Picture` JPEG."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from punchaudit.services import ingest, terminals
from punchaudit.services.ingest import DeviceRefused, PayloadRejected, Push

router = APIRouter(tags=["terminals: Hikvision ISAPI"])


def _status(code: int, status: str, sub: str, message: str, **extra: object) -> JSONResponse:
    """ISAPI-style ResponseStatus body, which terminals and tools expect."""
    return JSONResponse({"statusCode": 1 if code == 200 else 4, "statusString": status, "subStatusCode": sub,
                         "message": message, **extra}, status_code=code)


@router.post("/ISAPI/events/{serial}", summary="AccessControllerEvent push from a Hikvision terminal")
async def event_push(serial: str, request: Request) -> JSONResponse:
    body = await request.body()
    push = Push(source="hikvision", serial=serial.strip(), table="AccessControllerEvent", body=body,
                query=str(request.url.query)[:2000], content_type=request.headers.get("content-type"),
                remote_addr=request.client.host if request.client else None,
                token=request.query_params.get("token"))
    app = request.app

    def handle() -> ingest.IngestResult:
        device = ingest.authorize(app.state.engine, push, app.state.settings)
        return terminals.hikvision_event(app.state.engine, app.state.settings, device, push)

    try:
        result = await run_in_threadpool(handle)
    except DeviceRefused as exc:
        return _status(exc.status_code, "Forbidden", "deviceRefused", exc.reason)
    except PayloadRejected as exc:
        return _status(400, "Invalid Content", "badJsonContent", exc.reason)
    return _status(200, "OK", "ok", "stored", accepted=result.accepted, duplicates=result.duplicates,
                   **{k: v for k, v in result.extra.items() if k in ("serial_gaps", "serial_no")})
