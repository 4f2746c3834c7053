"""The approver's inbox: pending tasks from the projection, sign-off one by one or in bulk.

The pages call the same service methods as the API's routes (system.tasks.pending, approve, reject), with
the session's actor; a refusal is shown beside the task it concerns, never instead of the others' results.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request, Response

from api.auth import system_of
from api.web.session_pages import ViewerDep, page, refused
from domain.errors import LiaisonError
from domain.model import COERCIVE_TASK_KINDS
from services.identity import Caller
from services.views import PendingTaskView

router = APIRouter(prefix="/web", include_in_schema=False)
INBOX_PURPOSE = "web inbox: tasks awaiting my sign-off"
COERCIVE = {kind.value for kind in COERCIVE_TASK_KINDS}


@dataclass(frozen=True)
class SignOffResult:
    operation_id: str
    task_id: str
    done: bool
    message: str


def is_coercive(task: PendingTaskView) -> bool:
    return task.kind in COERCIVE


async def _inbox(request: Request, found: Caller, results: list[SignOffResult], status_code: int = 200
                 ) -> Response:
    tasks = await system_of(request).tasks.pending(found.actor, INBOX_PURPOSE)
    return await page(request, found, "inbox.html", {
        "tasks": tasks, "results": results, "now": datetime.now(UTC), "coercive": is_coercive,
        "form_key": uuid.uuid4().hex}, status_code)


def _bulk_key(form_key: str, choice: str) -> str:
    """One command per task of one submitted form: the form's key and a digest of the task (a key takes
    letters, digits and . _ : - only, up to 100)."""
    return f"web-{form_key[:40]}-{hashlib.sha256(choice.encode()).hexdigest()[:16]}"


@router.get("/inbox")
async def inbox(request: Request, found: ViewerDep) -> Response:
    try:
        return await _inbox(request, found, [])
    except LiaisonError as error:
        return await refused(request, found, error)


async def _sign_off(request: Request, found: Caller, decision: str, operation_id: str, task_id: str, reason: str,
                    one_time_code: str, key: str) -> SignOffResult:
    tasks = system_of(request).tasks
    send = tasks.approve if decision == "approve" else tasks.reject
    try:
        outcome = await send(found.actor, operation_id, task_id, reason.strip(), key or None, one_time_code or None)
    except LiaisonError as error:
        return SignOffResult(operation_id, task_id, False, error.message)
    return SignOffResult(operation_id, task_id, True, ", ".join(outcome.events))


@router.post("/inbox/sign-off")
async def sign_off(request: Request, found: ViewerDep, operation_id: Annotated[str, Form(max_length=120)],
                   task_id: Annotated[str, Form(max_length=40)],
                   decision: Annotated[Literal["approve", "reject"], Form()],
                   reason: Annotated[str, Form(min_length=1, max_length=2000)],
                   one_time_code: Annotated[str, Form(max_length=16)] = "",
                   key: Annotated[str, Form(max_length=100)] = "") -> Response:
    """One task; the form's key makes a second submission of the same form the same command."""
    result = await _sign_off(request, found, decision, operation_id, task_id, reason, one_time_code,
                             f"web-{key}" if key else "")
    return await _inbox(request, found, [result], 200 if result.done else 409)


@router.post("/inbox/bulk-approve")
async def bulk_approve(request: Request, found: ViewerDep,
                       reason: Annotated[str, Form(min_length=1, max_length=2000)],
                       selected: Annotated[list[str] | None, Form(max_length=200)] = None,
                       one_time_code: Annotated[str, Form(max_length=16)] = "",
                       key: Annotated[str, Form(max_length=100)] = "") -> Response:
    """Each selected task ("operation/task") approved in turn, each with its own result. A one-time code
    is good for one sign-off only, so it goes with the first coercive task; others say they need one."""
    pending = await system_of(request).tasks.pending(found.actor, INBOX_PURPOSE)
    coercive = {f"{t.operation_id}/{t.task_id}" for t in pending if is_coercive(t)}
    results: list[SignOffResult] = []
    code_left = one_time_code
    for choice in selected or []:
        operation_id, _, task_id = choice.rpartition("/")
        code = code_left if choice in coercive else ""
        result = await _sign_off(request, found, "approve", operation_id, task_id, reason, code,
                                 _bulk_key(key, choice) if key else "")
        if code and result.done:
            code_left = ""
        results.append(result)
    return await _inbox(request, found, results)
