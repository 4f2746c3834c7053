"""Trivial workflows that give each benchmark its baseline on the same server, in the same run."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn(name="bench_noop")
async def noop(n: int) -> int:
    return n


@workflow.defn(name="BenchBareWorkflow")
class BareWorkflow:
    """Waits until told to finish; its update does nothing (no activity, no timer)."""

    def __init__(self) -> None:
        self._done = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self._done)

    @workflow.update
    async def ping(self, n: int) -> int:
        return n

    @workflow.signal
    def finish(self) -> None:
        self._done = True


@workflow.defn(name="BenchOneActivityWorkflow")
class OneActivityWorkflow:
    @workflow.run
    async def run(self, n: int) -> int:
        return await workflow.execute_activity(noop, n,
                                               start_to_close_timeout=timedelta(seconds=30))
