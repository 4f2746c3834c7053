"""When the workflow must act on its own: reminders, escalations, action-day starts, results deadlines.

Pure functions of the state and the current time, so the workflow's timers follow from the event log.
"""

from __future__ import annotations

from datetime import datetime

from domain import commands as cmd
from domain.actors import SYSTEM
from domain.model import ActionDayStatus, Phase, TaskStatus
from domain.state import OperationState


def _task_deadlines(state: OperationState) -> list[tuple[datetime, cmd.Command]]:
    timing = state.timing
    due: list[tuple[datetime, cmd.Command]] = []
    for task in state.tasks.values():
        if task.status is not TaskStatus.PENDING:
            continue
        if not task.reminded:
            due.append((task.due - timing.reminder_before_due,
                        cmd.RemindApproval(actor=SYSTEM, task_id=task.task_id, justification="approval due soon")))
        if not task.escalated:
            due.append((task.due + timing.escalate_after_due,
                        cmd.EscalateApproval(actor=SYSTEM, task_id=task.task_id, justification="approval overdue")))
    return due


def _day_deadlines(state: OperationState) -> list[tuple[datetime, cmd.Command]]:
    due: list[tuple[datetime, cmd.Command]] = []
    if state.phase not in (Phase.PREPARE, Phase.EXECUTE):
        return due
    for day in state.days(ActionDayStatus.SCHEDULED):
        due.append((day.start, cmd.StartActionDay(actor=SYSTEM, action_day_id=day.action_day_id,
                                                  justification="action day started")))
    unblocked = not state.start_problems()
    for day in state.days(ActionDayStatus.BLOCKED):
        if unblocked:
            due.append((day.start, cmd.StartActionDay(actor=SYSTEM, action_day_id=day.action_day_id,
                                                      justification="nothing blocks execution any more")))
        else:
            due.append((day.end, cmd.StartActionDay(actor=SYSTEM, action_day_id=day.action_day_id,
                                                    justification="its window ended while blocked")))
    for day in state.days(ActionDayStatus.RUNNING):
        due.append((day.end + state.timing.results_grace_after_action_day,
                    cmd.FinishActionDay(actor=SYSTEM, action_day_id=day.action_day_id,
                                        justification="results deadline passed")))
    return due


def _deadlines(state: OperationState) -> list[tuple[datetime, cmd.Command]]:
    if state.phase is None or state.phase.is_terminal:
        return []
    return _task_deadlines(state) + _day_deadlines(state)


def next_deadline(state: OperationState) -> datetime | None:
    """The earliest moment at which the workflow has something to do by itself."""
    return min((when for when, _ in _deadlines(state)), default=None)


def due_commands(state: OperationState, now: datetime) -> list[cmd.Command]:
    """System commands whose time has come, earliest first, stamped with now."""
    ready = sorted((item for item in _deadlines(state) if item[0] <= now), key=lambda item: item[0])
    return [command.model_copy(update={"issued_at": now}) for _, command in ready]
