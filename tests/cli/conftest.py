"""The CLI under test: a client of the real API, served by uvicorn in the session's event loop over the
session's store, Temporal dev server and worker. Each call runs in a thread (the loop must keep serving)
with the token of the principal it acts as; server-side commands get the store and Temporal instead."""

from __future__ import annotations

import asyncio
import socket
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner, Result

from api.app import create_app
from bootstrap import System, bootstrap
from cli.main import app
from cli.up import api_server
from domain.actors import Role
from domain.errors import REFUSALS, ErrorKind
from logging_setup import configure_logging
from services.errors import exit_code_of
from settings import Settings, get_settings
from tests.conftest import SERVER_SETTINGS, TASK_QUEUE
from tests.identities import PASSWORD, administrator, register

REFUSED = {exit_code_of(kind) for kind in REFUSALS}


def exit_of(kind: str) -> int:
    """The exit code of an error kind (services/errors.py)."""
    return exit_code_of(ErrorKind(kind))


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PRINCIPALS = [("coord-1", "coordinator", None), ("ap-bg-1", "approver", "BG"), ("ap-bg-2", "approver", "BG"),
              ("ap-el-1", "approver", "EL"), ("lo-bg", "liaison_officer", "BG"), ("aud-1", "auditor", None),
              ("lo-fr", "liaison_officer", "FR"), ("lo-rs", "liaison_officer", "RS"), ("admin-1", "administrator",
                                                                                      None)]


@asynccontextmanager
async def serving(system: System) -> AsyncIterator[str]:
    """The API of this system on a free port of this loop, until the block ends; its base URL."""
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    port = listening.getsockname()[1]
    server = api_server(create_app(system), "127.0.0.1", port)
    serve = asyncio.create_task(server.serve(sockets=[listening]))
    while not server.started:
        if serve.done():
            serve.result()  # its failure, if it failed
            raise RuntimeError("the API server stopped before it started")
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serve
        listening.close()


async def sign_in(server: str, principal_id: str, password: str = PASSWORD, **extra: object) -> str:
    """A token of the principal, as `liaison login` gets one."""
    async with httpx.AsyncClient(base_url=server) as http:
        answer = await http.post("/auth/token", json={"principal_id": principal_id, "password": password, **extra})
    assert answer.status_code == 201, answer.text
    token: str = answer.json()["token"]
    return token


@dataclass
class Cli:
    """`liaison ...` as a principal (its token and the server's URL in the environment) or, with actor=None,
    with no sign-in at all (server-side and offline commands, and the sign-in commands themselves)."""

    env: dict[str, str]
    server: str = "http://127.0.0.1:9"
    tokens: dict[str, str] = field(default_factory=dict)
    runner: CliRunner = field(default_factory=CliRunner)

    async def __call__(self, *args: str, actor: str | None = "coord-1", purpose: str | None = "case review",
                       input: str | None = None, env: dict[str, str] | None = None) -> Result:
        """Run in a thread: the session's worker and the API live on the test event loop, which must keep running."""
        argv = (["--purpose", purpose] if purpose else []) + list(args)
        signed_in = {"LIAISON_TOKEN": self.tokens[actor]} if actor else {"LIAISON_TOKEN": ""}
        environment = self.env | {"LIAISON_SERVER_URL": self.server} | signed_in | (env or {})

        def invoke() -> Result:
            get_settings.cache_clear()
            return self.runner.invoke(app, argv, env=environment, input=input)

        result = await asyncio.to_thread(invoke)
        get_settings.cache_clear()
        return result


def cli_settings(tmp: Path) -> Settings:
    """The API's settings: the session worker's policy, sign-in failures not slowed down (the bad-password
    test would wait), the checkpoint key in the test's own directory."""
    return SERVER_SETTINGS.model_copy(update={"sign_in_failure_delay": timedelta(0), "data_dir": tmp})


@pytest.fixture(scope="module")
async def cli_system(temporal_client: Client, session_engine: object, running_worker: object,
                     tmp_path_factory: pytest.TempPathFactory) -> System:
    system = bootstrap(cli_settings(tmp_path_factory.mktemp("cli-data")), engine=session_engine,  # type: ignore[arg-type]
                       client=temporal_client, task_queue=TASK_QUEUE)
    administrator(system)
    for pid, role, state in PRINCIPALS:
        if role != "administrator":
            register(system, pid, Role(role), state)
    return system


@pytest.fixture(scope="module")
async def cli(temporal_env: WorkflowEnvironment, session_store_url: str, cli_system: System,
              tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cli]:
    # The worker and the API log in this process, to whatever stderr is current: while a command runs that
    # is its captured output, which must hold only what the CLI prints. Warnings and errors still show.
    configure_logging("console", "WARNING")
    config = tmp_path_factory.mktemp("cli-config")
    env = {"LIAISON_TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
           "LIAISON_DATABASE_URL": session_store_url, "LIAISON_TASK_QUEUE": TASK_QUEUE,
           "LIAISON_DATA_DIR": str(cli_system.settings.data_dir), "LIAISON_CONFIG_DIR": str(config),
           "LIAISON_SIGN_IN_FAILURE_DELAY": "PT0S", "COLUMNS": "200"}
    async with serving(cli_system) as server:
        tokens = {pid: await sign_in(server, pid) for pid, _, _ in PRINCIPALS}
        yield Cli(env, server, tokens)


def offline(**env: str) -> Cli:
    """A CLI with no server behind it (port 9 refuses) and no sign-in: offline and server-side commands."""
    nowhere = str(Path(tempfile.gettempdir()) / "liaison-tests-no-sign-in")
    return Cli({"LIAISON_TEMPORAL_ADDRESS": "127.0.0.1:9", "LIAISON_CONFIG_DIR": nowhere, "COLUMNS": "200", **env})
