"""`liaison up`: the Temporal dev server, the store's migrations, the worker and the HTTP API (uvicorn, in
the worker's event loop), all stopped by Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import structlog
import uvicorn
from fastapi import FastAPI

from cli.support import CliError, console
from settings import Settings
from store.db import upgrade
from workflows.messages import SEARCH_ATTRIBUTES

log = structlog.get_logger(__name__)


class ApiServer(uvicorn.Server):
    """uvicorn as one task of a loop it does not own: whoever runs the loop handles the signals and stops
    it with `should_exit` (uvicorn's own handlers would take Ctrl-C from the worker)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def api_server(app: FastAPI, host: str, port: int) -> ApiServer:
    return ApiServer(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False))


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex((host, port)) == 0


def temporal_command(settings: Settings) -> list[str]:
    binary = shutil.which("temporal") or str(Path(sys.executable).parent / "temporal")
    host, port = settings.temporal_address.rsplit(":", 1)
    command = [binary, "server", "start-dev", "--ip", host, "--port", port,
               "--ui-port", str(settings.temporal_ui_port), "--namespace", settings.temporal_namespace,
               "--db-filename", str(settings.temporal_db_file), "--log-level", "error"]
    for name, kind in SEARCH_ATTRIBUTES.items():
        command += ["--search-attribute", f"{name}={kind}"]
    return command


def _ports_free(settings: Settings) -> None:
    host, port = settings.temporal_address.rsplit(":", 1)
    if _port_open(host, int(port)):
        raise CliError(f"{settings.temporal_address} is already in use: is another `liaison up` running?")
    if _port_open(settings.api_host, settings.api_port):
        raise CliError(f"{settings.api_host}:{settings.api_port} (the API) is already in use: is another `liaison "
                       "up` running? (or set LIAISON_API_PORT)")


def start_temporal(settings: Settings) -> subprocess.Popen[bytes]:
    host, port = settings.temporal_address.rsplit(":", 1)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    log_file = (settings.data_dir / "temporal.log").open("ab")
    server = subprocess.Popen(temporal_command(settings), stdout=log_file, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while not _port_open(host, int(port)):
        if server.poll() is not None:
            raise CliError(f"the Temporal dev server exited with code {server.returncode}; "
                           f"see {settings.data_dir / 'temporal.log'}")
        if time.monotonic() > deadline:
            server.terminate()
            raise CliError("the Temporal dev server did not open its port within 30 s")
        time.sleep(0.1)
    return server


def _running(settings: Settings) -> str:
    api = f"http://{settings.api_host}:{settings.api_port}"
    return f"""[bold green]Liaison is running[/]
  HTTP API         {api} (docs {api}/docs)
  Temporal server  {settings.temporal_address} (namespace {settings.temporal_namespace})
  Temporal data    {settings.temporal_db_file} (log {settings.data_dir / "temporal.log"})
  Temporal UI      http://127.0.0.1:{settings.temporal_ui_port}
  store            {settings.store_url}
  worker           task queue {settings.task_queue}
  first time?      .venv/bin/liaison admin bootstrap admin-1, then .venv/bin/liaison login --user admin-1
  try it           .venv/bin/liaison demo      (in another terminal)
Press Ctrl-C to stop."""


async def serve(settings: Settings) -> None:
    """The worker and the API in this loop until Ctrl-C (or SIGTERM), or until either of them fails."""
    from api.app import create_app
    from bootstrap import bootstrap
    from worker import run_worker

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    system = bootstrap(settings)
    server = api_server(create_app(system), settings.api_host, settings.api_port)
    tasks = {asyncio.create_task(run_worker(settings, stop), name="worker"),
             asyncio.create_task(server.serve(), name="api")}
    stopping = asyncio.create_task(stop.wait())
    while not server.started and not any(task.done() for task in tasks):
        await asyncio.sleep(0.05)
    if server.started:
        console.print(_running(settings), highlight=False, soft_wrap=True)
    await asyncio.wait(tasks | {stopping}, return_when=asyncio.FIRST_COMPLETED)
    stop.set()
    server.should_exit = True
    stopping.cancel()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    system.close()
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome


def run_system(settings: Settings) -> None:
    from logging_setup import configure_logging

    configure_logging(settings.log_format, settings.log_level)
    _ports_free(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.store_url)
    temporal = start_temporal(settings)
    try:
        asyncio.run(serve(settings))
    except KeyboardInterrupt:
        pass
    finally:
        temporal.terminate()
        try:
            temporal.wait(timeout=15)
        except subprocess.TimeoutExpired:
            temporal.kill()
        console.print("[bold]stopped[/] the HTTP API, the worker and the Temporal server")
