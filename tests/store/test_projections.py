"""Read models projected from the audit log, on SQLite and PostgreSQL: built incrementally they equal a
rebuild; catching up again, after a crash or past an event committed late, leaves the right rows; and
what they show is what the folded state shows."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select
from structlog.testing import capture_logs
from temporalio.testing import ActivityEnvironment

from activities.audit import StoreActivities
from domain import commands as cmd
from domain import events as ev
from domain.actors import SYSTEM
from domain.audit import AuditRecord, ChainHead, event_id_for, extend_chain, record_of, update_event_key
from domain.model import DeconflictionHit, HandlingCode, HitResolution, Phase
from domain.prioritisation import ScoringPolicy
from domain.state import OperationState, fold
from domain.utc import as_utc
from gateway.audit import replay
from store import projections
from store.audit_log import AuditLog
from store.notifications import Notifications
from store.projections import READ_MODEL_TABLES, Projector
from store.read_models import ReadModels
from store.tables import audit_events
from tests.unit.builders import COORDINATOR, HIGH, LOW, TIMING, Driver, approver, officer, spec
from workflows.messages import AppendRequest


@dataclass
class StoredDriver(Driver):
    """The unit tests' driver (real decider and evolve) whose every command's events are appended to the
    audit log as the workflow would, one append per command, and then handed to after_append."""

    operation_id: str = ""
    audit_log: AuditLog | None = None
    after_append: Callable[[str], object] | None = None
    commands: int = field(default=0)

    def run(self, command: Any, at: Any = None) -> list[ev.Event]:
        emitted = super().run(command, at)
        if emitted and self.audit_log is not None:
            self.commands += 1
            key = update_event_key(f"{self.operation_id}-k{self.commands}")
            self.audit_log.append(self.operation_id, [
                record_of(self.operation_id, 0, event_id_for(self.operation_id, key, i), event)
                for i, event in enumerate(emitted)])
            if self.after_append is not None:
                self.after_append(self.operation_id)
        return emitted

    def open_as(self, **spec_changes: Any) -> StoredDriver:
        self.run(cmd.OpenOperation(actor=COORDINATOR, operation_id=self.operation_id, spec=spec(**spec_changes),
                                   scoring=ScoringPolicy(), timing=TIMING, justification="network reported"))
        return self


def a_hit(own_ref: str, hit_id: str, other_state: str = "RO") -> DeconflictionHit:
    return DeconflictionHit(hit_id=hit_id, kind="identifier", matched=f"phone +40 721 000 {hit_id[-3:]}",
                            own_ref=own_ref, other_state=other_state, other_contact="lo-ro-1",
                            other_handling_code=HandlingCode.H0)


def build_streams(audit_log: AuditLog, after_append: Callable[[str], object] | None = None) -> dict[str, Driver]:
    """Five operations: preparing with tasks, a partner, a hit and a reminder; parked; cancelled with a
    task left pending; blocked at its action day's start; and executing."""
    def driver(operation_id: str) -> StoredDriver:
        return StoredDriver(operation_id=operation_id, audit_log=audit_log, after_append=after_append)

    preparing = driver("op-preparing").open_as()
    preparing.submit(HIGH).confirm()
    four_eyes = preparing.plan("BG", four_eyes=True, days=2)
    preparing.approve(four_eyes, approver("BG", 1))  # one of the two approvals it needs
    preparing.approve(preparing.plan("EL", days=1), approver("EL"))
    late = preparing.plan("DE", days=4)
    preparing.plan("EL", days=5)
    preparing.run(cmd.InvitePartner(actor=COORDINATOR, partner="UA", justification="route via Ukraine"))
    preparing.run(cmd.RemindApproval(actor=SYSTEM, task_id=late, justification="due soon"))
    preparing.run(cmd.RecordHit(actor=SYSTEM, hit=a_hit("TG1", "H00000000001"), justification="deconfliction"))

    parked = driver("op-parked").open_as(code_name="QUIET", lead_state="EL", participating_states=["BG"])
    parked.submit(LOW).confirm()

    cancelled = driver("op-cancelled").open_as(code_name="GONE")
    cancelled.submit(HIGH).confirm()
    cancelled.plan("BG")
    cancelled.run(cmd.CancelOperation(actor=COORDINATOR, justification="merged into another case"))

    blocked = driver("op-blocked").open_as(code_name="HELD")
    blocked.submit(HIGH).confirm()
    return {d.operation_id: d for d in (preparing, parked, cancelled, _blocked(blocked), _executing(driver))}


