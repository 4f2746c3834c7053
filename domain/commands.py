"""Commands: what an actor asks of an operation. The workflow stamps issued_at with its own clock.

Each command a person issues is a request (what the caller asks: the fields it fills in) plus the
actor, which only the service adds, from the caller's authentication; a request carries neither who
asks nor the server's policy (scoring, timing), which the workflow takes from the worker.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from domain.actors import Actor
from domain.model import (
    DeconflictionHit,
    HitResolution,
    Intelligence,
    OperationSpec,
    Place,
    Results,
    StepUp,
    Target,
    TaskKind,
)
from domain.prioritisation import Assessment, ScoringPolicy
from domain.timing import Timing


class Request(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    justification: str = ""


class CommandBase(Request):
    actor: Actor
    issued_at: AwareDatetime | None = None


class OpenOperationRequest(Request):
    operation_id: str = Field(min_length=1, max_length=120)
    spec: OperationSpec


class OpenOperation(CommandBase, OpenOperationRequest):
    kind: Literal["open_operation"] = "open_operation"
    # The server's policy. None (what every service sends) means the worker's settings, which the
    # workflow takes when it opens; either way operation_opened records it, as replay needs.
    scoring: ScoringPolicy | None = None
    timing: Timing | None = None


class AddTargetRequest(Request):
    target: Target


class AddTarget(CommandBase, AddTargetRequest):
    kind: Literal["add_target"] = "add_target"


class AddIntelligenceRequest(Request):
    item: Intelligence


class AddIntelligence(CommandBase, AddIntelligenceRequest):
    kind: Literal["add_intelligence"] = "add_intelligence"


class SubmitForPrioritisationRequest(Request):
    assessment: Assessment


class SubmitForPrioritisation(CommandBase, SubmitForPrioritisationRequest):
    kind: Literal["submit_for_prioritisation"] = "submit_for_prioritisation"


class DecidePriorityRequest(Request):
    """Confirm the computed score (override_score None) or override it; an override needs a justification."""

    override_score: float | None = Field(default=None, ge=0, le=100)


class DecidePriority(CommandBase, DecidePriorityRequest):
    kind: Literal["decide_priority"] = "decide_priority"


class PlanTaskRequest(Request):
    member_state: str
    task_kind: TaskKind
    description: str = Field(min_length=1)
    due: AwareDatetime
    four_eyes: bool = False


class PlanTask(CommandBase, PlanTaskRequest):
    kind: Literal["plan_task"] = "plan_task"


class ApproveTaskRequest(Request):
    task_id: str


class ApproveTask(CommandBase, ApproveTaskRequest):
    kind: Literal["approve_task"] = "approve_task"
    step_up: StepUp = False  # set by the service once the approver confirmed a one-time code
    # Set by the service when the approver enrolled a code (or must): a coercive sign-off then needs step_up.
    step_up_required: StepUp = False


class RejectTaskRequest(Request):
    task_id: str


class RejectTask(CommandBase, RejectTaskRequest):
    kind: Literal["reject_task"] = "reject_task"
    step_up: StepUp = False  # set by the service once the approver confirmed a one-time code
    # Set by the service when the approver enrolled a code (or must): a coercive sign-off then needs step_up.
    step_up_required: StepUp = False


class ReplanTaskRequest(Request):
    task_id: str
    description: str | None = None
    due: AwareDatetime | None = None
    four_eyes: bool | None = None


class ReplanTask(CommandBase, ReplanTaskRequest):
    kind: Literal["replan_task"] = "replan_task"


class DropTaskRequest(Request):
    task_id: str


class DropTask(CommandBase, DropTaskRequest):
    kind: Literal["drop_task"] = "drop_task"


class ScheduleActionDayRequest(Request):
    """Add an action day, or re-schedule one (action_day_id given); member_states default to all states."""

    start: AwareDatetime
    end: AwareDatetime
    places: tuple[Place, ...] = Field(min_length=1)
    member_states: tuple[str, ...] = ()
    action_day_id: str | None = None


class ScheduleActionDay(CommandBase, ScheduleActionDayRequest):
    kind: Literal["schedule_action_day"] = "schedule_action_day"


class CancelActionDayRequest(Request):
    action_day_id: str


class CancelActionDay(CommandBase, CancelActionDayRequest):
    kind: Literal["cancel_action_day"] = "cancel_action_day"


class ReportResultsRequest(Request):
    """One state's results of one action day (action_day_id may be left out while only one is running;
    member_state defaults to the reporting officer's own)."""

    member_state: str | None = None
    results: Results
    action_day_id: str | None = None


class ReportResults(CommandBase, ReportResultsRequest):
    kind: Literal["report_results"] = "report_results"
    member_state: str


class RequestReleaseRequest(Request):
    """Ask an item's provider for permission to pass it to another state: a task of the provider."""

    item_id: str
    to_state: str


class RequestRelease(CommandBase, RequestReleaseRequest):
    kind: Literal["request_release"] = "request_release"


class InvitePartnerRequest(Request):
    partner: str


class InvitePartner(CommandBase, InvitePartnerRequest):
    kind: Literal["invite_partner"] = "invite_partner"


class CancelOperationRequest(Request):
    """Cancel in any phase; the justification is the reason."""


class CancelOperation(CommandBase, CancelOperationRequest):
    kind: Literal["cancel_operation"] = "cancel_operation"


class ResolveHitRequest(Request):
    """A liaison officer of a state involved resolves a deconfliction hit, for both operations."""

    hit_id: str
    resolution: HitResolution


class ResolveHit(CommandBase, ResolveHitRequest):
    kind: Literal["resolve_hit"] = "resolve_hit"


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


def _request_of(command_type: type[CommandBase]) -> type[Request] | None:
    bases = [b for b in command_type.__bases__ if issubclass(b, Request) and not issubclass(b, CommandBase)]
    return bases[0] if bases else None


COMMAND_TYPES: tuple[type[CommandBase], ...] = get_args(get_args(Command)[0])
# What a person may ask, and the command it becomes once the service adds the actor.
COMMAND_OF_REQUEST: dict[type[Request], type[CommandBase]] = {
    request: command for command in COMMAND_TYPES if (request := _request_of(command)) is not None}


_SET_BY_THE_WORKFLOW = frozenset({"actor", "issued_at", "kind"})


def server_set_fields(command_type: type[CommandBase]) -> frozenset[str]:
    """The fields of a command that only the server sets: neither its request's (what a caller may send)
    nor the actor, the stamp and the kind (an approval's step_up, an opening's scoring and timing)."""
    sent = (_request_of(command_type) or Request).model_fields
    return frozenset(command_type.model_fields) - set(sent) - _SET_BY_THE_WORKFLOW


def command_from(request: Request, actor: Actor, /, **server_set: object) -> Command:
    """The command a request becomes when the authenticated actor issues it, with the fields the service
    sets itself (``command_from(request, actor, step_up=True)``); TypeError for a field that is not one of
    the command's server_set_fields, so a service cannot set what a request carries, nor a misspelt field."""
    command_type = COMMAND_OF_REQUEST.get(type(request))
    if command_type is None:
        raise TypeError(f"{type(request).__name__} is not a request a person may send")
    unknown = sorted(set(server_set) - server_set_fields(command_type))
    if unknown:
        allowed = ", ".join(sorted(server_set_fields(command_type))) or "none"
        raise TypeError(f"{command_type.__name__} has no server-set field {', '.join(unknown)} (it has: {allowed})")
    fields = {name: getattr(request, name) for name in type(request).model_fields}
    return command_type.model_validate({**fields, **server_set, "actor": actor})  # type: ignore[return-value]
