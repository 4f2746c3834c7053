"""Commands through the services: the actor and the policy are the server's, one key applies a command
once, and an opening slower than the caller's patience is pending, never refused."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import Client

from bootstrap import System, bootstrap
from domain import commands as cmd
from domain.errors import NotAuthenticated, NotAuthorised
from domain.model import TaskKind
from domain.prioritisation import ScoringPolicy
from store.audit_log import AuditLog
from store.consultations import Consultations
from tests.conftest import SERVER_SETTINGS
from tests.services.conftest import PATIENCE, actor, client_settings
from tests.workflows.scenario import ASSESSMENT, LOW_ASSESSMENT, SPEC, later
from tests.workflows.test_lifecycle import record_history
from worker import build_worker


def _open_request(tag: str) -> cmd.OpenOperationRequest:
    spec = SPEC.model_copy(update={"code_name": f"SVC-{tag}", "targets": ()})
    return cmd.OpenOperationRequest(operation_id=f"op-svc-{tag}", spec=spec, justification="services")


async def test_the_policy_is_the_servers_whatever_the_callers_settings_say(
        system: System, temporal_client: Client, tmp_path: Path) -> None:
    """A coordinator's environment that sets the threshold to 0 (and reminders to a second) changes
    nothing: the worker's settings decide, and operation_opened records them."""
    lenient = client_settings(tmp_path, scoring=ScoringPolicy(threshold=0),
                              reminder_before_due=timedelta(seconds=1))
    caller = bootstrap(lenient, engine=system.engine, client=temporal_client, task_queue=system.temporal.task_queue)
    request = _open_request(uuid.uuid4().hex[:8])
    coordinator = actor(caller, "coord-1")
    await caller.operations.open(coordinator, request)
    await caller.operations.send(coordinator, request.operation_id, cmd.SubmitForPrioritisationRequest(
        assessment=LOW_ASSESSMENT))
    outcome = await caller.operations.send(coordinator, request.operation_id, cmd.DecidePriorityRequest())
    assert "operation_parked" in outcome.events  # below the server's threshold, whatever the caller set
    state = await caller.operations.state(request.operation_id)
    assert state.parked and state.scoring == SERVER_SETTINGS.scoring
    assert state.timing.reminder_before_due == SERVER_SETTINGS.reminder_before_due
    await record_history(temporal_client, request.operation_id, "opened_with_the_servers_policy")


async def test_the_actor_is_the_authenticated_one_and_a_request_cannot_name_another(system: System) -> None:
    with pytest.raises(Exception, match="actor"):
        cmd.ApproveTaskRequest.model_validate({"task_id": "TK1", "actor": {"id": "coord-1", "role": "coordinator"}})
    with pytest.raises(NotAuthenticated, match="not a Liaison token"):
        system.identity.authenticate_token("somebody-else", None)
    with pytest.raises(NotAuthenticated, match="unknown"):
        system.identity.authenticate_token("lsn_0000_forged", None)
    request = _open_request(uuid.uuid4().hex[:8])
    with pytest.raises(NotAuthorised, match="only a coordinator may"):
        await system.operations.open(actor(system, "lo-bg"), request)


async def test_one_idempotency_key_records_a_command_once(system: System) -> None:
    request = _open_request(uuid.uuid4().hex[:8])
    coordinator = actor(system, "coord-1")
    await system.operations.open(coordinator, request, key=f"open-{request.operation_id}")
    again = await system.operations.open(coordinator, request, key=f"open-{request.operation_id}")
    assert again.status == "opened"
    key = f"invite-{uuid.uuid4().hex}"
    invite = cmd.InvitePartnerRequest(partner="RS", justification="partner joins")
    first = await system.operations.send(coordinator, request.operation_id, invite, key=key)
    second = await system.operations.send(coordinator, request.operation_id, invite, key=key)
    assert first.seq == second.seq and first.events == second.events == ["partner_invited"]
    types = [r.type for r in AuditLog(system.engine).read(request.operation_id)]
    assert types.count("partner_invited") == 1 and types.count("operation_opened") == 1


async def test_an_opening_slower_than_the_callers_patience_is_pending_and_later_opened(
        system: System, temporal_client: Client) -> None:
    idle_queue = f"idle-{uuid.uuid4().hex[:8]}"  # no worker polls it yet
    caller = bootstrap(SERVER_SETTINGS, engine=system.engine, client=temporal_client, task_queue=idle_queue,
                       open_patience=PATIENCE)
    request = _open_request(uuid.uuid4().hex[:8])
    coordinator = actor(caller, "coord-1")
    opening = await caller.operations.open(coordinator, request, key="slow-open")
    assert opening.status == "pending" and opening.state is None and opening.key == "slow-open"
    async with build_worker(temporal_client, system.engine, idle_queue, settings=SERVER_SETTINGS):
        later = await caller.operations.open(coordinator, request, key="slow-open")  # the same key: no new start
        assert later.status == "opened" and later.state is not None
        shown = await caller.operations.show(coordinator, "check", request.operation_id)
        assert shown.code_name == request.spec.code_name
        types = [r.type for r in AuditLog(system.engine).read(request.operation_id)]
        assert types.count("operation_opened") == 1


async def test_each_principal_reads_the_notifications_addressed_to_it(system: System) -> None:
    request = _open_request(uuid.uuid4().hex[:8])
    coordinator = actor(system, "coord-1")
    await system.operations.open(coordinator, request)
    await system.operations.send(coordinator, request.operation_id, cmd.SubmitForPrioritisationRequest(
        assessment=ASSESSMENT))
    await system.operations.send(coordinator, request.operation_id, cmd.DecidePriorityRequest())
    await system.operations.send(coordinator, request.operation_id, cmd.PlanTaskRequest(
        member_state="EL", task_kind=TaskKind.SEARCH, description="search", due=later(3600)))
    mine: list[str] = []
    for _ in range(100):  # the notice is sent just after the task is stored
        mine = [n.kind for n in await system.notifications.inbox(actor(system, "ap-el-1"), "inbox")
                if n.operation_id == request.operation_id]
        if mine:
            break
        await asyncio.sleep(0.05)
    assert mine == ["approval_requested"]
    others = await system.notifications.inbox(actor(system, "ap-bg-1"), "inbox")
    assert request.operation_id not in {n.operation_id for n in others}
    logged = Consultations(system.engine).search(request.operation_id, "ap-el-1")
    assert logged and logged[-1].action == "notifications" and logged[-1].outcome == "served"
