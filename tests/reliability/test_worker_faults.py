"""Workers killed with SIGKILL: between and during approvals, across the action-day start timer while
a client polls, with the closing report in flight, and one of two workers on PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from domain.model import ActionDayStatus, Phase
from domain.state import OperationState
from gateway.operations import OperationsGateway
from tests.reliability.commands import approve, open_in_prepare, plan, report, schedule, tracked
from tests.reliability.conftest import System, running_system
from tests.reliability.harness import Tally, check_operation, eventually
from tests.reliability.polling import polling
from tests.store.conftest import _scratch_postgres


async def _running_day(gateway: OperationsGateway, operation_id: str) -> bool:
    state = await gateway.state(operation_id)
    return any(day.status is ActionDayStatus.RUNNING for day in state.action_days.values())


async def _prepared_with_a_day(system: System, operation_id: str, start_in: float) -> None:
    await open_in_prepare(system.gateway, operation_id)
    task = await plan(system.gateway, operation_id)
    await system.gateway.send(operation_id, (approve(task, 1)("approved before the day"))())
    await schedule(system.gateway, operation_id, start_in=start_in)


async def _close(system: System, operation_id: str, tally: Tally, kill_midway: bool) -> OperationState:
    """Both states report; the report that closes the operation is in flight when the worker dies."""
    sending = [asyncio.create_task(tracked(system.gateway, operation_id, f"report {s}", report(s, 2)))
               for s in ("BG", "EL")]
    if kill_midway:
        await asyncio.sleep(0.05)
        system.workers[-1].kill()
        tally.faults += 1
        await asyncio.sleep(1.0)
        system.worker(f"w{len(system.workers) + 1}")
    reports = await asyncio.gather(*sending)
    tally.sent.extend(reports)
    assert [r.outcome for r in reports] == ["accepted", "accepted"], [(r.outcome, r.reason) for r in reports]
    final = OperationState.model_validate(await system.client.get_workflow_handle(operation_id).result())
    assert final.phase is Phase.CLOSED
    return final


async def test_worker_killed_across_the_action_day_timer_while_a_client_polls(tmp_path: Path, tally: Tally) -> None:
    async with running_system(tmp_path) as system:
        operation_id = f"op-timer-{uuid.uuid4().hex[:6]}"
        tally.operations = 1
        await _prepared_with_a_day(system, operation_id, start_in=5)
        async with polling(system.gateway, system.client, [operation_id]):
            await asyncio.sleep(1)
            system.workers[0].kill()
            tally.faults += 1
            await asyncio.sleep(7)  # the start timer fires while no worker runs, and the client keeps asking
            system.worker("w2")
            await eventually(lambda: _running_day(system.gateway, operation_id), 30, "the action day's start")
            final = await _close(system, operation_id, tally, kill_midway=True)
        await check_operation(system.client, system.engine, operation_id, tally.sent, tally, final)
        tally.completed = 1


async def test_worker_killed_with_approvals_in_flight(tmp_path: Path, tally: Tally) -> None:
    async with running_system(tmp_path) as system:
        operation_id = f"op-approvals-{uuid.uuid4().hex[:6]}"
        tally.operations = 1
        await open_in_prepare(system.gateway, operation_id)
        tasks = [await plan(system.gateway, operation_id) for _ in range(12)]
        first = await tracked(system.gateway, operation_id, "approve first", approve(tasks[0], 1))
        system.workers[0].kill()  # between approvals
        tally.faults += 1
        system.worker("w2")
        sending = [asyncio.create_task(tracked(system.gateway, operation_id, f"approve {t}", approve(t, 1)))
                   for t in tasks[1:]]
        await asyncio.sleep(0.3)
        system.workers[-1].kill()  # with approvals in flight
        tally.faults += 1
        await asyncio.sleep(1.0)
        system.worker("w3")
        sent = [first, *await asyncio.gather(*sending)]
        tally.sent.extend(sent)
        assert [s.outcome for s in sent] == ["accepted"] * len(tasks), [(s.outcome, s.reason) for s in sent]
        await check_operation(system.client, system.engine, operation_id, sent, tally)
        tally.completed = 1


async def test_one_of_two_workers_killed_while_operations_wait_on_timers_on_postgresql(
        tmp_path: Path, tally: Tally) -> None:
    for url in _scratch_postgres():
        async with running_system(tmp_path, store_url=url, workers=2) as system:
            operation_ids = [f"op-pair-{n}-{uuid.uuid4().hex[:6]}" for n in range(4)]
            tally.operations = len(operation_ids)
            for operation_id in operation_ids:
                await _prepared_with_a_day(system, operation_id, start_in=6)
            async with polling(system.gateway, system.client, operation_ids):
                await asyncio.sleep(1)
                system.workers[0].kill()  # the survivor takes its operations over
                tally.faults += 1
                for operation_id in operation_ids:
                    await eventually(lambda op=operation_id: _running_day(system.gateway, op), 40,  # type: ignore[misc]
                                     f"the action day of {operation_id}")
                finals = [await _close(system, operation_id, tally, kill_midway=False)
                          for operation_id in operation_ids]
            for operation_id, final in zip(operation_ids, finals, strict=True):
                await check_operation(system.client, system.engine, operation_id, tally.sent, tally, final)
            tally.completed = len(operation_ids)
