"""The decider: decide(state, command, now, rules) -> events, or a DomainError naming what was wrong.

It is the single source of truth for what may happen. It never reads a clock: it is told the time it
decides at (the workflow's, which the workflow also stamps on the command as issued_at) and the rules
version to decide by (which the workflow chooses per run, so recorded histories replay unchanged).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any

from domain import commands as cmd
from domain import events as ev
from domain.actors import SYSTEM, Actor, Role
from domain.clear_ids import require_no_target_in
from domain.deconfliction.normalise import identifier_key, iso_country
from domain.errors import DomainError, InvalidInput, NotAuthorised, WrongPhase
from domain.lookup import found
from domain.model import (
    ActionDay,
    ActionDayStatus,
    DeconflictionHit,
    HitResolution,
    Identifier,
    Intelligence,
    OperationSpec,
    Phase,
    Place,
    Results,
    Target,
    Task,
    TaskKind,
    TaskStatus,
)
from domain.prioritisation import ScoringPolicy, score
from domain.reference import canonical_code, member_state, participant, partner
from domain.registry import entry
from domain.rules import RulesVersion, authorise, require_participant, require_state_of
from domain.state import OperationState, evolve, evolver_of, fold
from domain.timing import Timing
from domain.visibility import is_visible_to_state

EDITABLE_PHASES = (Phase.IDENTIFY, Phase.PRIORITISE, Phase.PREPARE)


def decide(state: OperationState, command: cmd.Command, now: datetime, rules: RulesVersion) -> list[ev.Event]:
    """The events a command produces on a state at a time (aware) under a rules version; raises DomainError
    when it is not allowed, and Unregistered when a table lacks the command or one of its events."""
    if now.tzinfo is None:
        raise ValueError(f"decide needs an aware time, not {now.isoformat()}")
    authorise(command.actor, command)
    decider = entry(entry(RULEBOOK, rules, "RULEBOOK (domain/decider.py)"), type(command),
                    f"the deciders of rules {rules.value} (domain/decider.py)")
    if not isinstance(command, cmd.OpenOperation):
        _require_open(state, command.kind)
    events = decider(state, command, now)
    for event in events:
        # Before anything is recorded: the workflow's validator refuses a command it could not evolve.
        evolver_of(type(event))
    return events


def stamp_of(command: cmd.CommandBase) -> datetime:
    """The time the workflow stamped on a command: the time it is decided at."""
    if command.issued_at is None:
        raise InvalidInput("issued_at", None, "issued_at: the command has no time; the workflow stamps it")
    return command.issued_at


def _require_open(state: OperationState, command_kind: str) -> None:
    if not state.exists:
        raise DomainError("not_found", "the operation does not exist (open it first)")
    if state.phase is not None and state.phase.is_terminal:
        raise WrongPhase(f"operation {state.operation_id} is {state.phase.value}; "
                         f"it accepts no further {command_kind.replace('_', ' ')}")


def _meta(command: cmd.CommandBase, now: datetime) -> dict[str, Any]:
    return {"actor": command.actor, "at": now, "justification": command.justification}


def _require_phase(state: OperationState, command_kind: str, *phases: Phase) -> None:
    if state.phase not in phases:
        allowed = ", ".join(p.value.upper() for p in phases)
        current = state.phase.value.upper() if state.phase else "none"
        raise WrongPhase(f"{command_kind.replace('_', ' ')} is allowed in phase {allowed} only; "
                         f"operation {state.operation_id} is in {current}")


def _require_justification(command: cmd.CommandBase, why: str) -> None:
    if not command.justification.strip():
        raise InvalidInput("justification", command.justification, f"justification: {why}")


def _require_future(field: str, when: datetime, now: datetime) -> None:
    if when <= now:
        raise InvalidInput(field, when.isoformat(),
                           f"{field}: {when.isoformat()} is not in the future (now is {now.isoformat()})")


# --- opening -------------------------------------------------------------------------------------

def _normalise_states(spec: OperationSpec) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    lead = member_state(spec.lead_state, "lead_state")
    states = [member_state(code, "participating_states") for code in spec.participating_states]
    states = list(dict.fromkeys([lead, *states]))
    if len(states) < 2:
        raise InvalidInput("participating_states", ",".join(states),
                           f"participating_states: a cross-border operation needs at least two member "
                           f"states; only {', '.join(states)} given")
    partners = tuple(dict.fromkeys(partner(code) for code in spec.partners))
    return lead, tuple(states), partners


def _contributor(code: str, default: str, contributors: tuple[str, ...], field: str) -> str:
    contributor = canonical_code(code or default)
    if contributor not in contributors:
        raise InvalidInput(field, code, f"{field}: {code!r} does not take part in the operation "
                           f"(participants: {', '.join(contributors)})")
    return contributor


def _number_target(target: Target, number: int, contributor: str, networks: set[str]) -> Target:
    if target.network and target.network not in networks:
        raise InvalidInput("target.network", target.network,
                           f"target.network: {target.network!r} is not a network of the operation "
                           f"(known: {', '.join(sorted(networks)) or 'none'})")
    _readable(target.identifiers, contributor)
    _on_the_calendar(target.date_of_birth)
    nationality = canonical_code(iso_country(target.nationality, "target.nationality")) if target.nationality else None
    return target.model_copy(update={"target_id": f"TG{number}", "contributed_by": contributor,
                                     "nationality": nationality})


def _on_the_calendar(date_of_birth: str | None) -> None:
    # Checked here, not by the model, so that events and workflow inputs recorded before stay readable.
    if date_of_birth is None or len(date_of_birth) == 4:
        return
    try:
        date.fromisoformat(date_of_birth)
    except ValueError:
        raise InvalidInput("target.date_of_birth", date_of_birth,
                           f"target.date_of_birth: {date_of_birth!r} is not a date of the calendar") from None


def _readable(identifiers: Iterable[Identifier], contributor: str) -> None:
    for identifier in identifiers:
        identifier_key(identifier, contributor)  # refuses a number, IBAN or plate that cannot be read


def _numbered_item(item: Intelligence, number: int, contributor: str, targets: tuple[Target, ...]) -> Intelligence:
    _readable(item.identifiers, contributor)
    return item.model_copy(update={"item_id": f"IN{number}", "contributed_by": contributor,
                                   "linked_targets": _resolve_links(item, targets), "released_to": ()})


def _resolve_links(item: Intelligence, targets: tuple[Target, ...]) -> tuple[str, ...]:
    by_key = {t.target_id: t.target_id for t in targets} | {t.name: t.target_id for t in targets}
    unknown = [link for link in item.linked_targets if link not in by_key]
    if unknown:
        raise InvalidInput("intelligence.linked_targets", unknown[0],
                           f"intelligence.linked_targets: {unknown[0]!r} names no target of the operation")
    return tuple(by_key[link] for link in item.linked_targets)


def _open(state: OperationState, c: cmd.OpenOperation, now: datetime) -> list[ev.Event]:
    if state.exists:
        raise DomainError("already_exists", f"operation {c.operation_id} already exists",
                          field="operation_id", value=c.operation_id)
    spec = c.spec
    lead, states, partners = _normalise_states(spec)
    contributors = (*states, *partners)
    names = [n.name for n in spec.networks]
    if len(set(names)) != len(names):
        raise InvalidInput("networks", names, "networks: two networks share one name")
    targets = tuple(
        _number_target(t, i, _contributor(t.contributed_by, lead, contributors, "targets.contributed_by"),
                       set(names))
        for i, t in enumerate(spec.targets, start=1)
    )
    intelligence = tuple(
        _numbered_item(item, i, _contributor(item.contributed_by, lead, contributors, "intelligence.contributed_by"),
                       targets)
        for i, item in enumerate(spec.intelligence, start=1)
    )
    require_no_target_in("operation_id", c.operation_id, targets)  # both kept in clear by Temporal
    require_no_target_in("code_name", spec.code_name, targets)
    normalised = spec.model_copy(update={
        "lead_state": lead, "participating_states": states, "partners": partners,
        "targets": targets, "intelligence": intelligence})
    return [ev.OperationOpened(operation_id=c.operation_id, spec=normalised, scoring=c.scoring or ScoringPolicy(),
                               timing=c.timing or Timing(), **_meta(c, now))]


# --- identify ------------------------------------------------------------------------------------

def _own_contribution(state: OperationState, actor: Actor, code: str, field: str) -> str:
    if actor.role is Role.LIAISON_OFFICER:
        require_participant(actor, state, f"contribute to operation {state.operation_id}")
        assert actor.member_state is not None
        if code and canonical_code(code) != actor.member_state:
            raise NotAuthorised(f"{actor.describe()} may contribute only for {actor.member_state}, "
                                f"not for {code}")
        return actor.member_state
    return _contributor(code, state.lead_state, (*state.participating_states, *state.partners), field)


def _add_target(state: OperationState, c: cmd.AddTarget, now: datetime) -> list[ev.Event]:
    _require_phase(state, c.kind, *EDITABLE_PHASES)
    contributor = _own_contribution(state, c.actor, c.target.contributed_by, "target.contributed_by")
    target = _number_target(c.target, len(state.targets) + 1, contributor,
                            {n.name for n in state.networks})
    return [ev.TargetAdded(target=target, **_meta(c, now))]


def _add_intelligence(state: OperationState, c: cmd.AddIntelligence, now: datetime) -> list[ev.Event]:
    _require_phase(state, c.kind, *EDITABLE_PHASES)
    contributor = _own_contribution(state, c.actor, c.item.contributed_by, "item.contributed_by")
    item = _numbered_item(c.item, len(state.intelligence) + 1, contributor, state.targets)
    return [ev.IntelligenceAdded(item=item, **_meta(c, now))]


# --- prioritise ----------------------------------------------------------------------------------

def _submit(state: OperationState, c: cmd.SubmitForPrioritisation, now: datetime) -> list[ev.Event]:
    resubmission = state.phase is Phase.PRIORITISE and state.parked
    if not resubmission:
        _require_phase(state, c.kind, Phase.IDENTIFY)
    if not state.targets and not state.networks:
        raise DomainError("incomplete", "the operation has no network and no target to prioritise")
    computed = score(c.assessment, len(state.participating_states) + len(state.partners), state.scoring)
    submitted = ev.PrioritisationSubmitted(assessment=c.assessment, computed=computed, **_meta(c, now))
    if resubmission:
        return [submitted]
    return [ev.PhaseAdvanced(from_phase=Phase.IDENTIFY, to_phase=Phase.PRIORITISE, **_meta(c, now)), submitted]


def _decide_priority(state: OperationState, c: cmd.DecidePriority, now: datetime) -> list[ev.Event]:
    _require_phase(state, c.kind, Phase.PRIORITISE)
    assert state.computed_priority is not None
    computed = state.computed_priority.score
    if c.override_score is not None:
        _require_justification(c, "overriding the computed priority needs a justification")
    elif state.parked:
        raise InvalidInput("override_score", None,
                           f"override_score: the operation is parked at {state.priority} below the "
                           f"threshold {state.scoring.threshold}; confirming again changes nothing. "
                           "Override with a justification or resubmit a new assessment.")
    final = computed if c.override_score is None else c.override_score
    decided = ev.PriorityDecided(score=final, computed_score=computed,
                                 overridden=c.override_score is not None, **_meta(c, now))
    if final < state.scoring.threshold:
        return [decided, ev.OperationParked(score=final, threshold=state.scoring.threshold, **_meta(c, now))]
    return [decided, ev.PhaseAdvanced(from_phase=Phase.PRIORITISE, to_phase=Phase.PREPARE, **_meta(c, now))]


# --- prepare -------------------------------------------------------------------------------------

def _task(state: OperationState, task_id: str) -> Task:
    return found(state.tasks, task_id, field="task_id", what="a task", where=f"operation {state.operation_id}",
                 listed_as="tasks")


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _require_task_status(task: Task, action: str, *statuses: TaskStatus) -> None:
    if task.status not in statuses:
        allowed = " or ".join(s.value for s in statuses)
        raise DomainError("wrong_task_status", f"task {task.task_id} is {task.status.value}; "
                          f"only {_article(allowed)} {allowed} task can be {action}", field="task_id",
                          value=task.task_id)


def _plan_task(state: OperationState, c: cmd.PlanTask, now: datetime) -> list[ev.Event]:
    _require_phase(state, c.kind, Phase.PREPARE)
    if c.task_kind is TaskKind.RELEASE:
        raise InvalidInput("task_kind", c.task_kind.value,
                           "task_kind: release tasks come from a release request, not from planning")
    code = _participant_of(state, c.member_state, "member_state")
    _require_future("due", c.due, now)
    task = Task(task_id=f"TK{state.task_counter() + 1}", member_state=code, kind=c.task_kind,
                description=c.description, due=c.due, four_eyes=c.four_eyes)
    return [ev.TaskPlanned(task=task, **_meta(c, now))]


def _participant_of(state: OperationState, code: str, field: str) -> str:
    canonical = participant(code, field)
    if canonical not in state.participants:
        raise InvalidInput(field, code, f"{field}: {canonical} does not take part in operation "
                           f"{state.operation_id} (participants: {', '.join(state.participants)})")
    return canonical


def _require_task_phase(state: OperationState, task: Task, command_kind: str) -> None:
    """Operational tasks are signed off in PREPARE; release requests may be answered in any phase."""
    if not task.is_release:
        _require_phase(state, command_kind, Phase.PREPARE)


def _require_step_up(task: Task, c: cmd.ApproveTask | cmd.RejectTask, verb: str) -> None:
    """A coercive sign-off by an approver who enrolled a one-time code (or must) needs one: presence, not
    just a token. Only a refusal: nothing recorded changes, so no rules version is needed."""
    if task.is_coercive and c.step_up_required and not c.step_up:
        raise DomainError("step_up_required", f"to {verb} {task.task_id} ({task.kind.value}, a coercive task) "
                          f"{c.actor.id} must confirm with a one-time code: pass --otp CODE (API: header "
                          "X-One-Time-Code)", field="one_time_code")


def _approve(state: OperationState, c: cmd.ApproveTask, now: datetime) -> list[ev.Event]:
    task = _task(state, c.task_id)
    _require_task_phase(state, task, c.kind)
    require_state_of(c.actor, task.member_state, f"approve task {task.task_id}")
    _require_task_status(task, "approved", TaskStatus.PENDING)
    _require_step_up(task, c, "approve")
    if c.actor.id in task.approvals:
        raise DomainError("four_eyes", f"task {task.task_id} needs two different approvers of "
                          f"{task.member_state}; {c.actor.id} has already approved it",
                          field="actor", value=c.actor.id)
    events: list[ev.Event] = [ev.TaskApprovalGiven(task_id=task.task_id, approver=c.actor.id, step_up=c.step_up,
                                                   **_meta(c, now))]
    if len(task.approvals) + 1 >= task.approvals_needed:
        events.append(ev.TaskApproved(task_id=task.task_id, step_up=c.step_up, **_meta(c, now)))
        if task.is_release and task.item_id and task.release_to:
            events.append(ev.ItemReleased(item_id=task.item_id, to_state=task.release_to, **_meta(c, now)))
    return events


def _reject(state: OperationState, c: cmd.RejectTask, now: datetime) -> list[ev.Event]:
    task = _task(state, c.task_id)
    _require_task_phase(state, task, c.kind)
    require_state_of(c.actor, task.member_state, f"reject task {task.task_id}")
    _require_task_status(task, "rejected", TaskStatus.PENDING)
    _require_step_up(task, c, "reject")
    _require_justification(c, "a rejection needs a reason")
    return [ev.TaskRejected(task_id=task.task_id, approver=c.actor.id, step_up=c.step_up, **_meta(c, now))]


def _replan(state: OperationState, c: cmd.ReplanTask, now: datetime) -> list[ev.Event]:
    _require_phase(state, c.kind, Phase.PREPARE)
    task = _task(state, c.task_id)
    if task.is_release:
        raise InvalidInput("task_id", task.task_id, f"task_id: {task.task_id} is a release request; "
                           "drop it and request again instead of re-planning it")
    _require_task_status(task, "re-planned", TaskStatus.REJECTED, TaskStatus.PENDING, TaskStatus.APPROVED)
    due = c.due or task.due
    _require_future("due", due, now)
    replanned = task.model_copy(update={
        "description": c.description or task.description, "due": due,
        "four_eyes": task.four_eyes if c.four_eyes is None else c.four_eyes,
        "status": TaskStatus.PENDING, "approvals": (), "rejected_by": None,
        "rejection_reason": None, "reminded": False, "escalated": False})
    return [ev.TaskReplanned(task=replanned, **_meta(c, now))]


def _drop(state: OperationState, c: cmd.DropTask, now: datetime) -> list[ev.Event]:
    task = _task(state, c.task_id)
    _require_task_phase(state, task, c.kind)
    _require_task_status(task, "dropped", TaskStatus.REJECTED, TaskStatus.PENDING, TaskStatus.APPROVED)
    if task.is_release and task.status is TaskStatus.APPROVED:  # the item is released: nothing to drop
        raise DomainError("wrong_task_status", f"task_id: {task.task_id} released {task.item_id} to "
                          f"{task.release_to} when it was approved; a release cannot be taken back by dropping "
                          "its request", field="task_id", value=task.task_id)
    _require_justification(c, "dropping a task needs a reason")
    return [ev.TaskDropped(task_id=task.task_id, **_meta(c, now))]


def _place(index: int, place: Place) -> Place:
    if place.latitude is None or place.longitude is None:
        # An action window is deconflicted by distance: a place without coordinates would never collide.
        raise InvalidInput(f"places.{index}", place.name, f"places.{index}: {place.name!r} has no latitude and "
                           "longitude; every place of an action day needs them, as collisions with other "
                           "operations are found by distance")
    return place.model_copy(update={"country": participant(place.country, f"places.{index}.country")})


def _day(state: OperationState, action_day_id: str) -> ActionDay:
    return found(state.action_days, action_day_id, field="action_day_id", what="an action day",
                 where=f"operation {state.operation_id}", listed_as="action days")


def _schedule(state: OperationState, c: cmd.ScheduleActionDay, now: datetime) -> list[ev.Event]:
    _require_phase(state, c.kind, Phase.PREPARE, Phase.EXECUTE)
    _require_future("start", c.start, now)
    if c.end <= c.start:
        raise InvalidInput("end", c.end.isoformat(),
                           f"end: {c.end.isoformat()} is not after start {c.start.isoformat()}")
    day_id = c.action_day_id or f"AD{len(state.action_days) + 1}"
    if c.action_day_id is not None:
        existing = _day(state, c.action_day_id)
        if existing.status not in (ActionDayStatus.SCHEDULED, ActionDayStatus.BLOCKED):
            raise DomainError("wrong_day_status", f"action day {day_id} is {existing.status.value}; only a "
                              "scheduled or blocked action day can be re-scheduled", field="action_day_id",
                              value=day_id)
    states = tuple(dict.fromkeys(_participant_of(state, code, "member_states") for code in c.member_states))
    places = tuple(_place(i, p) for i, p in enumerate(c.places))
    day = ActionDay(action_day_id=day_id, start=c.start, end=c.end, places=places,
                    member_states=states or state.participating_states)
    return [ev.ActionDayScheduled(action_day=day, **_meta(c, now))]


def _cancel_day(state: OperationState, c: cmd.CancelActionDay, now: datetime) -> list[ev.Event]:
    _require_phase(state, c.kind, Phase.PREPARE, Phase.EXECUTE)
    day = _day(state, c.action_day_id)
    if day.status.is_over:
        raise DomainError("wrong_day_status", f"action day {day.action_day_id} is already {day.status.value}",
                          field="action_day_id", value=day.action_day_id)
    _require_justification(c, "cancelling an action day needs a reason")
    cancelled = ev.ActionDayCancelled(action_day_id=day.action_day_id, **_meta(c, now))
    return _day_cancelled(state, cancelled, c, now)


def _day_cancelled(state: OperationState, cancelled: ev.ActionDayCancelled, c: cmd.CommandBase,
                   now: datetime) -> list[ev.Event]:
    """A cancelled day no longer collides with anything: its hits are withdrawn on both sides."""
    withdrawn = _withdrawn(state, c, now, f"action day {cancelled.action_day_id} was cancelled",
                           own_ref=cancelled.action_day_id)
    events: list[ev.Event] = [cancelled, *withdrawn]
    return events + _close_if_all_over(fold(events, state), c, now)


def _withdrawn(state: OperationState, c: cmd.CommandBase, now: datetime, why: str, own_ref: str | None = None,
               actor: Actor | None = None) -> list[ev.DeconflictionHitResolved]:
    """Open hits (of one target or day, or all) resolved as withdrawn, so the other side is not held back;
    by the command's actor, or by the system where the withdrawal only follows from what happened."""
    actor = actor or c.actor
    who = f"{actor.id} ({actor.member_state or state.lead_state})"
    return [ev.DeconflictionHitResolved(hit_id=hit.hit_id, resolution=HitResolution.TARGET_WITHDRAWN,
                                        resolved_by=who, actor=actor, at=now, justification=why)
            for hit in state.open_hits() if own_ref is None or hit.own_ref == own_ref]


