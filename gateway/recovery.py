"""Recovering an operation whose history no longer replays ("Workflow Task in failed state"): reset it
to the last workflow task before the divergence, then have the new run adopt what the log holds past
its head (events the reset-away run had appended)."""

from __future__ import annotations

import re
import uuid

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.enums.v1.reset_pb2 import RESET_REAPPLY_EXCLUDE_TYPE_UPDATE
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import Client, WorkflowHistory
from temporalio.service import RPCError

from domain.errors import DomainError, Unavailable
from gateway.codec import replay_converter_of
from gateway.history import replay
from services.views import Recovery
from workflows.operation import OperationWorkflow

_DIVERGED_AT = re.compile(r"HistoryEvent\(id: (\d+)")


def last_good_task(history: WorkflowHistory, failure: str) -> tuple[int, int]:
    """(the event where replay diverged, the WorkflowTaskCompleted just before it)."""
    found = _DIVERGED_AT.search(failure)
    if found is None:
        raise DomainError("conflict", f"the replay failure names no event to reset before: {failure[:200]}")
    diverged = int(found.group(1))
    completed = [e.event_id for e in history.events
                 if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED and e.event_id < diverged]
    if not completed:
        raise DomainError("conflict", f"no workflow task completed before event {diverged}")
    return diverged, completed[-1]


async def recover(client: Client, operation_id: str, reason: str) -> Recovery:
    described = await client.get_workflow_handle(operation_id).describe()
    handle = client.get_workflow_handle(operation_id, run_id=described.run_id)  # this very run, throughout
    history = await handle.fetch_history()
    (outcome,) = await replay([(operation_id, history)], data_converter=replay_converter_of(client.data_converter))
    if outcome.ok:
        raise DomainError("conflict", f"operation {operation_id}'s history replays: there is nothing to recover",
                          field="operation_id", value=operation_id)
    diverged, reset_to = last_good_task(history, outcome.failure or "")
    response = await client.workflow_service.reset_workflow_execution(ResetWorkflowExecutionRequest(
        namespace=client.namespace, reason=reason, request_id=str(uuid.uuid4()),
        workflow_execution=WorkflowExecution(workflow_id=operation_id, run_id=described.run_id),
        workflow_task_finish_event_id=reset_to,
        # Updates after the reset point have no caller waiting any more (they were answered "unavailable");
        # signals (another operation's hit notices) are applied again, once the log is adopted.
        reset_reapply_exclude_types=[RESET_REAPPLY_EXCLUDE_TYPE_UPDATE]))
    try:
        await client.get_workflow_handle(operation_id, run_id=response.run_id).signal(
            OperationWorkflow.adopt_stored_tail)
    except RPCError as error:
        raise Unavailable(f"{operation_id} was reset (new run {response.run_id}) but could not be "
                          f"told to adopt its log ({error.message}); send it the signal adopt_stored_tail: "
                          f"temporal workflow signal -w {operation_id} --name adopt_stored_tail") from None
    return Recovery(operation_id=operation_id, diverged_at_event=diverged, reset_to_event=reset_to,
                    new_run_id=response.run_id)
