"""Operations: open, command, and read them. Every method takes the authenticated actor; reads take a
purpose, are authorised and redacted here, and are logged with their outcome."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import structlog

from domain import commands as cmd
from domain import events as ev
from domain.actors import Actor
from domain.audit import event_of
from domain.errors import DomainError, InvalidInput, NotAuthorised, NotFound
from domain.model import Intelligence
from domain.principal_events import is_operation_stream
from domain.state import OperationState
from domain.visibility import (
    READ_ANY_OPERATION,
    as_seen_by,
    hidden_matches,
    redact,
    require_reader,
    require_visible,
    visible_items,
    withheld_line,
)
from gateway.audit import TimelineEntry, replay, timeline
from gateway.operations import new_idempotency_key
from services.consultations import ConsultationService
from services.ports import StepUp, Temporal
from services.record_views import Opening
from services.security import SecurityService
from services.views import CommandOutcome, Created, OperationFilter
from store.audit_log import AuditLog
from store.projections import Projector
from store.read_models import OperationSummary, ReadModels

log = structlog.get_logger(__name__)


CREATING_EVENTS = frozenset({"target_added", "intelligence_added", "task_planned", "action_day_scheduled"})


def created_by(event: ev.Event) -> Created | None:
    """The id of what an event made, for the caller's next command (a task id to approve, a day to cancel)."""
    match event:
        case ev.TargetAdded(target=target):
            return Created(kind="target", id=target.target_id)
        case ev.IntelligenceAdded(item=item):
            return Created(kind="intelligence_item", id=item.item_id)
        case ev.TaskPlanned(task=task):
            return Created(kind="task", id=task.task_id)
        case ev.ActionDayScheduled(action_day=day):
            return Created(kind="action_day", id=day.action_day_id)
    return None


def _kind_of(request: cmd.Request) -> str:
    return str(cmd.COMMAND_OF_REQUEST[type(request)].model_fields["kind"].default)


