"""Approval round trip: ApproveTask through execute_update (validator → decide → audit append →
reply) on an operation in PREPARE with N pending tasks, beside a bare no-op Temporal update.

    python -m bench.approval_roundtrip [--quick]
"""

from __future__ import annotations

import asyncio
import time

from rich.table import Table
from temporalio.client import WorkflowHandle

from bench.baseline import BareWorkflow
from bench.common import (
    APPROVER,
    BASELINE_QUEUE,
    Bench,
    bench_env,
    console,
    median,
    ms,
    new_operation_id,
    open_to_prepare,
    parse_args,
    percentile,
    plan_task,
)
from domain import commands as cmd

WARMUP = 10


async def bare_updates(bench: Bench, n: int) -> list[float]:
    handle: WorkflowHandle[BareWorkflow, None] = await bench.client.start_workflow(
        BareWorkflow.run, id=new_operation_id("bench-bare"), task_queue=BASELINE_QUEUE)
    samples = []
    for i in range(WARMUP + n):
        start = time.perf_counter()
        await handle.execute_update(BareWorkflow.ping, i)
        if i >= WARMUP:
            samples.append(time.perf_counter() - start)
    await handle.signal(BareWorkflow.finish)
    await handle.result()
    return samples


async def approvals(bench: Bench, n: int) -> tuple[list[float], int]:
    """Plans n tasks, then times n approvals one at a time; also the workflow runs used."""
    gateway = bench.gateway()
    operation_id = new_operation_id("bench-approve")
    await open_to_prepare(gateway, operation_id)
    for i in range(n):  # plan all N first, so every approval runs against many pending tasks
        await gateway.send(operation_id, plan_task("BG", i))
    samples = []
    for i in range(1, n + 1):
        start = time.perf_counter()
        result = await gateway.send(operation_id, cmd.ApproveTask(actor=APPROVER["BG"],
                                                                  task_id=f"TK{i}"))
        samples.append(time.perf_counter() - start)
        assert result.events == ["task_approval_given", "task_approved"], result.events
    state = await gateway.state(operation_id)
    assert not state.pending_tasks(), "some tasks were left pending"
    runs = await bench.client.count_workflows(f"WorkflowId = '{operation_id}'")
    return samples, runs.count


async def main() -> None:
    args = parse_args(__doc__ or "")
    n = 20 if args.quick else 200
    async with bench_env() as bench:
        console.print(f"bare no-op update x {n} (after {WARMUP} warm-up updates)…")
        bare = await bare_updates(bench, n)
        console.print(f"approvals x {n}, audit append as a regular activity after the decision is durable")
        approved, approved_runs = await approvals(bench, n)

    base = median(bare)
    table = Table(title=f"Update round trip, client → reply ({n} sequential updates each, "
                        f"{n} tasks pending at the first approval)")
    for column in ("update", "median ms", "p99 ms", "max ms", "median ÷ bare", "workflow runs"):
        table.add_column(column, justify="left" if column == "update" else "right")
    rows = [("bare no-op update (baseline)", bare, 1),
            ("ApproveTask (durable chained append)", approved, approved_runs)]
    for label, samples, runs in rows:
        table.add_row(label, ms(median(samples)), ms(percentile(samples, 99)), ms(max(samples)),
                      f"{median(samples) / base:.1f}x", str(runs))
    console.print(table)


if __name__ == "__main__":
    asyncio.run(main())
