"""An operation stuck by a non-deterministic history is recovered as the README says: reset to the
last good workflow task with `temporal workflow reset`, after which it accepts commands again."""

from __future__ import annotations

import asyncio
import re
import subprocess
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from domain import commands as cmd
from domain.errors import DomainError
from domain.state import OperationState
from gateway.audit import verify_records
from gateway.history import histories_of_workflow, replay
from gateway.operations import OperationsGateway
from gateway.witness import witnessed
from store.audit_log import AuditLog
from tests.conftest import temporal_binary
from tests.workflows.scenario import COORDINATOR, Scenario, approver, later
from worker import build_worker
from workflows.messages import NotificationRequest, OperationInput
from workflows.operation import OperationWorkflow

QUEUE = "liaison-tests-recovery"


@workflow.defn(name="OperationWorkflow", sandboxed=False)
class DeviatingOperationWorkflow(OperationWorkflow):
    """Once a task described "deviate" is planned, runs an activity where the real code starts a timer:
    a history the real code cannot replay past, as the duplicated timer left them."""

    @workflow.run
    async def run(self, start: OperationInput) -> OperationState:
        return await super().run(start)

    async def _wait_for_change_or_deadline(self) -> None:
        if any(t.description == "deviate" for t in self._state.tasks.values()) and not getattr(self, "_done", False):
            self._done = True
            await workflow.execute_activity("notify", NotificationRequest(
                notification_id=f"{self._state.operation_id}:deviation", operation_id=self._state.operation_id,
                kind="deviation", recipient_role="coordinator", recipient_state=None, message="deviation"),
                start_to_close_timeout=timedelta(seconds=10))
        await super()._wait_for_change_or_deadline()


def _last_good_task(failure: str, events: list[object]) -> int:
    """The WorkflowTaskCompleted event just before the event where replay diverged."""
    diverged = int(re.search(r"id: (\d+)", failure).group(1))  # type: ignore[union-attr]
    completed = [e.event_id for e in events  # type: ignore[attr-defined]
                 if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED and e.event_id < diverged]  # type: ignore[attr-defined]
    return completed[-1]


async def test_a_stuck_operation_is_recovered_by_a_reset_to_the_last_good_task(
        temporal_client: Client, session_engine: Engine, operation_id: str) -> None:
    gateway = OperationsGateway(temporal_client, QUEUE, AuditLog(session_engine), retry_for=timedelta(seconds=3))
    op = Scenario(gateway, operation_id)
    async with build_worker(temporal_client, session_engine, QUEUE, workflows=[DeviatingOperationWorkflow]):
        await op.to_prepare()
        await gateway.send(operation_id, cmd.PlanTask(actor=COORDINATOR, member_state="BG", task_kind="arrest",
                                                      description="deviate", due=later(3600)))
        await asyncio.sleep(1)
    async with build_worker(temporal_client, session_engine, QUEUE):
        with pytest.raises(DomainError, match=r"Workflow Task in failed state|not known yet") as stuck:
            await gateway.send(operation_id, cmd.ApproveTask(actor=approver("BG"), task_id="TK1"))
        assert stuck.value.code == "unavailable"  # not reported as refused
        (outcome,) = await replay(await histories_of_workflow(temporal_client, operation_id))
        assert not outcome.ok and "nondetermin" in (outcome.failure or "").lower()
        history = await temporal_client.get_workflow_handle(operation_id).fetch_history()
        event_id = _last_good_task(outcome.failure or "", list(history.events))
        address = temporal_client.service_client.config.target_host
        subprocess.run([temporal_binary(), "workflow", "reset", "--address", address, "-w", operation_id,
                        "--event-id", str(event_id), "--reason", "stuck by a non-deterministic history"],
                       check=True, capture_output=True)
        result = await gateway.send(operation_id, cmd.ApproveTask(actor=approver("BG"), task_id="TK1"))
        assert "task_approved" in result.events
        outcomes = await replay(await histories_of_workflow(temporal_client, operation_id))
        assert all(o.ok for o in outcomes), [o.failure for o in outcomes]
        records = AuditLog(session_engine).read(operation_id)
        heads, states = await witnessed(temporal_client, operation_id)
        assert verify_records(operation_id, records, heads, states=states).intact
        assert [r.type for r in records].count("task_approved") == 1