def _remind(state: OperationState, c: cmd.RemindApproval, now: datetime) -> list[ev.Event]:
    task = _task(state, c.task_id)
    _require_task_status(task, "reminded", TaskStatus.PENDING)
    if task.reminded:
        raise DomainError("already_done", f"task {task.task_id} was already reminded")
    return [ev.ApprovalReminded(task_id=task.task_id, member_state=task.member_state, due=task.due,
                                **_meta(c, now))]


def _escalate(state: OperationState, c: cmd.EscalateApproval, now: datetime) -> list[ev.Event]:
    task = _task(state, c.task_id)
    _require_task_status(task, "escalated", TaskStatus.PENDING)
    if task.escalated:
        raise DomainError("already_done", f"task {task.task_id} was already escalated")
    return [ev.ApprovalEscalated(task_id=task.task_id, member_state=task.member_state, due=task.due,
                                 **_meta(c, now))]


# --- intelligence sharing and partners -------------------------------------------------------------

ReleaseAnswerer = Callable[[OperationState, Intelligence, str], str]


def _request_release(state: OperationState, c: cmd.RequestRelease, now: datetime) -> list[ev.Event]:
    """Rules v1: the release is a task of the item's provider, whoever it is."""
    return _release_request(state, c, now, answered_by=lambda state, item, to_state: item.contributed_by)


