"""A role command starts fast because it loads nothing of the server: not Temporal (whose client in the
CLI process also made about one in twenty refused commands abort at exit), not the store, not the web
framework. Checked in a fresh interpreter, as a user runs it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

from tests.cli.conftest import Cli

SERVER_ONLY = ("temporalio", "sqlalchemy", "alembic", "fastapi", "starlette", "uvicorn", "argon2", "phonenumbers",
               "pydantic_settings", "structlog", "cryptography")
PROBE = """
import json, sys
from cli.main import app
try:
    app(sys.argv[1:], standalone_mode=False)
except SystemExit:
    pass
loaded = sorted({name.split(".")[0] for name in sys.modules} & set(json.loads({server_only!r})))
print("LOADED=" + json.dumps(loaded))
"""


def _loaded_after(*args: str, env: dict[str, str] | None = None) -> tuple[list[str], str]:
    code = PROBE.replace("{server_only!r}", repr(json.dumps(SERVER_ONLY)))
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60,
                          env=os.environ | (env or {}))
    marker = next(line for line in done.stdout.splitlines() if line.startswith("LOADED="))
    return json.loads(marker.removeprefix("LOADED=")), done.stdout + done.stderr


def test_help_loads_nothing_of_the_server() -> None:
    loaded, output = _loaded_after("--help")
    assert loaded == [], output
    assert "login" in output and "Server-side: runs on the server, needs the store." in output


async def test_a_role_command_loads_nothing_of_the_server(cli: Cli) -> None:
    env = {"LIAISON_TOKEN": cli.tokens["coord-1"], "LIAISON_SERVER_URL": cli.server, "LIAISON_PURPOSE": "startup",
           "COLUMNS": "200"}
    # In a thread: the API answering it runs on this test's event loop.
    loaded, output = await asyncio.to_thread(_loaded_after, "operation", "list", env=env)
    assert "Operations" in output, output
    assert loaded == [], output
