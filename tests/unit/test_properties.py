"""Properties over random command sequences: refusals change nothing, the auditor's replay (fold of
every emitted event) equals the live state, and events survive the audit-record encoding."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain import commands as cmd
from domain import events as ev
from domain.actors import SYSTEM, Actor
from domain.audit import (
    GENESIS_HASH,
    ChainHead,
    chain_hash,
    chained,
    event_of,
    record_of,
    verify_chain,
)
from domain.decider import decide
from domain.errors import DomainError
from domain.model import Intelligence, Phase, Place, Results, Target, TaskKind, TaskStatus
from domain.state import OperationState, evolve, fold
from tests.unit.builders import (
    AUDITOR,
    COORDINATOR,
    STATES,
    Driver,
    approver,
    assessment,
    officer,
)

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

CODES = ("BG", "EL", "DE", "gr", "FR", "XX", "RS")
ACTORS: tuple[Actor, ...] = (
    COORDINATOR, AUDITOR, SYSTEM,
    *(approver(s, n) for s in STATES for n in (1, 2)), approver("FR"),
    *(officer(s) for s in (*STATES, "FR")),
)
TASK_IDS = ("TK1", "TK2", "TK3", "TK4")
REASONS = st.sampled_from(["", " ", "operational need"])
ZONES = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5))])

# the actor the rules expect for each kind: drawn most of the time so sequences make progress
RIGHT_ACTOR: dict[str, st.SearchStrategy[Actor]] = {
    "add_target": st.sampled_from([COORDINATOR, *(officer(s) for s in STATES)]),
    "add_intelligence": st.sampled_from([COORDINATOR, *(officer(s) for s in STATES)]),
    "approve_task": st.sampled_from([approver(s, n) for s in STATES for n in (1, 2)]),
    "reject_task": st.sampled_from([approver(s, n) for s in STATES for n in (1, 2)]),
    "report_results": st.sampled_from([officer(s) for s in STATES]),
    "remind_approval": st.just(SYSTEM), "escalate_approval": st.just(SYSTEM),
    "start_execution": st.just(SYSTEM), "close_operation": st.just(SYSTEM),
}
KINDS = ("add_target", "add_intelligence", "submit_for_prioritisation", "decide_priority",
         "plan_task", "approve_task", "reject_task", "replan_task", "drop_task",
         "schedule_action_day", "report_results", "cancel_operation", "remind_approval",
         "escalate_approval", "start_execution", "close_operation", "open_operation")
# weights: the kinds that move an operation forward come up more often
KIND_WEIGHTS = {"approve_task": 4, "plan_task": 3, "report_results": 4, "start_execution": 3,
                "submit_for_prioritisation": 2, "decide_priority": 2, "schedule_action_day": 2,
                "cancel_operation": 1, "open_operation": 1}
WEIGHTED_KINDS = [k for k in KINDS for _ in range(KIND_WEIGHTS.get(k, 1))]

grades = st.integers(1, 5)
assessments = st.builds(assessment, grades, harm_to_lives=grades, violence=grades)
results = st.builds(Results, arrests=st.integers(0, 20), searches=st.integers(0, 20),
                    seizures=st.integers(0, 5),
                    assets_frozen_eur=st.floats(0, 1e7, allow_nan=False, allow_infinity=False),
                    victims_safeguarded=st.integers(0, 9))
offsets = st.sampled_from([timedelta(hours=-2), timedelta(0), timedelta(hours=6), timedelta(days=1),
                           timedelta(days=3), timedelta(days=8)])


def guided(draw: st.DrawFn, state: OperationState) -> Any | None:
    """A command that moves the operation on from where it is, or None when there is none."""
    if state.phase is Phase.EXECUTE:
        missing = [s for s in state.participating_states if s not in state.results]
        code = draw(st.sampled_from(missing))
        return cmd.ReportResults(actor=officer(code), member_state=code, results=draw(results))
    if state.phase is Phase.PREPARE:
        pending = [t for t in state.tasks.values() if t.status is TaskStatus.PENDING]
        approve_one: bool = bool(pending) and draw(st.booleans())
        if approve_one:
            task = draw(st.sampled_from(pending))
            return cmd.ApproveTask(actor=approver(task.member_state, draw(st.integers(1, 2))),
                                   task_id=task.task_id)
        return cmd.StartExecution(actor=SYSTEM)
    return None


@st.composite
def commands(draw: st.DrawFn, now: datetime, state: OperationState) -> Any:
    """One command of any kind, mostly by the right actor, with parameters valid or not."""
    if draw(st.integers(0, 9)) < 3:
        command = guided(draw, state)
        if command is not None:
            return command
    kind = draw(st.sampled_from(WEIGHTED_KINDS))
    if draw(st.integers(0, 9)) < 8:
        actor = draw(RIGHT_ACTOR.get(kind, st.just(COORDINATOR)))
    else:
        actor = draw(st.sampled_from(ACTORS))
    justification = draw(REASONS)
    base: dict[str, Any] = {"actor": actor, "justification": justification}
    code = draw(st.sampled_from(CODES))
    task_id = draw(st.sampled_from(TASK_IDS))
    when = now + draw(offsets)
    match kind:
        case "open_operation":
            from tests.unit.builders import spec
            return cmd.OpenOperation(operation_id="op-again", spec=spec(), **base)
        case "add_target":
            return cmd.AddTarget(target=Target(
                name=draw(st.sampled_from(["Ivan Petrov", "Eleni K.", "Acme Ltd"])),
                contributed_by=draw(st.sampled_from(["", code])),
                network=draw(st.sampled_from([None, "Northwind network", "Other"]))), **base)
        case "add_intelligence":
            return cmd.AddIntelligence(item=Intelligence(
                summary="seen at the port", contributed_by=draw(st.sampled_from(["", code])),
                linked_targets=tuple(draw(st.lists(st.sampled_from(["TG1", "TG2", "Ivan Petrov",
                                                                     "Ghost"]), max_size=2)))),
                **base)
        case "submit_for_prioritisation":
            return cmd.SubmitForPrioritisation(assessment=draw(assessments), **base)
        case "decide_priority":
            override = draw(st.one_of(st.none(), st.floats(0, 100, allow_nan=False)))
            return cmd.DecidePriority(override_score=override, **base)
        case "plan_task":
            return cmd.PlanTask(member_state=code, task_kind=draw(st.sampled_from(list(TaskKind))),
                                description="task", due=when, four_eyes=draw(st.booleans()), **base)
        case "approve_task":
            return cmd.ApproveTask(task_id=task_id, **base)
        case "reject_task":
            return cmd.RejectTask(task_id=task_id, **base)
        case "replan_task":
            return cmd.ReplanTask(task_id=task_id, due=draw(st.sampled_from([None, when])),
                                  four_eyes=draw(st.sampled_from([None, True, False])), **base)
        case "drop_task":
            return cmd.DropTask(task_id=task_id, **base)
        case "schedule_action_day":
            length = draw(st.sampled_from([timedelta(hours=-1), timedelta(hours=8)]))
            return cmd.ScheduleActionDay(start=when, end=when + length,
                                         places=(Place(name="port", country=code),), **base)
        case "report_results":
            # mostly the actor's own state, so that operations get closed
            own = actor.member_state or code
            return cmd.ReportResults(member_state=draw(st.sampled_from([own, own, code])),
                                     results=draw(results), **base)
        case "cancel_operation":
            return cmd.CancelOperation(**base)
        case "remind_approval":
            return cmd.RemindApproval(task_id=task_id, **base)
        case "escalate_approval":
            return cmd.EscalateApproval(task_id=task_id, **base)
        case "start_execution":
            return cmd.StartExecution(**base)
        case "close_operation":
            return cmd.CloseOperation(**base)
    raise AssertionError(kind)


@st.composite
def runs(draw: st.DrawFn) -> tuple[OperationState, list[ev.Event], list[tuple[Any, bool]]]:
    """An opened operation, then random commands at times moving forward, each decided and folded."""
    d = Driver().open()
    # start most runs from a phase further on, so later phases get their share of random commands
    start = draw(st.sampled_from(["identify", "prioritise", "prepare", "ready"]))
    if start != "identify":
        d.submit(assessment(5))
    if start in ("prepare", "ready"):
        d.confirm()
    if start == "ready":
        for code in STATES:
            d.approve(d.plan(code), approver(code))
        d.schedule(start_in=timedelta(days=1))
    state, emitted, log = d.state, list(d.events), []
    now = d.now
    for _ in range(draw(st.integers(1, 25))):
        now += draw(st.sampled_from([timedelta(seconds=1), timedelta(minutes=30), timedelta(hours=5),
                                     timedelta(days=1), timedelta(days=3)]))
        zone = draw(ZONES)
        command = draw(commands(now, state)).model_copy(update={"issued_at": now.astimezone(zone)})
        # nested models are frozen; the dicts are the only parts decide could mutate
        before = state.model_copy(update={"tasks": dict(state.tasks), "results": dict(state.results)})
        try:
            produced = decide(state, command)
        except DomainError:
            assert state == before, "a refused command changed the state"
            log.append((command, False))
            continue
        assert produced, f"{command.kind} was accepted but emitted nothing"
        assert state == before, "decide mutated the state"
        for event in produced:
            state = evolve(state, event)
        emitted.extend(produced)
        log.append((command, True))
    return state, emitted, log


LEGAL_STEPS = {
    (Phase.IDENTIFY, Phase.PRIORITISE), (Phase.PRIORITISE, Phase.PREPARE),
    (Phase.PREPARE, Phase.EXECUTE), (Phase.EXECUTE, Phase.CLOSED),
}


@SETTINGS
@given(runs())
def test_replay_of_emitted_events_equals_the_live_state(
        run: tuple[OperationState, list[ev.Event], list[tuple[Any, bool]]]) -> None:
    state, emitted, _ = run
    assert fold(emitted) == state
    assert state.version == len(emitted)
    # every prefix replays too, and phases only move forward along the lifecycle (or to CANCELLED)
    replay = OperationState()
    for event in emitted:
        after = evolve(replay, event)
        if after.phase != replay.phase and replay.phase is not None:
            assert (replay.phase, after.phase) in LEGAL_STEPS or after.phase is Phase.CANCELLED
            assert not replay.phase.is_terminal
        replay = after
    assert replay == state
    # nothing follows a terminal event
    terminal_at = next((i for i, e in enumerate(emitted)
                        if isinstance(e, ev.OperationClosed | ev.OperationCancelled)), None)
    if terminal_at is not None:
        assert terminal_at == len(emitted) - 1, "an event followed the terminal one"
        assert state.phase is not None and state.phase.is_terminal
    # invariants of the folded state
    for task in state.tasks.values():
        assert len(set(task.approvals)) == len(task.approvals)
        assert task.member_state in state.participating_states
        if task.status is TaskStatus.APPROVED:
            assert len(task.approvals) >= task.approvals_needed
    if state.phase is Phase.CLOSED:
        assert state.totals == sum(state.results.values(), Results())
        assert set(state.missing_states) == set(state.participating_states) - set(state.results)
    if state.phase in (Phase.PREPARE, Phase.EXECUTE, Phase.CLOSED):
        assert state.priority is not None and state.priority >= state.scoring.threshold


@settings(SETTINGS, max_examples=75)
@given(runs(), st.sampled_from(["op-1", "operation/ΒΓ-ελ"]))
def test_events_round_trip_through_audit_records(
        run: tuple[OperationState, list[ev.Event], list[tuple[Any, bool]]], stream: str) -> None:
    _, emitted, _ = run
    prev, records = GENESIS_HASH, []
    for seq, event in enumerate(emitted, start=1):
        record = record_of(stream, seq, f"evt-{seq}", event)
        assert event_of(record) == event
        # encoding the decoded event gives the same record, hence the same hash
        assert record_of(stream, seq, f"evt-{seq}", event_of(record)) == record
        record = chained(record, prev)
        assert record.hash == chain_hash(prev, record_of(stream, seq, f"evt-{seq}", event))
        prev = record.hash
        records.append(record)
    assert verify_chain(records, ChainHead(seq=len(records), hash=prev)) == []
    # the chain is deterministic: recomputing it from the events gives the same hashes
    again, prev2 = [], GENESIS_HASH
    for seq, event in enumerate(emitted, start=1):
        rec = chained(record_of(stream, seq, f"evt-{seq}", event), prev2)
        prev2 = rec.hash
        again.append(rec)
    assert [r.hash for r in again] == [r.hash for r in records]
    # the replay from decoded records is the live state
    assert fold(event_of(r) for r in records) == fold(emitted)


@settings(max_examples=60, deadline=None)
@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                    timezones=st.just(UTC)), ZONES)
def test_hash_does_not_depend_on_how_the_time_is_written(moment: datetime, zone: timezone) -> None:
    event = ev.TaskDropped(actor=COORDINATOR, at=moment, task_id="TK1", justification="dup")
    aware = record_of("op", 1, "e1", event)
    shifted = aware.model_copy(update={"occurred_at": moment.astimezone(zone)})
    naive = aware.model_copy(update={"occurred_at": moment.replace(tzinfo=None)})
    assert chain_hash(GENESIS_HASH, aware) == chain_hash(GENESIS_HASH, shifted) \
        == chain_hash(GENESIS_HASH, naive)
    assert event_of(naive) == event


def test_random_runs_reach_every_phase() -> None:
    """A guard on the generator itself: across examples, runs reach the later phases."""
    seen: set[Phase] = set()

    @settings(max_examples=80, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(runs())
    def collect(run: tuple[OperationState, list[ev.Event], list[tuple[Any, bool]]]) -> None:
        for event in run[1]:
            if isinstance(event, ev.PhaseAdvanced):
                seen.add(event.to_phase)
        if run[0].phase is not None:
            seen.add(run[0].phase)

    collect()
    assert {Phase.PRIORITISE, Phase.PREPARE, Phase.EXECUTE, Phase.CLOSED, Phase.CANCELLED} <= seen
