"""Send commands to operation workflows and read their state; refusals come back as DomainError."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from domain.actors import Actor
from domain.audit import ChainHead
from domain.commands import Command, OpenOperation
from domain.decider import decide
from domain.errors import DomainError
from domain.model import Intelligence, Phase, Task
from domain.reference import EU_MEMBER_STATES
from domain.reference import member_state as member_state_code
from domain.state import OperationState
from domain.visibility import READ_ANY_OPERATION, may_read, require_reader, require_visible, visible_items
from workflows.messages import (
    CODE_NAME,
    LEAD_STATE,
    MEMBER_STATES,
    PARKED,
    PHASE,
    PRIORITY,
    CommandResult,
    OperationInput,
)
from workflows.operation import OperationWorkflow


class OperationRow(BaseModel):
    operation_id: str
    code_name: str
    phase: str
    lead_state: str
    member_states: list[str]
    priority: float | None
    parked: bool
    status: str
    started: datetime | None


def _domain_error(error: BaseException) -> DomainError:
    cause = error.cause if isinstance(error, WorkflowUpdateFailedError) else error
    if isinstance(cause, ApplicationError):
        details: dict[str, Any] = cause.details[0] if cause.details and isinstance(cause.details[0], dict) else {}
        return DomainError(cause.type or "refused", cause.message, field=details.get("field"),
                           value=details.get("value"))
    return DomainError("refused", str(cause or error))


class OperationsGateway:
    def __init__(self, client: Client, task_queue: str, *, append_as_local_activity: bool = True,
                 continue_as_new_after_events: int | None = None) -> None:
        self._client = client
        self._task_queue = task_queue
        self._append_local = append_as_local_activity
        self._continue_as_new_after = continue_as_new_after_events

    @property
    def client(self) -> Client:
        return self._client

    async def open(self, command: OpenOperation) -> OperationState:
        """Pre-checks the command with the decider so a refused spec never starts a workflow."""
        decide(OperationState(), command.model_copy(update={"issued_at": datetime.now(UTC)}))
        start = OperationInput(operation_id=command.operation_id, open_command=command,
                               append_as_local_activity=self._append_local,
                               continue_as_new_after_events=self._continue_as_new_after)
        try:
            handle = await self._client.start_workflow(
                OperationWorkflow.run, start, id=command.operation_id, task_queue=self._task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL)
        except WorkflowAlreadyStartedError:
            raise DomainError("already_exists", f"operation {command.operation_id} already exists",
                              field="operation_id", value=command.operation_id) from None
        return await self._wait_opened(handle)

    async def _wait_opened(self, handle: WorkflowHandle[Any, Any]) -> OperationState:
        # The first workflow task opens the operation and checks its targets; poll until both are done.
        for _ in range(300):
            state = await handle.query(OperationWorkflow.opened)
            if state is not None:
                return state
            await asyncio.sleep(0.05)
        raise DomainError("timeout", f"operation {handle.id} did not open within 15 s; is the worker running?")

    async def send(self, operation_id: str, command: Command) -> CommandResult:
        handle = self._client.get_workflow_handle(operation_id)
        try:
            return await handle.execute_update(OperationWorkflow.execute, command)
        except WorkflowUpdateFailedError as error:
            raise _domain_error(error) from None
        except RPCError as error:
            raise await self._rpc_refusal(operation_id, error) from None

    async def _rpc_refusal(self, operation_id: str, error: RPCError) -> DomainError:
        if error.status is RPCStatusCode.NOT_FOUND:
            state = await self._closed_state(operation_id)
            if state is not None and state.phase is not None:
                return DomainError("wrong_phase", f"operation {operation_id} is {state.phase.value}; "
                                   "it accepts no further commands", field="phase")
            return DomainError("not_found", f"operation {operation_id} does not exist",
                               field="operation_id", value=operation_id)
        return DomainError("unavailable", f"Temporal refused the request: {error.message}")

    async def _closed_state(self, operation_id: str) -> OperationState | None:
        try:
            return await self.state(operation_id)
        except DomainError:
            return None

    async def _query(self, operation_id: str, query: Any, *args: Any) -> Any:
        """A workflow query whose Temporal failures come back as refusals naming the operation."""
        handle = self._client.get_workflow_handle(operation_id)
        try:
            return await handle.query(query, *args)
        except RPCError as error:
            if error.status is RPCStatusCode.NOT_FOUND:
                raise DomainError("not_found", f"operation {operation_id} does not exist",
                                  field="operation_id", value=operation_id) from None
            raise DomainError("unavailable", f"Temporal refused the query: {error.message}") from None

    async def state(self, operation_id: str) -> OperationState:
        state: OperationState = await self._query(operation_id, OperationWorkflow.state)
        return state

    async def chain_head(self, operation_id: str) -> ChainHead:
        """The audit chain head the workflow recorded: Temporal's independent witness of the log."""
        head: ChainHead = await self._query(operation_id, OperationWorkflow.head)
        return head

    async def intelligence(self, operation_id: str, viewer: Actor, item_id: str | None = None) -> list[Intelligence]:
        """Items the viewer may see; asking for one it may not see is refused, naming the rule."""
        state = require_reader(viewer, await self.state(operation_id))
        if item_id is None:
            return visible_items(viewer, state)
        item = state.item(item_id)
        if item is None:
            raise DomainError("not_found", f"item_id: {item_id!r} is not an intelligence item of {operation_id}",
                              field="item_id", value=item_id)
        require_visible(item, viewer, state)
        return [item]

    async def pending_tasks(self, operation_id: str, member_state: str | None) -> list[Task]:
        tasks: list[Task] = await self._query(operation_id, OperationWorkflow.pending_tasks, member_state)
        return tasks

    async def inbox(self, member_state: str | None) -> list[tuple[str, Task]]:
        """Pending tasks across every operation in PREPARE (of one member state, or all)."""
        rows = await self.list(phase=Phase.PREPARE, member_state=member_state)
        pending = []
        for row in rows:
            for task in await self.pending_tasks(row.operation_id, member_state):
                pending.append((row.operation_id, task))
        return sorted(pending, key=lambda item: item[1].due)

    async def history_length(self, operation_id: str) -> int:
        history = await self._client.get_workflow_handle(operation_id).fetch_history()
        return len(history.events)

    async def readable(self, viewer: Actor, rows: list[OperationRow]) -> list[OperationRow]:
        """The rows of operations the viewer may read. Visibility indexes member states only, so a
        partner's invitations are read from each remaining operation's state."""
        if viewer.role in READ_ANY_OPERATION:
            return rows
        partner = viewer.member_state not in EU_MEMBER_STATES
        return [row for row in rows if viewer.member_state in (row.lead_state, *row.member_states)
                or (partner and await self._partner_of(viewer, row.operation_id))]

    async def _partner_of(self, viewer: Actor, operation_id: str) -> bool:
        try:
            return may_read(viewer, await self.state(operation_id))
        except DomainError:  # an operation that cannot be asked is not listed, rather than failing the list
            return False

    async def list(self, phase: Phase | None = None, member_state: str | None = None,
                   min_priority: float | None = None, parked: bool | None = None) -> list[OperationRow]:
        clauses = ["WorkflowType = 'OperationWorkflow'", "LiaisonPhase IS NOT NULL"]
        if phase is not None:
            clauses.append(f"LiaisonPhase = '{phase.value}'")
        if member_state is not None:
            clauses.append(f"LiaisonStates = '{member_state_code(member_state)}'")
        if min_priority is not None:
            clauses.append(f"LiaisonPriority >= {float(min_priority)}")
        if parked is not None:
            clauses.append(f"LiaisonParked = {'true' if parked else 'false'}")
        rows = []
        async for execution in self._client.list_workflows(" AND ".join(clauses)):
            if execution.status is WorkflowExecutionStatus.CONTINUED_AS_NEW:
                continue
            attrs = execution.typed_search_attributes
            rows.append(OperationRow(
                operation_id=execution.id, code_name=attrs.get(CODE_NAME) or "",
                phase=attrs.get(PHASE) or "", lead_state=attrs.get(LEAD_STATE) or "",
                member_states=list(attrs.get(MEMBER_STATES) or []), priority=attrs.get(PRIORITY),
                parked=bool(attrs.get(PARKED)), status=execution.status.name.lower() if execution.status else "",
                started=execution.start_time))
        return sorted(rows, key=lambda r: (-(r.priority or 0), r.operation_id))
