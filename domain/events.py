"""Events: facts that happened to an operation. Each carries who, when and why."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from domain.actors import Actor
from domain.model import (
    ActionDay,
    DeconflictionHit,
    HitResolution,
    Intelligence,
    OperationSpec,
    Phase,
    Results,
    StepUp,
    Target,
    Task,
)
from domain.prioritisation import Assessment, PriorityScore, ScoringPolicy
from domain.timing import Timing


class EventBase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    actor: Actor
    at: datetime
    justification: str = ""


class OperationOpened(EventBase):
    type: Literal["operation_opened"] = "operation_opened"
    operation_id: str
    spec: OperationSpec
    scoring: ScoringPolicy
    timing: Timing


class TargetAdded(EventBase):
    type: Literal["target_added"] = "target_added"
    target: Target


class IntelligenceAdded(EventBase):
    type: Literal["intelligence_added"] = "intelligence_added"
    item: Intelligence


class PrioritisationSubmitted(EventBase):
    type: Literal["prioritisation_submitted"] = "prioritisation_submitted"
    assessment: Assessment
    computed: PriorityScore


class PriorityDecided(EventBase):
    type: Literal["priority_decided"] = "priority_decided"
    score: float
    computed_score: float
    overridden: bool


class OperationParked(EventBase):
    type: Literal["operation_parked"] = "operation_parked"
    score: float
    threshold: float


class PhaseAdvanced(EventBase):
    type: Literal["phase_advanced"] = "phase_advanced"
    from_phase: Phase
    to_phase: Phase


class TaskPlanned(EventBase):
    type: Literal["task_planned"] = "task_planned"
    task: Task


class TaskApprovalGiven(EventBase):
    type: Literal["task_approval_given"] = "task_approval_given"
    task_id: str
    approver: str
    step_up: StepUp = False


class TaskApproved(EventBase):
    type: Literal["task_approved"] = "task_approved"
    task_id: str
    step_up: StepUp = False


class TaskRejected(EventBase):
    type: Literal["task_rejected"] = "task_rejected"
    task_id: str
    approver: str
    step_up: StepUp = False


class TaskReplanned(EventBase):
    type: Literal["task_replanned"] = "task_replanned"
    task: Task


class TaskDropped(EventBase):
    type: Literal["task_dropped"] = "task_dropped"
    task_id: str


class ApprovalReminded(EventBase):
    type: Literal["approval_reminded"] = "approval_reminded"
    task_id: str
    member_state: str
    due: datetime


class ApprovalEscalated(EventBase):
    type: Literal["approval_escalated"] = "approval_escalated"
    task_id: str
    member_state: str
    due: datetime


class ActionDayScheduled(EventBase):
    type: Literal["action_day_scheduled"] = "action_day_scheduled"
    action_day: ActionDay


class ExecutionBlocked(EventBase):
    type: Literal["execution_blocked"] = "execution_blocked"
    action_day_id: str
    reasons: tuple[str, ...]


class ActionDayCancelled(EventBase):
    type: Literal["action_day_cancelled"] = "action_day_cancelled"
    action_day_id: str


class ExecutionStarted(EventBase):
    """An action day started (the first one also moves the operation to EXECUTE)."""

    type: Literal["execution_started"] = "execution_started"
    action_day_id: str
    member_states: tuple[str, ...]


class ResultsReported(EventBase):
    type: Literal["results_reported"] = "results_reported"
    member_state: str
    results: Results
    action_day_id: str = "AD1"


class ActionDayFinished(EventBase):
    type: Literal["action_day_finished"] = "action_day_finished"
    action_day_id: str
    totals: Results
    missing_states: tuple[str, ...]


class OperationClosed(EventBase):
    type: Literal["operation_closed"] = "operation_closed"
    totals: Results
    reported_states: tuple[str, ...]
    missing_states: tuple[str, ...]
    totals_by_state: dict[str, Results] = {}
    totals_by_day: dict[str, Results] = {}


class DeconflictionHitRaised(EventBase):
    type: Literal["deconfliction_hit_raised"] = "deconfliction_hit_raised"
    hit: DeconflictionHit


class DeconflictionHitResolved(EventBase):
    type: Literal["deconfliction_hit_resolved"] = "deconfliction_hit_resolved"
    hit_id: str
    resolution: HitResolution
    resolved_by: str


class ItemReleased(EventBase):
    type: Literal["item_released"] = "item_released"
    item_id: str
    to_state: str


class PartnerInvited(EventBase):
    type: Literal["partner_invited"] = "partner_invited"
    partner: str


class OperationCancelled(EventBase):
    type: Literal["operation_cancelled"] = "operation_cancelled"
    phase: Phase


Event = Annotated[
    OperationOpened | TargetAdded | IntelligenceAdded | PrioritisationSubmitted | PriorityDecided
    | OperationParked | PhaseAdvanced | TaskPlanned | TaskApprovalGiven | TaskApproved
    | TaskRejected | TaskReplanned | TaskDropped | ApprovalReminded | ApprovalEscalated
    | ActionDayScheduled | ActionDayCancelled | ExecutionBlocked | ExecutionStarted | ResultsReported
    | ActionDayFinished | OperationClosed | OperationCancelled | ItemReleased | PartnerInvited
    | DeconflictionHitRaised | DeconflictionHitResolved,
    Field(discriminator="type"),
]

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def event_from_dict(data: dict[str, object]) -> Event:
    return EVENT_ADAPTER.validate_python(data)