def _release_request(state: OperationState, c: cmd.RequestRelease, now: datetime,
                     answered_by: ReleaseAnswerer) -> list[ev.Event]:
    item = found({i.item_id: i for i in state.intelligence}, c.item_id, field="item_id",
                 what="an intelligence item", where=f"operation {state.operation_id}", listed_as="items")
    to_state = _participant_of(state, c.to_state, "to_state")
    if c.actor.role is Role.LIAISON_OFFICER:
        require_state_of(c.actor, to_state, f"request release of {item.item_id} to {to_state}")
    if is_visible_to_state(item, to_state, state):
        raise DomainError("already_visible", f"{item.item_id} ({item.handling_code.value}) is already available to "
                          f"{to_state}; no release is needed", field="to_state", value=to_state)
    if any(t.is_release and t.item_id == item.item_id and t.release_to == to_state
           and t.status is TaskStatus.PENDING for t in state.tasks.values()):
        raise DomainError("already_requested", f"a release of {item.item_id} to {to_state} already awaits "
                          f"{answered_by(state, item, to_state)}'s answer", field="item_id", value=item.item_id)
    answerer = answered_by(state, item, to_state)
    on_behalf = "" if answerer == item.contributed_by else f", on behalf of partner {item.contributed_by}, its provider"
    task = Task(task_id=f"TK{state.task_counter() + 1}", member_state=answerer, kind=TaskKind.RELEASE,
                description=f"Release {item.item_id} ({item.handling_code.value}) to {to_state}{on_behalf}",
                due=now + state.timing.release_answer_within, item_id=item.item_id, release_to=to_state)
    return [ev.TaskPlanned(task=task, **_meta(c, now))]


