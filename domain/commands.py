"""Commands: what an actor asks of an operation. The workflow stamps issued_at with its own clock."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from domain.actors import Actor
from domain.model import (
    DeconflictionHit,
    HitResolution,
    Intelligence,
    OperationSpec,
    Place,
    Results,
    Target,
    TaskKind,
)
from domain.prioritisation import Assessment, ScoringPolicy
from domain.timing import Timing


class CommandBase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    actor: Actor
    justification: str = ""
    issued_at: AwareDatetime | None = None


class OpenOperation(CommandBase):
    kind: Literal["open_operation"] = "open_operation"
    operation_id: str = Field(min_length=1, max_length=120)
    spec: OperationSpec
    scoring: ScoringPolicy = ScoringPolicy()
    timing: Timing = Timing()


class AddTarget(CommandBase):
    kind: Literal["add_target"] = "add_target"
    target: Target


class AddIntelligence(CommandBase):
    kind: Literal["add_intelligence"] = "add_intelligence"
    item: Intelligence


class SubmitForPrioritisation(CommandBase):
    kind: Literal["submit_for_prioritisation"] = "submit_for_prioritisation"
    assessment: Assessment


class DecidePriority(CommandBase):
    """Confirm the computed score (override_score None) or override it; an override needs a justification."""

    kind: Literal["decide_priority"] = "decide_priority"
    override_score: float | None = Field(default=None, ge=0, le=100)


class PlanTask(CommandBase):
    kind: Literal["plan_task"] = "plan_task"
    member_state: str
    task_kind: TaskKind
    description: str = Field(min_length=1)
    due: AwareDatetime
    four_eyes: bool = False


class ApproveTask(CommandBase):
    kind: Literal["approve_task"] = "approve_task"
    task_id: str


class RejectTask(CommandBase):
    kind: Literal["reject_task"] = "reject_task"
    task_id: str


class ReplanTask(CommandBase):
    kind: Literal["replan_task"] = "replan_task"
    task_id: str
    description: str | None = None
    due: AwareDatetime | None = None
    four_eyes: bool | None = None


class DropTask(CommandBase):
    kind: Literal["drop_task"] = "drop_task"
    task_id: str


class ScheduleActionDay(CommandBase):
    """Add an action day, or re-schedule one (action_day_id given); member_states default to all states."""

    kind: Literal["schedule_action_day"] = "schedule_action_day"
    start: AwareDatetime
    end: AwareDatetime
    places: tuple[Place, ...] = Field(min_length=1)
    member_states: tuple[str, ...] = ()
    action_day_id: str | None = None


class CancelActionDay(CommandBase):
    kind: Literal["cancel_action_day"] = "cancel_action_day"
    action_day_id: str


class ReportResults(CommandBase):
    """One state's results of one action day (action_day_id may be left out while only one is running)."""

    kind: Literal["report_results"] = "report_results"
    member_state: str
    results: Results
    action_day_id: str | None = None


class RequestRelease(CommandBase):
    """Ask an item's provider for permission to pass it to another state: a task of the provider."""

    kind: Literal["request_release"] = "request_release"
    item_id: str
    to_state: str


class InvitePartner(CommandBase):
    kind: Literal["invite_partner"] = "invite_partner"
    partner: str


class CancelOperation(CommandBase):
    kind: Literal["cancel_operation"] = "cancel_operation"


class ResolveHit(CommandBase):
    """A liaison officer of a state involved resolves a deconfliction hit, for both operations."""

    kind: Literal["resolve_hit"] = "resolve_hit"
    hit_id: str
    resolution: HitResolution


# Commands the workflow itself issues (timers, deconfliction); only the system actor may issue them.
class RecordHit(CommandBase):
    kind: Literal["record_hit"] = "record_hit"
    hit: DeconflictionHit


class RecordHitResolution(CommandBase):
    """The other side resolved a hit shared with this operation."""

    kind: Literal["record_hit_resolution"] = "record_hit_resolution"
    hit_id: str
    resolution: HitResolution
    resolved_by: str

class RemindApproval(CommandBase):
    kind: Literal["remind_approval"] = "remind_approval"
    task_id: str


class EscalateApproval(CommandBase):
    kind: Literal["escalate_approval"] = "escalate_approval"
    task_id: str


class StartActionDay(CommandBase):
    kind: Literal["start_action_day"] = "start_action_day"
    action_day_id: str


class FinishActionDay(CommandBase):
    """The results deadline of an action day passed: it finishes with whatever was reported."""

    kind: Literal["finish_action_day"] = "finish_action_day"
    action_day_id: str


Command = Annotated[
    OpenOperation | AddTarget | AddIntelligence | SubmitForPrioritisation | DecidePriority
    | PlanTask | ApproveTask | RejectTask | ReplanTask | DropTask | ScheduleActionDay
    | CancelActionDay | ReportResults | RequestRelease | InvitePartner | CancelOperation
    | ResolveHit | RemindApproval | EscalateApproval | StartActionDay | FinishActionDay | RecordHit
    | RecordHitResolution,
    Field(discriminator="kind"),
]
