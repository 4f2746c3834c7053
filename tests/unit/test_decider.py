"""The decider: every transition of the lifecycle, and every refusal with the message it gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from domain import commands as cmd
from domain import events as ev
from domain.actors import SYSTEM, Actor, Role
from domain.decider import decide, stamp_of
from domain.errors import DomainError, InvalidInput, NotAuthorised, WrongPhase
from domain.model import (
    ActionDayStatus,
    Intelligence,
    Phase,
    Place,
    Results,
    Target,
    TaskKind,
    TaskStatus,
)
from domain.prioritisation import ScoringPolicy, score
from domain.schedule import due_commands, next_deadline
from domain.state import fold
from tests.unit.builders import (
    AUDITOR,
    COORDINATOR,
    HIGH,
    LOW,
    OPERATION_ID,
    RULES,
    SOFIA,
    STATES,
    TIMING,
    Driver,
    approver,
    decided,
    driven_to,
    officer,
    refused,
    spec,
    stamped,
)


def plan_cmd(d: Driver, state: str = "BG", **changes: Any) -> cmd.PlanTask:
    data: dict[str, Any] = dict(actor=COORDINATOR, member_state=state, task_kind=TaskKind.SEARCH,
                                description="search the warehouse", due=d.due(3))
    data.update(changes)
    return cmd.PlanTask(**data)


# --- open / identify ------------------------------------------------------------------------------

def test_open_enters_identify_with_normalised_spec() -> None:
    d = Driver()
    emitted = d.run(cmd.OpenOperation(
        actor=COORDINATOR, operation_id=OPERATION_ID, timing=TIMING,
        spec=spec(lead_state="bg", participating_states=["GR", "de", "BG"], partners=["rs"],
                  intelligence=[{"summary": "safe house in Sofia", "linked_targets": ["Ivan Petrov"],
                                 "contributed_by": "gr"}])))
    assert [type(e) for e in emitted] == [ev.OperationOpened]
    s = d.state
    assert s.phase is Phase.IDENTIFY
    assert s.operation_id == OPERATION_ID
    assert s.lead_state == "BG"
    assert s.participating_states == ("BG", "EL", "DE")
    assert s.partners == ("RS",)
    assert s.targets[0].target_id == "TG1" and s.targets[0].contributed_by == "BG"
    assert s.intelligence[0].item_id == "IN1"
    assert s.intelligence[0].linked_targets == ("TG1",)
    assert s.intelligence[0].contributed_by == "EL"
    assert s.opened_at == d.now and s.version == 1


def test_add_target_and_intelligence_in_identify() -> None:
    d = driven_to("identify")
    [added] = d.run(cmd.AddTarget(actor=officer("EL"),
                                  target=Target(name="Nikos Papadopoulos", network="Northwind network")))
    assert isinstance(added, ev.TargetAdded)
    assert added.target.target_id == "TG2" and added.target.contributed_by == "EL"
    [item] = d.run(cmd.AddIntelligence(actor=COORDINATOR, item=Intelligence(
        summary="boats leave from Alexandroupoli", contributed_by="EL",
        linked_targets=("TG2", "Ivan Petrov"))))
    assert isinstance(item, ev.IntelligenceAdded)
    assert item.item.item_id == "IN1" and item.item.linked_targets == ("TG2", "TG1")
    assert [t.target_id for t in d.state.targets] == ["TG1", "TG2"]
    assert d.state.intelligence[0].contributed_by == "EL"
    assert d.state.phase is Phase.IDENTIFY


def test_submit_moves_to_prioritise_with_the_computed_score() -> None:
    d = driven_to("identify")
    emitted = d.run(cmd.SubmitForPrioritisation(actor=COORDINATOR, assessment=HIGH))
    assert [e.type for e in emitted] == ["phase_advanced", "prioritisation_submitted"]
    expected = score(HIGH, 3, ScoringPolicy())
    submitted = emitted[1]
    assert isinstance(submitted, ev.PrioritisationSubmitted)
    assert submitted.computed == expected
    assert d.state.phase is Phase.PRIORITISE
    assert d.state.computed_priority == expected
    assert d.state.priority is None


def test_states_affected_counts_partners() -> None:
    d = Driver().open(spec(partners=["RS", "UA", "GE"]))
    d.submit(HIGH)
    assert d.state.computed_priority == score(HIGH, 6, ScoringPolicy())
    assert d.state.computed_priority.score == 100.0


def test_confirm_moves_to_prepare() -> None:
    d = driven_to("prioritise")
    computed = d.state.computed_priority
    assert computed is not None and computed.score >= 40
    emitted = d.run(cmd.DecidePriority(actor=COORDINATOR))
    assert [type(e) for e in emitted] == [ev.PriorityDecided, ev.PhaseAdvanced]
    decided = emitted[0]
    assert isinstance(decided, ev.PriorityDecided)
    assert decided.score == computed.score and not decided.overridden
    assert d.state.phase is Phase.PREPARE and d.state.priority == computed.score


def test_low_score_parks_then_override_with_justification_prepares() -> None:
    d = Driver().open().submit(LOW)
    emitted = d.run(cmd.DecidePriority(actor=COORDINATOR))
    assert [type(e) for e in emitted] == [ev.PriorityDecided, ev.OperationParked]
    assert d.state.phase is Phase.PRIORITISE and d.state.parked
    refused(d, cmd.DecidePriority(actor=COORDINATOR), InvalidInput,
            "override_score", "parked", "threshold 40.0")
    refused(d, cmd.DecidePriority(actor=COORDINATOR, override_score=70), InvalidInput,
            "justification: overriding the computed priority needs a justification")
    emitted = d.run(cmd.DecidePriority(actor=COORDINATOR, override_score=70,
                                       justification="victims are children"))
    assert [type(e) for e in emitted] == [ev.PriorityDecided, ev.PhaseAdvanced]
    assert d.state.phase is Phase.PREPARE
    assert d.state.priority == 70 and d.state.priority_overridden and not d.state.parked


def test_override_below_threshold_parks() -> None:
    d = driven_to("prioritise")
    emitted = d.run(cmd.DecidePriority(actor=COORDINATOR, override_score=10, justification="stale"))
    assert [type(e) for e in emitted] == [ev.PriorityDecided, ev.OperationParked]
    parked = emitted[1]
    assert isinstance(parked, ev.OperationParked)
    assert parked.score == 10 and parked.threshold == 40
    assert d.state.parked and d.state.phase is Phase.PRIORITISE


def test_parked_operation_can_be_resubmitted() -> None:
    d = driven_to("parked")
    emitted = d.run(cmd.SubmitForPrioritisation(actor=COORDINATOR, assessment=HIGH))
    assert [type(e) for e in emitted] == [ev.PrioritisationSubmitted]
    assert d.state.computed_priority == score(HIGH, 3, ScoringPolicy())


def test_parked_operation_resubmitted_above_threshold_can_be_confirmed() -> None:
    d = driven_to("parked")
    d.submit(HIGH)
    d.confirm()
    assert d.state.phase is Phase.PREPARE


# --- prepare --------------------------------------------------------------------------------------

def test_plan_task() -> None:
    d = driven_to("prepare")
    [planned] = d.run(plan_cmd(d, "gr", four_eyes=True))
    assert isinstance(planned, ev.TaskPlanned)
    task = d.state.tasks["TK1"]
    assert task == planned.task
    assert task.member_state == "EL" and task.status is TaskStatus.PENDING and task.four_eyes
    assert task.approvals == ()
    assert d.plan("DE") == "TK2"


def test_approve_single_approver() -> None:
    d = driven_to("prepare")
    task_id = d.plan("BG")
    emitted = d.approve(task_id, approver("BG"))
    assert [type(e) for e in emitted] == [ev.TaskApprovalGiven, ev.TaskApproved]
    assert d.state.tasks[task_id].status is TaskStatus.APPROVED
    assert d.state.tasks[task_id].approvals == ("ap-bg-1",)


def test_four_eyes_needs_two_different_approvers() -> None:
    d = driven_to("prepare")
    task_id = d.plan("EL", four_eyes=True)
    emitted = d.approve(task_id, approver("EL", 1))
    assert [type(e) for e in emitted] == [ev.TaskApprovalGiven]
    assert d.state.tasks[task_id].status is TaskStatus.PENDING
    error = refused(d, cmd.ApproveTask(actor=approver("EL", 1), task_id=task_id), DomainError,
                    f"task {task_id} needs two different approvers of EL",
                    "ap-el-1 has already approved it")
    assert error.code == "four_eyes" and error.field == "actor"
    emitted = d.approve(task_id, approver("EL", 2))
    assert [type(e) for e in emitted] == [ev.TaskApprovalGiven, ev.TaskApproved]
    assert d.state.tasks[task_id].status is TaskStatus.APPROVED
    assert d.state.tasks[task_id].approvals == ("ap-el-1", "ap-el-2")
    refused(d, cmd.ApproveTask(actor=approver("EL", 3), task_id=task_id), DomainError,
            f"task {task_id} is approved; only a pending task can be approved")


def test_reject_with_reason() -> None:
    d = driven_to("prepare")
    task_id = d.plan("DE")
    [rejected] = d.run(cmd.RejectTask(actor=approver("DE"), task_id=task_id,
                                      justification="no judicial warrant yet"))
    assert isinstance(rejected, ev.TaskRejected) and rejected.approver == "ap-de-1"
    task = d.state.tasks[task_id]
    assert task.status is TaskStatus.REJECTED
    assert task.rejected_by == "ap-de-1" and task.rejection_reason == "no judicial warrant yet"


def test_replan_resets_approvals() -> None:
    d = driven_to("prepare")
    task_id = d.plan("BG", four_eyes=True)
    d.approve(task_id, approver("BG", 1))
    assert d.state.tasks[task_id].approvals == ("ap-bg-1",)
    new_due = d.due(10)
    [replanned] = d.run(cmd.ReplanTask(actor=COORDINATOR, task_id=task_id, due=new_due,
                                       description="arrest at dawn"))
    assert isinstance(replanned, ev.TaskReplanned)
    task = d.state.tasks[task_id]
    assert task.approvals == () and task.status is TaskStatus.PENDING
    assert task.due == new_due and task.description == "arrest at dawn" and task.four_eyes
    # the earlier approver may approve again after the replan, and alone it is not enough
    assert [type(e) for e in d.approve(task_id, approver("BG", 1))] == [ev.TaskApprovalGiven]


def test_replan_reopens_a_rejected_task() -> None:
    d = driven_to("prepare")
    task_id = d.plan("BG")
    d.run(cmd.RejectTask(actor=approver("BG"), task_id=task_id, justification="too early"))
    d.run(cmd.ReplanTask(actor=COORDINATOR, task_id=task_id, four_eyes=True))
    task = d.state.tasks[task_id]
    assert task.status is TaskStatus.PENDING and task.four_eyes
    assert task.rejected_by is None and task.rejection_reason is None


def test_drop_task() -> None:
    d = driven_to("prepare")
    task_id = d.plan("BG")
    refused(d, cmd.DropTask(actor=COORDINATOR, task_id=task_id), InvalidInput,
            "justification: dropping a task needs a reason")
    [dropped] = d.run(cmd.DropTask(actor=COORDINATOR, task_id=task_id, justification="duplicate"))
    assert isinstance(dropped, ev.TaskDropped)
    assert d.state.tasks[task_id].status is TaskStatus.DROPPED
    refused(d, cmd.ApproveTask(actor=approver("BG"), task_id=task_id), DomainError,
            f"task {task_id} is dropped")


def test_schedule_action_day() -> None:
    d = driven_to("prepare")
    start = d.schedule()
    day = d.day("AD1")
    assert list(d.state.action_days) == ["AD1"]
    assert day.action_day_id == "AD1" and day.start == start and day.status is ActionDayStatus.SCHEDULED
    assert [p.country for p in day.places] == ["BG", "EL"]
    assert day.member_states == STATES  # default: every participating member state
    d.schedule(start_in=timedelta(days=6), member_states=("gr", "BG", "EL"))
    assert list(d.state.action_days) == ["AD1", "AD2"]
    assert d.day("AD2").member_states == ("EL", "BG")


def test_reschedule_an_action_day_keeps_its_id() -> None:
    d = driven_to("prepare")
    d.schedule()
    later = d.schedule(start_in=timedelta(days=9), member_states=("BG",), action_day_id="AD1")
    assert list(d.state.action_days) == ["AD1"]
    assert d.day().start == later and d.day().member_states == ("BG",)
    error = refused(d, cmd.ScheduleActionDay(actor=COORDINATOR, start=d.due(4), end=d.due(5),
                                             places=(SOFIA,), action_day_id="AD7"),
                    DomainError, f"action_day_id: 'AD7' is not an action day of operation {OPERATION_ID} "
                    "(action days: AD1)")
    assert (error.code, error.field, error.value) == ("not_found", "action_day_id", "AD7")
    refused(d, cmd.ScheduleActionDay(actor=COORDINATOR, start=d.due(4), end=d.due(5),
                                     places=(SOFIA,), member_states=("FR",)),
            InvalidInput, f"member_states: FR does not take part in operation {OPERATION_ID}")
    refused(d, cmd.ScheduleActionDay(actor=COORDINATOR, start=d.due(4), end=d.due(5),
                                     places=(SOFIA, Place(name="Kulata", country="BG"))),
            InvalidInput, "places.1: 'Kulata' has no latitude and longitude; every place of an action day needs "
            "them, as collisions with other operations are found by distance")


def test_first_action_day_start_moves_to_execute() -> None:
    d = driven_to("ready")
    start = d.day().start
    error = refused(d, cmd.StartActionDay(actor=SYSTEM, action_day_id="AD1"), DomainError,
                    f"action day AD1 is scheduled and starts {start.isoformat()}",
                    at=start - timedelta(seconds=1))
    assert error.code == "not_due"
    emitted = d.start_day("AD1")
    assert [e.type for e in emitted] == ["phase_advanced", "execution_started"]
    started = emitted[1]
    assert isinstance(started, ev.ExecutionStarted)
    assert started.action_day_id == "AD1" and started.member_states == STATES
    assert d.state.phase is Phase.EXECUTE
    assert d.day().status is ActionDayStatus.RUNNING
    refused(d, cmd.StartActionDay(actor=SYSTEM, action_day_id="AD1"), DomainError, "action day AD1 is running")


def test_later_action_day_starts_without_a_phase_change() -> None:
    d = driven_to("ready")
    d.schedule(start_in=timedelta(days=6), member_states=("EL",))
    d.start_day("AD1")
    emitted = d.start_day("AD2")
    assert [type(e) for e in emitted] == [ev.ExecutionStarted]
    assert emitted[0] == ev.ExecutionStarted(actor=SYSTEM, at=d.now, justification="action day started",
                                             action_day_id="AD2", member_states=("EL",))
    assert [day.status for day in d.state.days()] == [ActionDayStatus.RUNNING, ActionDayStatus.RUNNING]


def test_start_execution_blocked_by_pending_and_rejected_tasks() -> None:
    d = driven_to("prepare")
    d.approve(d.plan("BG"), approver("BG"))
    pending = d.plan("EL")
    rejected = d.plan("DE")
    d.run(cmd.RejectTask(actor=approver("DE"), task_id=rejected, justification="no"))
    dropped = d.plan("DE")
    d.run(cmd.DropTask(actor=COORDINATOR, task_id=dropped, justification="not needed"))
    d.schedule()
    [blocked] = d.start_day("AD1")
    assert isinstance(blocked, ev.ExecutionBlocked)
    assert blocked.action_day_id == "AD1"
    assert blocked.reasons == (f"task {pending} (EL) is pending", f"task {rejected} (DE) is rejected")
    assert d.state.phase is Phase.PREPARE
    assert d.state.execution_blocked_reasons == blocked.reasons
    assert d.day().status is ActionDayStatus.BLOCKED
    # a blocked day does not start while anything blocks it; re-scheduling it clears the reasons
    refused(d, cmd.StartActionDay(actor=SYSTEM, action_day_id="AD1"), DomainError,
            "action day AD1 is still blocked", f"task {pending} (EL) is pending", at=d.day().start)
    d.schedule(action_day_id="AD1")
    assert d.state.execution_blocked_reasons == ()
    assert d.day().status is ActionDayStatus.SCHEDULED


def test_blocked_day_starts_by_itself_once_unblocked_within_its_window() -> None:
    d = driven_to("prepare")
    task = d.plan("BG")
    d.schedule()
    [blocked] = d.start_day("AD1")
    assert isinstance(blocked, ev.ExecutionBlocked)
    d.approve(task, approver("BG"))
    assert next_deadline(d.state) == d.day().start
    [due] = due_commands(d.state, d.day().start + timedelta(minutes=5))
    events = d.run(due, at=d.day().start + timedelta(minutes=5))
    assert [e.type for e in events] == ["phase_advanced", "execution_started"]
    assert d.state.phase is Phase.EXECUTE


def test_blocked_day_whose_window_ended_is_cancelled_when_unblocked() -> None:
    d = driven_to("prepare")
    task = d.plan("BG")
    d.schedule()
    d.start_day("AD1")
    d.approve(task, approver("BG"))
    late = d.day().end + timedelta(minutes=1)
    [cancelled] = d.run(cmd.StartActionDay(actor=SYSTEM, action_day_id="AD1"), at=late)
    assert isinstance(cancelled, ev.ActionDayCancelled)
    assert "window ended" in cancelled.justification
    assert d.day().status is ActionDayStatus.CANCELLED
    assert d.state.phase is Phase.PREPARE


def test_start_execution_blocked_without_any_approved_task() -> None:
    d = driven_to("prepare")
    d.schedule()
    [blocked] = d.start_day("AD1")
    assert isinstance(blocked, ev.ExecutionBlocked)
    assert blocked.reasons == ("no task is approved",)


def test_cancel_action_day_needs_a_reason_and_is_final() -> None:
    d = driven_to("ready")
    d.schedule(start_in=timedelta(days=6))
    refused(d, cmd.CancelActionDay(actor=COORDINATOR, action_day_id="AD2"), InvalidInput,
            "justification: cancelling an action day needs a reason")
    [cancelled] = d.run(cmd.CancelActionDay(actor=COORDINATOR, action_day_id="AD2", justification="leak"))
    assert isinstance(cancelled, ev.ActionDayCancelled) and cancelled.action_day_id == "AD2"
    assert d.day("AD2").status is ActionDayStatus.CANCELLED and d.day("AD2").cancelled_reason == "leak"
    assert d.state.phase is Phase.PREPARE  # cancelling in PREPARE closes nothing
    error = refused(d, cmd.CancelActionDay(actor=COORDINATOR, action_day_id="AD2", justification="again"),
                    DomainError, "action day AD2 is already cancelled")
    assert error.code == "wrong_day_status"
    refused(d, cmd.ScheduleActionDay(actor=COORDINATOR, start=d.due(9), end=d.due(10),
                                     places=(SOFIA,), action_day_id="AD2"),
            DomainError, "action day AD2 is cancelled; only a scheduled or blocked action day can be re-scheduled")
    refused(d, cmd.StartActionDay(actor=SYSTEM, action_day_id="AD2"), DomainError, "action day AD2 is cancelled",
            at=d.day("AD2").start)


def test_cancelling_the_last_running_day_closes_the_operation() -> None:
    d = driven_to("execute")
    d.report("BG", Results(arrests=2))
    emitted = d.run(cmd.CancelActionDay(actor=COORDINATOR, action_day_id="AD1", justification="compromised"))
    assert [type(e) for e in emitted] == [ev.ActionDayCancelled, ev.OperationClosed]
    assert d.state.phase is Phase.CLOSED
    assert d.state.action_days["AD1"].cancelled_reason == "compromised"


def test_reminder_and_escalation() -> None:
    d = driven_to("prepare")
    task_id = d.plan("EL")
    [reminded] = d.run(cmd.RemindApproval(actor=SYSTEM, task_id=task_id))
    assert isinstance(reminded, ev.ApprovalReminded) and reminded.member_state == "EL"
    assert d.state.tasks[task_id].reminded
    refused(d, cmd.RemindApproval(actor=SYSTEM, task_id=task_id), DomainError,
            f"task {task_id} was already reminded")
    [escalated] = d.run(cmd.EscalateApproval(actor=SYSTEM, task_id=task_id))
    assert isinstance(escalated, ev.ApprovalEscalated)
    assert d.state.tasks[task_id].escalated
    refused(d, cmd.EscalateApproval(actor=SYSTEM, task_id=task_id), DomainError,
            f"task {task_id} was already escalated")


def test_report_results_and_last_report_closes_with_totals() -> None:
    d = driven_to("execute")
    assert [type(e) for e in d.report("BG", Results(arrests=3, searches=2, assets_frozen_eur=1000))] \
        == [ev.ResultsReported]
    assert d.state.results == {"AD1": {"BG": Results(arrests=3, searches=2, assets_frozen_eur=1000)}}
    error = refused(d, cmd.ReportResults(actor=officer("BG"), member_state="BG", results=Results()),
                    DomainError, "BG has already reported its results for AD1")
    assert error.code == "already_reported"
    d.report("EL", Results(arrests=1, seizures=4, victims_safeguarded=7), action_day_id="AD1")
    assert d.state.phase is Phase.EXECUTE
    emitted = d.report("DE", Results(arrests=2, searches=1, assets_frozen_eur=250.5))
    assert [type(e) for e in emitted] == [ev.ResultsReported, ev.ActionDayFinished, ev.OperationClosed]
    finished, closed = emitted[1], emitted[2]
    totals = Results(arrests=6, searches=3, seizures=4, assets_frozen_eur=1250.5,
                     victims_safeguarded=7)
    assert isinstance(finished, ev.ActionDayFinished)
    assert finished.action_day_id == "AD1" and finished.totals == totals and finished.missing_states == ()
    assert isinstance(closed, ev.OperationClosed)
    assert closed.totals == totals and closed.totals_by_day == {"AD1": totals}
    assert closed.totals_by_state == {"BG": Results(arrests=3, searches=2, assets_frozen_eur=1000),
                                      "EL": Results(arrests=1, seizures=4, victims_safeguarded=7),
                                      "DE": Results(arrests=2, searches=1, assets_frozen_eur=250.5)}
    assert closed.reported_states == STATES and closed.missing_states == ()
    assert d.state.phase is Phase.CLOSED and d.state.totals == totals
    assert d.day().status is ActionDayStatus.FINISHED


def test_results_deadline_finishes_the_day_and_closes_with_missing_states() -> None:
    d = driven_to("execute")
    d.report("EL", Results(arrests=2))
    deadline = d.day().end + TIMING.results_grace_after_action_day
    refused(d, cmd.FinishActionDay(actor=SYSTEM, action_day_id="AD1"), DomainError,
            f"results of AD1 are awaited until {deadline.isoformat()}", at=deadline - timedelta(seconds=1))
    emitted = d.finish_day("AD1")
    assert d.now == deadline
    assert [type(e) for e in emitted] == [ev.ActionDayFinished, ev.OperationClosed]
    finished, closed = emitted
    assert isinstance(finished, ev.ActionDayFinished) and finished.missing_states == ("BG", "DE")
    assert isinstance(closed, ev.OperationClosed)
    assert closed.reported_states == ("EL",) and closed.missing_states == ("BG", "DE")
    assert closed.totals == Results(arrests=2)
    assert d.state.phase is Phase.CLOSED and d.state.missing_states == ("BG", "DE")
    assert d.day().missing_states == ("BG", "DE")


def test_finishing_one_of_two_days_does_not_close() -> None:
    d = driven_to("ready")
    d.schedule(start_in=timedelta(days=6), member_states=("DE",))
    d.start_day("AD1")
    for code in STATES:
        d.report(code, Results(searches=1), action_day_id="AD1")
    assert d.day("AD1").status is ActionDayStatus.FINISHED and d.state.phase is Phase.EXECUTE
    refused(d, cmd.ReportResults(actor=officer("BG"), member_state="BG", results=Results(), action_day_id="AD1"),
            DomainError, "action day AD1 is finished; results are reported while it runs")
    refused(d, cmd.ReportResults(actor=officer("BG"), member_state="BG", results=Results()), InvalidInput,
            "action_day_id: name the action day (running: none)")
    d.start_day("AD2")
    refused(d, cmd.ReportResults(actor=officer("BG"), member_state="BG", results=Results()), NotAuthorised,
            "lo-bg (liaison_officer of BG) may not report results for BG: BG does not take part in action day "
            "AD2 (DE)")
    emitted = d.report("DE", Results(arrests=5))
    assert [type(e) for e in emitted] == [ev.ResultsReported, ev.ActionDayFinished, ev.OperationClosed]
    assert d.state.totals == Results(arrests=5, searches=3)
    assert d.state.totals_by_day == {"AD1": Results(searches=3), "AD2": Results(arrests=5)}
    assert d.state.totals_by_state["DE"] == Results(arrests=5, searches=1)


@pytest.mark.parametrize("point", ["identify", "prioritise", "parked", "prepare", "ready", "execute"])
def test_cancel_from_each_phase(point: str) -> None:
    d = driven_to(point)
    phase = d.state.phase
    assert phase is not None
    refused(d, cmd.CancelOperation(actor=COORDINATOR), InvalidInput,
            "justification: cancelling an operation needs a reason")
    refused(d, cmd.CancelOperation(actor=COORDINATOR, justification="   "), InvalidInput,
            "cancelling an operation needs a reason")
    [cancelled] = d.run(cmd.CancelOperation(actor=COORDINATOR, justification="suspects fled"))
    assert isinstance(cancelled, ev.OperationCancelled) and cancelled.phase is phase
    assert d.state.phase is Phase.CANCELLED and d.state.cancelled_reason == "suspects fled"


def test_state_is_the_fold_of_the_driven_events() -> None:
    d = driven_to("closed")
    assert fold(d.events) == d.state
    assert d.state.version == len(d.events)
    assert d.state.last_event_at == d.events[-1].at


# --- refusals -------------------------------------------------------------------------------------

def open_cmd(**changes: Any) -> cmd.OpenOperation:
    return cmd.OpenOperation(actor=COORDINATOR, operation_id=OPERATION_ID, spec=spec(**changes))


def test_unknown_member_state_code_is_refused() -> None:
    error = refused(Driver(), open_cmd(participating_states=["EL", "XX"]), InvalidInput,
                    "participating_states: 'XX' is not an EU member-state code.")
    assert error.field == "participating_states" and error.value == "XX"
    refused(Driver(), open_cmd(lead_state="XX"), InvalidInput,
            "lead_state: 'XX' is not an EU member-state code.")


def test_partner_country_as_member_state_suggests_partnership() -> None:
    error = refused(Driver(), open_cmd(participating_states=["EL", "GE"]), InvalidInput,
                    "'GE' is not an EU member-state code",
                    "Georgia may take part as an operational partner", "DE (Germany)")
    assert error.code == "invalid_input"


def test_cross_border_needs_two_states() -> None:
    refused(Driver(), open_cmd(participating_states=["BG"]), InvalidInput,
            "participating_states: a cross-border operation needs at least two member states; "
            "only BG given")
    refused(Driver(), open_cmd(participating_states=["bg", "BG "]), InvalidInput,
            "at least two member states")


def test_eu_state_as_partner_is_refused() -> None:
    refused(Driver(), open_cmd(partners=["DE"]), InvalidInput,
            "partners: 'DE' is an EU member state, not an operational partner.")


@pytest.mark.parametrize("date_of_birth", ["1985-02-31", "1985-13-07", "1900-02-29"])
def test_a_birth_date_off_the_calendar_is_refused(date_of_birth: str) -> None:
    refused(Driver(), open_cmd(targets=[{"name": "X", "date_of_birth": date_of_birth}]), InvalidInput,
            f"target.date_of_birth: '{date_of_birth}' is not a date of the calendar")


def test_target_of_unknown_network_or_contributor_is_refused() -> None:
    refused(Driver(), open_cmd(targets=[{"name": "X", "network": "Southwind"}]), InvalidInput,
            "target.network: 'Southwind' is not a network of the operation (known: Northwind network)")
    refused(Driver(), open_cmd(targets=[{"name": "X", "contributed_by": "FR"}]), InvalidInput,
            "targets.contributed_by: 'FR' does not take part in the operation")
    refused(Driver(), open_cmd(networks=[{"name": "A"}, {"name": "A"}], targets=[]), InvalidInput,
            "networks: two networks share one name")
    refused(Driver(), open_cmd(targets=[{"name": "X", "nationality": "Bulgaria"}]), InvalidInput,
            "target.nationality: 'Bulgaria' must be an ISO 3166-1 alpha-2 or EU country code. "
            "Close matches: BG (Bulgaria).")
    [opened] = Driver().run(open_cmd(targets=[{"name": "X", "nationality": "el"}]))
    assert isinstance(opened, ev.OperationOpened) and opened.spec.targets[0].nationality == "EL"


def test_open_twice_and_commands_before_open() -> None:
    d = driven_to("identify")
    error = refused(d, open_cmd(), DomainError, f"operation {OPERATION_ID} already exists")
    assert error.code == "already_exists"
    error = refused(Driver(), cmd.AddTarget(actor=COORDINATOR, target=Target(name="X")), DomainError,
                    "the operation does not exist")
    assert error.code == "not_found"


def test_unstamped_command_has_no_time_to_decide_at() -> None:
    with pytest.raises(InvalidInput, match="issued_at: the command has no time"):
        stamp_of(cmd.AddTarget(actor=COORDINATOR, target=Target(name="X")))


def test_decide_needs_an_aware_time() -> None:
    d = driven_to("identify")
    with pytest.raises(ValueError, match="decide needs an aware time"):
        decide(d.state, cmd.AddTarget(actor=COORDINATOR, target=Target(name="X")), d.now.replace(tzinfo=None),
               RULES)


def test_the_time_decided_at_is_the_time_given_not_the_stamp() -> None:
    """now is explicit: the events carry it (the workflow passes the time it stamped on the command)."""
    d = driven_to("identify")
    later = d.now + timedelta(hours=1)
    [added] = decide(d.state, d.command(cmd.AddTarget(actor=COORDINATOR, target=Target(name="X"))), later, RULES)
    assert added.at == later


@pytest.mark.parametrize(("point", "command", "allowed", "current"), [
    ("identify", lambda d: plan_cmd(d), "PREPARE", "IDENTIFY"),
    ("identify", lambda d: cmd.DecidePriority(actor=COORDINATOR), "PRIORITISE", "IDENTIFY"),
    ("prepare", lambda d: cmd.SubmitForPrioritisation(actor=COORDINATOR, assessment=HIGH),
     "IDENTIFY", "PREPARE"),
    ("prioritise", lambda d: cmd.SubmitForPrioritisation(actor=COORDINATOR, assessment=HIGH),
     "IDENTIFY", "PRIORITISE"),
    ("prepare", lambda d: cmd.ReportResults(actor=officer("BG"), member_state="BG",
                                            results=Results()), "EXECUTE", "PREPARE"),
    ("execute", lambda d: cmd.ApproveTask(actor=approver("BG"), task_id="TK1"), "PREPARE", "EXECUTE"),
    ("execute", lambda d: cmd.AddTarget(actor=COORDINATOR, target=Target(name="Late")),
     "IDENTIFY, PRIORITISE, PREPARE", "EXECUTE"),
    ("identify", lambda d: cmd.StartActionDay(actor=SYSTEM, action_day_id="AD1"), "PREPARE, EXECUTE",
     "IDENTIFY"),
    ("prepare", lambda d: cmd.FinishActionDay(actor=SYSTEM, action_day_id="AD1"), "EXECUTE", "PREPARE"),
    ("prioritise", lambda d: cmd.ScheduleActionDay(actor=COORDINATOR, start=d.due(3), end=d.due(4),
                                                   places=(SOFIA,)),
     "PREPARE, EXECUTE", "PRIORITISE"),
    ("identify", lambda d: cmd.CancelActionDay(actor=COORDINATOR, action_day_id="AD1", justification="x"),
     "PREPARE, EXECUTE", "IDENTIFY"),
    ("execute", lambda d: cmd.InvitePartner(actor=COORDINATOR, partner="RS"),
     "IDENTIFY, PRIORITISE, PREPARE", "EXECUTE"),
    ("execute", lambda d: cmd.RejectTask(actor=approver("BG"), task_id="TK1", justification="late"),
     "PREPARE", "EXECUTE"),
])
def test_command_in_the_wrong_phase(point: str, command: Any, allowed: str, current: str) -> None:
    d = driven_to(point)
    c = command(d)
    error = refused(d, c, WrongPhase,
                    f"{c.kind.replace('_', ' ')} is allowed in phase {allowed} only; "
                    f"operation {OPERATION_ID} is in {current}")
    assert error.field == "phase"


def test_approval_by_another_states_approver() -> None:
    d = driven_to("prepare")
    task_id = d.plan("BG")
    refused(d, cmd.ApproveTask(actor=approver("EL"), task_id=task_id), NotAuthorised,
            f"ap-el-1 (approver of EL) may not approve task {task_id}: it belongs to BG",
            "only BG's own officers may act on it")
    refused(d, cmd.RejectTask(actor=approver("DE"), task_id=task_id, justification="no"),
            NotAuthorised, f"may not reject task {task_id}: it belongs to BG")


def test_approval_by_a_coordinator_or_officer() -> None:
    d = driven_to("prepare")
    task_id = d.plan("BG")
    refused(d, cmd.ApproveTask(actor=COORDINATOR, task_id=task_id), NotAuthorised,
            "coord-1 (coordinator) may not approve task: only an approver may.")
    refused(d, cmd.ApproveTask(actor=officer("BG"), task_id=task_id), NotAuthorised,
            "lo-bg (liaison_officer of BG) may not approve task")


def test_unknown_task() -> None:
    d = driven_to("prepare")
    d.plan("BG")
    error = refused(d, cmd.ApproveTask(actor=approver("BG"), task_id="TK9"), DomainError,
                    f"task_id: 'TK9' is not a task of operation {OPERATION_ID} (tasks: TK1)")
    assert (error.code, error.field, error.value) == ("not_found", "task_id", "TK9")


def test_due_date_in_the_past() -> None:
    d = driven_to("prepare")
    now = d.now + timedelta(minutes=1)
    past = now - timedelta(hours=1)
    error = refused(d, plan_cmd(d, due=past), InvalidInput,
                    f"due: {past.isoformat()} is not in the future (now is {now.isoformat()})",
                    at=now)
    assert error.field == "due"
    refused(d, plan_cmd(d, due=now), InvalidInput, "is not in the future", at=now)
    task_id = d.plan("BG", days=1)
    refused(d, cmd.ReplanTask(actor=COORDINATOR, task_id=task_id), InvalidInput,
            "due:", "is not in the future", at=d.now + timedelta(days=2))
    refused(d, cmd.ScheduleActionDay(actor=COORDINATOR, start=past, end=now + timedelta(days=1),
                                     places=(SOFIA,)),
            InvalidInput, f"start: {past.isoformat()} is not in the future", at=now)
    later = now + timedelta(days=3)
    refused(d, cmd.ScheduleActionDay(actor=COORDINATOR, start=later, end=later,
                                     places=(SOFIA,)),
            InvalidInput, f"end: {later.isoformat()} is not after start", at=now)


def test_task_for_a_state_outside_the_operation() -> None:
    d = driven_to("prepare")
    refused(d, plan_cmd(d, "FR"), InvalidInput,
            f"member_state: FR does not take part in operation {OPERATION_ID} "
            "(participants: BG, EL, DE)")
    refused(d, plan_cmd(d, "XX"), InvalidInput, "member_state: 'XX' is neither an EU member state nor an "
            "operational partner.")
    refused(d, plan_cmd(d, "RS"), InvalidInput, "member_state: RS does not take part in operation")
    refused(d, plan_cmd(d, "EL", task_kind=TaskKind.RELEASE), InvalidInput,
            "task_kind: release tasks come from a release request, not from planning")


def test_reject_without_reason() -> None:
    d = driven_to("prepare")
    task_id = d.plan("BG")
    error = refused(d, cmd.RejectTask(actor=approver("BG"), task_id=task_id), InvalidInput,
                    "justification: a rejection needs a reason")
    assert error.field == "justification"


def test_override_without_justification() -> None:
    d = driven_to("prioritise")
    refused(d, cmd.DecidePriority(actor=COORDINATOR, override_score=55), InvalidInput,
            "justification: overriding the computed priority needs a justification")


def test_officer_contributes_only_for_own_state() -> None:
    d = driven_to("identify")
    refused(d, cmd.AddTarget(actor=officer("EL"), target=Target(name="X", contributed_by="DE")),
            NotAuthorised, "lo-el (liaison_officer of EL) may contribute only for EL, not for DE")
    refused(d, cmd.AddTarget(actor=officer("FR"), target=Target(name="X")), NotAuthorised,
            f"FR does not take part in operation {OPERATION_ID}")
    refused(d, cmd.AddIntelligence(actor=COORDINATOR,
                                   item=Intelligence(summary="s", linked_targets=("Nobody",))),
            InvalidInput, "intelligence.linked_targets: 'Nobody' names no target of the operation")


def test_report_for_another_state_is_refused() -> None:
    d = driven_to("execute")
    refused(d, cmd.ReportResults(actor=officer("EL"), member_state="BG", results=Results()),
            NotAuthorised, "lo-el (liaison_officer of EL) may not report results for BG")
    refused(d, cmd.ReportResults(actor=COORDINATOR, member_state="BG", results=Results()),
            NotAuthorised, "only a liaison officer may")


@pytest.mark.parametrize("point", ["closed", "cancelled"])
@pytest.mark.parametrize("command", [
    cmd.AddTarget(actor=COORDINATOR, target=Target(name="X")),
    cmd.AddIntelligence(actor=officer("BG"), item=Intelligence(summary="s")),
    cmd.SubmitForPrioritisation(actor=COORDINATOR, assessment=HIGH),
    cmd.DecidePriority(actor=COORDINATOR),
    cmd.PlanTask(actor=COORDINATOR, member_state="BG", task_kind=TaskKind.ARREST, description="d",
                 due=datetime(2040, 1, 1, tzinfo=UTC)),
    cmd.ApproveTask(actor=approver("BG"), task_id="TK1"),
    cmd.RejectTask(actor=approver("BG"), task_id="TK1", justification="no"),
    cmd.ReplanTask(actor=COORDINATOR, task_id="TK1"),
    cmd.DropTask(actor=COORDINATOR, task_id="TK1", justification="no"),
    cmd.ScheduleActionDay(actor=COORDINATOR, start=datetime(2040, 1, 1, tzinfo=UTC),
                          end=datetime(2040, 1, 2, tzinfo=UTC), places=(SOFIA,)),
    cmd.ReportResults(actor=officer("BG"), member_state="BG", results=Results()),
    cmd.CancelOperation(actor=COORDINATOR, justification="again"),
    cmd.RemindApproval(actor=SYSTEM, task_id="TK1"),
    cmd.EscalateApproval(actor=SYSTEM, task_id="TK1"),
    cmd.StartActionDay(actor=SYSTEM, action_day_id="AD1"),
    cmd.FinishActionDay(actor=SYSTEM, action_day_id="AD1"),
    cmd.CancelActionDay(actor=COORDINATOR, action_day_id="AD1", justification="no"),
    cmd.RequestRelease(actor=COORDINATOR, item_id="IN1", to_state="DE"),
    cmd.InvitePartner(actor=COORDINATOR, partner="RS"),
], ids=lambda c: c.kind)
def test_nothing_after_a_terminal_phase(point: str, command: Any) -> None:
    d = driven_to(point)
    error = refused(d, command, WrongPhase,
                    f"operation {OPERATION_ID} is {point}; "
                    f"it accepts no further {command.kind.replace('_', ' ')}",
                    at=datetime(2039, 1, 1, tzinfo=UTC))
    assert error.code == "wrong_phase"


@pytest.mark.parametrize("actor", [COORDINATOR, officer("BG"), approver("BG"), AUDITOR,
                                   Actor(id="liaison", role=Role.COORDINATOR)],
                         ids=lambda a: f"{a.role.value}:{a.id}")
@pytest.mark.parametrize("command", [
    cmd.StartActionDay(actor=SYSTEM, action_day_id="AD1"), cmd.FinishActionDay(actor=SYSTEM, action_day_id="AD1"),
    cmd.RemindApproval(actor=SYSTEM, task_id="TK1"), cmd.EscalateApproval(actor=SYSTEM, task_id="TK1"),
], ids=lambda c: c.kind)
def test_system_command_by_a_person_is_refused(actor: Actor, command: Any) -> None:
    d = driven_to("ready")
    forged = command.model_copy(update={"actor": actor})
    refused(d, forged, NotAuthorised,
            f"{actor.describe()} may not {command.kind.replace('_', ' ')}: only a system may.",
            at=d.day().end + timedelta(days=5))


@pytest.mark.parametrize(("command", "allowed"), [
    (cmd.PlanTask(actor=officer("BG"), member_state="BG", task_kind=TaskKind.ARREST, description="d",
                  due=datetime(2040, 1, 1, tzinfo=UTC)), "coordinator"),
    (cmd.CancelOperation(actor=approver("BG"), justification="x"), "coordinator"),
    (cmd.AddTarget(actor=AUDITOR, target=Target(name="X")), "coordinator or liaison officer"),
    (cmd.DecidePriority(actor=SYSTEM), "coordinator"),
    (cmd.ScheduleActionDay(actor=officer("BG"), start=datetime(2040, 1, 1, tzinfo=UTC),
                           end=datetime(2040, 1, 2, tzinfo=UTC), places=(SOFIA,)),
     "coordinator"),
    (cmd.CancelActionDay(actor=approver("BG"), action_day_id="AD1", justification="x"), "coordinator"),
    (cmd.InvitePartner(actor=officer("BG"), partner="RS"), "coordinator"),
    (cmd.RequestRelease(actor=approver("BG"), item_id="IN1", to_state="BG"), "coordinator or liaison officer"),
    (cmd.RequestRelease(actor=AUDITOR, item_id="IN1", to_state="BG"), "coordinator or liaison officer"),
], ids=lambda v: getattr(v, "kind", v))
def test_role_checks(command: Any, allowed: str) -> None:
    d = driven_to("prepare")
    refused(d, command, NotAuthorised, f"only a {allowed} may.")


def test_refusal_leaves_a_copy_equal_and_decide_never_mutates() -> None:
    d = driven_to("ready")
    snapshot = d.state.model_copy(deep=True)
    c = stamped(cmd.StartActionDay(actor=SYSTEM, action_day_id="AD1"), d.day().start)
    emitted = decided(d.state, c)
    assert emitted and d.state == snapshot
    assert decided(d.state, c) == emitted  # deterministic


def test_domain_error_as_dict() -> None:
    d = Driver()
    error = refused(d, open_cmd(lead_state="XX"), InvalidInput)
    assert error.as_dict() == {"code": "invalid_input", "message": error.message,
                               "field": "lead_state", "value": "XX"}
    assert str(error) == error.message


def test_naive_due_date_is_refused_naming_the_field() -> None:
    d = driven_to("prepare")
    naive = (d.now + timedelta(days=3)).replace(tzinfo=None)
    with pytest.raises(ValidationError, match=r"due\n  Input should have timezone info"):
        plan_cmd(d, due=naive)
