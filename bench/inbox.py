"""The approvers' inbox: one member state's pending tasks across N live operations in PREPARE, read
from the projection (`ReadModels.pending_tasks`, one indexed table) beside the fan-out it replaces
(`OperationsGateway.inbox`: a Temporal visibility list, then every listed operation's log read and
folded), on the same data in the same run.

Each operation is opened through the real workflows (open, submit, confirm the priority) with BG, EL
and one of five other states taking part, and gets three tasks planned: two of that state's (one
four-eyes) and one of BG's. The inbox read is DE's: a fifth of the operations, two tasks in each.

    python -m bench.inbox [--operations N] [--reads R] [--concurrency C] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from rich.table import Table

from bench.common import (
    COORDINATOR,
    Bench,
    assessment,
    bench_env,
    console,
    median,
    ms,
    new_operation_id,
    percentile,
    plan_task,
    two_state_spec,
)
from domain import commands as cmd
from domain.model import Phase
from gateway.operations import OperationsGateway
from store.projections import Projector
from store.read_models import ReadModels

OTHER_STATES = ("DE", "RO", "HU", "AT", "IT")
INBOX_STATE = "DE"
WARMUP = 3
T = TypeVar("T")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--operations", type=int, default=1000, help="live operations in PREPARE (1000)")
    parser.add_argument("--reads", type=int, default=100, help="timed reads of each kind (100)")
    parser.add_argument("--concurrency", type=int, default=24, help="operations being set up at once (24)")
    parser.add_argument("--quick", action="store_true", help="100 operations, 20 reads: a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.operations, args.reads = 100, 20
    return args


async def prepare_operation(gateway: OperationsGateway, operation_id: str, other: str) -> None:
    """Open with BG, EL and `other`, move to PREPARE, and plan three tasks that stay pending."""
    spec = two_state_spec()
    spec = spec.model_copy(update={"participating_states": (*spec.participating_states, other)})
    await gateway.open(cmd.OpenOperation(actor=COORDINATOR, operation_id=operation_id, spec=spec,
                                         justification="benchmark"))
    await gateway.send(operation_id, cmd.SubmitForPrioritisation(actor=COORDINATOR, assessment=assessment(),
                                                                 justification="benchmark"))
    await gateway.send(operation_id, cmd.DecidePriority(actor=COORDINATOR))
    # three updates in flight at once (Temporal takes ten per workflow): the workflow decides them in
    # fewer workflow tasks, which is what bounds the setup's rate here
    await asyncio.gather(gateway.send(operation_id, plan_task(other, 1)),
                         gateway.send(operation_id, plan_task(other, 2).model_copy(update={"four_eyes": True})),
                         gateway.send(operation_id, plan_task("BG", 3)))


async def set_up(bench: Bench, n: int, concurrency: int) -> float:
    """n operations, `concurrency` of them being set up at a time; returns the seconds it took."""
    gateway = bench.gateway()
    slots = asyncio.Semaphore(concurrency)
    done = itertools.count(1)
    start = time.perf_counter()

    async def one(i: int) -> None:
        async with slots:
            await prepare_operation(gateway, new_operation_id("bench-inbox"), OTHER_STATES[i % len(OTHER_STATES)])
        finished = next(done)
        if finished % max(1, n // 10) == 0:
            elapsed = time.perf_counter() - start
            console.print(f"  {finished}/{n} operations in PREPARE ({elapsed:.0f} s, {finished / elapsed:.1f}/s)")

    await asyncio.gather(*(one(i) for i in range(n)))
    return time.perf_counter() - start


async def visible(bench: Bench, expected: int) -> None:
    """Wait until Temporal's visibility lists every operation in PREPARE (its index lags the updates)."""
    query = f"WorkflowType = 'OperationWorkflow' AND LiaisonPhase = '{Phase.PREPARE.value}' " \
            f"AND LiaisonStates = '{INBOX_STATE}'"
    for _ in range(300):
        if (await bench.client.count_workflows(query)).count >= expected:
            return
        await asyncio.sleep(0.2)
    raise SystemExit(f"visibility never listed the {expected} operations of {INBOX_STATE}")


async def timed(reads: int, read: Callable[[], Awaitable[T]]) -> tuple[list[float], T]:
    result = await read()
    for _ in range(WARMUP - 1):
        await read()
    samples = []
    for _ in range(reads):
        start = time.perf_counter()
        result = await read()
        samples.append(time.perf_counter() - start)
    return samples, result


async def main() -> None:
    args = parse_args()
    async with bench_env() as bench:
        console.print(f"setting up {args.operations} operations in PREPARE through the workflows "
                      f"({args.concurrency} at a time)…")
        setup = await set_up(bench, args.operations, args.concurrency)
        in_inbox = sum(1 for i in range(args.operations) if OTHER_STATES[i % len(OTHER_STATES)] == INBOX_STATE)
        await visible(bench, in_inbox)
        assert Projector(bench.engine).behind() == [], "an append was left unprojected"
        read_models, gateway = ReadModels(bench.engine), bench.gateway()

        async def projected() -> list[tuple[str, str]]:
            return [(t.operation_id, t.task_id) for t in read_models.pending_tasks(member_state=INBOX_STATE)]

        async def fanned_out() -> list[tuple[str, str]]:
            return [(operation_id, t.task_id) for operation_id, t in await gateway.inbox(INBOX_STATE)]

        console.print(f"{args.reads} reads of {INBOX_STATE}'s inbox from the projection…")
        fast, from_projection = await timed(args.reads, projected)
        console.print(f"{args.reads} reads of {INBOX_STATE}'s inbox by fan-out (visibility list + fold each log)…")
        slow, from_fan_out = await timed(args.reads, fanned_out)
    assert sorted(from_projection) == sorted(from_fan_out), "the two inboxes differ"
    assert len(from_projection) == 2 * in_inbox, (len(from_projection), in_inbox)
    report(args, setup, len(from_projection), in_inbox, fast, slow)


def report(args: argparse.Namespace, setup: float, tasks: int, operations: int,
           fast: list[float], slow: list[float]) -> None:
    table = Table(title=f"{INBOX_STATE}'s pending tasks ({tasks} in {operations} of {args.operations} live "
                        f"operations; {args.reads} reads each; setup {setup:.0f} s)")
    for column in ("inbox read", "median ms", "p99 ms", "max ms", "median ÷ projection"):
        table.add_column(column, justify="left" if column == "inbox read" else "right")
    base = median(fast)
    for label, samples in (("ReadModels.pending_tasks (projection)", fast),
                           ("OperationsGateway.inbox (fan-out, baseline)", slow)):
        table.add_row(label, ms(median(samples)), ms(percentile(samples, 99)), ms(max(samples)),
                      f"{median(samples) / base:.1f}x")
    console.print(table)
    verdict = "meets" if base < 0.050 else "misses"
    console.print(f"projection median {ms(base)} ms {verdict} the < 50 ms target; "
                  f"the fan-out is {median(slow) / base:.0f}x slower")


if __name__ == "__main__":
    asyncio.run(main())