def _invite_partner(state: OperationState, c: cmd.InvitePartner, now: datetime) -> list[ev.Event]:
    _require_phase(state, c.kind, *EDITABLE_PHASES)
    code = partner(c.partner, "partner")
    if code in state.partners:
        raise DomainError("already_partner", f"{code} already takes part in operation {state.operation_id}",
                          field="partner", value=code)
    return [ev.PartnerInvited(partner=code, **_meta(c, now))]


# --- deconfliction --------------------------------------------------------------------------------

def _hit(state: OperationState, hit_id: str) -> DeconflictionHit:
    return found(state.hits, hit_id, field="hit_id", what="a deconfliction hit",
                 where=f"operation {state.operation_id}", listed_as="hits")


def _resolve_hit(state: OperationState, c: cmd.ResolveHit, now: datetime) -> list[ev.Event]:
    hit = _hit(state, c.hit_id)
    involved = (*state.our_states_in(hit), hit.other_state)
    if c.actor.member_state not in involved:
        raise NotAuthorised(f"{c.actor.describe()} may not resolve hit {hit.hit_id}: only liaison officers of "
                            f"{', '.join(dict.fromkeys(involved))} may")
    if not hit.is_open:
        raise DomainError("already_resolved", f"hit {hit.hit_id} was already resolved ({hit.resolution}) by "
                          f"{hit.resolved_by}", field="hit_id", value=hit.hit_id)
    _require_justification(c, "resolving a deconfliction hit needs a justification")
    return [ev.DeconflictionHitResolved(hit_id=hit.hit_id, resolution=c.resolution,
                                        resolved_by=f"{c.actor.id} ({c.actor.member_state})", **_meta(c, now))]


