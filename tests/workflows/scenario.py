"""A scripted operation driven through the real gateway, workflow, worker and store."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from domain import commands as cmd
from domain.actors import Actor, Role
from domain.model import Identifier, IdentifierKind, OperationSpec, Phase, Place, Results, TaskKind
from domain.prioritisation import Assessment
from domain.state import OperationState
from domain.timing import Timing
from gateway.operations import OperationsGateway

COORDINATOR = Actor(id="coord-1", role=Role.COORDINATOR)
AUDITOR = Actor(id="aud-1", role=Role.AUDITOR)


def approver(state: str, n: int = 1) -> Actor:
    return Actor(id=f"ap-{state.lower()}-{n}", role=Role.APPROVER, member_state=state)


def officer(state: str) -> Actor:
    return Actor(id=f"lo-{state.lower()}", role=Role.LIAISON_OFFICER, member_state=state)


SHORT_TIMING = Timing(reminder_before_due=timedelta(seconds=2), escalate_after_due=timedelta(0),
                      results_grace_after_action_day=timedelta(seconds=30))

SPEC = OperationSpec.model_validate({
    "code_name": "NORTHWIND", "lead_state": "BG", "participating_states": ["EL", "DE"],
    "crime_areas": ["migrant_smuggling"], "handling_code": "H1",
    "networks": [{"name": "Northwind network"}],
    "targets": [{"name": "Ivan Petrov", "date_of_birth": "1985-03-07", "network": "Northwind network",
                 "identifiers": [{"kind": "phone", "value": "+359888123456"}]}],
})

ASSESSMENT = Assessment(harm_to_lives=5, violence=4, victim_vulnerability=4, high_value_target=4,
                        financial_scale=3, corruption=3, legal_business_misuse=3, countermeasures=3,
                        years_active=3)
LOW_ASSESSMENT = Assessment(harm_to_lives=1, violence=1, victim_vulnerability=1, high_value_target=1,
                            financial_scale=1, corruption=1, legal_business_misuse=1, countermeasures=1,
                            years_active=1)


SOFIA = Place(name="Sofia", country="BG", latitude=42.69, longitude=23.32)

# Every operation of the session files its targets and action windows in one deconfliction index, so
# operations of different tests must not collide unless a test means them to.
_DISTINCT = itertools.count(1)


def distinct_place(name: str = "Sofia", country: str = "BG") -> Place:
    """A place of its own: a grid cell about 5 km from any other this session hands out."""
    n = next(_DISTINCT)
    return Place(name=f"{name} #{n}", country=country, latitude=30 + (n // 100) * 0.05, longitude=(n % 100) * 0.07)


def distinct_spec(spec: OperationSpec = SPEC) -> OperationSpec:
    """The spec with a target no other operation of the session has: its own phone and date of birth
    (the day above 12, so a day/month transposition cannot match another)."""
    n = next(_DISTINCT)
    target = spec.targets[0].model_copy(update={
        "date_of_birth": f"{1900 + n // 12}-{1 + n % 12:02d}-20",
        "identifiers": (Identifier(kind=IdentifierKind.PHONE, value=f"+35988{n:07d}"),)})
    return spec.model_copy(update={"targets": (target, *spec.targets[1:])})


def later(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


async def wait_for(gateway: OperationsGateway, operation_id: str,
                   condition: Callable[[OperationState], bool], timeout: float = 30) -> OperationState:
    """Poll the workflow's state; the workflow's own timers move it, so the test waits for them."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        state = await gateway.state(operation_id)
        if condition(state):
            return state
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"state not reached in {timeout} s; phase {state.phase}, "
                                 f"tasks {[(t.task_id, t.status.value) for t in state.tasks.values()]}")
        await asyncio.sleep(0.2)


class Scenario:
    def __init__(self, gateway: OperationsGateway, operation_id: str) -> None:
        self.gateway = gateway
        self.operation_id = operation_id
        self.spec = distinct_spec()
        self.place = distinct_place()

    async def send(self, command: cmd.Command) -> list[str]:
        return (await self.gateway.send(self.operation_id, command)).events

    async def open(self, timing: Timing = SHORT_TIMING) -> OperationState:
        return await self.gateway.open(cmd.OpenOperation(
            actor=COORDINATOR, operation_id=self.operation_id, spec=self.spec, timing=timing,
            justification="referral"))

    async def to_prioritise(self) -> None:
        await self.open()
        await self.send(cmd.SubmitForPrioritisation(actor=COORDINATOR, assessment=ASSESSMENT))

    async def to_prepare(self) -> None:
        await self.to_prioritise()
        await self.send(cmd.DecidePriority(actor=COORDINATOR))

    async def to_execute(self) -> None:
        await self.to_prepare()
        await self.send(cmd.PlanTask(actor=COORDINATOR, member_state="BG", task_kind=TaskKind.ARREST,
                                     description="arrest", due=later(3600)))
        await self.send(cmd.ApproveTask(actor=approver("BG"), task_id="TK1"))
        await self.schedule(start_in=1.0)
        await wait_for(self.gateway, self.operation_id, lambda s: s.phase is Phase.EXECUTE)

    async def schedule(self, start_in: float, hours: float = 4, day: str | None = None,
                       states: tuple[str, ...] = (), place: Place | None = None) -> list[str]:
        return await self.send(cmd.ScheduleActionDay(
            actor=COORDINATOR, start=later(start_in), end=later(start_in + hours * 3600),
            places=(place or self.place,),
            member_states=states, action_day_id=day))

    async def report(self, state: str, results: Results, day: str | None = None) -> list[str]:
        return await self.send(cmd.ReportResults(actor=officer(state), member_state=state, results=results,
                                                 action_day_id=day))
