"""A new operation decides by rules v2, chosen behind the "rules-v2" patch in its first run and carried
across continue-as-new: partners take no operational task, and a partner's item is released by the lead
state. Approvals done with step-up say so in the audit log. (Recorded runs replay under v1:
tests/histories/test_replay.py.)"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest
from sqlalchemy import Engine
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client

from domain import commands as cmd
from domain.errors import DomainError
from domain.model import Intelligence, OperationSpec, TaskKind
from gateway.operations import OperationsGateway
from gateway.witness import readable_histories
from store.audit_log import AuditLog
from tests.workflows.scenario import ASSESSMENT, COORDINATOR, SHORT_TIMING, approver, distinct_spec, later, officer
from tests.workflows.test_lifecycle import record_history
from workflows.operation import RULES_V2

SPEC = distinct_spec(OperationSpec.model_validate({
    "code_name": "PARTNERS", "lead_state": "BG", "participating_states": ["EL", "DE"], "partners": ["RS"],
    "crime_areas": ["migrant_smuggling"],
    "targets": [{"name": "Dragan Jovanović", "contributed_by": "RS"}],  # distinct_spec gives it its own phone
}))


def _patches(events: Sequence[HistoryEvent]) -> list[str]:
    return [json.loads(payload.data)["id"] for event in events
            if event.marker_recorded_event_attributes.marker_name == "core_patch"
            for payload in event.marker_recorded_event_attributes.details["patch-data"].payloads]


def _input(events: Sequence[HistoryEvent]) -> dict[str, object]:
    data = events[0].workflow_execution_started_event_attributes.input.payloads[0].data
    return dict(json.loads(data))


async def test_a_new_operation_decides_by_rules_v2_in_every_run(
        temporal_client: Client, running_worker: object, operation_id: str, session_engine: Engine) -> None:
    restless = OperationsGateway(temporal_client, "liaison-tests", AuditLog(session_engine),
                                 continue_as_new_after_events=3)
    send = restless.send
    await restless.open(cmd.OpenOperation(actor=COORDINATOR, operation_id=operation_id, spec=SPEC,
                                          timing=SHORT_TIMING))
    await send(operation_id, cmd.AddIntelligence(actor=officer("RS"), item=Intelligence(
        summary="Safe house in Subotica", handling_code="H2")))
    await send(operation_id, cmd.SubmitForPrioritisation(actor=COORDINATOR, assessment=ASSESSMENT))
    await send(operation_id, cmd.DecidePriority(actor=COORDINATOR))
    runs = await readable_histories(temporal_client, operation_id)  # payloads decrypted
    assert len(runs) > 1, "the operation did not continue as new"
    first, *later_runs = [run.events for run in runs]
    assert RULES_V2 in _patches(first) and _input(first).get("rules") is None
    for run in later_runs:  # carried, not asked again
        assert _input(run)["rules"] == "v2" and RULES_V2 not in _patches(run)

    history = await restless.history_length(operation_id)
    logged = len(AuditLog(session_engine).read(operation_id))
    with pytest.raises(DomainError) as refused:
        await send(operation_id, cmd.PlanTask(actor=COORDINATOR, member_state="RS", task_kind=TaskKind.ARREST,
                                              description="arrest in Subotica", due=later(3600)))
    assert (refused.value.code, refused.value.field, refused.value.value) == ("invalid_input", "member_state", "RS")
    assert "partners take no operational tasks" in refused.value.message
    assert await restless.history_length(operation_id) == history  # refused in the validator: nothing recorded
    assert len(AuditLog(session_engine).read(operation_id)) == logged


async def test_a_partners_item_is_released_by_the_lead_and_step_up_is_recorded(
        gateway: OperationsGateway, operation_id: str, session_engine: Engine, temporal_client: Client) -> None:
    send = gateway.send
    await gateway.open(cmd.OpenOperation(actor=COORDINATOR, operation_id=operation_id, spec=SPEC, timing=SHORT_TIMING))
    await send(operation_id, cmd.AddIntelligence(actor=officer("RS"), item=Intelligence(
        summary="Safe house in Subotica", handling_code="H2")))
    await send(operation_id, cmd.SubmitForPrioritisation(actor=COORDINATOR, assessment=ASSESSMENT))
    await send(operation_id, cmd.DecidePriority(actor=COORDINATOR))
    with pytest.raises(DomainError, match="partners take no operational tasks"):
        await send(operation_id, cmd.PlanTask(actor=COORDINATOR, member_state="RS", task_kind=TaskKind.SEARCH,
                                              description="search in Subotica", due=later(3600)))
    await send(operation_id, cmd.PlanTask(actor=COORDINATOR, member_state="BG", task_kind=TaskKind.ARREST,
                                          description="arrest in Sofia", due=later(3600)))
    await send(operation_id, cmd.ApproveTask(actor=approver("BG"), task_id="TK1", step_up=True))

    await send(operation_id, cmd.RequestRelease(actor=officer("DE"), item_id="IN1", to_state="DE"))
    state = await gateway.state(operation_id)
    assert (state.tasks["TK2"].member_state, state.tasks["TK2"].release_to) == ("BG", "DE")
    with pytest.raises(DomainError, match="partners never approve"):
        await send(operation_id, cmd.ApproveTask(actor=approver("RS"), task_id="TK2"))
    outcome = await send(operation_id, cmd.RejectTask(actor=approver("BG"), task_id="TK2", step_up=True,
                                                      justification="RS has not given its permission yet"))
    assert outcome.events == ["task_rejected"]
    await send(operation_id, cmd.CancelOperation(actor=COORDINATOR, justification="merged into another case"))

    records = AuditLog(session_engine).read(operation_id)
    assert [r.payload.get("step_up") for r in records if r.type.startswith("task_") and r.type != "task_planned"] == [
        True, True, True]
    assert not any("step_up" in r.payload for r in records if r.type not in (
        "task_approval_given", "task_approved", "task_rejected"))
    await record_history(temporal_client, operation_id, "rules_v2_partners_and_step_up")