def _record_hit(state: OperationState, c: cmd.RecordHit, now: datetime) -> list[ev.Event]:
    if c.hit.hit_id in state.hits:
        raise DomainError("already_recorded", f"hit {c.hit.hit_id} is already recorded")
    raised = ev.DeconflictionHitRaised(hit=c.hit, **_meta(c, now))
    day = state.action_days.get(c.hit.own_ref)
    if day is not None and day.status.is_over:  # found by the other side after our day ended: moot
        return [raised, *_withdrawn(evolve(state, raised), c, now, f"action day {day.action_day_id} is "
                                    f"{day.status.value}", own_ref=day.action_day_id)]
    return [raised]


def _record_resolution(state: OperationState, c: cmd.RecordHitResolution, now: datetime) -> list[ev.Event]:
    hit = _hit(state, c.hit_id)
    if not hit.is_open:
        raise DomainError("already_resolved", f"hit {hit.hit_id} was already resolved")
    return [ev.DeconflictionHitResolved(hit_id=hit.hit_id, resolution=c.resolution, resolved_by=c.resolved_by,
                                        **_meta(c, now))]


# --- execute -------------------------------------------------------------------------------------

def _start_day(state: OperationState, c: cmd.StartActionDay, now: datetime) -> list[ev.Event]:
    _require_phase(state, c.kind, Phase.PREPARE, Phase.EXECUTE)
    day = _day(state, c.action_day_id)
    if day.status is ActionDayStatus.BLOCKED:
        return _retry_blocked_day(state, day, c, now)
    if day.status is not ActionDayStatus.SCHEDULED or now < day.start:
        raise DomainError("not_due", f"action day {day.action_day_id} is {day.status.value} and starts "
                          f"{day.start.isoformat()}")
    return _start_if_ready(state, day, c, now)


