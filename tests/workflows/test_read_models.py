"""Through the real workflow and worker: a command's reply comes once the read models hold its events,
and the events the workflow's timers append are projected too."""

from __future__ import annotations

import asyncio

from sqlalchemy import Engine

from domain import commands as cmd
from domain.model import Phase, TaskKind
from gateway.operations import OperationsGateway
from store.audit_log import AuditLog
from store.read_models import ReadModels
from tests.workflows.scenario import ASSESSMENT, COORDINATOR, Scenario, approver, later


async def test_each_reply_is_readable_from_the_read_models(gateway: OperationsGateway, operation_id: str,
                                                           session_engine: Engine) -> None:
    reads, op = ReadModels(session_engine), Scenario(gateway, operation_id)
    await op.open()
    summary = reads.summary(operation_id)
    assert summary is not None and summary.phase is Phase.IDENTIFY and summary.code_name == "NORTHWIND"
    await op.send(cmd.SubmitForPrioritisation(actor=COORDINATOR, assessment=ASSESSMENT))
    await op.send(cmd.DecidePriority(actor=COORDINATOR))
    summary = reads.summary(operation_id)
    assert summary is not None and summary.phase is Phase.PREPARE and summary.priority is not None

    await op.send(cmd.PlanTask(actor=COORDINATOR, member_state="DE", task_kind=TaskKind.FINANCIAL_ENQUIRY,
                               description="trace transfers", due=later(4)))
    [task] = reads.pending_tasks(member_state="DE", operation_id=operation_id)
    assert task.task_id == "TK1" and not task.reminded

    # the workflow's own timer reminds (two seconds before the due time): its append is projected too
    for _ in range(100):
        [task] = reads.pending_tasks(member_state="DE", operation_id=operation_id)
        if task.reminded:
            break
        await asyncio.sleep(0.1)
    assert task.reminded

    await op.send(cmd.ApproveTask(actor=approver("DE"), task_id="TK1"))
    assert reads.pending_tasks(operation_id=operation_id) == []
    assert reads.projected_seq(operation_id) == AuditLog(session_engine).head(operation_id).seq

