"""The composition root: settings, logging, store, Temporal client and the worker."""

from __future__ import annotations

import asyncio
import signal

import structlog
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions
from temporalio.workflow import SandboxImportNotificationPolicy

from activities.audit import StoreActivities
from logging_setup import configure_logging
from settings import Settings, get_settings
from store.audit_log import AuditLog
from store.db import make_engine
from store.notifications import Notifications
from workflows.operation import OperationWorkflow

log = structlog.get_logger(__name__)


async def connect(settings: Settings) -> Client:
    return await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace,
                                data_converter=pydantic_data_converter)


def build_worker(client: Client, engine: Engine, task_queue: str, *, strict_sandbox: bool = False) -> Worker:
    """strict_sandbox makes an import that slips past the sandbox unintentionally an error (tests, CI)."""
    activities = StoreActivities(AuditLog(engine), Notifications(engine))
    restrictions = SandboxRestrictions.default
    if strict_sandbox:
        restrictions = restrictions.with_import_notification_policy(
            SandboxImportNotificationPolicy.RAISE_ON_UNINTENTIONAL_PASSTHROUGH)
    return Worker(client, task_queue=task_queue, workflows=[OperationWorkflow],
                  activities=[activities.append_events, activities.notify],
                  workflow_runner=SandboxedWorkflowRunner(restrictions=restrictions))


async def run_worker(settings: Settings) -> None:
    client = await connect(settings)
    engine = make_engine(settings.store_url)
    worker = build_worker(client, engine, settings.task_queue)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    log.info("worker_started", task_queue=settings.task_queue, temporal=settings.temporal_address,
             store=settings.store_url)
    async with worker:
        await stop.wait()
    engine.dispose()
    log.info("worker_stopped")


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
    asyncio.run(run_worker(settings))


if __name__ == "__main__":
    main()