class OperationService:
    def __init__(self, temporal: Temporal, audit_log: AuditLog, consultations: ConsultationService,
                 read_models: ReadModels, projector: Projector, security: SecurityService, step_up: StepUp, *,
                 open_patience: timedelta = timedelta(seconds=15)) -> None:
        self._security = security
        self._step_up = step_up
        self._temporal = temporal
        self._audit_log = audit_log
        self._consultations = consultations
        self._read_models = read_models
        self._projector = projector
        self._open_patience = open_patience

    # --- commands ---------------------------------------------------------------------------------

    async def open(self, actor: Actor, request: cmd.OpenOperationRequest, key: str | None = None) -> Opening:
        if not is_operation_stream(request.operation_id):
            raise InvalidInput("operation_id", request.operation_id, "operation_id: may not start with '@' "
                               "(the audit log's own streams do)")
        command = cmd.command_from(request, actor)
        assert isinstance(command, cmd.OpenOperation)
        gateway = await self._temporal.gateway()
        key = await gateway.start(command, key)
        try:
            state = await asyncio.wait_for(gateway.opened(command.operation_id, key),
                                           self._open_patience.total_seconds())
        except TimeoutError:
            log.warning("opening_pending", operation_id=command.operation_id, key=key)
            return Opening(operation_id=command.operation_id, key=key, status="pending")
        await self._caught_up(command.operation_id, state.version)
        return Opening(operation_id=command.operation_id, key=key, status="opened", state=as_seen_by(actor, state))

    async def send(self, actor: Actor, operation_id: str, request: cmd.Request, key: str | None = None, *,
                   one_time_code: str | None = None) -> CommandOutcome:
        """Apply a command once per idempotency key; the reply comes once the read models hold it. A
        refused command changes nothing and is written to the security log: who tried what, which rule."""
        structlog.contextvars.bind_contextvars(operation_id=operation_id, workflow_id=operation_id)
        try:
            command = await self._command(actor, request, one_time_code)
            gateway = await self._temporal.gateway()
            key = key or new_idempotency_key()
            result = await gateway.send(operation_id, command, key=key)
        except DomainError as refusal:
            self._security.refused(actor, _kind_of(request), refusal, operation_id)
            raise
        await self._caught_up(operation_id, result.head.seq)
        created: list[Created] = []
        if CREATING_EVENTS.intersection(result.events):  # what it made, by the ids its events carry
            recorded = await gateway.recorded_events(operation_id, command, key, len(result.events))
            created = [made for event in recorded if (made := created_by(event)) is not None]
        return CommandOutcome(operation_id=operation_id, key=key, events=result.events, phase=result.phase,
                              seq=result.head.seq, created=created)

    async def _command(self, actor: Actor, request: cmd.Request, one_time_code: str | None) -> cmd.Command:
        if isinstance(request, cmd.ReportResultsRequest) and request.member_state is None:
            request = request.model_copy(update={"member_state": actor.member_state or ""})
        if isinstance(request, cmd.ApproveTaskRequest | cmd.RejectTaskRequest):
            step_up = await asyncio.to_thread(self._step_up.fields, actor, one_time_code)
            accepted = cmd.server_set_fields(cmd.COMMAND_OF_REQUEST[type(request)])
            return cmd.command_from(request, actor, **{k: v for k, v in step_up.items() if k in accepted})
        return cmd.command_from(request, actor)

    async def _caught_up(self, operation_id: str, seq: int) -> None:
        """Read-your-writes: the read models hold the command's events before the reply goes out. The
        append activity projects them; this catches up should it have failed or not run yet."""
        try:
            if await asyncio.to_thread(self._read_models.projected_seq, operation_id) < seq:
                await asyncio.to_thread(self._projector.catch_up, operation_id)
        except Exception as error:  # the command is recorded: never report it failed; lists catch up later
            log.warning("read_models_behind", operation_id=operation_id, seq=seq, error=str(error), exc_info=True)

    # --- reads ------------------------------------------------------------------------------------

    async def state(self, operation_id: str) -> OperationState:
        """The operation as its audit log has it, unredacted: for the services, never a reply."""
        records = await asyncio.to_thread(self._audit_log.read, operation_id)
        if not records:
            raise NotFound("operation_id", operation_id, f"operation {operation_id} does not exist")
        return replay(records)

    async def show(self, actor: Actor, purpose: str | None, operation_id: str) -> OperationState:
        async def read() -> OperationState:
            return as_seen_by(actor, require_reader(actor, await self.state(operation_id)))

        return await self._consultations.reading(actor, purpose, "operation show", [operation_id], read)

    async def timeline(self, actor: Actor, purpose: str | None, operation_id: str) -> list[TimelineEntry]:
        async def read() -> list[TimelineEntry]:
            records = await asyncio.to_thread(self._audit_log.read, operation_id)
            if not records:
                raise NotFound("operation_id", operation_id, f"operation {operation_id} has no events in the "
                               "audit log")
            state = require_reader(actor, replay(records))
            matches = hidden_matches(actor, state)
            entries = []
            for record, entry in zip(records, timeline(records), strict=True):
                withheld = withheld_line(actor, state, event_of(record))
                shown = ({"summary": withheld, "justification": ""} if withheld is not None else
                         {"summary": redact(entry.summary, matches),
                          "justification": redact(entry.justification, matches)})
                entries.append(entry.model_copy(update=shown))
            return entries

        return await self._consultations.reading(actor, purpose, "operation timeline", [operation_id], read)

    async def intelligence(self, actor: Actor, purpose: str | None, operation_id: str,
                           item_id: str | None = None) -> list[Intelligence]:
        """Items the actor may see; asking for one it may not see is refused, naming the rule."""
        async def read() -> list[Intelligence]:
            state = require_reader(actor, await self.state(operation_id))
            if item_id is None:
                return visible_items(actor, state)
            item = state.item(item_id)
            if item is None:
                raise NotFound("item_id", item_id, f"item_id: {item_id!r} is not an intelligence item of "
                               f"{operation_id}")
            return [require_visible(item, actor, state)]

        action = "operation intel" + (f" {item_id}" if item_id else "")
        return await self._consultations.reading(actor, purpose, action, [operation_id], read)

    async def list(self, actor: Actor, purpose: str | None, where: OperationFilter) -> list[OperationSummary]:
        """The operations the actor may read (a state or partner: those it takes part in), from the read
        model, one indexed query; logged per row shown."""
        participant = None if actor.role in READ_ANY_OPERATION else actor.member_state or "-"

        async def read() -> list[OperationSummary]:
            rows = await asyncio.to_thread(self._read_models.summaries, where.phase, where.member_state,
                                           where.min_priority, where.parked, participant)
            if participant is None:
                return rows
            # The reasons name what matched in hits, which may be a withheld target's: `show` redacts them
            # for the reader; a list says only that the operation is blocked.
            return [row.model_copy(update={"blocked_reasons": []}) for row in rows]

        return await self._consultations.reading(actor, purpose, "operation list", [], read,
                                                 served=lambda rows: [row.operation_id for row in rows])

    async def version(self, actor: Actor, operation_id: str) -> int:
        """The operation's version as the read models hold it, for a page that polls for a change. A number
        and no operation data: authorised like a read, not logged as a consultation (a page asks every
        second or two; what it then shows is read, and logged, through show and timeline)."""
        summary = await asyncio.to_thread(self._read_models.summary, operation_id)
        if summary is None:
            raise NotFound("operation_id", operation_id, f"operation {operation_id} does not exist")
        takes_part = actor.member_state is not None and actor.member_state in {
            summary.lead_state, *summary.member_states, *summary.partners}
        if actor.role not in READ_ANY_OPERATION and not takes_part:
            raise NotAuthorised(f"{actor.describe()} may not read operation {operation_id}")
        return summary.version
