"""The worker: the operation and checkpoint workflows and every activity, built from bootstrap's parts."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import structlog
from sqlalchemy import Engine
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
)
from temporalio.worker import Worker

from activities.audit import StoreActivities
from activities.checkpoint import CheckpointActivities
from activities.deconfliction import DeconflictionActivities
from activities.policy import PolicyActivities
from bootstrap import connect, deconfliction_index, server_policy
from logging_setup import configure_logging
from settings import Settings, get_settings
from store.audit_log import AuditLog
from store.db import make_engine
from store.notifications import Notifications
from store.projections import Projector
from workflows.checkpoint import CHECKPOINT_SCHEDULE_ID, CheckpointWorkflow
from workflows.operation import OperationWorkflow
from workflows.sandbox import workflow_runner

log = structlog.get_logger(__name__)


def build_worker(client: Client, engine: Engine, task_queue: str, *, strict_sandbox: bool = False,
                 checkpoint_key_file: Path | None = None, workflows: Sequence[type] | None = None,
                 settings: Settings | None = None) -> Worker:
    """strict_sandbox makes an import that slips past the sandbox unintentionally an error (tests, CI).
    The worker's settings are the server's policy for every operation it opens."""
    settings = settings or get_settings()
    activities = StoreActivities(AuditLog(engine), Notifications(engine), Projector(engine))
    checkpoints = CheckpointActivities(engine, checkpoint_key_file or settings.signing_key_file)
    deconfliction = DeconflictionActivities(engine, deconfliction_index(settings, engine))
    policy = PolicyActivities(server_policy(settings))
    return Worker(client, task_queue=task_queue, workflows=list(workflows or (OperationWorkflow, CheckpointWorkflow)),
                  activities=[activities.append_events, activities.stored_tail, activities.notify,
                              checkpoints.take_checkpoint, policy.server_policy,
                              deconfliction.deconflict, deconfliction.release_entries],
                  workflow_runner=workflow_runner(strict=strict_sandbox),
                  sticky_queue_schedule_to_start_timeout=get_settings().sticky_queue_timeout,
                  graceful_shutdown_timeout=timedelta(seconds=10))


async def ensure_checkpoint_schedule(client: Client, settings: Settings) -> None:
    """A Temporal schedule that has the audit log checkpointed every checkpoint_interval."""
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(CheckpointWorkflow.run, id=CHECKPOINT_SCHEDULE_ID,
                                           task_queue=settings.task_queue),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=settings.checkpoint_interval)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP))
    try:
        await client.create_schedule(CHECKPOINT_SCHEDULE_ID, schedule)
    except ScheduleAlreadyRunningError:
        handle = client.get_schedule_handle(CHECKPOINT_SCHEDULE_ID)
        await handle.update(lambda _: ScheduleUpdate(schedule=schedule))


async def catch_up_projections(projector: Projector) -> None:
    """Project what a crash between an append and its projection left behind (beside the running worker)."""
    try:
        events = await asyncio.to_thread(projector.catch_up_all)
    except Exception as error:  # the read models lag; the record and the workflows are unaffected
        log.error("projections_catch_up_failed", error=str(error), exc_info=True)
        return
    log.info("projections_caught_up", events=events)


async def run_worker(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Until SIGINT or SIGTERM; or, when a stop event is given, until it is set (`liaison up` runs the API
    in the same loop and owns the signals)."""
    client = await connect(settings)
    engine = make_engine(settings.store_url)
    worker = build_worker(client, engine, settings.task_queue, checkpoint_key_file=settings.signing_key_file,
                          settings=settings)
    await ensure_checkpoint_schedule(client, settings)
    mending = asyncio.create_task(catch_up_projections(Projector(engine)))
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
    log.info("worker_started", task_queue=settings.task_queue, temporal=settings.temporal_address,
             store=settings.store_url)
    async with worker:
        await stop.wait()
    await mending
    engine.dispose()
    log.info("worker_stopped")


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
    asyncio.run(run_worker(settings))


if __name__ == "__main__":
    main()