def _retry_blocked_day(state: OperationState, day: ActionDay, c: cmd.StartActionDay, now: datetime) -> list[ev.Event]:
    """A blocked day starts by itself once nothing blocks it any more; at the end of its window it is
    cancelled, so a blocked day never holds the operation open."""
    if now >= day.end:
        cancelled = ev.ActionDayCancelled(action_day_id=day.action_day_id, actor=c.actor, at=now,
                                          justification=f"its window ended {day.end.isoformat()} while execution "
                                                        "was blocked; schedule a new action day")
        return _day_cancelled(state, cancelled, c, now)
    problems = state.start_problems()
    if problems:
        raise DomainError("not_ready", f"action day {day.action_day_id} is still blocked: {'; '.join(problems)}",
                          field="action_day_id", value=day.action_day_id)
    return _start_if_ready(state, day, c, now)


def _start_if_ready(state: OperationState, day: ActionDay, c: cmd.StartActionDay, now: datetime) -> list[ev.Event]:
    problems = state.start_problems()
    if problems:
        return [ev.ExecutionBlocked(action_day_id=day.action_day_id, reasons=tuple(problems), **_meta(c, now))]
    started = ev.ExecutionStarted(action_day_id=day.action_day_id, member_states=day.member_states, **_meta(c, now))
    if state.phase is Phase.EXECUTE:
        return [started]
    return [ev.PhaseAdvanced(from_phase=Phase.PREPARE, to_phase=Phase.EXECUTE, **_meta(c, now)), started]


