"""The HTTP API against the real dev server, a worker of its own and a store of its own: requests go
through the ASGI app exactly as uvicorn would hand them over, each with a token from POST /auth/token."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from temporalio.client import Client

from api.app import create_app
from bootstrap import System, bootstrap
from domain.actors import Role
from settings import Settings
from store.db import make_engine, upgrade
from tests.identities import ADMIN, PASSWORD, administrator, register
from worker import build_worker

# Operational principals of the API tests: BG leads, EL takes part, FR does not, RS is a partner.
PRINCIPALS = [("coord-1", Role.COORDINATOR, None), ("aud-1", Role.AUDITOR, None),
              ("lo-bg", Role.LIAISON_OFFICER, "BG"), ("ap-bg-1", Role.APPROVER, "BG"),
              ("ap-bg-2", Role.APPROVER, "BG"), ("lo-el", Role.LIAISON_OFFICER, "EL"),
              ("ap-el-1", Role.APPROVER, "EL"), ("lo-fr", Role.LIAISON_OFFICER, "FR"),
              ("ap-fr-1", Role.APPROVER, "FR"), ("lo-rs", Role.LIAISON_OFFICER, "RS")]
API_SETTINGS = Settings(reminder_before_due=timedelta(seconds=2), sign_in_failure_delay=timedelta(0),
                        max_request_bytes=200_000)


@pytest.fixture(scope="module")
def api_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path_factory.mktemp('api') / 'liaison.db'}"
    upgrade(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
async def api_system(temporal_client: Client, api_engine: Engine) -> AsyncIterator[System]:
    queue = f"api-{uuid.uuid4().hex[:8]}"
    worker = build_worker(temporal_client, api_engine, queue, strict_sandbox=True, settings=API_SETTINGS)
    built = bootstrap(API_SETTINGS, engine=api_engine, client=temporal_client, task_queue=queue)
    administrator(built)
    for pid, role, state in PRINCIPALS:
        register(built, pid, role, state)
    async with worker:
        yield built


@pytest.fixture(scope="module")
def app(api_system: System) -> FastAPI:
    return create_app(api_system)


class Api:
    """Clients of the app, one per principal, signed in once with their password."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.tokens: dict[str, str] = {}

    def anonymous(self, **headers: str) -> httpx.AsyncClient:
        # As uvicorn would: an exception the app answered with a 500 is not raised again in the client.
        transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
        return httpx.AsyncClient(transport=transport, base_url="http://liaison.test",
                                 headers=headers)

    async def token(self, principal_id: str, password: str = PASSWORD) -> str:
        if principal_id not in self.tokens:
            async with self.anonymous() as client:
                answer = await client.post("/auth/token", json={"principal_id": principal_id, "password": password})
            assert answer.status_code == 201, answer.text
            self.tokens[principal_id] = answer.json()["token"]
        return self.tokens[principal_id]

    async def as_(self, principal_id: str, purpose: str = "case review") -> httpx.AsyncClient:
        token = await self.token(principal_id)
        return self.anonymous(Authorization=f"Bearer {token}", **{"X-Purpose": purpose})


@pytest.fixture(scope="module")
def api(app: FastAPI) -> Api:
    return Api(app)


__all__ = ["ADMIN", "PASSWORD", "Api"]
