"""A dev server of a test's own: operations under keys the session does not hold (or that cannot start)
stay off the session's server, where `audit verify --all` reads every operation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from gateway.payload_keys import data_converter
from tests.conftest import SERVER_SETTINGS, temporal_binary
from workflows.messages import CODE_NAME, LEAD_STATE, MEMBER_STATES, PARKED, PHASE, PRIORITY


@asynccontextmanager
async def own_server(database: Path | None = None) -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(), data_converter=data_converter(SERVER_SETTINGS),
        search_attributes=[PHASE, CODE_NAME, LEAD_STATE, MEMBER_STATES, PRIORITY, PARKED],
        dev_server_database_filename=str(database) if database else None, dev_server_log_level="error")
    try:
        yield env
    finally:
        await env.shutdown()
