"""The workflow waits durably: a timer that comes due while no worker runs still fires afterwards,
and the audit chain continues unbroken under a new worker."""

from __future__ import annotations

import asyncio

from sqlalchemy import Engine
from temporalio.client import Client

from domain import commands as cmd
from domain.model import TaskKind
from gateway.audit import verify
from gateway.operations import OperationsGateway
from store.audit_log import AuditLog
from tests.workflows.scenario import COORDINATOR, Scenario, later, wait_for
from worker import build_worker

QUEUE = "liaison-durability"


async def test_reminder_fires_after_worker_restart(temporal_client: Client, session_engine: Engine,
                                                   operation_id: str) -> None:
    gateway = OperationsGateway(temporal_client, QUEUE, AuditLog(session_engine))
    op = Scenario(gateway, operation_id)
    async with build_worker(temporal_client, session_engine, QUEUE, strict_sandbox=True):
        await op.to_prepare()
        await op.send(cmd.PlanTask(actor=COORDINATOR, member_state="EL", task_kind=TaskKind.SEARCH,
                                   description="search", due=later(3.5)))
    # No worker: the reminder (due - 2 s) and the escalation come due while nobody polls.
    await asyncio.sleep(4)
    assert [r.type for r in AuditLog(session_engine).read(operation_id)][-1] == "task_planned"

    async with build_worker(temporal_client, session_engine, QUEUE):
        state = await wait_for(gateway, operation_id, lambda s: s.tasks["TK1"].escalated)
        assert state.tasks["TK1"].reminded
        check = verify(AuditLog(session_engine), operation_id, await gateway.chain_head(operation_id))
        assert check.intact and check.events == state.version
        await op.send(cmd.CancelOperation(actor=COORDINATOR, justification="end of test"))
