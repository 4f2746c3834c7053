"""Lifecycle throughput: full operation lifecycles per second with 20 in flight, beside trivial
one-activity workflows per second with 20 in flight on the same server.

Each lifecycle: open, submit, prioritise, plan one task, approve it, schedule the action day ~1 s
ahead, wait for EXECUTE, report the results of both states (which closes it), wait for CLOSED.

    python -m bench.lifecycle_throughput [--quick]
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from rich.table import Table

from bench.baseline import OneActivityWorkflow
from bench.common import (
    APPROVER,
    BASELINE_QUEUE,
    COORDINATOR,
    OFFICER,
    Bench,
    bench_env,
    console,
    distinct_place,
    median,
    new_operation_id,
    open_to_prepare,
    parse_args,
    plan_task,
)
from domain import commands as cmd
from domain.model import Phase, Results
from domain.state import OperationState
from domain.timing import Timing

IN_FLIGHT = 20
ACTION_DAY_LEAD = timedelta(seconds=1)
TIMING = Timing(reminder_before_due=timedelta(seconds=1),
                results_grace_after_action_day=timedelta(seconds=60))


async def lifecycle(bench: Bench, done: list[str]) -> None:
    gateway = bench.gateway()
    operation_id = new_operation_id("bench-life")
    await open_to_prepare(gateway, operation_id, TIMING)
    await gateway.send(operation_id, plan_task("BG", 1, due_in=timedelta(hours=1)))
    await gateway.send(operation_id, cmd.ApproveTask(actor=APPROVER["BG"], task_id="TK1"))
    start = datetime.now(UTC) + ACTION_DAY_LEAD
    await gateway.send(operation_id, cmd.ScheduleActionDay(
        actor=COORDINATOR, start=start, end=start + timedelta(hours=8), places=(distinct_place(),)))
    await asyncio.sleep(ACTION_DAY_LEAD.total_seconds())
    while (await gateway.state(operation_id)).phase is not Phase.EXECUTE:
        await asyncio.sleep(0.1)
    for state, officer in OFFICER.items():
        await gateway.send(operation_id, cmd.ReportResults(
            actor=officer, member_state=state, results=Results(arrests=1, searches=1)))
    final = await bench.client.get_workflow_handle(operation_id, result_type=OperationState).result()
    assert final.phase is Phase.CLOSED, final.phase
    done.append(operation_id)


async def work_in_one_lifecycle(bench: Bench, operation_id: str) -> str:
    """What one lifecycle asked of Temporal, counted from its history rather than assumed."""
    history = await bench.client.get_workflow_handle(operation_id).fetch_history()
    updates = sum(e.HasField("workflow_execution_update_accepted_event_attributes") for e in history.events)
    local = sum(e.HasField("marker_recorded_event_attributes") for e in history.events)
    activities = Counter(e.activity_task_scheduled_event_attributes.activity_type.name for e in history.events
                         if e.HasField("activity_task_scheduled_event_attributes"))
    listed = ", ".join(f"{n} {name}" for name, n in sorted(activities.items()))
    return f"1 workflow start, {updates} updates, {local} local activities (audit appends), {listed}"


async def trivial(bench: Bench) -> None:
    await bench.client.execute_workflow(OneActivityWorkflow.run, 1,
                                        id=new_operation_id("bench-trivial"),
                                        task_queue=BASELINE_QUEUE)


async def run_many(count: int, one: Callable[[], Awaitable[None]]) -> tuple[float, list[float]]:
    """Runs count jobs with IN_FLIGHT at a time; the wall time and each job's own duration."""
    gate = asyncio.Semaphore(IN_FLIGHT)
    durations: list[float] = []

    async def job() -> None:
        async with gate:
            begun = time.perf_counter()
            await one()
            durations.append(time.perf_counter() - begun)

    started = time.perf_counter()
    await asyncio.gather(*(job() for _ in range(count)))
    return time.perf_counter() - started, durations


async def main() -> None:
    args = parse_args(__doc__ or "")
    lifecycles, trivials = (20, 40) if args.quick else (60, 200)
    async with bench_env() as bench:
        await run_many(IN_FLIGHT, lambda: trivial(bench))  # warm-up: workers, sandbox, connections
        console.print(f"{trivials} one-activity workflows, {IN_FLIGHT} in flight…")
        trivial_wall, trivial_each = await run_many(trivials, lambda: trivial(bench))
        console.print(f"{lifecycles} full lifecycles, {IN_FLIGHT} in flight…")
        done: list[str] = []
        life_wall, life_each = await run_many(lifecycles, lambda: lifecycle(bench, done))
        work = await work_in_one_lifecycle(bench, done[-1])

    trivial_rate, life_rate = trivials / trivial_wall, lifecycles / life_wall
    table = Table(title=f"Throughput with {IN_FLIGHT} in flight (same dev server, same run)")
    for column in ("workload", "count", "wall s", "per second", "median each s", "rate ÷ trivial"):
        table.add_column(column, justify="left" if column == "workload" else "right")
    table.add_row("one-activity workflow (baseline)", str(trivials), f"{trivial_wall:.2f}",
                  f"{trivial_rate:.1f}", f"{median(trivial_each):.3f}", "1.00")
    table.add_row("full operation lifecycle", str(lifecycles), f"{life_wall:.2f}",
                  f"{life_rate:.2f}", f"{median(life_each):.3f}", f"{life_rate / trivial_rate:.3f}")
    console.print(table)
    console.print(f"Each lifecycle is {work}; it waits {ACTION_DAY_LEAD.total_seconds():.0f} s "
                  "for its action day to start (counted in its duration).")


if __name__ == "__main__":
    asyncio.run(main())