def _sum(results: Iterable[Results]) -> Results:
    return sum(results, Results())


def _day_finished(state: OperationState, day: ActionDay, c: cmd.CommandBase, now: datetime) -> ev.ActionDayFinished:
    reported = state.results.get(day.action_day_id, {})
    return ev.ActionDayFinished(action_day_id=day.action_day_id, totals=_sum(reported.values()),
                                missing_states=tuple(s for s in day.member_states if s not in reported),
                                **_meta(c, now))


def _closing(state: OperationState, c: cmd.CommandBase, now: datetime) -> ev.OperationClosed:
    by_day = {day_id: _sum(per_state.values()) for day_id, per_state in state.results.items()}
    by_state: dict[str, Results] = {}
    for per_state in state.results.values():
        for code, results in per_state.items():
            by_state[code] = by_state.get(code, Results()) + results
    missing = tuple(dict.fromkeys(code for day in state.days(ActionDayStatus.FINISHED) for code in day.missing_states))
    return ev.OperationClosed(totals=_sum(by_day.values()), reported_states=tuple(by_state),
                              missing_states=missing, totals_by_state=by_state, totals_by_day=by_day, **_meta(c, now))


def _close_if_all_over(state: OperationState, c: cmd.CommandBase, now: datetime) -> list[ev.Event]:
    """In EXECUTE, once no action day is scheduled, running, or blocked with its window still open,
    the operation closes (a blocked day whose window has passed will not run any more)."""
    waiting = state.days(ActionDayStatus.SCHEDULED, ActionDayStatus.RUNNING)
    waiting += [d for d in state.days(ActionDayStatus.BLOCKED) if d.end > now]
    if state.phase is Phase.EXECUTE and not waiting:
        return [*_withdrawn(state, c, now, "the operation closed", actor=SYSTEM), _closing(state, c, now)]
    return []


def _report(state: OperationState, c: cmd.ReportResults, now: datetime) -> list[ev.Event]:
    _require_phase(state, c.kind, Phase.EXECUTE)
    code = participant(c.member_state)
    require_state_of(c.actor, code, f"report results for {code}")
    require_participant(c.actor, state, f"report results for {code}")  # an outsider is refused for who it is
    day = _reporting_day(state, c.action_day_id)
    if code not in day.member_states:
        raise NotAuthorised(f"{c.actor.describe()} may not report results for {code}: {code} does not take part "
                            f"in action day {day.action_day_id} ({', '.join(day.member_states)})",
                            field="member_state", value=code)
    if code in state.results.get(day.action_day_id, {}):
        raise DomainError("already_reported", f"{code} has already reported its results for {day.action_day_id}",
                          field="member_state", value=code)
    reported = ev.ResultsReported(member_state=code, results=c.results, action_day_id=day.action_day_id,
                                  **_meta(c, now))
    after = evolve(state, reported)
    if not all(s in after.results.get(day.action_day_id, {}) for s in day.member_states):
        return [reported]
    finished = _day_finished(after, day, c, now)
    return [reported, finished, *_close_if_all_over(evolve(after, finished), c, now)]


def _reporting_day(state: OperationState, action_day_id: str | None) -> ActionDay:
    if action_day_id is not None:
        day = _day(state, action_day_id)
        if day.status is not ActionDayStatus.RUNNING:
            raise DomainError("wrong_day_status", f"action day {day.action_day_id} is {day.status.value}; results "
                              "are reported while it runs", field="action_day_id", value=day.action_day_id)
        return day
    running = state.days(ActionDayStatus.RUNNING)
    if len(running) != 1:
        names = ", ".join(d.action_day_id for d in running) or "none"
        raise InvalidInput("action_day_id", None, f"action_day_id: name the action day (running: {names})")
    return running[0]


def _finish_day(state: OperationState, c: cmd.FinishActionDay, now: datetime) -> list[ev.Event]:
    _require_phase(state, c.kind, Phase.EXECUTE)
    day = _day(state, c.action_day_id)
    deadline = day.end + state.timing.results_grace_after_action_day
    if day.status is not ActionDayStatus.RUNNING or now < deadline:
        raise DomainError("not_due", f"results of {day.action_day_id} are awaited until {deadline.isoformat()}")
    finished = _day_finished(state, day, c, now)
    return [finished, *_close_if_all_over(evolve(state, finished), c, now)]


def _cancel(state: OperationState, c: cmd.CancelOperation, now: datetime) -> list[ev.Event]:
    _require_justification(c, "cancelling an operation needs a reason")
    assert state.phase is not None
    return [*_withdrawn(state, c, now, "the operation was cancelled"),
            ev.OperationCancelled(phase=state.phase, **_meta(c, now))]


