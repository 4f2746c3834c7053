"""Tasks: the approver's inbox, and sign-off (approve, reject)."""

from __future__ import annotations

import asyncio

from domain import commands as cmd
from domain.actors import Actor, Role
from domain.rules import require_role
from domain.visibility import require_reader
from services.consultations import ConsultationService
from services.operations import CommandOutcome, OperationService
from store.read_models import PendingTaskView, ReadModels

INBOX_ROLES = (Role.APPROVER, Role.COORDINATOR)


class TaskService:
    def __init__(self, operations: OperationService, read_models: ReadModels,
                 consultations: ConsultationService) -> None:
        self._operations = operations
        self._read_models = read_models
        self._consultations = consultations

    async def pending(self, actor: Actor, purpose: str | None, operation_id: str | None = None
                      ) -> list[PendingTaskView]:
        """Tasks awaiting approval, soonest due first, from the read model (one indexed query): an approver
        sees its own member state's, a coordinator every state's."""
        member_state = actor.member_state if actor.role is Role.APPROVER else None

        async def read() -> list[PendingTaskView]:
            require_role(actor, "list pending tasks", *INBOX_ROLES)
            if operation_id is not None:  # one operation: it must exist and be the reader's
                require_reader(actor, await self._operations.state(operation_id))
            return await asyncio.to_thread(self._read_models.pending_tasks, member_state, operation_id)

        return await self._consultations.reading(
            actor, purpose, "task pending", [operation_id] if operation_id else [], read,
            served=lambda tasks: [operation_id] if operation_id else sorted({t.operation_id for t in tasks}))

    async def approve(self, actor: Actor, operation_id: str, task_id: str, justification: str = "",
                      key: str | None = None, one_time_code: str | None = None) -> CommandOutcome:
        return await self._operations.send(actor, operation_id, cmd.ApproveTaskRequest(
            task_id=task_id, justification=justification), key, one_time_code=one_time_code)

    async def reject(self, actor: Actor, operation_id: str, task_id: str, reason: str = "",
                     key: str | None = None, one_time_code: str | None = None) -> CommandOutcome:
        return await self._operations.send(actor, operation_id, cmd.RejectTaskRequest(
            task_id=task_id, justification=reason), key, one_time_code=one_time_code)
