"""End to end on the real dev server: the whole lifecycle, the timers, and cancellation."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from temporalio.client import Client

from domain import commands as cmd
from domain.errors import DomainError
from domain.model import Phase, Results, TaskKind, TaskStatus
from gateway.audit import replay, verify
from gateway.operations import OperationsGateway
from store.audit_log import AuditLog
from store.notifications import Notifications
from tests.workflows.scenario import (
    COORDINATOR,
    LOW_ASSESSMENT,
    SHORT_TIMING,
    Scenario,
    approver,
    later,
    wait_for,
)
from workflows.operation import OperationWorkflow

HISTORIES = Path(__file__).resolve().parent.parent / "histories"


async def record_history(client: Client, operation_id: str, name: str) -> None:
    """With LIAISON_RECORD_HISTORIES=1, keep the history for the replay test in tests/histories/."""
    if os.environ.get("LIAISON_RECORD_HISTORIES") != "1":
        return
    history = await client.get_workflow_handle(operation_id).fetch_history()
    (HISTORIES / f"{name}.json").write_text(history.to_json(), encoding="utf-8")


def types_of(engine: Engine, operation_id: str) -> list[str]:
    return [r.type for r in AuditLog(engine).read(operation_id)]


async def test_full_lifecycle_with_three_states(gateway: OperationsGateway, operation_id: str,
                                                session_engine: Engine, temporal_client: Client) -> None:
    op = Scenario(gateway, operation_id)
    opened = await op.open()
    assert opened.phase is Phase.IDENTIFY and opened.participating_states == ("BG", "EL", "DE")
    await op.send(cmd.SubmitForPrioritisation(actor=COORDINATOR, assessment=op_assessment()))
    assert await op.send(cmd.DecidePriority(actor=COORDINATOR)) == ["priority_decided", "phase_advanced"]

    await op.send(cmd.PlanTask(actor=COORDINATOR, member_state="BG", task_kind=TaskKind.ARREST,
                               description="arrest Petrov", due=later(3600), four_eyes=True))
    await op.send(cmd.PlanTask(actor=COORDINATOR, member_state="EL", task_kind=TaskKind.SEARCH,
                               description="search the flat", due=later(3600)))
    await op.send(cmd.PlanTask(actor=COORDINATOR, member_state="DE", task_kind=TaskKind.FINANCIAL_ENQUIRY,
                               description="trace transfers", due=later(4)))

    # A rejection goes back to the coordinator, who re-plans; approval then starts afresh.
    await op.send(cmd.RejectTask(actor=approver("EL"), task_id="TK2", justification="warrant covers the warehouse"))
    await op.send(cmd.ReplanTask(actor=COORDINATOR, task_id="TK2", description="search the warehouse"))
    await op.send(cmd.ApproveTask(actor=approver("EL"), task_id="TK2"))

    # Four eyes: one approver is not enough, and the same approver cannot count twice.
    assert await op.send(cmd.ApproveTask(actor=approver("BG", 1), task_id="TK1")) == ["task_approval_given"]
    with pytest.raises(DomainError, match="two different approvers"):
        await op.send(cmd.ApproveTask(actor=approver("BG", 1), task_id="TK1"))
    assert await op.send(cmd.ApproveTask(actor=approver("BG", 2), task_id="TK1")) == [
        "task_approval_given", "task_approved"]

    # DE does not answer: the workflow reminds before the due time and escalates when it passes.
    state = await wait_for(gateway, operation_id, lambda s: s.tasks["TK3"].escalated)
    assert state.tasks["TK3"].reminded and state.tasks["TK3"].status is TaskStatus.PENDING
    logged = types_of(session_engine, operation_id)
    assert logged.index("approval_reminded") < logged.index("approval_escalated")
    notices: dict[str, Any] = {}
    for _ in range(100):  # the notice is sent once the escalation is stored: moments after it shows
        notices = {n["kind"]: n for n in Notifications(session_engine).for_operation(operation_id)}
        if "approval_escalated" in notices:
            break
        await asyncio.sleep(0.05)
    assert notices["approval_reminder"]["recipient_state"] == "DE"
    assert notices["approval_escalated"]["recipient_role"] == "coordinator"
    await op.send(cmd.ApproveTask(actor=approver("DE"), task_id="TK3", justification="late, after escalation"))

    await op.schedule(start_in=1.5)
    state = await wait_for(gateway, operation_id, lambda s: s.phase is Phase.EXECUTE)
    assert state.action_days["AD1"].status.value == "running"

    assert await op.report("BG", Results(arrests=4, searches=3, seizures=2, assets_frozen_eur=1000.5)) == [
        "results_reported"]
    await op.report("EL", Results(arrests=2, victims_safeguarded=17))
    assert await op.report("DE", Results(searches=1, assets_frozen_eur=2000)) == [
        "results_reported", "action_day_finished", "operation_closed"]

    final = await temporal_client.get_workflow_handle_for(OperationWorkflow.run, operation_id).result()
    assert final.phase is Phase.CLOSED and final.missing_states == ()
    assert final.totals == Results(arrests=6, searches=4, seizures=2, assets_frozen_eur=3000.5,
                                   victims_safeguarded=17)

    # The auditor's replay of the log is, by construction, the workflow's own state.
    records = AuditLog(session_engine).read(operation_id)
    assert replay(records) == final
    check = verify(AuditLog(session_engine), operation_id, await gateway.chain_head(operation_id))
    assert check.intact and check.events == final.version == len(records)
    await record_history(temporal_client, operation_id, "full_lifecycle")


def op_assessment():  # type: ignore[no-untyped-def]
    from tests.workflows.scenario import ASSESSMENT

    return ASSESSMENT


@pytest.mark.parametrize("phase", [Phase.IDENTIFY, Phase.PRIORITISE, Phase.PREPARE, Phase.EXECUTE])
async def test_cancellation_from_each_phase(phase: Phase, gateway: OperationsGateway, operation_id: str,
                                            session_engine: Engine, temporal_client: Client) -> None:
    op = Scenario(gateway, operation_id)
    drive: dict[Phase, Callable[[], Awaitable[object]]] = {
        Phase.IDENTIFY: op.open, Phase.PRIORITISE: op.to_prioritise,
        Phase.PREPARE: op.to_prepare, Phase.EXECUTE: op.to_execute}
    await drive[phase]()
    assert (await gateway.state(operation_id)).phase is phase

    with pytest.raises(DomainError, match="cancelling an operation needs a reason"):
        await op.send(cmd.CancelOperation(actor=COORDINATOR))
    await op.send(cmd.CancelOperation(actor=COORDINATOR, justification="target died"))

    final = await temporal_client.get_workflow_handle_for(OperationWorkflow.run, operation_id).result()
    assert final.phase is Phase.CANCELLED and final.cancelled_reason == "target died"
    last = AuditLog(session_engine).read(operation_id)[-1]
    assert (last.type, last.payload["phase"], last.justification) == ("operation_cancelled", phase.value,
                                                                      "target died")
    with pytest.raises(DomainError, match="cancelled"):
        await op.send(cmd.CancelOperation(actor=COORDINATOR, justification="again"))
    if phase is Phase.EXECUTE:
        await record_history(temporal_client, operation_id, "cancelled_in_execute")


async def test_low_priority_is_parked_then_overridden(gateway: OperationsGateway, operation_id: str,
                                                      temporal_client: Client) -> None:
    op = Scenario(gateway, operation_id)
    await op.open()
    await op.send(cmd.SubmitForPrioritisation(actor=COORDINATOR, assessment=LOW_ASSESSMENT))
    assert await op.send(cmd.DecidePriority(actor=COORDINATOR)) == ["priority_decided", "operation_parked"]
    parked = await gateway.state(operation_id)
    assert parked.parked and parked.phase is Phase.PRIORITISE

    rows = await _listed(gateway, operation_id, parked=True)
    assert rows and rows[0].phase == "prioritise"

    await op.send(cmd.DecidePriority(actor=COORDINATOR, override_score=75,
                                     justification="new intelligence on child victims"))
    state = await gateway.state(operation_id)
    assert (state.phase, state.priority, state.priority_overridden, state.parked) == (
        Phase.PREPARE, 75, True, False)
    rows = await _listed(gateway, operation_id, phase=Phase.PREPARE, min_priority=70)
    assert [r.operation_id for r in rows] == [operation_id]
    await record_history(temporal_client, operation_id, "parked_then_overridden")


async def _listed(gateway: OperationsGateway, operation_id: str, **filters: object) -> list:  # type: ignore[type-arg]
    """Visibility is eventually consistent: poll briefly for the operation to appear."""
    import asyncio

    for _ in range(50):
        rows = [r for r in await gateway.list(**filters) if r.operation_id == operation_id]  # type: ignore[arg-type]
        if rows:
            return rows
        await asyncio.sleep(0.1)
    return []


async def test_blocked_action_day_starts_once_nothing_blocks_it(gateway: OperationsGateway, operation_id: str,
                                                   session_engine: Engine) -> None:
    op = Scenario(gateway, operation_id)
    await op.to_prepare()
    await op.send(cmd.PlanTask(actor=COORDINATOR, member_state="EL", task_kind=TaskKind.SEARCH,
                               description="search", due=later(3600)))
    await op.schedule(start_in=1.0)
    state = await wait_for(gateway, operation_id, lambda s: bool(s.execution_blocked_reasons))
    assert state.phase is Phase.PREPARE
    assert "task TK1 (EL) is pending" in state.execution_blocked_reasons
    await op.send(cmd.ApproveTask(actor=approver("EL"), task_id="TK1"))
    state = await wait_for(gateway, operation_id, lambda s: s.phase is Phase.EXECUTE)
    assert list(state.action_days) == ["AD1"] and state.action_days["AD1"].status.value == "running"
    assert "execution_blocked" in types_of(session_engine, operation_id)


async def test_results_deadline_closes_with_missing_states(gateway: OperationsGateway, operation_id: str,
                                                           temporal_client: Client) -> None:
    op = Scenario(gateway, operation_id)
    await op.open(timing=SHORT_TIMING.model_copy(update={"results_grace_after_action_day": timedelta(seconds=1)}))
    await op.send(cmd.SubmitForPrioritisation(actor=COORDINATOR, assessment=op_assessment()))
    await op.send(cmd.DecidePriority(actor=COORDINATOR))
    await op.send(cmd.PlanTask(actor=COORDINATOR, member_state="BG", task_kind=TaskKind.ARREST,
                               description="arrest", due=later(3600)))
    await op.send(cmd.ApproveTask(actor=approver("BG"), task_id="TK1"))
    await op.schedule(start_in=1.0, hours=1 / 3600)
    await wait_for(gateway, operation_id, lambda s: s.phase is Phase.EXECUTE)
    await op.report("BG", Results(arrests=1))

    final = await temporal_client.get_workflow_handle_for(OperationWorkflow.run, operation_id).result()
    assert final.phase is Phase.CLOSED
    assert (final.totals, final.missing_states) == (Results(arrests=1), ("EL", "DE"))
    await record_history(temporal_client, operation_id, "closed_at_results_deadline")


async def test_continue_as_new_carries_state_and_chain(temporal_client: Client, running_worker: object,
                                                       operation_id: str, session_engine: Engine) -> None:
    gateway = OperationsGateway(temporal_client, "liaison-tests", AuditLog(session_engine),
                                continue_as_new_after_events=4)
    op = Scenario(gateway, operation_id)
    await op.to_prepare()
    for n in range(6):
        await op.send(cmd.PlanTask(actor=COORDINATOR, member_state="EL", task_kind=TaskKind.SEARCH,
                                   description=f"search {n}", due=later(3600)))
    state = await gateway.state(operation_id)
    assert list(state.tasks) == [f"TK{n}" for n in range(1, 7)] and state.phase is Phase.PREPARE

    runs = [w async for w in temporal_client.list_workflows(f"WorkflowId = '{operation_id}'")]
    assert len(runs) >= 2, "the workflow should have continued as new"
    check = verify(AuditLog(session_engine), operation_id, await gateway.chain_head(operation_id))
    assert check.intact and check.events == state.version
    assert replay(AuditLog(session_engine).read(operation_id)) == state
