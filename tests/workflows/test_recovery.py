"""An operation stuck by a non-deterministic history is recovered as the README says: reset to the
last good workflow task with `temporal workflow reset`, after which it accepts commands again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine
from temporalio import workflow
from temporalio.client import Client

from domain import commands as cmd
from domain.errors import Unavailable
from domain.state import OperationState
from gateway.audit import verify_records
from gateway.history import histories_of_workflow, replay
from gateway.operations import OperationsGateway
from gateway.recovery import recover
from gateway.witness import witnessed
from store.audit_log import AuditLog
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


async def test_a_stuck_operation_is_recovered_by_a_reset_and_adopts_what_was_logged_after(
        temporal_client: Client, session_engine: Engine, operation_id: str) -> None:
    gateway = OperationsGateway(temporal_client, QUEUE, AuditLog(session_engine), retry_for=timedelta(seconds=3))
    op = Scenario(gateway, operation_id)
    async with build_worker(temporal_client, session_engine, QUEUE, workflows=[DeviatingOperationWorkflow]):
        await op.to_prepare()
        await gateway.send(operation_id, cmd.PlanTask(actor=COORDINATOR, member_state="BG", task_kind="arrest",
                                                      description="deviate", due=later(3600)))
        # appended after the divergence, by the run a reset will take away
        await gateway.send(operation_id, cmd.ApproveTask(actor=approver("BG"), task_id="TK1",
                                                         justification="approved by the diverging run"))
    logged = [r.type for r in AuditLog(session_engine).read(operation_id)]
    async with build_worker(temporal_client, session_engine, QUEUE):
        with pytest.raises(Unavailable, match=r"Workflow Task in failed state|not known yet") as stuck:
            await gateway.send(operation_id, cmd.PlanTask(actor=COORDINATOR, member_state="BG", task_kind="search",
                                                          description="search", due=later(3600)))
        assert stuck.value.code == "unavailable"  # not reported as refused
        (outcome,) = await replay(await histories_of_workflow(temporal_client, operation_id))
        assert not outcome.ok and "nondetermin" in (outcome.failure or "").lower()

        done = await recover(temporal_client, operation_id, "stuck by a non-deterministic history")
        assert done.reset_to_event < done.diverged_at_event
        result = await gateway.send(operation_id, cmd.PlanTask(actor=COORDINATOR, member_state="BG",
                                                               task_kind="search", description="search",
                                                               due=later(3600)))
        assert result.events == ["task_planned"]
        state = await gateway.state(operation_id)
        assert state.tasks["TK1"].status.value == "approved" and "TK2" in state.tasks  # the approval stands
        records = AuditLog(session_engine).read(operation_id)
        assert [r.type for r in records][: len(logged)] == logged and records[-1].type == "task_planned"
        (after,) = await replay(await histories_of_workflow(temporal_client, operation_id))
        assert after.ok, after.failure
        heads, states, _ = await witnessed(temporal_client, operation_id)
        assert verify_records(operation_id, records, heads, states=states).intact
