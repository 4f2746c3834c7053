"""The pages in a real browser: Debian's chromium driven by Playwright, against the app served by uvicorn in
the session's event loop, over a store and a worker of this module and the session's Temporal dev server.
Operations are set up through the HTTP API with tokens, as the API tests do; the browser only uses pages."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright
from sqlalchemy import Engine
from temporalio.client import Client

from bootstrap import System, bootstrap
from domain.actors import Role
from settings import Settings
from store.db import make_engine, upgrade
from tests.cli.conftest import serving
from tests.identities import PASSWORD, administrator, register
from worker import build_worker

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PRINCIPALS = [("coord-1", Role.COORDINATOR, None), ("ap-bg-1", Role.APPROVER, "BG"),
              ("ap-bg-2", Role.APPROVER, "BG"), ("ap-el-1", Role.APPROVER, "EL"),
              ("lo-bg", Role.LIAISON_OFFICER, "BG"), ("ap-bg-otp", Role.APPROVER, "BG"),
              ("aud-1", Role.AUDITOR, None)]
WEB_SETTINGS = Settings(sign_in_failure_delay=timedelta(0), reminder_before_due=timedelta(seconds=2))
ARTEFACTS = Path(__file__).resolve().parents[2] / "data" / "test-artefacts" / "web"  # data/ is ignored by git


@pytest.fixture(scope="module")
def web_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path_factory.mktemp('web') / 'liaison.db'}"
    upgrade(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
async def web_system(temporal_client: Client, web_engine: Engine) -> AsyncIterator[System]:
    queue = f"web-{uuid.uuid4().hex[:8]}"
    worker = build_worker(temporal_client, web_engine, queue, strict_sandbox=True, settings=WEB_SETTINGS)
    built = bootstrap(WEB_SETTINGS, engine=web_engine, client=temporal_client, task_queue=queue)
    administrator(built)
    for pid, role, state in PRINCIPALS:
        register(built, pid, role, state)
    async with worker:
        yield built


@pytest.fixture(scope="module")
async def server(web_system: System) -> AsyncIterator[str]:
    async with serving(web_system) as base_url:
        yield base_url


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    if shutil.which("chromium") is None:
        pytest.fail("chromium is not installed: `make browser` installs Debian's package")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


class WebApi:
    """Set-up through the HTTP API, with one token per principal."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.tokens: dict[str, str] = {}

    async def as_(self, principal_id: str) -> httpx.AsyncClient:
        if principal_id not in self.tokens:
            async with httpx.AsyncClient(base_url=self.base_url) as http:
                answer = await http.post("/auth/token", json={"principal_id": principal_id, "password": PASSWORD})
            assert answer.status_code == 201, answer.text
            self.tokens[principal_id] = answer.json()["token"]
        return httpx.AsyncClient(base_url=self.base_url, timeout=30, headers={
            "Authorization": f"Bearer {self.tokens[principal_id]}", "X-Purpose": "web test set-up"})

    async def post(self, principal_id: str, path: str, body: dict[str, Any], status: int = 200) -> Any:
        async with await self.as_(principal_id) as http:
            answer = await http.post(path, json=body)
        assert answer.status_code == status, answer.text
        return answer.json()


@pytest.fixture(scope="module")
def web_api(server: str) -> WebApi:
    return WebApi(server)


async def signed_in(browser: Browser, server: str, principal_id: str, locale: str = "en-GB",
                    one_time_code: str | None = None) -> Page:
    """A fresh browser context (its own cookies) signed in through the sign-in page."""
    context = await browser.new_context(base_url=server, locale=locale, timezone_id="Europe/Sofia")
    context.set_default_timeout(15_000)
    page = await context.new_page()
    await page.goto("/web/sign-in")
    await page.locator("#principal_id").fill(principal_id)
    await page.locator("#password").fill(PASSWORD)
    if one_time_code:
        await page.locator("#one_time_code").fill(one_time_code)
    await page.locator("form[action='/web/sign-in'] button[type=submit]").click()
    await page.wait_for_url("**/web/inbox")
    return page


async def screenshot(page: Page, name: str) -> Path:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
