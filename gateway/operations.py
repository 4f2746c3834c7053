"""Send commands to operation workflows and read their state; refusals come back as DomainError."""

from __future__ import annotations

import asyncio
import hashlib
import random
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import structlog
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError
from temporalio.client import (
    Client,
    RPCTimeoutOrCancelledError,
    WorkflowExecutionStatus,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.converter import WorkflowSerializationContext
from temporalio.exceptions import ActivityError, ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from domain.actors import Actor
from domain.audit import ChainHead, event_of, update_event_key
from domain.commands import Command, OpenOperation
from domain.decider import decide
from domain.errors import DomainError, IntegrityFailure, LiaisonError, NotFound, Unavailable
from domain.events import Event
from domain.model import Intelligence, Phase, Task
from domain.reference import member_state as member_state_code
from domain.rules import LATEST_RULES
from domain.state import OperationState
from domain.visibility import require_reader, require_visible, visible_items
from gateway.audit import replay
from gateway.witness import witnessed_heads
from store.audit_log import AuditLog
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
from workflows.operation import INTERNAL_ERROR, OperationWorkflow

log = structlog.get_logger(__name__)
T = TypeVar("T")


def _describe(error: BaseException) -> str:
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    return message.splitlines()[0][:200]


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


class CommandOutcomeUnknown(Unavailable):
    """The command may or may not have been applied; retrying it with the same key tells which."""

    def __init__(self, operation_id: str, key: str, cause: str) -> None:
        super().__init__(f"the outcome of the command to {operation_id} is not known yet ({cause}); "
                         f"send it again with the idempotency key {key} (`liaison --key {key} ...`) to learn "
                         "it: it is applied at most once", field="idempotency_key", value=key)
        self.key = key


_TRANSIENT_RPC = {RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.RESOURCE_EXHAUSTED,
                  RPCStatusCode.ABORTED, RPCStatusCode.CANCELLED, RPCStatusCode.UNKNOWN, RPCStatusCode.INTERNAL}
_INTEGRITY_TYPES = {"ChainConflict", "AuditStoreMismatch"}


def _failure_cause(error: WorkflowUpdateFailedError) -> BaseException | None:
    """The failure the workflow raised, looking through an activity failure to what the activity raised."""
    cause = error.cause
    while isinstance(cause, ActivityError) and cause.cause is not None:
        cause = cause.cause
    return cause


def _refusal_of(error: WorkflowUpdateFailedError) -> LiaisonError | None:
    """The workflow's own refusal (the decider's, carrying its code), an integrity failure, or None for
    anything else (Temporal's abort, a workflow that ended or was reset): those say nothing of the outcome."""
    cause = _failure_cause(error)
    if not isinstance(cause, ApplicationError):
        return None
    details: Any = cause.details[0] if cause.details else None
    if cause.type in _INTEGRITY_TYPES:
        return IntegrityFailure(f"the audit store and the workflow disagree: {cause.message}")
    if cause.type == INTERNAL_ERROR:
        return LiaisonError("internal", f"the workflow could not decide the command (a bug, please report it): "
                                        f"{cause.message}")
    if not (isinstance(details, dict) and "code" in details):
        return None
    return DomainError(cause.type or details["code"], cause.message, field=details.get("field"),
                       value=details.get("value"))


def _is_transient(error: BaseException) -> bool:
    """Worth sending again with the same update id: nothing says the command was refused."""
    if isinstance(error, RPCTimeoutOrCancelledError):
        return True
    if isinstance(error, RPCError):
        return error.status in _TRANSIENT_RPC
    if isinstance(error, WorkflowUpdateFailedError):  # not the workflow's refusal: Temporal's abort, ...
        return _refusal_of(error) is None
    return isinstance(error, ConnectionError | RuntimeError)


_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")
# Updates in flight per operation from one process: Temporal takes 10 per workflow, and a crowd of
# callers retrying past that limit keeps the workflow's tasks from completing.
IN_FLIGHT_PER_OPERATION = 4


def new_idempotency_key() -> str:
    return f"cmd-{uuid.uuid4().hex}"


def _checked_key(key: str | None) -> str:
    if key is None:
        return new_idempotency_key()
    if not _KEY.match(key):
        raise DomainError("invalid_input", f"idempotency_key: {key[:120]!r} is not a key: 1-100 letters, digits "
                          "or . _ : - , starting with a letter or digit", field="idempotency_key", value=key[:120])
    return key


def update_id_for(key: str, command: Command) -> str:
    """The Temporal update id: the caller's key and what the command says (but its stamp), so that one
    key sent again with the same command is applied once, and never stands for another command."""
    body = command.model_dump_json(exclude={"issued_at"}).encode()
    return f"{key}.{hashlib.sha256(body).hexdigest()[:16]}"


class OperationsGateway:
    """Commands go to the workflows as Updates whose id is the command's idempotency key; every read
    of an operation comes from the audit log, which is exactly what the workflow applied (no read
    path queries a workflow: see the README on watching an operation)."""

    def __init__(self, client: Client, task_queue: str, audit_log: AuditLog, *,
                 continue_as_new_after_events: int | None = None,
                 retry_for: timedelta = timedelta(seconds=60),
                 task_timeout: timedelta = timedelta(seconds=4)) -> None:
        self._client = client
        self._task_queue = task_queue
        self._audit_log = audit_log
        self._continue_as_new_after = continue_as_new_after_events
        self._retry_for = retry_for
        self._task_timeout = task_timeout
        self._slots: dict[str, asyncio.Semaphore] = {}

    @property
    def client(self) -> Client:
        return self._client

    @property
    def audit_log(self) -> AuditLog:
        return self._audit_log

    async def open(self, command: OpenOperation, key: str | None = None) -> OperationState:
        """Start the operation and wait until its opening is recorded and deconflicted."""
        await self.start(command, key)
        return await self.opened(command.operation_id, key)

    async def start(self, command: OpenOperation, key: str | None = None) -> str:
        """Start the operation's workflow (once per key); returns the key. Pre-checks the command with the
        decider so a refused spec never starts a workflow."""
        decide(OperationState(), command, datetime.now(UTC), LATEST_RULES)
        key = _checked_key(key)
        start = OperationInput(operation_id=command.operation_id, open_command=command, open_key=key,
                               continue_as_new_after_events=self._continue_as_new_after)
        await self._retrying(command.operation_id, key, lambda: self._start(start))
        return key

    async def opened(self, operation_id: str, key: str | None = None) -> OperationState:
        """The state of a started operation once its opening is recorded and deconflicted."""
        return await self._retrying(operation_id, key or "", lambda: self._opened_state(operation_id))

    async def _start(self, start: OperationInput) -> None:
        try:
            await self._client.start_workflow(
                OperationWorkflow.run, start, id=start.operation_id, task_queue=self._task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL, task_timeout=self._task_timeout)
        except WorkflowAlreadyStartedError:
            if await self._started_with(start.operation_id, start.open_key):
                return  # our own start, retried after an error that hid its success
            raise DomainError("already_exists", f"operation {start.operation_id} already exists",
                              field="operation_id", value=start.operation_id) from None

    async def _started_with(self, operation_id: str, open_key: str | None) -> bool:
        """Whether the operation's workflow was started with this opening key (its first event says)."""
        history = await self._client.get_workflow_handle(operation_id).fetch_history()
        payloads = history.events[0].workflow_execution_started_event_attributes.input.payloads
        converter = self._client.data_converter.with_context(  # payloads are bound to their workflow
            WorkflowSerializationContext(namespace=self._client.namespace, workflow_id=operation_id))
        (started,) = await converter.decode(payloads, [OperationInput])
        return open_key is not None and started.open_key == open_key

    async def _opened_state(self, operation_id: str) -> OperationState:
        handle = self._client.get_workflow_handle(operation_id)
        try:
            state: OperationState = await handle.execute_update(OperationWorkflow.opened_state)
        except WorkflowUpdateFailedError as error:
            refusal = _refusal_of(error)
            if refusal is None:
                raise
            raise refusal from None
        except RPCError as error:
            if error.status is not RPCStatusCode.NOT_FOUND:
                raise
            return await self.state(operation_id)  # it opened and has ended already
        return state

    async def send(self, operation_id: str, command: Command, key: str | None = None) -> CommandResult:
        """Apply a command once, whatever fails on the way: sent as an Update whose id is the key, and
        sent again with the same key after any error that does not say it was refused. A retry of a
        command already applied (in this run, an earlier run, or before the operation closed) gets
        the recorded outcome, never a second application."""
        key = _checked_key(key)
        update_id = update_id_for(key, command)
        return await self._retrying(operation_id, key, lambda: self._send_once(operation_id, command, update_id))

    async def recorded_events(self, operation_id: str, command: Command, key: str, count: int) -> list[Event]:
        """The events a command sent with this key was recorded with, as the log holds them (count: how many
        it decided, as its result says). Empty for a run that recorded events under random ids (before the
        durable-chained-append patch)."""
        event_key = update_event_key(update_id_for(_checked_key(key), command))
        records = await asyncio.to_thread(self._audit_log.records_of_command, operation_id, event_key, count)
        return [event_of(record) for record in records]

    async def _send_once(self, operation_id: str, command: Command, update_id: str) -> CommandResult:
        handle = self._client.get_workflow_handle(operation_id)
        try:
            async with self._slots.setdefault(operation_id, asyncio.Semaphore(IN_FLIGHT_PER_OPERATION)):
                result: CommandResult = await handle.execute_update(OperationWorkflow.execute, command, id=update_id)
        except WorkflowUpdateFailedError as error:
            recorded = await self._recorded(operation_id, update_event_key(update_id))
            if recorded is not None:  # applied, whatever happened to the workflow since
                return recorded
            refusal = _refusal_of(error)
            if refusal is None:
                raise
            raise refusal from None
        except RPCError as error:
            if error.status is not RPCStatusCode.NOT_FOUND:
                raise
            recorded = await self._recorded(operation_id, update_event_key(update_id))
            if recorded is not None:
                return recorded
            raise await self._rpc_refusal(operation_id) from None
        return result

    async def _retrying(self, operation_id: str, key: str, attempt: Callable[[], Awaitable[T]]) -> T:
        """Run attempt until it succeeds or is refused, backing off (with jitter, so a crowd of callers
        spreads out) between tries of the same update id, which Temporal and the workflow deduplicate."""
        deadline = asyncio.get_running_loop().time() + self._retry_for.total_seconds()
        pause = 0.1
        while True:
            try:
                return await attempt()
            except LiaisonError:
                raise
            except RPCError as error:
                if not _is_transient(error):  # e.g. "Workflow Task in failed state": see the README's recovery
                    raise Unavailable(f"Temporal refused the request: {error.message}") from None
                cause = _describe(error)
            except Exception as error:
                if not _is_transient(error):
                    raise
                cause = _describe(error)
            current = asyncio.current_task()
            if current is not None and current.cancelling():  # the caller gave up: the SDK turned its
                raise asyncio.CancelledError  # cancellation into an RPC timeout, which is not ours to retry
            log.info("command_retry", operation_id=operation_id, key=key, cause=cause)
            if asyncio.get_running_loop().time() + pause > deadline:
                raise CommandOutcomeUnknown(operation_id, key, cause)
            await asyncio.sleep(pause * random.uniform(0.5, 1.5))
            pause = min(pause * 2, 2.0)

    async def _recorded(self, operation_id: str, event_key: str) -> CommandResult | None:
        """The outcome of a command the audit log holds, by the key its events carry."""
        try:
            records = await asyncio.to_thread(self._audit_log.records_of_command, operation_id, event_key)
        except DBAPIError:
            return None  # the store is unavailable: nothing is known yet
        if not records:
            return None
        state = replay(await asyncio.to_thread(self._audit_log.read, operation_id, records[-1].seq))
        return CommandResult(operation_id=operation_id, events=[r.type for r in records],
                             phase=state.phase or Phase.IDENTIFY, version=state.version,
                             head=ChainHead(seq=records[-1].seq, hash=records[-1].hash))

    async def _rpc_refusal(self, operation_id: str) -> LiaisonError:
        state = await self._closed_state(operation_id)
        if state is not None and state.phase is not None and state.phase.is_terminal:
            return DomainError("wrong_phase", f"operation {operation_id} is {state.phase.value}; "
                               "it accepts no further commands", field="phase")
        if state is not None:
            return Unavailable(f"operation {operation_id} has no running workflow although its "
                               "log shows it open (was its workflow terminated?)")
        return NotFound("operation_id", operation_id, f"operation {operation_id} does not exist")

    async def _closed_state(self, operation_id: str) -> OperationState | None:
        try:
            return await self.state(operation_id)
        except (DomainError, DBAPIError):
            return None

    async def state(self, operation_id: str) -> OperationState:
        """The operation as its audit log has it: the workflow's own state, folded by the same evolve."""
        records = await asyncio.to_thread(self._audit_log.read, operation_id)
        if not records:
            raise NotFound("operation_id", operation_id, f"operation {operation_id} does not exist")
        return replay(records)

    async def chain_head(self, operation_id: str) -> ChainHead:
        """The last audit chain head the workflow recorded: Temporal's independent witness of the log."""
        heads = await witnessed_heads(self._client, operation_id)
        return heads[-1] if heads else ChainHead()

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
        return (await self.state(operation_id)).pending_tasks(member_state)

    async def inbox(self, member_state: str | None) -> list[tuple[str, Task]]:
        """Pending tasks across every operation in PREPARE (of one member state, or all), by asking each
        operation's log: what the read model replaced (bench.inbox measures both)."""
        rows = await self.list(phase=Phase.PREPARE, member_state=member_state)
        pending: list[tuple[str, Task]] = []
        for row in rows:
            try:
                tasks = await self.pending_tasks(row.operation_id, member_state)
            except DomainError:  # listed before its first event is stored: nothing pending yet
                continue
            pending.extend((row.operation_id, task) for task in tasks)
        return sorted(pending, key=lambda item: item[1].due)

    async def history_length(self, operation_id: str) -> int:
        history = await self._client.get_workflow_handle(operation_id).fetch_history()
        return len(history.events)

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
