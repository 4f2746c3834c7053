"""Operation state and evolve: the state is the left fold of evolve over the event stream."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from domain import events as ev
from domain.model import (
    ActionDay,
    ActionDayStatus,
    CrimeArea,
    DeconflictionHit,
    HandlingCode,
    Intelligence,
    Network,
    Phase,
    Results,
    Target,
    Task,
    TaskStatus,
)
from domain.prioritisation import Assessment, PriorityScore, ScoringPolicy
from domain.registry import entry
from domain.timing import Timing


class OperationState(BaseModel):
    model_config = ConfigDict(frozen=True)

    operation_id: str = ""
    phase: Phase | None = None
    code_name: str = ""
    lead_state: str = ""
    participating_states: tuple[str, ...] = ()
    partners: tuple[str, ...] = ()
    crime_areas: tuple[CrimeArea, ...] = ()
    handling_code: HandlingCode = HandlingCode.H0
    handling_restriction: str | None = None
    networks: tuple[Network, ...] = ()
    targets: tuple[Target, ...] = ()
    intelligence: tuple[Intelligence, ...] = ()
    scoring: ScoringPolicy = ScoringPolicy()
    timing: Timing = Timing()
    assessment: Assessment | None = None
    computed_priority: PriorityScore | None = None
    priority: float | None = None
    priority_overridden: bool = False
    parked: bool = False
    tasks: dict[str, Task] = {}
    action_days: dict[str, ActionDay] = {}
    execution_blocked_reasons: tuple[str, ...] = ()
    results: dict[str, dict[str, Results]] = {}
    totals: Results | None = None
    totals_by_state: dict[str, Results] = {}
    totals_by_day: dict[str, Results] = {}
    missing_states: tuple[str, ...] = ()
    hits: dict[str, DeconflictionHit] = {}
    point_of_contact: str = ""
    cancelled_reason: str | None = None
    opened_at: datetime | None = None
    last_event_at: datetime | None = None
    version: int = 0

    @property
    def exists(self) -> bool:
        return self.phase is not None

    def task_counter(self) -> int:
        return len(self.tasks)

    def live_tasks(self) -> list[Task]:
        return [t for t in self.tasks.values() if t.status is not TaskStatus.DROPPED]

    def pending_tasks(self, member_state: str | None = None) -> list[Task]:
        return [t for t in self.tasks.values() if t.status is TaskStatus.PENDING
                and (member_state is None or t.member_state == member_state)]

    @property
    def participants(self) -> tuple[str, ...]:
        return (*self.participating_states, *self.partners)

    def operational_tasks(self) -> list[Task]:
        return [t for t in self.tasks.values() if not t.is_release]

    def readiness_problems(self) -> list[str]:
        """Why execution cannot start now; empty when it can."""
        problems = []
        operational = self.operational_tasks()
        if not any(t.status is TaskStatus.APPROVED for t in operational):
            problems.append("no task is approved")
        for task in operational:
            if task.status in (TaskStatus.PENDING, TaskStatus.REJECTED):
                problems.append(f"task {task.task_id} ({task.member_state}) is {task.status.value}")
        return problems + self.hit_problems()

    def hit_problems(self) -> list[str]:
        return [f"deconfliction hit {hit.hit_id} with {hit.other_state} ({hit.matched}) is unresolved"
                for hit in self.open_hits()]

    def start_problems(self) -> list[str]:
        """Why an action day cannot start now. Before execution everything readiness asks; once
        executing, tasks were settled, but a collision found since still holds every new day back."""
        return self.hit_problems() if self.phase is Phase.EXECUTE else self.readiness_problems()

    def our_states_in(self, hit: DeconflictionHit) -> tuple[str, ...]:
        """Our states involved in a hit: who contributed the target, or who takes part in the action day."""
        target = next((t for t in self.targets if t.target_id == hit.own_ref), None)
        if target is not None:
            return (target.contributed_by,)
        item = self.item(hit.own_ref)
        if item is not None:
            return (item.contributed_by,)
        day = self.action_days.get(hit.own_ref)
        return day.member_states if day else (self.lead_state,)

    def open_hits(self) -> list[DeconflictionHit]:
        return [h for h in self.hits.values() if h.is_open]


    def days(self, *statuses: ActionDayStatus) -> list[ActionDay]:
        return sorted((d for d in self.action_days.values() if not statuses or d.status in statuses),
                      key=lambda d: (d.start, d.action_day_id))

    def item(self, item_id: str) -> Intelligence | None:
        return next((i for i in self.intelligence if i.item_id == item_id), None)

    def handling_code_of(self, ref: str) -> HandlingCode:
        """The code under which ``ref`` (a target, an item, a day) is shared: its own or the operation's,
        whichever restricts more."""
        owner = self.item(ref) or next((t for t in self.targets if t.target_id == ref), None)
        return HandlingCode.strictest(self.handling_code, owner.handling_code if owner is not None else None)


def _opened(s: OperationState, e: ev.OperationOpened) -> dict[str, Any]:
    spec = e.spec
    return dict(
        operation_id=e.operation_id, phase=Phase.IDENTIFY, code_name=spec.code_name,
        lead_state=spec.lead_state, participating_states=spec.participating_states,
        partners=spec.partners, crime_areas=spec.crime_areas, handling_code=spec.handling_code,
        handling_restriction=spec.handling_restriction, networks=spec.networks,
        targets=spec.targets, intelligence=spec.intelligence, scoring=e.scoring, timing=e.timing,
        opened_at=e.at, point_of_contact=spec.point_of_contact or e.actor.id,
    )


def _with_task(s: OperationState, task_id: str, **changes: Any) -> dict[str, Any]:
    return {"tasks": {**s.tasks, task_id: s.tasks[task_id].model_copy(update=changes)}}


def _approval_given(s: OperationState, e: ev.TaskApprovalGiven) -> dict[str, Any]:
    return _with_task(s, e.task_id, approvals=(*s.tasks[e.task_id].approvals, e.approver))


def _rejected(s: OperationState, e: ev.TaskRejected) -> dict[str, Any]:
    return _with_task(s, e.task_id, status=TaskStatus.REJECTED, rejected_by=e.approver,
                      rejection_reason=e.justification)


def _with_day(s: OperationState, day_id: str, **changes: Any) -> dict[str, Any]:
    return {"action_days": {**s.action_days, day_id: s.action_days[day_id].model_copy(update=changes)}}


def _results(s: OperationState, e: ev.ResultsReported) -> dict[str, Any]:
    return {"results": {**s.results, e.action_day_id: {**s.results.get(e.action_day_id, {}),
                                                       e.member_state: e.results}}}


def _closed(s: OperationState, e: ev.OperationClosed) -> dict[str, Any]:
    return {"phase": Phase.CLOSED, "totals": e.totals, "missing_states": e.missing_states,
            "totals_by_state": e.totals_by_state, "totals_by_day": e.totals_by_day}


def _released(s: OperationState, e: ev.ItemReleased) -> dict[str, Any]:
    return {"intelligence": tuple(i.model_copy(update={"released_to": (*i.released_to, e.to_state)})
                                  if i.item_id == e.item_id else i for i in s.intelligence)}


Evolver = Callable[[OperationState, Any], dict[str, Any]]

# One evolver per event type (tests/unit/test_registries.py checks it against the Event union).
_EVOLVERS: dict[type[BaseModel], Evolver] = {
    ev.OperationOpened: _opened,
    ev.TargetAdded: lambda s, e: {"targets": (*s.targets, e.target)},
    ev.IntelligenceAdded: lambda s, e: {"intelligence": (*s.intelligence, e.item)},
    ev.PrioritisationSubmitted: lambda s, e: {"assessment": e.assessment, "computed_priority": e.computed,
                                              "priority": None, "priority_overridden": False, "parked": False},
    ev.PriorityDecided: lambda s, e: {"priority": e.score, "priority_overridden": e.overridden},
    ev.OperationParked: lambda s, e: {"parked": True},
    ev.PhaseAdvanced: lambda s, e: {"phase": e.to_phase, "parked": False},
    ev.TaskPlanned: lambda s, e: {"tasks": {**s.tasks, e.task.task_id: e.task}},
    ev.TaskApprovalGiven: _approval_given,
    ev.TaskApproved: lambda s, e: _with_task(s, e.task_id, status=TaskStatus.APPROVED),
    ev.TaskRejected: _rejected,
    ev.TaskReplanned: lambda s, e: {"tasks": {**s.tasks, e.task.task_id: e.task}},
    ev.TaskDropped: lambda s, e: _with_task(s, e.task_id, status=TaskStatus.DROPPED),
    ev.ApprovalReminded: lambda s, e: _with_task(s, e.task_id, reminded=True),
    ev.ApprovalEscalated: lambda s, e: _with_task(s, e.task_id, escalated=True),
    ev.ActionDayScheduled: lambda s, e: {"action_days": {**s.action_days, e.action_day.action_day_id: e.action_day},
                                         "execution_blocked_reasons": ()},
    ev.ActionDayCancelled: lambda s, e: _with_day(s, e.action_day_id, status=ActionDayStatus.CANCELLED,
                                                  cancelled_reason=e.justification),
    ev.ExecutionBlocked: lambda s, e: {"execution_blocked_reasons": e.reasons,
                                       **_with_day(s, e.action_day_id, status=ActionDayStatus.BLOCKED)},
    ev.ExecutionStarted: lambda s, e: _with_day(s, e.action_day_id, status=ActionDayStatus.RUNNING),
    ev.ResultsReported: _results,
    ev.ActionDayFinished: lambda s, e: _with_day(s, e.action_day_id, status=ActionDayStatus.FINISHED,
                                                 missing_states=e.missing_states),
    ev.OperationClosed: _closed,
    ev.ItemReleased: _released,
    ev.PartnerInvited: lambda s, e: {"partners": (*s.partners, e.partner)},
    ev.DeconflictionHitRaised: lambda s, e: {"hits": {**s.hits, e.hit.hit_id: e.hit}},
    ev.DeconflictionHitResolved: lambda s, e: {"hits": {**s.hits, e.hit_id: s.hits[e.hit_id].model_copy(
        update={"resolution": e.resolution, "resolved_by": e.resolved_by})}},
    ev.OperationCancelled: lambda s, e: {"phase": Phase.CANCELLED, "cancelled_reason": e.justification},
}


def evolver_of(event_type: type[BaseModel]) -> Evolver:
    """The evolver of an event type; Unregistered (naming the type) when _EVOLVERS lacks it."""
    return entry(_EVOLVERS, event_type, "_EVOLVERS (domain/state.py)")


def evolve(state: OperationState, event: ev.Event) -> OperationState:
    changes = evolver_of(type(event))(state, event)
    changes.update(version=state.version + 1, last_event_at=event.at)
    return state.model_copy(update=changes)


def fold(events: Iterable[ev.Event], state: OperationState | None = None) -> OperationState:
    """The state after events, from state (or from nothing): the one left fold of evolve."""
    current = OperationState() if state is None else state
    for event in events:
        current = evolve(current, event)
    return current
