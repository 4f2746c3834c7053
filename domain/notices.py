"""Who must be told of which event, and what they are told."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from domain import events as ev
from domain.actors import Role
from domain.state import OperationState


class Notice(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: str
    recipient_role: Role
    recipient_state: str | None
    message: str


def notices_for(state: OperationState, event: ev.Event) -> list[Notice]:
    name = f"{state.code_name} ({state.operation_id})"
    match event:
        case ev.TaskPlanned(task=task) | ev.TaskReplanned(task=task):
            return [Notice(kind="approval_requested", recipient_role=Role.APPROVER,
                           recipient_state=task.member_state,
                           message=f"{name}: task {task.task_id} awaits your approval "
                                   f"by {task.due:%Y-%m-%d %H:%M} UTC")]
        case ev.ApprovalReminded(task_id=task_id, member_state=state_code, due=due):
            return [Notice(kind="approval_reminder", recipient_role=Role.APPROVER, recipient_state=state_code,
                           message=f"{name}: reminder, task {task_id} is due {due:%Y-%m-%d %H:%M} UTC")]
        case ev.ApprovalEscalated(task_id=task_id, member_state=state_code):
            return [Notice(kind="approval_escalated", recipient_role=Role.COORDINATOR, recipient_state=None,
                           message=f"{name}: task {task_id} of {state_code} is overdue without approval")]
        case ev.TaskRejected(task_id=task_id, justification=reason):
            return [Notice(kind="task_rejected", recipient_role=Role.COORDINATOR, recipient_state=None,
                           message=f"{name}: task {task_id} was rejected: {reason}")]
        case ev.ExecutionBlocked(reasons=reasons):
            return [Notice(kind="execution_blocked", recipient_role=Role.COORDINATOR, recipient_state=None,
                           message=f"{name}: action day could not start: {'; '.join(reasons)}")]
        case ev.ExecutionStarted(action_day_id=day_id, member_states=states):
            return [Notice(kind="action_day_started", recipient_role=Role.LIAISON_OFFICER, recipient_state=s,
                           message=f"{name}: action day {day_id} has started; report your results")
                    for s in states]
        case ev.DeconflictionHitRaised(hit=h):
            return [Notice(kind="deconfliction_hit", recipient_role=Role.LIAISON_OFFICER, recipient_state=code,
                           message=f"{name}: deconfliction hit {h.hit_id} on {h.own_ref} with {h.other_state} "
                                   f"({h.matched}); contact {h.other_contact}. Execution is blocked until resolved.")
                    for code in state.our_states_in(h)]
        case ev.ItemReleased(item_id=item_id, to_state=to_state):
            return [Notice(kind="item_released", recipient_role=Role.LIAISON_OFFICER, recipient_state=to_state,
                           message=f"{name}: intelligence item {item_id} was released to {to_state}")]
        case ev.OperationClosed(missing_states=missing):
            note = f"; no results from {', '.join(missing)}" if missing else ""
            return [Notice(kind="operation_closed", recipient_role=Role.COORDINATOR, recipient_state=None,
                           message=f"{name}: closed{note}")]
        case _:
            return []
