"""Builders for the domain unit tests: actors, a valid spec, and a driver that walks an operation
through its phases with the real decider and evolve (never by constructing a state by hand)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain import commands as cmd
from domain import events as ev
from domain.actors import SYSTEM, Actor, Role
from domain.decider import decide, stamp_of
from domain.errors import DomainError
from domain.model import ActionDay, OperationSpec, Phase, Place, Results, TaskKind
from domain.prioritisation import Assessment, ScoringPolicy
from domain.rules import LATEST_RULES, RulesVersion
from domain.state import OperationState, fold
from domain.timing import Timing

T0 = datetime(2030, 3, 1, 8, 0, tzinfo=UTC)
RULES = LATEST_RULES  # what a new run decides by; a test of older rules passes Driver(rules=...)
OPERATION_ID = "op-northwind"
STATES = ("BG", "EL", "DE")

COORDINATOR = Actor(id="coord-1", role=Role.COORDINATOR)
AUDITOR = Actor(id="aud-1", role=Role.AUDITOR)
SOFIA = Place(name="Sofia", country="BG", latitude=42.69, longitude=23.32)
THESSALONIKI = Place(name="Thessaloniki", country="GR", latitude=40.64, longitude=22.94)


def approver(state: str, n: int = 1) -> Actor:
    return Actor(id=f"ap-{state.lower()}-{n}", role=Role.APPROVER, member_state=state)


def officer(state: str) -> Actor:
    return Actor(id=f"lo-{state.lower()}", role=Role.LIAISON_OFFICER, member_state=state)


TIMING = Timing(reminder_before_due=timedelta(hours=12), escalate_after_due=timedelta(hours=1),
                results_grace_after_action_day=timedelta(days=2))


def spec(**changes: Any) -> OperationSpec:
    data: dict[str, Any] = {
        "code_name": "NORTHWIND", "lead_state": "BG", "participating_states": ["EL", "DE"],
        "crime_areas": ["migrant_smuggling"], "handling_code": "H1",
        "networks": [{"name": "Northwind network"}],
        "targets": [{"name": "Ivan Petrov", "date_of_birth": "1985-03-07",
                     "network": "Northwind network",
                     "identifiers": [{"kind": "phone", "value": "+359888123456"}]}],
    }
    data.update(changes)
    return OperationSpec.model_validate(data)


def assessment(grade: int = 5, **changes: int) -> Assessment:
    grades = dict.fromkeys(
        ["harm_to_lives", "violence", "victim_vulnerability", "high_value_target", "financial_scale",
         "corruption", "legal_business_misuse", "countermeasures", "years_active"], grade)
    grades.update(changes)
    return Assessment(**grades)


HIGH = assessment(5)  # scores well above the default threshold 40
LOW = assessment(1)   # scores 0, below the threshold: parked


def stamped(command: Any, at: datetime) -> Any:
    return command.model_copy(update={"issued_at": at})


def decided(state: OperationState, command: Any, rules: RulesVersion = RULES) -> list[ev.Event]:
    """decide as the workflow calls it: at the time stamped on the command, under the rules of a run."""
    return decide(state, command, stamp_of(command), rules)


@dataclass
class Driver:
    """Drives one operation: every command goes through decide, every event through evolve."""

    state: OperationState = field(default_factory=OperationState)
    events: list[ev.Event] = field(default_factory=list)
    now: datetime = T0
    rules: RulesVersion = RULES

    def tick(self, delta: timedelta = timedelta(minutes=1)) -> datetime:
        self.now += delta
        return self.now

    def run(self, command: Any, at: datetime | None = None) -> list[ev.Event]:
        """Stamp the command (at, or one minute after the last one), decide and evolve."""
        if at is not None:
            self.now = at
        else:
            self.tick()
        emitted = decided(self.state, stamped(command, self.now), self.rules)
        self.state = fold(emitted, self.state)
        self.events.extend(emitted)
        return emitted

    def command(self, command: Any, at: datetime | None = None) -> Any:
        """The command stamped as the next run would stamp it, without running it."""
        return stamped(command, at or self.now + timedelta(minutes=1))

    # --- phases ---------------------------------------------------------------------------------

    def open(self, the_spec: OperationSpec | None = None, scoring: ScoringPolicy | None = None,
             timing: Timing = TIMING) -> Driver:
        self.run(cmd.OpenOperation(actor=COORDINATOR, operation_id=OPERATION_ID,
                                   spec=the_spec or spec(), scoring=scoring or ScoringPolicy(),
                                   timing=timing, justification="network reported by BG"))
        return self

    def submit(self, the_assessment: Assessment = HIGH) -> Driver:
        self.run(cmd.SubmitForPrioritisation(actor=COORDINATOR, assessment=the_assessment))
        return self

    def confirm(self) -> Driver:
        self.run(cmd.DecidePriority(actor=COORDINATOR))
        return self

    def to_prepare(self) -> Driver:
        return self.open().submit(HIGH).confirm()

    def to_parked(self) -> Driver:
        return self.open().submit(LOW).confirm()

    def due(self, days: float = 3) -> datetime:
        return self.now + timedelta(days=days)

    def plan(self, state: str = "BG", four_eyes: bool = False, days: float = 3,
             kind: TaskKind = TaskKind.ARREST) -> str:
        emitted = self.run(cmd.PlanTask(actor=COORDINATOR, member_state=state, task_kind=kind,
                                        description=f"{kind.value} in {state}", due=self.due(days),
                                        four_eyes=four_eyes))
        planned = emitted[0]
        assert isinstance(planned, ev.TaskPlanned)
        return planned.task.task_id

    def approve(self, task_id: str, actor: Actor) -> list[ev.Event]:
        return self.run(cmd.ApproveTask(actor=actor, task_id=task_id, justification="lawful"))

    def schedule(self, start_in: timedelta = timedelta(days=5), length: timedelta = timedelta(hours=10),
                 member_states: tuple[str, ...] = (), places: tuple[Place, ...] = (SOFIA, THESSALONIKI),
                 action_day_id: str | None = None) -> datetime:
        """Schedule an action day (or re-schedule action_day_id); returns its start."""
        start = self.now + start_in
        self.run(cmd.ScheduleActionDay(actor=COORDINATOR, start=start, end=start + length, places=places,
                                       member_states=member_states, action_day_id=action_day_id))
        return start

    def day(self, action_day_id: str = "AD1") -> ActionDay:
        return self.state.action_days[action_day_id]

    def start_day(self, action_day_id: str = "AD1", at: datetime | None = None) -> list[ev.Event]:
        """The workflow's timer: start the day at its start (or at)."""
        return self.run(cmd.StartActionDay(actor=SYSTEM, action_day_id=action_day_id,
                                           justification="action day started"),
                        at=at or self.day(action_day_id).start)

    def finish_day(self, action_day_id: str = "AD1", at: datetime | None = None) -> list[ev.Event]:
        """The workflow's timer: the results deadline of the day (end + grace, or at) passed."""
        day = self.day(action_day_id)
        return self.run(cmd.FinishActionDay(actor=SYSTEM, action_day_id=action_day_id,
                                            justification="results deadline passed"),
                        at=at or day.end + self.state.timing.results_grace_after_action_day)

    def to_ready(self) -> Driver:
        """PREPARE with one approved task per state and an action day (AD1, all states) scheduled."""
        self.to_prepare()
        for code in STATES:
            self.approve(self.plan(code), approver(code))
        self.schedule()
        return self

    def to_execute(self) -> Driver:
        self.to_ready()
        self.start_day("AD1")
        assert self.state.phase is Phase.EXECUTE
        return self

    def report(self, code: str, results: Results, action_day_id: str | None = None,
               actor: Actor | None = None) -> list[ev.Event]:
        return self.run(cmd.ReportResults(actor=actor or officer(code), member_state=code, results=results,
                                          action_day_id=action_day_id))

    def to_closed(self) -> Driver:
        self.to_execute()
        for code in STATES:
            self.report(code, Results(arrests=1))
        assert self.state.phase is Phase.CLOSED
        return self

    def to_cancelled(self) -> Driver:
        self.open()
        self.run(cmd.CancelOperation(actor=COORDINATOR, justification="merged into another case"))
        return self


def driven_to(phase: str) -> Driver:
    """A fresh operation driven to a named point of its lifecycle."""
    d = Driver()
    builders = {
        "identify": d.open, "prioritise": lambda: d.open().submit(HIGH), "parked": d.to_parked,
        "prepare": d.to_prepare, "ready": d.to_ready, "execute": d.to_execute,
        "closed": d.to_closed, "cancelled": d.to_cancelled,
    }
    builders[phase]()
    return d


def refused(d: Driver, command: Any, error: type[DomainError] = DomainError,
            *fragments: str, at: datetime | None = None) -> DomainError:
    """Decide the command on the driver's state, expect a refusal naming every fragment,
    and check that nothing changed (decide is pure; nothing to evolve)."""
    before = d.state.model_copy(deep=True)
    events_before = list(d.events)
    with pytest.raises(error) as caught:
        decided(d.state, d.command(command, at), d.rules)
    assert d.state == before
    assert d.events == events_before
    assert fold(d.events) == d.state
    for fragment in fragments:
        assert fragment in caught.value.message, (fragment, caught.value.message)
    return caught.value
