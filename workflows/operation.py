"""OperationWorkflow: one workflow per operation (workflow id = operation id).

Every command arrives as the `execute` Update. Its validator runs authorisation and the decider,
so a refused command never enters the history; the handler decides again under a lock (the state
may have moved since validation), appends the events to the audit log through an activity, keeps
the chain head the activity returns, then evolves the state.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain import events as ev
    from domain.actors import SYSTEM
    from domain.audit import (
        AuditRecord,
        ChainHead,
        event_id_for,
        event_of,
        extend_chain,
        head_of,
        opening_event_key,
        record_of,
        system_event_key,
        update_event_key,
    )
    from domain.commands import Command, OpenOperation, RecordHit, RecordHitResolution
    from domain.decider import decide, stamp_of
    from domain.errors import DomainError
    from domain.model import ActionDay, DeconflictionHit, HitResolution, Intelligence, Phase, Target, Task
    from domain.notices import notices_for
    from domain.rules import LATEST_RULES, RulesVersion
    from domain.schedule import due_commands, next_deadline
    from domain.state import OperationState, fold
    from workflows.messages import (
        CODE_NAME,
        LEAD_STATE,
        MEMBER_STATES,
        PARKED,
        PHASE,
        PRIORITY,
        AppendRequest,
        CommandResult,
        DeconflictRequest,
        FoundHit,
        HitNotice,
        HitResolutionMessage,
        NotificationRequest,
        OperationInput,
        ReleaseEntriesRequest,
        ServerPolicy,
    )

APPEND_TIMEOUT = timedelta(seconds=30)
NOTIFY_TIMEOUT = timedelta(seconds=30)
POLICY_TIMEOUT = timedelta(seconds=10)
DECONFLICT_TIMEOUT = timedelta(seconds=60)
# Every activity heartbeats (activities/heartbeat.py): one handed to a worker that then died is retried
# on another worker after this long, instead of waiting out its whole start-to-close timeout.
HEARTBEAT_TIMEOUT = timedelta(seconds=3)
SYSTEM_ROLE = "system"
INTERNAL_ERROR = "InternalError"  # the failure type of a bug in deciding a command
# Appends run as regular activities, scheduled only once the workflow task that decided them is
# durable, and carry records the workflow itself numbered and chained. Runs recorded before took a
# local activity that could write for a workflow task later discarded, with per-run random event ids.
DURABLE_CHAINED_APPEND = "durable-chained-append"
# Openings take the scoring and timing of the worker (a local activity), not of the client.
SERVER_POLICY_AT_OPENING = "server-policy-at-opening"
# A run still on the earlier append continues as new at its next wake-up, so that it gets the durable one.
MOVE_RECORDED_RUNS_TO_CHAINED_APPEND = "continue-runs-recorded-before-the-durable-append"
# Runs that open with this decide by rules v2 (and carry them across continue-as-new); runs recorded before, v1.
RULES_V2 = "rules-v2"
# Idempotency keys of the latest commands, carried across continue-as-new (Temporal deduplicates
# update ids within one run only); older ones are found in the audit log by the gateway.
APPLIED_KEYS_KEPT = 1000


APPEND_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=10), non_retryable_error_types=["ChainConflict"])


class AuditIntegrityFailure(Exception):
    """Not an ApplicationError on purpose: outside an update it fails the workflow task, which Temporal
    retries and an operator can see and reset, rather than failing the whole operation for good."""


def _integrity_failure(message: str) -> Exception:
    if workflow.current_update_info() is not None:  # the update fails; the operation goes on
        return ApplicationError(message, type="AuditStoreMismatch", non_retryable=True)
    return AuditIntegrityFailure(message)


def _update_key() -> str:
    """The idempotency key of the update being handled: its Temporal update id."""
    info = workflow.current_update_info()
    assert info is not None, "only called from the execute update"
    return info.id


def _refusal(error: DomainError) -> ApplicationError:
    return ApplicationError(error.message, error.as_dict(), type=error.code, non_retryable=True)


@workflow.defn(name="OperationWorkflow")
class OperationWorkflow:
    @workflow.init
    def __init__(self, start: OperationInput) -> None:
        # State comes from the input here, not in run(): an update may be handled before run starts.
        self._input = start
        self._state = start.state or OperationState()
        self._head = start.head
        self._lock = asyncio.Lock()
        self._changed = False
        self._events_this_run = 0
        self._inbox: list[Command] = []  # system commands from other operations' signals
        self._settled = start.state is not None  # opened, and its opening deconfliction check done
        self._routes = dict(start.routes)  # hit id -> the other operation, which users never see
        self._applied: dict[str, CommandResult] = dict(start.applied)  # idempotency key -> its result
        self._deadline_reached: datetime | None = None
        self._appending: OperationState | None = None  # the state once the append under way is stored
        self._adopt_stored_tail = False  # set by an operator after a reset: see adopt_stored_tail
        self._earlier_append = False  # this run was recorded with the local-activity append
        self._wakes_on_earlier_append = 0
        self._adopted = False  # this run adopted stored events after a reset
        self._rules: RulesVersion | None = start.rules  # asked in run() when not carried over: _rules_version

    @workflow.run
    async def run(self, start: OperationInput) -> OperationState:
        self._rules_version()  # asked before this run decides anything of its own
        if start.state is None and start.open_command is not None:
            async with self._lock:  # updates that arrive meanwhile wait for the opening and its checks
                opening = await self._with_server_policy(start.open_command)
                await self._apply(opening.model_copy(update={"issued_at": self._now()}),
                                  key=opening_event_key(start.open_key or ""))
        self._settled = True
        while self._state.phase is not None and not self._state.phase.is_terminal:
            await self._wait_for_change_or_deadline()
            if self._adopt_stored_tail:  # before anything is decided from the state of the reset point
                async with self._lock:
                    await self._adopt_tail()
            await self._run_inbox()
            await self._run_due_commands()
            if self._should_continue_as_new() or self._on_the_earlier_append():
                if workflow.patched("drain-before-continue-as-new"):
                    await self._drain_before_continuing()
                else:  # as runs recorded before the drain did
                    await workflow.wait_condition(workflow.all_handlers_finished)
                    while self._inbox:
                        await self._run_inbox()
                workflow.continue_as_new(start.model_copy(update={
                    "open_command": None, "state": self._state, "head": self._head, "routes": self._routes,
                    "applied": self._applied, "rules": self._rules_version()}))
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._state

    async def _with_server_policy(self, command: OpenOperation) -> OpenOperation:
        """The opening with the server's scoring and timing where the caller left them to the server
        (every service does): the worker's settings, read once here and recorded in operation_opened."""
        if command.scoring is not None and command.timing is not None:
            return command  # set by a server-side caller (tests, benchmarks), and by every recorded run
        workflow.patched(SERVER_POLICY_AT_OPENING)
        policy: ServerPolicy = await workflow.execute_local_activity(
            "server_policy", result_type=ServerPolicy, start_to_close_timeout=POLICY_TIMEOUT)
        return command.model_copy(update={"scoring": command.scoring or policy.scoring,
                                          "timing": command.timing or policy.timing})

    # --- commands ---------------------------------------------------------------------------------

    @workflow.update
    async def execute(self, command: Command) -> CommandResult:
        key = _update_key()
        async with self._lock:
            if key in self._applied:  # a retry, after continue-as-new, of a command applied before
                return self._applied[key]
            events = await self._apply(command.model_copy(update={"issued_at": self._now()}),
                                       key=update_event_key(key))
            result = CommandResult(operation_id=self._state.operation_id, events=[e.type for e in events],
                                   phase=self._state.phase or Phase.IDENTIFY, version=self._state.version,
                                   head=self._head)
            self._remember(key, result)
        return result

    @execute.validator
    def validate(self, command: Command) -> None:
        if command.actor.role.value == SYSTEM_ROLE:
            raise _refusal(DomainError("not_authorised", "commands of the system actor are issued by the "
                                                          "workflow itself", field="actor", value=SYSTEM_ROLE))
        if _update_key() in self._applied:
            return  # answered with its recorded result, not decided again
        stamped = command.model_copy(update={"issued_at": self._now()})
        rules = self._rules_to_validate_by()
        try:
            decide(self._state, stamped, stamp_of(stamped), rules)
        except DomainError as error:
            if self._appending is None:
                raise _refusal(error) from None
            # Events being appended are already in the log that clients read: a command valid once they
            # are applied is accepted, and decided again by the handler when they are.
            try:
                decide(self._appending, stamped, stamp_of(stamped), rules)
            except DomainError as pending_error:
                raise _refusal(pending_error) from None
        except Exception as error:  # a bug, not a refusal: said so, so that the caller does not retry it
            raise ApplicationError(f"deciding {command.kind} failed: {type(error).__name__}: {error}",
                                   type=INTERNAL_ERROR, non_retryable=True) from None

    @workflow.update
    async def opened_state(self) -> OperationState:
        """The state once the operation is open and its targets are checked for deconfliction. An
        update, not a query: no read path of the product queries the workflow (see README)."""
        await workflow.wait_condition(lambda: self._settled)
        return self._state

    @workflow.signal
    async def deconfliction_hit(self, notice: HitNotice) -> None:
        """Another operation found a hit with this one; this is our side of it."""
        self._routes.setdefault(notice.hit.hit_id, notice.from_operation_id)
        self._inbox.append(RecordHit(actor=SYSTEM, hit=notice.hit, justification="found by the other operation"))

    @workflow.signal
    async def deconfliction_resolved(self, message: HitResolutionMessage) -> None:
        self._inbox.append(RecordHitResolution(actor=SYSTEM, hit_id=message.hit_id, resolution=message.resolution,
                                               resolved_by=message.resolved_by,
                                               justification="resolved by the other operation"))

    @workflow.signal
    async def adopt_stored_tail(self) -> None:
        """Recovery after `temporal workflow reset` (README): the log may hold events of the run that was
        reset away, appended after the reset point. Before deciding anything more, the workflow reads
        the events stored past its head (continuing its own chain) and folds them into its state."""
        self._adopt_stored_tail = True

    @workflow.query
    def state(self) -> OperationState:
        return self._state

    @workflow.query
    def opened(self) -> OperationState | None:
        """The state once the operation is open and its targets are checked for deconfliction."""
        return self._state if self._settled else None

    @workflow.query
    def head(self) -> ChainHead:
        return self._head

    @workflow.query
    def pending_tasks(self, member_state: str | None = None) -> list[Task]:
        return self._state.pending_tasks(member_state)

    # --- internals --------------------------------------------------------------------------------

    async def _apply(self, command: Command, key: str | None = None) -> list[ev.Event]:
        """Decide, append, evolve. key: the command's idempotency key; system commands are keyed by
        the position of their first event, which is theirs alone once recorded."""
        if self._adopt_stored_tail:
            await self._adopt_tail()
        try:
            events = decide(self._state, command, stamp_of(command), self._rules_version())
        except DomainError as error:
            raise _refusal(error) from None
        applied = fold(events, self._state)
        self._appending = applied
        try:
            await self._append(events, key or system_event_key(self._head.seq + 1))
        finally:
            self._appending = None
        before, self._state = self._state, applied
        self._events_this_run += len(events)
        self._changed = True
        self._upsert_search_attributes(before)
        await self._notify(events)
        for event in events:
            await self._deconflict_after(event, echoed=isinstance(command, RecordHitResolution))
        return events

    # --- deconfliction ----------------------------------------------------------------------------

    async def _deconflict_after(self, event: ev.Event, echoed: bool) -> None:
        """Check what is new against other operations; tell the other side what we resolved
        (unless the resolution came from it)."""
        match event:
            case ev.OperationOpened(spec=spec):
                await self._deconflict(targets=list(spec.targets), items=list(spec.intelligence))
            case ev.TargetAdded(target=target):
                await self._deconflict(targets=[target])
            case ev.IntelligenceAdded(item=item):
                await self._deconflict(items=[item])
            case ev.ActionDayScheduled(action_day=day):
                await self._release_entries([day.action_day_id])
                await self._deconflict(action_days=[day])
            case ev.ActionDayCancelled(action_day_id=day_id):
                await self._release_entries([day_id])
            case ev.DeconflictionHitResolved(hit_id=hit_id, resolution=resolution, resolved_by=who):
                if not echoed:
                    await self._tell_other_side(hit_id, "deconfliction_resolved", HitResolutionMessage(
                        hit_id=hit_id, resolution=resolution, resolved_by=who))
                self._routes.pop(hit_id, None)  # a resolved hit has nothing more to say
            case ev.OperationClosed() | ev.OperationCancelled():
                await self._release_entries(None)

    async def _deconflict(self, targets: list[Target] | None = None, action_days: list[ActionDay] | None = None,
                          items: list[Intelligence] | None = None) -> None:
        items = [item for item in items or [] if item.identifiers]
        if not targets and not action_days and not items:
            return
        state = self._state
        request = DeconflictRequest(operation_id=state.operation_id, point_of_contact=state.point_of_contact,
                                    handling_code=state.handling_code, targets=targets or [],
                                    action_days=action_days or [], items=items)
        found: list[FoundHit] = await workflow.execute_activity(
            "deconflict", request, result_type=list[FoundHit], start_to_close_timeout=DECONFLICT_TIMEOUT,
            heartbeat_timeout=HEARTBEAT_TIMEOUT)
        for hit in found:
            if hit.hit_id in self._state.hits:
                continue
            ours = DeconflictionHit(hit_id=hit.hit_id, kind=hit.kind, matched=hit.matched, own_ref=hit.own_ref,
                                    other_state=hit.other_state, other_contact=hit.other_contact,
                                    other_handling_code=hit.other_handling_code)
            self._routes[hit.hit_id] = hit.other_operation_id
            await self._apply(RecordHit(actor=SYSTEM, hit=ours, justification="deconfliction check",
                                        issued_at=self._now()))
            mirror = DeconflictionHit(hit_id=hit.hit_id, kind=hit.kind, matched=hit.matched, own_ref=hit.other_ref,
                                      other_state=self._state.our_states_in(ours)[0],
                                      other_contact=state.point_of_contact,
                                      other_handling_code=self._state.handling_code_of(hit.own_ref))
            told = await self._tell_other_side(hit.hit_id, "deconfliction_hit",
                                               HitNotice(hit=mirror, from_operation_id=state.operation_id))
            if not told and self._state.hits[hit.hit_id].is_open:  # its entries outlived it: nothing to resolve with
                await self._apply(RecordHitResolution(
                    actor=SYSTEM, hit_id=hit.hit_id, resolution=HitResolution.TARGET_WITHDRAWN,
                    resolved_by=f"liaison ({hit.other_state})", issued_at=self._now(),
                    justification="the other operation had already ended"))

    async def _tell_other_side(self, hit_id: str, signal: str, message: object) -> bool:
        """Signal the other operation of a hit; False when it cannot be reached (it has ended)."""
        operation_id = self._routes.get(hit_id)
        if operation_id is None:  # a hit recorded before routes were kept: its officers tell each other
            workflow.logger.warning("no route to the other operation of hit %s; %s not sent", hit_id, signal)
            return False
        try:
            await workflow.get_external_workflow_handle(operation_id).signal(signal, message)
        except Exception as error:  # the other operation ended meanwhile (Temporal's only failure cause here)
            workflow.logger.warning("could not signal %s to %s: %s", signal, operation_id, error)
            return False
        return True

    async def _release_entries(self, refs: list[str] | None) -> None:
        await workflow.execute_activity("release_entries", ReleaseEntriesRequest(
            operation_id=self._state.operation_id, refs=refs), start_to_close_timeout=DECONFLICT_TIMEOUT,
            heartbeat_timeout=HEARTBEAT_TIMEOUT)

    async def _drain_before_continuing(self) -> None:
        """Return only when no update is running or waiting and no signal's command is pending: an
        update accepted while the inbox ran would otherwise be dropped by continue-as-new, and a
        signal's command is not carried across. Nothing may await between this and continue-as-new."""
        while True:
            await workflow.wait_condition(workflow.all_handlers_finished)
            if not self._inbox:
                return
            await self._run_inbox()

    async def _run_inbox(self) -> None:
        async with self._lock:
            while self._inbox:
                command = self._inbox.pop(0).model_copy(update={"issued_at": self._now()})
                try:
                    decide(self._state, command, stamp_of(command), self._rules_version())
                except DomainError as error:  # e.g. both sides found the same hit
                    workflow.logger.info("inbox command %s not applied: %s", command.kind, error)
                    continue
                await self._apply(command)

    async def _append(self, events: list[ev.Event], key: str) -> None:
        operation_id = self._state.operation_id or self._operation_id()
        if not workflow.patched(DURABLE_CHAINED_APPEND):
            self._earlier_append = True
            await self._append_as_recorded_before(operation_id, events)
            return
        records = extend_chain(self._head, [record_of(operation_id, 0, event_id_for(operation_id, key, i), event)
                                            for i, event in enumerate(events)])
        expected = head_of(records, self._head)
        try:
            stored: ChainHead = await workflow.execute_activity(
                "append_events", AppendRequest(stream_id=operation_id, records=records, expected_head=self._head),
                result_type=ChainHead, start_to_close_timeout=APPEND_TIMEOUT, heartbeat_timeout=HEARTBEAT_TIMEOUT,
                retry_policy=APPEND_RETRY)
        except ActivityError as error:  # only a ChainConflict is not retried
            raise _integrity_failure(str(error.cause or error)) from None
        if workflow.unsafe.is_replaying():
            # The head recorded in the history is what the live run checked; a replay's clock can differ
            # from the live one's (see _now), and with it the records' times and hashes.
            self._head = stored
            return
        if stored != expected:  # the store answered with a record that is not the one decided
            raise _integrity_failure(
                f"the audit store answered #{stored.seq} {stored.hash[:12]}… for an append whose chain ends at "
                f"#{expected.seq} {expected.hash[:12]}…; the command is not applied")
        self._head = expected

    async def _append_as_recorded_before(self, operation_id: str, events: list[ev.Event]) -> None:
        records = [record_of(operation_id, self._head.seq + i, str(workflow.uuid4()), event)
                   for i, event in enumerate(events, start=1)]
        request = AppendRequest(stream_id=operation_id, records=records, expected_head=self._head)
        try:
            if self._input.append_as_local_activity:
                self._head = await workflow.execute_local_activity(
                    "append_events", request, result_type=ChainHead,
                    start_to_close_timeout=APPEND_TIMEOUT, retry_policy=APPEND_RETRY)
            else:
                self._head = await workflow.execute_activity(
                    "append_events", request, result_type=ChainHead,
                    start_to_close_timeout=APPEND_TIMEOUT, retry_policy=APPEND_RETRY)
        except ActivityError as error:
            raise _integrity_failure(str(error.cause or error)) from None

    async def _adopt_tail(self) -> None:
        try:
            tail: list[AuditRecord] = await workflow.execute_activity(
                "stored_tail", AppendRequest(stream_id=self._state.operation_id or self._operation_id(), records=[],
                                             expected_head=self._head),
                result_type=list[AuditRecord], start_to_close_timeout=APPEND_TIMEOUT,
                heartbeat_timeout=HEARTBEAT_TIMEOUT, retry_policy=APPEND_RETRY)
        except ActivityError as error:
            raise _integrity_failure(str(error.cause or error)) from None
        before = self._state
        self._state = fold((event_of(record) for record in tail), self._state)
        self._head = head_of(tail, self._head)
        self._adopt_stored_tail = False
        self._adopted = True
        self._changed = True
        self._upsert_search_attributes(before)
        workflow.logger.warning("adopted %d stored events past the head after a reset; head now #%d",
                                len(tail), self._head.seq)

    def _remember(self, key: str, result: CommandResult) -> None:
        self._applied[key] = result
        while len(self._applied) > APPLIED_KEYS_KEPT:
            del self._applied[next(iter(self._applied))]

    async def _notify(self, events: list[ev.Event]) -> None:
        requests = [
            NotificationRequest(notification_id=f"{self._state.operation_id}:{self._head.seq}:{i}:{n}",
                                operation_id=self._state.operation_id, kind=notice.kind,
                                recipient_role=notice.recipient_role.value,
                                recipient_state=notice.recipient_state, message=notice.message)
            for i, event in enumerate(events) for n, notice in enumerate(notices_for(self._state, event))
        ]
        for request in requests:
            await workflow.execute_activity("notify", request, start_to_close_timeout=NOTIFY_TIMEOUT,
                                            heartbeat_timeout=HEARTBEAT_TIMEOUT)

    def _operation_id(self) -> str:
        return self._input.operation_id

    def _upsert_search_attributes(self, before: OperationState) -> None:
        state = self._state
        if (before.phase, before.priority, before.parked) == (state.phase, state.priority, state.parked):
            return
        assert state.phase is not None
        updates: list[SearchAttributeUpdate[Any]] = [
                   PHASE.value_set(state.phase.value), CODE_NAME.value_set(state.code_name),
                   LEAD_STATE.value_set(state.lead_state),
                   MEMBER_STATES.value_set(list(state.participating_states)),
                   PARKED.value_set(state.parked)]
        if state.priority is not None:
            updates.append(PRIORITY.value_set(state.priority))
        workflow.upsert_search_attributes(updates)

    async def _wait_for_change_or_deadline(self) -> None:
        self._changed = False
        deadline = next_deadline(self._state)
        if deadline is None:
            await workflow.wait_condition(lambda: self._woken())
            return
        remaining = (deadline - self._now()).total_seconds()
        if remaining <= 0:
            return
        try:
            await workflow.wait_condition(lambda: self._woken(), timeout=remaining)
        except TimeoutError:
            self._deadline_reached = max(deadline, self._deadline_reached or deadline)

    def _now(self) -> datetime:
        """The workflow's time, never before a deadline whose timer has fired. A worker that answered
        a query for a workflow whose timer had fired meanwhile can hand the next workflow task the
        clock of the task that started the timer (see README, "Watching never breaks an operation");
        taking the fired timer as the deadline reached keeps the decisions those of a replay."""
        now = workflow.now()
        return max(now, self._deadline_reached) if self._deadline_reached else now

    def _rules_version(self) -> RulesVersion:
        """The rules this run decides by. A rule change adds a RulesVersion and is chosen here, behind
        workflow.patched("rules-vN"), so that recorded histories replay under the rules they ran by. Asked
        once per run and kept (and carried across continue-as-new, so an operation keeps the rules it
        opened with): first thing in run(), or earlier when an update of the run's first workflow task is
        handled before run() starts (the SDK runs such handlers first), at the same point on replay."""
        if self._rules is None:
            self._rules = RulesVersion.V2 if workflow.patched(RULES_V2) else RulesVersion.V1
        return self._rules

    def _rules_to_validate_by(self) -> RulesVersion:
        """The validator's rules: it may not call workflow.patched. Not asked yet only in a run's first
        workflow task, before run() starts; validators run live only, and live an unasked patch is taken."""
        return self._rules or LATEST_RULES

    def _woken(self) -> bool:
        return self._changed or bool(self._inbox) or self._adopt_stored_tail or self._should_continue_as_new()

    async def _run_due_commands(self) -> None:
        async with self._lock:
            while not (self._state.phase is None or self._state.phase.is_terminal):
                due = due_commands(self._state, self._now())
                if not due:
                    return
                if self._adopted and self._refused(due[0]):  # the adopted log may already hold it
                    return
                await self._apply(due[0])

    def _refused(self, command: Command) -> bool:
        try:
            decide(self._state, command, stamp_of(command), self._rules_version())
        except DomainError as error:
            workflow.logger.warning("due command %s not applied after adopting the log: %s", command.kind, error)
            return True
        return False

    def _on_the_earlier_append(self) -> bool:
        """Only for runs on the earlier append, in the main loop (never in a wait condition). One patch id
        per wake-up: a replay answers False for the wake-ups before the live one that first asked (the
        SDK memoises an id's first answer, and those were replayed), True at that one, as it was live."""
        if not self._earlier_append:
            return False
        self._wakes_on_earlier_append += 1
        return workflow.patched(f"{MOVE_RECORDED_RUNS_TO_CHAINED_APPEND}-{self._wakes_on_earlier_append}")

    def _should_continue_as_new(self) -> bool:
        cap = self._input.continue_as_new_after_events
        return workflow.info().is_continue_as_new_suggested() or (
            cap is not None and self._events_this_run >= cap)
