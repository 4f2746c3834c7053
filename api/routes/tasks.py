"""The approver's inbox, notifications and deconfliction pre-checks (sign-off itself is a command:
POST /operations/{id}/approve-task or reject-task)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from api.auth import ActorDep, PurposeDep, system_of
from domain.model import Target
from gateway.deconfliction import Precheck
from services.notifications import NotificationView
from store.read_models import PendingTaskView

router = APIRouter(tags=["tasks and deconfliction"])


class TargetCheck(BaseModel):
    targets: list[Target] = Field(min_length=1, max_length=1000)
    member_state: str | None = Field(default=None, max_length=40,
                                     description="the contributing state (a liaison officer's own by default)")


@router.get("/tasks/pending", response_model=list[PendingTaskView])
async def pending_tasks(actor: ActorDep, request: Request, purpose: PurposeDep = None,
                        operation_id: Annotated[str | None, Query(max_length=120)] = None) -> list[PendingTaskView]:
    """An approver's own state's tasks awaiting sign-off, soonest due first; a coordinator's, every state's."""
    return await system_of(request).tasks.pending(actor, purpose, operation_id)


@router.get("/notifications", response_model=list[NotificationView])
async def notifications(actor: ActorDep, request: Request, purpose: PurposeDep = None) -> list[NotificationView]:
    return await system_of(request).notifications.inbox(actor, purpose)


@router.post("/deconfliction/checks", response_model=Precheck)
async def check_targets(body: TargetCheck, actor: ActorDep, request: Request, purpose: PurposeDep = None
                        ) -> Precheck:
    """Hits of targets on every live operation, storing nothing; a logged consultation."""
    return await system_of(request).deconfliction.check(actor, purpose, body.targets, body.member_state)
