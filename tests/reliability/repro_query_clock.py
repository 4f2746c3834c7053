"""Minimal reproduction: a query answered by a fresh worker, while a fired timer's workflow task is
pending, can leave the next workflow task with the clock of the task that started the timer.

    python -m tests.reliability.repro_query_clock [rounds]

A workflow waits for a deadline with ``while workflow.now() < deadline: wait_condition(timeout=...)``.
Its worker is killed (SIGKILL) before the timer fires; the timer fires with no worker; a fresh worker
is started while a client queries the workflow as fast as it can. If the fresh worker handles the
fired timer with a stale ``workflow.now()``, the loop starts a second timer of the same length: two
TimerStarted events for one deadline, and a history that no longer replays. Prints, per round, the
timers started and whether the history replays.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

QUEUE = "repro-query-clock"


@workflow.defn(name="ClockLoop")
class ClockLoop:
    @workflow.run
    async def run(self, deadline_iso: str) -> list[str]:
        deadline = datetime.fromisoformat(deadline_iso)
        seen = []
        while workflow.now() < deadline:
            seen.append(workflow.now().isoformat())
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(lambda: False, timeout=(deadline - workflow.now()).total_seconds())
        return [*seen, workflow.now().isoformat()]

    @workflow.query
    def clock(self) -> str:
        return workflow.now().isoformat()


async def _worker(address: str) -> None:
    client = await Client.connect(address)
    async with Worker(client, task_queue=QUEUE, workflows=[ClockLoop]):
        await asyncio.Event().wait()


def _start_worker(address: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "tests.reliability.repro_query_clock", "--worker", address])


async def _round(env: WorkflowEnvironment, address: str) -> tuple[int, bool]:
    client = env.client
    worker = _start_worker(address)
    await asyncio.sleep(2)  # importing and polling
    workflow_id = f"clock-{uuid.uuid4().hex[:8]}"
    deadline = datetime.now().astimezone() + timedelta(seconds=6)
    handle = await client.start_workflow(ClockLoop.run, deadline.isoformat(), id=workflow_id, task_queue=QUEUE)
    await asyncio.sleep(1)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    await asyncio.sleep(7)  # the timer fires while no worker runs
    fresh = _start_worker(address)
    try:
        done = asyncio.create_task(handle.result())
        while not done.done():
            with contextlib.suppress(Exception):
                await handle.query(ClockLoop.clock)
        history = await handle.fetch_history()
    finally:
        fresh.send_signal(signal.SIGKILL)
        fresh.wait()
    timers = sum(e.event_type == EventType.EVENT_TYPE_TIMER_STARTED for e in history.events)
    replay = await Replayer(workflows=[ClockLoop]).replay_workflow(history, raise_on_replay_failure=False)
    return timers, replay.replay_failure is None


async def main(rounds: int) -> None:
    binary = shutil.which("temporal") or f"{sys.prefix}/bin/temporal"
    with tempfile.TemporaryDirectory():
        env = await WorkflowEnvironment.start_local(dev_server_existing_path=binary, dev_server_log_level="error")
        address = env.client.service_client.config.target_host
        try:
            for n in range(rounds):
                timers, replays = await _round(env, address)
                print(f"round {n + 1}: {timers} timer(s) started for one deadline; history replays: {replays}")
        finally:
            await env.shutdown()


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        asyncio.run(_worker(sys.argv[2]))
    else:
        asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 3))
