"""The CLI under test: invoked in a thread against the session's dev server, worker and store."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner, Result

from cli.main import app
from domain.errors import REFUSALS, ErrorKind
from services.errors import exit_code_of
from settings import get_settings
from tests.conftest import TASK_QUEUE

REFUSED = {exit_code_of(kind) for kind in REFUSALS}


def exit_of(kind: str) -> int:
    """The exit code of an error kind (services/errors.py)."""
    return exit_code_of(ErrorKind(kind))


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PRINCIPALS = [("coord-1", "coordinator", None), ("ap-bg-1", "approver", "BG"), ("ap-bg-2", "approver", "BG"),
              ("ap-el-1", "approver", "EL"), ("lo-bg", "liaison_officer", "BG"), ("aud-1", "auditor", None),
              ("lo-fr", "liaison_officer", "FR"), ("lo-rs", "liaison_officer", "RS")]


class Cli:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.runner = CliRunner()

    async def __call__(self, *args: str, actor: str | None = "coord-1", purpose: str | None = "case review") -> Result:
        """Run in a thread: the session's worker lives on the test event loop, which must keep running."""
        argv = (["--as", actor] if actor else []) + (["--purpose", purpose] if purpose else []) + list(args)

        def invoke() -> Result:
            get_settings.cache_clear()
            return self.runner.invoke(app, argv, env=self.env)

        result = await asyncio.to_thread(invoke)
        get_settings.cache_clear()
        return result


@pytest.fixture(scope="module")
async def cli(temporal_env: WorkflowEnvironment, session_store_url: str, running_worker: object) -> Cli:
    runner = Cli({"LIAISON_TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
                  "LIAISON_DATABASE_URL": session_store_url, "LIAISON_TASK_QUEUE": TASK_QUEUE,
                  "COLUMNS": "200"})
    for pid, role, state in PRINCIPALS:
        if not (await runner("principal", "list", actor=None)).output.count(pid):
            args = ["principal", "add", pid, "--role", role] + (["--state", state] if state else [])
            assert (await runner(*args, actor=None)).exit_code == 0
    return runner


