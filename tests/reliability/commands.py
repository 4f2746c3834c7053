"""Commands for the fault suite, each with a marker only it puts in the log (its justification)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from domain import commands as cmd
from domain.model import Intelligence, Results, Target, TaskKind
from gateway.operations import OperationsGateway, new_idempotency_key
from tests.reliability.harness import Sent, send_tracked
from tests.workflows.scenario import (
    ASSESSMENT,
    COORDINATOR,
    SHORT_TIMING,
    approver,
    distinct_place,
    distinct_spec,
    officer,
)

Factory = Callable[[], cmd.Command]


def marker(what: str) -> str:
    return f"[{what} {uuid.uuid4().hex[:12]}]"


def sent_for(operation_id: str, what: str) -> Sent:
    return Sent(operation_id=operation_id, key=new_idempotency_key(), marker=marker(what))


def add_target(n: int) -> Callable[[str], Factory]:
    def factory(mark: str) -> Factory:
        target = Target(name=f"Concurrent Target {n}", date_of_birth=f"19{50 + n % 50}-0{1 + n % 9}-2{n % 8}")
        return lambda: cmd.AddTarget(actor=officer("BG"), target=target, justification=mark)
    return factory


def add_intel(n: int) -> Callable[[str], Factory]:
    def factory(mark: str) -> Factory:
        item = Intelligence(summary=f"Concurrent item {n}", contributed_by="BG")
        return lambda: cmd.AddIntelligence(actor=officer("BG"), item=item, justification=mark)
    return factory


def approve(task_id: str, n: int) -> Callable[[str], Factory]:
    def factory(mark: str) -> Factory:
        return lambda: cmd.ApproveTask(actor=approver("BG", n), task_id=task_id, justification=mark)
    return factory


def report(member_state: str, arrests: int) -> Callable[[str], Factory]:
    def factory(mark: str) -> Factory:
        return lambda: cmd.ReportResults(actor=officer(member_state), member_state=member_state,
                                         results=Results(arrests=arrests), justification=mark)
    return factory


async def tracked(gateway: OperationsGateway, operation_id: str, what: str,
                  make: Callable[[str], Factory]) -> Sent:
    sent = sent_for(operation_id, what)
    return await send_tracked(gateway, sent, make(sent.marker))


async def open_in_prepare(gateway: OperationsGateway, operation_id: str, states: tuple[str, ...] = ("EL",),
                          results_grace: timedelta = timedelta(seconds=20)) -> None:
    spec = distinct_spec().model_copy(update={"participating_states": states})
    await gateway.open(cmd.OpenOperation(actor=COORDINATOR, operation_id=operation_id, spec=spec,
                                         timing=SHORT_TIMING.model_copy(update={
                                             "reminder_before_due": timedelta(0),
                                             "results_grace_after_action_day": results_grace}),
                                         justification="referral"))
    await gateway.send(operation_id, cmd.SubmitForPrioritisation(actor=COORDINATOR, assessment=ASSESSMENT))
    await gateway.send(operation_id, cmd.DecidePriority(actor=COORDINATOR))


async def plan(gateway: OperationsGateway, operation_id: str, four_eyes: bool = False) -> str:
    await gateway.send(operation_id, cmd.PlanTask(
        actor=COORDINATOR, member_state="BG", task_kind=TaskKind.ARREST, description="arrest at dawn",
        due=datetime.now(UTC) + timedelta(days=2), four_eyes=four_eyes))
    return f"TK{await _count_tasks(gateway, operation_id)}"


async def _count_tasks(gateway: OperationsGateway, operation_id: str) -> int:
    return len((await gateway.state(operation_id)).tasks)


async def schedule(gateway: OperationsGateway, operation_id: str, start_in: float, lasts: float = 2.0) -> None:
    now = datetime.now(UTC)
    await gateway.send(operation_id, cmd.ScheduleActionDay(
        actor=COORDINATOR, start=now + timedelta(seconds=start_in), end=now + timedelta(seconds=start_in + lasts),
        places=(distinct_place(),)))