Decider = Callable[[OperationState, Any, datetime], list[ev.Event]]

# One decider per command type (tests/unit/test_registries.py checks it against the Command union).
_DECIDERS: dict[type[cmd.CommandBase], Decider] = {
    cmd.OpenOperation: _open,
    cmd.AddTarget: _add_target,
    cmd.AddIntelligence: _add_intelligence,
    cmd.SubmitForPrioritisation: _submit,
    cmd.DecidePriority: _decide_priority,
    cmd.PlanTask: _plan_task,
    cmd.ApproveTask: _approve,
    cmd.RejectTask: _reject,
    cmd.ReplanTask: _replan,
    cmd.DropTask: _drop,
    cmd.ScheduleActionDay: _schedule,
    cmd.CancelActionDay: _cancel_day,
    cmd.RemindApproval: _remind,
    cmd.EscalateApproval: _escalate,
    cmd.RequestRelease: _request_release,
    cmd.InvitePartner: _invite_partner,
    cmd.StartActionDay: _start_day,
    cmd.ReportResults: _report,
    cmd.FinishActionDay: _finish_day,
    cmd.CancelOperation: _cancel,
    cmd.ResolveHit: _resolve_hit,
    cmd.RecordHit: _record_hit,
    cmd.RecordHitResolution: _record_resolution,
}


# --- rules v2: operational partners take no operational task and never approve ---------------------

def _no_task_for_a_partner(state: OperationState, task: Task, given: str) -> None:
    if task.member_state in state.partners and not task.is_release:
        raise InvalidInput("member_state", given, f"member_state: {task.member_state} is an operational partner of "
                           f"operation {state.operation_id}, and partners take no operational tasks: plan it for a "
                           f"member state ({', '.join(state.participating_states)})")


def _plan_task_v2(state: OperationState, c: cmd.PlanTask, now: datetime) -> list[ev.Event]:
    events = _plan_task(state, c, now)
    planned = events[0]
    assert isinstance(planned, ev.TaskPlanned)
    _no_task_for_a_partner(state, planned.task, c.member_state)
    return events


def _replan_v2(state: OperationState, c: cmd.ReplanTask, now: datetime) -> list[ev.Event]:
    events = _replan(state, c, now)
    replanned = events[0]
    assert isinstance(replanned, ev.TaskReplanned)
    _no_task_for_a_partner(state, replanned.task, replanned.task.member_state)
    return events


def _release_answerer_v2(state: OperationState, item: Intelligence, to_state: str) -> str:
    """Who answers a release request: the item's provider when it is a member state. A partner never
    approves, so the release of a partner's item is a task of the lead state, whose approvers record the
    partner's permission (asked through the partner's liaison officer; they need not read the item, and do
    not: the decision is the partner's); and when the release is to the lead state itself, a task of the first
    other participating member state, so that no state signs off what it receives."""
    if item.contributed_by not in state.partners:
        return item.contributed_by
    return next(code for code in state.participating_states if code != to_state)  # lead first; at least two


def _request_release_v2(state: OperationState, c: cmd.RequestRelease, now: datetime) -> list[ev.Event]:
    return _release_request(state, c, now, answered_by=_release_answerer_v2)


def _partners_never_approve(decider: Decider) -> Decider:
    """An approval or rejection refused to an approver of a partner (of a task left from rules v1, say)."""
    def decide_v2(state: OperationState, c: cmd.ApproveTask | cmd.RejectTask, now: datetime) -> list[ev.Event]:
        if c.actor.member_state in state.partners:
            raise NotAuthorised(f"{c.actor.describe()} may not {c.kind.replace('_', ' ')} {c.task_id}: "
                                f"{c.actor.member_state} is an operational partner, and partners never approve",
                                field="actor", value=c.actor.id)
        return decider(state, c, now)
    return decide_v2


_DECIDERS_V2: dict[type[cmd.CommandBase], Decider] = {
    **_DECIDERS,
    cmd.PlanTask: _plan_task_v2,
    cmd.ReplanTask: _replan_v2,
    cmd.RequestRelease: _request_release_v2,
    cmd.ApproveTask: _partners_never_approve(_approve),
    cmd.RejectTask: _partners_never_approve(_reject),
}

# The deciders of each rules version. A rule change adds a version whose table is the one before with the
# changed deciders replaced ({**_DECIDERS, cmd.PlanTask: _plan_task_v2}); old versions are never edited.
RULEBOOK: Mapping[RulesVersion, Mapping[type[cmd.CommandBase], Decider]] = {
    RulesVersion.V1: _DECIDERS, RulesVersion.V2: _DECIDERS_V2}


def decide_and_evolve(state: OperationState, command: cmd.Command, now: datetime,
                      rules: RulesVersion) -> tuple[list[ev.Event], OperationState]:
    events = decide(state, command, now, rules)
    return events, fold(events, state)
