"""The auditor's desk, its first part: replay an operation to a sequence number or a moment, and verify it.

The same service calls as the API's /audit routes (system.audit.replay, verify) with the session's actor.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, Response

from api.auth import system_of
from api.web.session_pages import ViewerDep, page, refused
from domain.errors import LiaisonError
from services.identity import Caller
from services.record_views import AuditReplay, Verification

router = APIRouter(prefix="/web", include_in_schema=False)
DESK_PURPOSE = "web auditor's desk"


async def _desk(request: Request, found: Caller, operation_id: str, replayed: AuditReplay | None,
                verified: list[Verification] | None, seq: int | None, at: str) -> Response:
    return await page(request, found, "audit.html", {"operation_id": operation_id, "replayed": replayed,
                                                     "verified": verified, "seq": seq, "at": at})


@router.get("/audit")
async def desk(request: Request, found: ViewerDep,
               operation_id: Annotated[str, Query(max_length=120)] = "",
               seq: Annotated[int | None, Query(ge=0)] = None,
               at: Annotated[str, Query(max_length=40)] = "") -> Response:
    """The form; with an operation, its state as of seq (or the moment `at`, or now)."""
    if not operation_id:
        return await _desk(request, found, "", None, None, seq, at)
    try:
        moment = datetime.fromisoformat(at) if at else None
        replayed = await system_of(request).audit.replay(found.actor, DESK_PURPOSE, operation_id, moment, seq)
    except ValueError:
        return await _desk(request, found, operation_id, None, None, seq, at)
    except LiaisonError as error:
        return await refused(request, found, error)
    return await _desk(request, found, operation_id, replayed, None, seq, at)


@router.post("/audit/verify")
async def verify(request: Request, found: ViewerDep,
                 operation_id: Annotated[str, Form(min_length=1, max_length=120)]) -> Response:
    try:
        verified = await system_of(request).audit.verify(found.actor, DESK_PURPOSE, [operation_id])
    except LiaisonError as error:
        return await refused(request, found, error)
    return await _desk(request, found, operation_id, None, verified, None, "")
