"""The service tier against the real dev server and a worker of its own, on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from temporalio.client import Client

from bootstrap import System, bootstrap
from domain.actors import Actor, Role
from settings import Settings
from store.db import make_engine, upgrade
from tests.conftest import SERVER_SETTINGS
from tests.identities import known_actor, register
from tests.store.conftest import _scratch_postgres
from worker import build_worker

PRINCIPALS = [("coord-1", Role.COORDINATOR, None), ("aud-1", Role.AUDITOR, None),
              ("lo-bg", Role.LIAISON_OFFICER, "BG"), ("ap-bg-1", Role.APPROVER, "BG"),
              ("lo-el", Role.LIAISON_OFFICER, "EL"), ("ap-el-1", Role.APPROVER, "EL"),
              ("lo-rs", Role.LIAISON_OFFICER, "RS"), ("lo-fr", Role.LIAISON_OFFICER, "FR"),
              ("ap-fr-1", Role.APPROVER, "FR")]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def services_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    urls = (iter([f"sqlite:///{tmp_path_factory.mktemp('services') / 'liaison.db'}"]) if request.param == "sqlite"
            else _scratch_postgres())
    for url in urls:
        upgrade(url)
        engine = make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
async def system(temporal_client: Client, services_store: Engine) -> AsyncIterator[System]:
    """Services over their own store, with a worker of their own (the server, with its own settings)."""
    queue = f"services-{uuid.uuid4().hex[:8]}"
    worker = build_worker(temporal_client, services_store, queue, strict_sandbox=True, settings=SERVER_SETTINGS)
    built = bootstrap(SERVER_SETTINGS, engine=services_store, client=temporal_client, task_queue=queue)
    for pid, role, state in PRINCIPALS:
        register(built, pid, role, state)
    async with worker:
        yield built


def client_settings(tmp_path: Path, **changes: object) -> Settings:
    """Settings a client process might have: they must not change the server's policy."""
    return Settings(data_dir=tmp_path, **changes)  # type: ignore[arg-type]


def actor(system: System, principal_id: str) -> Actor:
    return known_actor(system, principal_id)


PATIENCE = timedelta(seconds=1)
