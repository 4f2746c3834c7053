"""Approval round trip: ApproveTask through execute_update (validator → decide → audit append →
reply) on an operation in PREPARE with N pending tasks, with the payload codec and without it in the
same run, beside a bare no-op Temporal update.

    python -m bench.approval_roundtrip [--quick]
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence

from rich.table import Table
from temporalio.api.common.v1 import Payload
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
from gateway.codec import EncryptionCodec, Keyring

WARMUP = 10


class TimedCodec(EncryptionCodec):
    """The payload codec, timing its own CPU (thread time: not the waits for the GIL that the worker's
    threads hold meanwhile); every contextual copy adds to the same totals."""

    seconds = 0.0
    payloads = 0

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        start = time.thread_time()
        try:
            return await super().encode(payloads)
        finally:
            TimedCodec.seconds += time.thread_time() - start
            TimedCodec.payloads += len(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        start = time.thread_time()
        try:
            return await super().decode(payloads)
        finally:
            TimedCodec.seconds += time.thread_time() - start
            TimedCodec.payloads += len(payloads)


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


async def approvals(bench: Bench, n: int) -> dict[bool, tuple[list[float], int]]:
    """Plans n tasks on two operations, one whose worker and client run the payload codec and one
    without it; then times the n approvals of each, alternating which goes first, so that both meet the
    same server and store. Per codec on/off: the samples and the workflow runs used."""
    operation_ids = {}
    for codec in (True, False):
        gateway = bench.gateway(codec=codec)
        operation_ids[codec] = new_operation_id("bench-approve")
        await open_to_prepare(gateway, operation_ids[codec])
        for i in range(n):  # plan all N first, so every approval runs against many pending tasks
            await gateway.send(operation_ids[codec], plan_task("BG", i))
    samples: dict[bool, list[float]] = {True: [], False: []}
    TimedCodec.seconds, TimedCodec.payloads = 0.0, 0
    for i in range(1, n + 1):
        for codec in ((True, False) if i % 2 else (False, True)):
            gateway = bench.gateway(codec=codec)
            start = time.perf_counter()
            result = await gateway.send(operation_ids[codec], cmd.ApproveTask(actor=APPROVER["BG"],
                                                                              task_id=f"TK{i}"))
            samples[codec].append(time.perf_counter() - start)
            assert result.events == ["task_approval_given", "task_approved"], result.events
    outcome = {}
    for codec, operation_id in operation_ids.items():
        state = await bench.gateway(codec=codec).state(operation_id)
        assert not state.pending_tasks(), "some tasks were left pending"
        runs = await bench.client.count_workflows(f"WorkflowId = '{operation_id}'")
        outcome[codec] = samples[codec], runs.count
    return outcome


async def main() -> None:
    args = parse_args(__doc__ or "")
    n = 20 if args.quick else 200
    async with bench_env(TimedCodec(Keyring({"bench": os.urandom(32)}, "bench"))) as bench:
        console.print(f"bare no-op update x {n} (after {WARMUP} warm-up updates)…")
        bare = await bare_updates(bench, n)
        console.print(f"approvals x {n} with the payload codec and x {n} without, alternating; audit append "
                      "as a regular activity after the decision is durable")
        approved = await approvals(bench, n)
        codec_seconds, codec_payloads = TimedCodec.seconds, TimedCodec.payloads  # the approvals' alone

    base = median(bare)
    table = Table(title=f"Update round trip, client → reply ({n} sequential updates each, "
                        f"{n} tasks pending at the first approval)")
    for column in ("update", "median ms", "p99 ms", "max ms", "median ÷ bare", "workflow runs"):
        table.add_column(column, justify="left" if column == "update" else "right")
    rows = [("bare no-op update (baseline)", bare, 1),
            ("ApproveTask, payload codec on (AES-256-GCM)", *approved[True]),
            ("ApproveTask, payload codec off", *approved[False])]
    for label, samples, runs in rows:
        table.add_row(label, ms(median(samples)), ms(percentile(samples, 99)), ms(max(samples)),
                      f"{median(samples) / base:.1f}x", str(runs))
    console.print(table)
    on, off = approved[True][0], approved[False][0]
    console.print(f"the codec adds {ms(median(on) - median(off))} ms at the median (target: at most 1.0 ms); "
                  f"its own CPU, client and worker: {codec_seconds / n * 1e6:.0f} µs per approval "
                  f"({codec_payloads / n:.1f} payloads encrypted or decrypted)", highlight=False)


if __name__ == "__main__":
    asyncio.run(main())
