"""A command sent again with its idempotency key is applied once and answered with its outcome: in the
same run, after continue-as-new, and after the operation has closed."""

from __future__ import annotations

from sqlalchemy import Engine
from temporalio.client import Client

from domain import commands as cmd
from domain.model import TaskKind
from gateway.operations import OperationsGateway
from gateway.witness import histories
from store.audit_log import AuditLog
from tests.workflows.scenario import COORDINATOR, Scenario, later


async def test_a_key_sent_again_is_applied_once_across_runs_and_after_closing(
        temporal_client: Client, running_worker: object, operation_id: str, session_engine: Engine) -> None:
    restless = OperationsGateway(temporal_client, "liaison-tests", AuditLog(session_engine),
                                 continue_as_new_after_events=2)
    op = Scenario(restless, operation_id)
    await op.to_prepare()
    plan = cmd.PlanTask(actor=COORDINATOR, member_state="BG", task_kind=TaskKind.ARREST, description="dawn raid",
                        due=later(3600), justification="sent once, retried thrice")
    first = await restless.send(operation_id, plan, key="plan-dawn-raid")
    assert await restless.send(operation_id, plan, key="plan-dawn-raid") == first  # the same run
    for n in range(3):  # more events: the workflow continues as new meanwhile
        await restless.send(operation_id, plan.model_copy(update={"description": f"other {n}"}))
    assert len(await histories(temporal_client, operation_id)) > 1  # it did continue as new
    again = await restless.send(operation_id, plan, key="plan-dawn-raid")  # a later run
    assert again == first
    # the same key with another command is that other command, never taken for the first
    other = await restless.send(operation_id, plan.model_copy(update={"description": "dusk raid"}),
                                key="plan-dawn-raid")
    assert other.head.seq > first.head.seq
    await restless.send(operation_id, cmd.CancelOperation(actor=COORDINATOR, justification="called off"))
    closed = await restless.send(operation_id, plan, key="plan-dawn-raid")  # after closing: from the log
    assert (closed.events, closed.head) == (first.events, first.head)
    descriptions = [r.payload["task"]["description"] for r in AuditLog(session_engine).read(operation_id)
                    if r.type == "task_planned"]
    assert descriptions.count("dawn raid") == 1 and descriptions.count("dusk raid") == 1