def _blocked(d: StoredDriver) -> StoredDriver:
    for code in ("BG", "EL", "DE"):
        d.approve(d.plan(code), approver(code))
    d.schedule()
    d.run(cmd.RecordHit(actor=SYSTEM, hit=a_hit("AD1", "H00000000002"), justification="deconfliction"))
    d.start_day("AD1")
    assert d.state.execution_blocked_reasons and d.state.phase is Phase.PREPARE
    return d


def _executing(driver: Callable[[str], StoredDriver]) -> StoredDriver:
    d = driver("op-executing").open_as(code_name="GO")
    d.submit(HIGH).confirm()
    for code in ("BG", "EL", "DE"):
        d.approve(d.plan(code), approver(code))
    d.schedule()
    d.start_day("AD1")
    assert d.state.phase is Phase.EXECUTE
    return d


def snapshot(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Every row of every read-model table, in key order, times as aware UTC."""
    tables: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as conn:
        for table in READ_MODEL_TABLES:
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).mappings()
            tables[table.name] = [{k: as_utc(v) if hasattr(v, "tzinfo") and hasattr(v, "hour") else v
                                   for k, v in row.items()} for row in rows]
    return tables


@pytest.fixture
def audit_log(store_engine: Engine) -> AuditLog:
    return AuditLog(store_engine)


@pytest.fixture
def projector(store_engine: Engine) -> Projector:
    return Projector(store_engine)


@pytest.fixture
def read_models(store_engine: Engine) -> ReadModels:
    return ReadModels(store_engine)


def test_catching_up_after_every_append_equals_a_rebuild(store_engine: Engine, audit_log: AuditLog,
                                                        projector: Projector) -> None:
    drivers = build_streams(audit_log, after_append=projector.catch_up)
    incremental = snapshot(store_engine)
    assert {row["stream_id"]: row["seq"] for row in incremental["projection_streams"]} == {
        operation_id: audit_log.head(operation_id).seq for operation_id in drivers}
    assert projector.rebuild() == audit_log.count()
    assert snapshot(store_engine) == incremental
    for row in incremental["projection_streams"]:  # the state kept is the fold of the whole stream
        assert OperationState.model_validate(row["state"]) == replay(audit_log.read(row["stream_id"]))


def test_catching_up_again_changes_nothing(store_engine: Engine, audit_log: AuditLog, projector: Projector) -> None:
    drivers = build_streams(audit_log)
    assert projector.behind() == sorted(drivers)
    assert projector.catch_up_all() == audit_log.count()
    once = snapshot(store_engine)
    assert projector.behind() == []
    assert projector.catch_up_all() == 0
    assert [projector.catch_up(operation_id) for operation_id in drivers] == [0] * len(drivers)
    assert snapshot(store_engine) == once


def test_a_catch_up_that_fails_midway_leaves_the_previous_rows_and_the_next_completes(
        store_engine: Engine, audit_log: AuditLog, projector: Projector, read_models: ReadModels,
        monkeypatch: pytest.MonkeyPatch) -> None:
    d = StoredDriver(operation_id="op-crash", audit_log=audit_log, after_append=projector.catch_up).open_as()
    d.submit(HIGH).confirm()
    first = d.plan("BG")
    before = snapshot(store_engine)
    d.after_append = None
    d.approve(first, approver("BG"))
    d.plan("EL")

    def crash(*_: object) -> list[dict[str, Any]]:
        raise RuntimeError("projector killed between the summary and the tasks")

    monkeypatch.setattr(projections, "pending_task_rows", crash)
    with pytest.raises(RuntimeError, match="projector killed"):
        projector.catch_up("op-crash")  # the summary row was already rewritten inside the transaction
    assert snapshot(store_engine) == before
    assert [t.task_id for t in read_models.pending_tasks(operation_id="op-crash")] == [first]
    assert projector.catch_up_all() == 0  # logged, not raised: the stream is still behind
    assert projector.behind() == ["op-crash"]

    monkeypatch.undo()
    assert projector.catch_up("op-crash") == 3  # approval given, approved, planned
    assert [t.task_id for t in read_models.pending_tasks(operation_id="op-crash")] == ["TK2"]
    incremental = snapshot(store_engine)
    projector.rebuild()
    assert snapshot(store_engine) == incremental


def test_a_stream_that_cannot_be_projected_holds_back_only_itself(audit_log: AuditLog, projector: Projector,
                                                                 read_models: ReadModels) -> None:
    d = StoredDriver(operation_id="op-fine", audit_log=audit_log).open_as()
    broken = ev.TaskApproved(task_id="TK9", actor=COORDINATOR, at=d.now)  # of a task the stream never planned
    audit_log.append("op-broken", [record_of("op-broken", 0, "broken-1", broken)])
    assert projector.catch_up_all() == 1
    assert projector.behind() == ["op-broken"]
    assert [s.operation_id for s in read_models.summaries()] == ["op-fine"]


def _insert_at(engine: Engine, records: list[AuditRecord], position: int) -> None:
    """Rows as an append writes them, at global positions from the one given (what a late commit leaves)."""
    with engine.begin() as conn:
        conn.execute(insert(audit_events), [{**r.model_dump(exclude={"position"}), "position": position + i}
                                            for i, r in enumerate(records)])


def _chained(operation_id: str, head: ChainHead, events: list[ev.Event], key: str) -> list[AuditRecord]:
    return extend_chain(head, [record_of(operation_id, 0, event_id_for(operation_id, key, i), e)
                               for i, e in enumerate(events)])


def test_an_event_committed_late_with_a_lower_position_is_still_projected(
        store_engine: Engine, audit_log: AuditLog, projector: Projector, read_models: ReadModels) -> None:
    a = StoredDriver(operation_id="op-a").open_as()
    b = StoredDriver(operation_id="op-b").open_as(code_name="BRAVO")
    a_opened = _chained("op-a", ChainHead(), a.events, "a-open")
    b_opened = _chained("op-b", ChainHead(), b.events, "b-open")
    _insert_at(store_engine, a_opened, 10)
    _insert_at(store_engine, b_opened, 30)
    assert projector.catch_up_all() == len(a_opened) + len(b_opened)
    a_next = a.run(cmd.SubmitForPrioritisation(actor=COORDINATOR, assessment=HIGH))
    b_next = b.run(cmd.SubmitForPrioritisation(actor=COORDINATOR, assessment=HIGH))
    # A's append took position 40 before B's took 50, but B committed first and was projected ...
    _insert_at(store_engine, _chained("op-b", audit_log.head("op-b"), b_next, "b-2"), 50)
    assert projector.catch_up_all() == len(b_next)
    # ... and A's event, committed afterwards below the highest position projected, is not skipped
    _insert_at(store_engine, _chained("op-a", audit_log.head("op-a"), a_next, "a-2"), 40)
    assert projector.behind() == ["op-a"]
    assert projector.catch_up_all() == len(a_next)
    summary = read_models.summary("op-a")
    assert summary is not None and summary.phase is Phase.PRIORITISE and summary.version == len(a.events)


def test_a_gap_in_a_stream_stops_the_catch_up_until_it_is_filled(
        store_engine: Engine, projector: Projector, read_models: ReadModels) -> None:
    d = StoredDriver(operation_id="op-gap").open_as()
    d.submit(HIGH).confirm()
    records = _chained("op-gap", ChainHead(), d.events, "gap")
    assert len(records) >= 3
    _insert_at(store_engine, records[:1], 1)
    _insert_at(store_engine, records[2:], 3)
    assert projector.catch_up("op-gap") == 1
    _insert_at(store_engine, records[1:2], 2)
    assert projector.catch_up("op-gap") == len(records) - 1
    summary = read_models.summary("op-gap")
    assert summary is not None and summary.phase is Phase.PREPARE


def test_two_projectors_at_once_project_each_event_once(store_engine: Engine, audit_log: AuditLog) -> None:
    drivers = build_streams(audit_log)
    counts: list[int] = []
    errors: list[BaseException] = []

    def project() -> None:
        try:
            counts.append(Projector(store_engine).catch_up_all())
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=project) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and sum(counts) == audit_log.count()
    together = snapshot(store_engine)
    Projector(store_engine).rebuild()
    assert snapshot(store_engine) == together and len(together["operation_summaries"]) == len(drivers)


@pytest.fixture
def projected(audit_log: AuditLog, projector: Projector) -> Iterator[dict[str, Driver]]:
    drivers = build_streams(audit_log, after_append=projector.catch_up)
    yield drivers


def test_summaries_show_what_the_folded_state_shows(projected: dict[str, Driver], read_models: ReadModels) -> None:
    for operation_id, d in projected.items():
        summary = read_models.summary(operation_id)
        state = fold(d.events)
        assert summary is not None
        assert (summary.code_name, summary.phase, summary.lead_state, summary.parked, summary.priority) == (
            state.code_name, state.phase, state.lead_state, state.parked, state.priority)
        assert summary.member_states == list(state.participating_states)
        assert summary.partners == list(state.partners)
        assert summary.version == state.version and summary.last_event_at == state.last_event_at
    preparing = read_models.summary("op-preparing")
    assert preparing is not None and preparing.pending_tasks == 3 and preparing.open_hits == 1
    assert preparing.blocked and "H00000000001" in preparing.blocked_reasons[0]
    held = read_models.summary("op-blocked")
    assert held is not None and held.blocked and held.blocked_reasons == list(
        projected["op-blocked"].state.execution_blocked_reasons)
    gone = read_models.summary("op-cancelled")
    assert gone is not None and gone.phase is Phase.CANCELLED and gone.pending_tasks == 0 and not gone.blocked
    assert read_models.summary("op-unknown") is None


def test_lists_filter_by_phase_priority_parking_and_participation(projected: dict[str, Driver],
                                                                   read_models: ReadModels) -> None:
    def ids(**filters: Any) -> set[str]:
        return {s.operation_id for s in read_models.summaries(**filters)}

    assert ids() == set(projected)
    assert ids(phase=Phase.PREPARE) == {"op-preparing", "op-blocked"}
    assert ids(phase="prioritise", parked=True) == {"op-parked"}
    assert ids(parked=False) == set(projected) - {"op-parked"}
    assert ids(min_priority=40) == set(projected) - {"op-parked"}
    assert ids(member_state="DE") == set(projected) - {"op-parked"}
    assert ids(member_state="GR") == set(projected)  # EL however it is written; it leads op-parked
    assert ids(participant="UA") == {"op-preparing"}  # the invited partner sees the one it is invited to
    assert ids(member_state="UA") == set()  # a partner is not a member state of it
    assert ids(phase=Phase.PREPARE, participant="UA") == {"op-preparing"}
    priorities = [s.priority or 0 for s in read_models.summaries()]
    assert priorities == sorted(priorities, reverse=True)


def test_pending_tasks_are_those_of_live_operations_soonest_first(projected: dict[str, Driver],
                                                                  read_models: ReadModels) -> None:
    for code in ("BG", "EL", "DE"):
        expected = sorted(((operation_id, t.task_id, t.due) for operation_id, d in projected.items()
                           if not d.state.phase or not d.state.phase.is_terminal
                           for t in d.state.pending_tasks(code)), key=lambda x: (x[2], x[0], x[1]))
        rows = read_models.pending_tasks(member_state=code)
        assert [(r.operation_id, r.task_id, r.due) for r in rows] == expected, code
    assert projected["op-cancelled"].state.pending_tasks("BG")  # pending in the state, but nobody's inbox
    assert not read_models.pending_tasks(operation_id="op-cancelled")
    [bg] = read_models.pending_tasks(member_state="BG")
    assert bg.four_eyes and bg.approvals == ["ap-bg-1"] and bg.approvals_needed == 2 and bg.code_name == "NORTHWIND"
    [reminded] = read_models.pending_tasks(member_state="DE")
    assert reminded.reminded and not reminded.escalated
    everyone = read_models.pending_tasks()
    assert [r.due for r in everyone] == sorted(r.due for r in everyone) and len(everyone) == 3


def test_open_hits_per_state_of_ours_and_gone_once_resolved(projected: dict[str, Driver], audit_log: AuditLog,
                                                           projector: Projector, read_models: ReadModels) -> None:
    [on_target] = read_models.open_hits(member_state="BG", operation_id="op-preparing")
    assert (on_target.hit_id, on_target.our_states, on_target.other_state, on_target.own_ref) == (
        "H00000000001", ["BG"], "RO", "TG1")
    assert on_target.raised_at == projected["op-preparing"].events[-1].at
    on_day = read_models.open_hits(operation_id="op-blocked")
    assert [h.our_states for h in on_day] == [["BG", "EL", "DE"]]  # an action day of every state: shown once
    assert {h.operation_id for h in read_models.open_hits(member_state="EL")} == {"op-blocked"}
    assert read_models.open_hits(member_state="FR") == []
    d = projected["op-blocked"]
    assert isinstance(d, StoredDriver)
    d.run(cmd.ResolveHit(actor=officer("EL"), hit_id="H00000000002", resolution=HitResolution.COORDINATED,
                         justification="agreed by phone"))
    assert read_models.open_hits(operation_id="op-blocked") == []
    assert read_models.projected_seq("op-blocked") == audit_log.head("op-blocked").seq


def test_a_read_shows_the_events_of_the_append_before_it(audit_log: AuditLog, projector: Projector,
                                                        read_models: ReadModels) -> None:
    d = StoredDriver(operation_id="op-ryw", audit_log=audit_log, after_append=projector.catch_up).open_as()
    d.submit(HIGH).confirm()
    task = d.plan("BG", days=1)
    assert [t.task_id for t in read_models.pending_tasks(member_state="BG")] == [task]
    d.approve(task, approver("BG"))
    assert read_models.pending_tasks(member_state="BG") == []


def test_on_postgresql_an_append_that_commits_after_a_later_one_is_still_projected(
        postgres_engine: Engine) -> None:
    """The real race: A's transaction takes its position, B's takes a higher one and commits first."""
    audit_log, projector = AuditLog(postgres_engine), Projector(postgres_engine)
    a = StoredDriver(operation_id="op-a", audit_log=audit_log).open_as()
    b = StoredDriver(operation_id="op-b", audit_log=audit_log).open_as(code_name="BRAVO")
    projector.catch_up_all()
    a.audit_log = None
    a_next = a.run(cmd.SubmitForPrioritisation(actor=COORDINATOR, assessment=HIGH))
    with postgres_engine.connect() as slow, slow.begin():
        slow.execute(insert(audit_events), [r.model_dump(exclude={"position"}) for r in
                                            _chained("op-a", audit_log.head("op-a"), a_next, "a-2")])
        b.run(cmd.SubmitForPrioritisation(actor=COORDINATOR, assessment=HIGH))  # appended and committed
        assert projector.catch_up_all() == len(b.events) - 1  # B's submission; A's is not visible yet
    with postgres_engine.connect() as conn:
        position = {r.stream_id: r.position for r in conn.execute(
            select(audit_events.c.stream_id, audit_events.c.position).where(audit_events.c.seq == len(a.events)))}
    assert position["op-a"] < position["op-b"]
    assert projector.catch_up_all() == len(a_next)
    summary = ReadModels(postgres_engine).summary("op-a")
    assert summary is not None and summary.version == len(a.events) and summary.phase is Phase.PRIORITISE


class FailingProjector(Projector):
    def catch_up(self, stream_id: str) -> int:
        raise RuntimeError("the read-model tables are locked")


async def test_the_append_activity_projects_and_a_projection_failure_never_fails_the_append(
        store_engine: Engine, audit_log: AuditLog, read_models: ReadModels) -> None:
    d = StoredDriver(operation_id="op-activity").open_as()
    d.submit(HIGH).confirm()
    records = _chained("op-activity", ChainHead(), d.events, "activity")
    first = AppendRequest(stream_id="op-activity", records=records[:1], expected_head=ChainHead())
    rest = AppendRequest(stream_id="op-activity", records=records[1:],
                         expected_head=ChainHead(seq=1, hash=records[0].hash))
    env = ActivityEnvironment()
    healthy = StoreActivities(audit_log, Notifications(store_engine), Projector(store_engine))
    assert (await env.run(healthy.append_events, first)).seq == 1
    summary = read_models.summary("op-activity")
    assert summary is not None and summary.phase is Phase.IDENTIFY  # readable once the append returns
    broken = StoreActivities(audit_log, Notifications(store_engine), FailingProjector(store_engine))
    with capture_logs() as logs:
        head = await env.run(broken.append_events, rest)
    assert head == ChainHead(seq=len(records), hash=records[-1].hash) == audit_log.head("op-activity")
    assert any(entry["event"] == "projection_behind" and "locked" in entry["error"] for entry in logs)
    assert read_models.projected_seq("op-activity") == 1  # behind, until the next catch-up
    assert Projector(store_engine).catch_up_all() == len(records) - 1
    summary = read_models.summary("op-activity")
    assert summary is not None and summary.phase is Phase.PREPARE
