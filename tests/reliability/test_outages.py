"""The dev server stopped and restarted on its file, the store unavailable, 200 operations at once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from domain.model import Phase
from gateway.operations import OperationsGateway
from store.audit_log import AuditLog
from tests.reliability.commands import (
    Factory,
    add_intel,
    add_target,
    approve,
    open_in_prepare,
    plan,
    report,
    schedule,
    sent_for,
    tracked,
)
from tests.reliability.conftest import System, running_system
from tests.reliability.harness import Sent, Tally, check_operation, eventually, send_tracked
from tests.reliability.proxy import CuttableProxy
from tests.store.conftest import _scratch_postgres

SQLITE_LOCKED_FOR = float(os.environ.get("LIAISON_FAULT_SQLITE_LOCK_S", "45"))
POSTGRES_CUT_FOR = float(os.environ.get("LIAISON_FAULT_POSTGRES_CUT_S", "60"))


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
async def test_dev_server_stopped_mid_operation_and_restarted(how: signal.Signals, tmp_path: Path,
                                                              tally: Tally) -> None:
    async with running_system(tmp_path) as system:
        operation_id = f"op-server-{uuid.uuid4().hex[:6]}"
        tally.operations = 1
        await open_in_prepare(system.gateway, operation_id)
        makers: dict[str, Factory] = {}
        sending = []
        for n in range(8):
            sent = sent_for(operation_id, f"server {n}")
            makers[sent.marker] = (add_target(n) if n % 2 else add_intel(n))(sent.marker)
            sending.append(asyncio.create_task(send_tracked(system.gateway, sent, makers[sent.marker])))
        await asyncio.sleep(0.1)
        system.server.stop(how)
        tally.faults += 1
        await asyncio.sleep(2)
        system.server.start()
        sent_all = list(await asyncio.gather(*sending))
        tally.sent.extend(sent_all)
        assert {s.outcome for s in sent_all} == {"accepted"}, [(s.outcome, s.reason) for s in sent_all]
        assert max(s.waited for s in sent_all) > 2.0  # some were in flight while the server was down
        again = [await send_tracked(system.gateway, Sent(operation_id, s.key, s.marker), makers[s.marker])
                 for s in sent_all]
        assert {s.outcome for s in again} == {"accepted"}  # a retry with its key reports the truth, once
        await check_operation(system.client, system.engine, operation_id, sent_all, tally)
        tally.completed = 1


async def _commands_through_an_outage(system: System, tally: Tally, begin: Callable[[], None],
                                      end: Callable[[], Awaitable[None]]) -> None:
    """Commands sent while the store is unavailable wait (or are told "not known yet" and sent again with
    their keys): never refused, and applied once it is back."""
    operation_id = f"op-outage-{uuid.uuid4().hex[:6]}"
    tally.operations = 1
    await open_in_prepare(system.gateway, operation_id)
    task = await plan(system.gateway, operation_id)
    makers = {"approve": approve(task, 1), "intel": add_intel(1), "target": add_target(1)}
    begin()
    tally.faults += 1
    sending = [asyncio.create_task(tracked(system.gateway, operation_id, what, make)) for what, make in makers.items()]
    await end()
    sent = list(await asyncio.gather(*sending))
    tally.sent.extend(sent)
    assert {s.outcome for s in sent} == {"accepted"}, [(s.outcome, s.reason) for s in sent]
    assert min(s.waited for s in sent) > 1.0  # they did wait for the store
    await check_operation(system.client, system.engine, operation_id, sent, tally)
    tally.completed = 1


async def test_sqlite_store_locked_by_another_process(tmp_path: Path, tally: Tally) -> None:
    async with running_system(tmp_path) as system:
        locker: list[subprocess.Popen[bytes]] = []

        def lock() -> None:
            locker.append(subprocess.Popen([sys.executable, "-c", (
                "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
                "c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(float(sys.argv[2]))"),
                str(make_url(system.store_url).database), str(SQLITE_LOCKED_FOR)], stdout=subprocess.PIPE))
            assert locker[0].stdout is not None and locker[0].stdout.readline().strip() == b"locked"

        async def unlocked() -> None:
            await asyncio.to_thread(locker[0].wait)

        await _commands_through_an_outage(system, tally, lock, unlocked)


async def test_postgres_store_cut_off(tmp_path: Path, tally: Tally) -> None:
    for url in _scratch_postgres():
        target = make_url(url)
        with CuttableProxy(target.port or 5432) as proxy:
            proxied = target.set(port=proxy.port).render_as_string(hide_password=False)
            async with running_system(tmp_path, store_url=proxied) as system:
                async def restored() -> None:
                    await asyncio.sleep(POSTGRES_CUT_FOR)
                    proxy.restore()

                await _commands_through_an_outage(system, tally, proxy.cut, restored)


async def test_two_hundred_operations_in_flight(tmp_path: Path, tally: Tally) -> None:
    async with running_system(tmp_path, workers=2) as system:
        operation_ids = [f"op-crowd-{n:03d}-{uuid.uuid4().hex[:4]}" for n in range(200)]
        tally.operations = len(operation_ids)

        async def lifecycle(operation_id: str) -> None:
            # results are awaited long after the day: on two busy cores a crowd reaches them late
            await open_in_prepare(system.gateway, operation_id, results_grace=timedelta(minutes=10))
            task = await plan(system.gateway, operation_id)
            tally.sent.append(await tracked(system.gateway, operation_id, "approve", approve(task, 1)))
            # a crowd of 200 on two cores waits seconds per command: the day starts well after it is sent
            await schedule(system.gateway, operation_id, start_in=60, lasts=1)
            await eventually(lambda: _executing(system.gateway, operation_id), 120, f"{operation_id} executing")
            for member_state in ("BG", "EL"):
                tally.sent.append(await tracked(system.gateway, operation_id, f"report {member_state}",
                                                report(member_state, 1)))

        async with asyncio.TaskGroup() as crowd:  # the first failure cancels the rest
            for operation_id in operation_ids:
                crowd.create_task(lifecycle(operation_id))
        assert {s.outcome for s in tally.sent} == {"accepted"}, {(s.outcome, s.reason) for s in tally.sent}
        for operation_id in operation_ids:
            final = await system.gateway.state(operation_id)
            assert final.phase is Phase.CLOSED, (operation_id, final.phase)
            await check_operation(system.client, system.engine, operation_id, tally.sent, tally, final)
        tally.completed = len(operation_ids)
        assert AuditLog(system.engine).count() == tally.events  # nothing in the log but these operations'


async def _executing(gateway: OperationsGateway, operation_id: str) -> bool:
    return (await gateway.state(operation_id)).phase is Phase.EXECUTE
