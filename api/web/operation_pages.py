"""The coordinator's board and the operation page, which follows the operation by polling its version.

The version comes from the read models (system.operations.version); the page's content is read again,
through show and timeline (the audit log, logged as consultations), only when the version moved. No page
ever queries a workflow.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, Response

from api.auth import system_of
from api.web.session_pages import ViewerDep, page, refused
from domain.actors import Role
from domain.errors import LiaisonError
from domain.model import HitResolution, Phase
from services.identity import Caller
from services.views import OperationFilter

router = APIRouter(prefix="/web", include_in_schema=False)
BOARD_PURPOSE = "web board: operations overview"
OPERATION_PURPOSE = "web operation page"


def _flag(value: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(value or "")


def _priority(value: str | None) -> float | None:
    try:
        return min(max(float(value), 0.0), 100.0) if value else None
    except ValueError:
        return None


@router.get("/operations")
async def board(request: Request, found: ViewerDep, phase: Phase | None = None,
                member_state: Annotated[str | None, Query(max_length=40)] = None,
                min_priority: Annotated[str | None, Query(max_length=10)] = None,
                parked: Annotated[str | None, Query(max_length=3)] = None,
                blocked: Annotated[str | None, Query(max_length=3)] = None,
                q: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    # An empty field of the form is no filter, so the number is read here rather than by FastAPI.
    floor = _priority(min_priority)
    where = OperationFilter(phase=phase, member_state=member_state or None, min_priority=floor, parked=_flag(parked))
    try:
        rows = await system_of(request).operations.list(found.actor, BOARD_PURPOSE, where)
    except LiaisonError as error:
        return await refused(request, found, error)
    # Blocked and the code-name search narrow what the service returned: a presentation choice, not a read.
    if (want_blocked := _flag(blocked)) is not None:
        rows = [row for row in rows if row.blocked is want_blocked]
    if q and q.strip():
        needle = q.strip().casefold()
        rows = [row for row in rows if needle in row.code_name.casefold() or needle in row.operation_id.casefold()]
    return await page(request, found, "board.html", {
        "rows": rows, "phases": list(Phase), "now": datetime.now(UTC),
        "filters": {"phase": phase.value if phase else "", "member_state": member_state or "",
                    "min_priority": "" if floor is None else f"{floor:g}",
                    "parked": parked or "", "blocked": blocked or "", "q": q or ""}})


async def _operation(request: Request, found: Caller, operation_id: str, template: str,
                     messages: list[str] | None = None, status_code: int = 200) -> Response:
    system = system_of(request)
    version = await system.operations.version(found.actor, operation_id)
    state = await system.operations.show(found.actor, OPERATION_PURPOSE, operation_id)
    timeline = await system.operations.timeline(found.actor, OPERATION_PURPOSE, operation_id)
    resolver = found.actor.role is Role.LIAISON_OFFICER
    return await page(request, found, template, {
        "op": state, "timeline": timeline, "version": version, "now": datetime.now(UTC),
        "resolutions": list(HitResolution), "may_resolve": resolver, "messages": messages or [],
        "form_key": uuid.uuid4().hex}, status_code)


@router.get("/operations/{operation_id}")
async def operation(request: Request, found: ViewerDep, operation_id: str) -> Response:
    try:
        return await _operation(request, found, operation_id, "operation.html")
    except LiaisonError as error:
        return await refused(request, found, error)


@router.get("/operations/{operation_id}/content")
async def operation_content(request: Request, found: ViewerDep, operation_id: str) -> Response:
    """The page's body alone, which htmx swaps in when the version moved."""
    return await _operation(request, found, operation_id, "operation_content.html")


@router.get("/operations/{operation_id}/version")
async def operation_version(request: Request, found: ViewerDep, operation_id: str,
                            seen: Annotated[int, Query(ge=0)] = 0) -> Response:
    """204 while nothing changed (htmx leaves the page alone); when it did, an event that makes the page
    fetch its content again. Cheap: one indexed row of the read models."""
    version = await system_of(request).operations.version(found.actor, operation_id)
    headers = {"Cache-Control": "no-store"}
    if version == seen:
        return Response(status_code=204, headers=headers)
    return Response(status_code=200, headers={**headers, "HX-Trigger": "operation-changed"})


@router.post("/operations/{operation_id}/hits/{hit_id}/resolve")
async def resolve_hit(request: Request, found: ViewerDep, operation_id: str, hit_id: str,
                      resolution: Annotated[HitResolution, Form()],
                      justification: Annotated[str, Form(min_length=1, max_length=2000)],
                      key: Annotated[str, Form(max_length=100)] = "") -> Response:
    try:
        outcome = await system_of(request).deconfliction.resolve(
            found.actor, operation_id, hit_id, resolution, justification.strip(), f"web-{key}" if key else None)
    except LiaisonError as error:
        return await _operation(request, found, operation_id, "operation.html", [error.message], 409)
    return await _operation(request, found, operation_id, "operation.html", [", ".join(outcome.events)])
