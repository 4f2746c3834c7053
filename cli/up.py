"""`liaison up`: the Temporal dev server, the store's migrations and the worker, stopped by Ctrl-C."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
import time

import structlog

from cli.support import CliError, console
from settings import Settings
from store.db import upgrade
from workflows.messages import SEARCH_ATTRIBUTES

log = structlog.get_logger(__name__)


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex((host, port)) == 0


def temporal_command(settings: Settings) -> list[str]:
    binary = shutil.which("temporal") or str(__import__("pathlib").Path(sys.executable).parent / "temporal")
    host, port = settings.temporal_address.rsplit(":", 1)
    command = [binary, "server", "start-dev", "--ip", host, "--port", port,
               "--ui-port", str(settings.temporal_ui_port), "--namespace", settings.temporal_namespace,
               "--db-filename", str(settings.temporal_db_file), "--log-level", "error"]
    for name, kind in SEARCH_ATTRIBUTES.items():
        command += ["--search-attribute", f"{name}={kind}"]
    return command


def start_temporal(settings: Settings) -> subprocess.Popen[bytes]:
    host, port = settings.temporal_address.rsplit(":", 1)
    if _port_open(host, int(port)):
        raise CliError(f"{settings.temporal_address} is already in use: is another `liaison up` running?")
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


def run_system(settings: Settings) -> None:
    from logging_setup import configure_logging
    from worker import run_worker

    configure_logging(settings.log_format, settings.log_level)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.store_url)
    server = start_temporal(settings)
    console.print(f"""[bold green]Liaison is running[/]
  Temporal server  {settings.temporal_address} (namespace {settings.temporal_namespace})
  Temporal data    {settings.temporal_db_file} (log {settings.data_dir / "temporal.log"})
  Temporal UI      http://127.0.0.1:{settings.temporal_ui_port}
  store            {settings.store_url}
  worker           task queue {settings.task_queue}
  try it           .venv/bin/liaison demo      (in another terminal)
Press Ctrl-C to stop.""", highlight=False)
    try:
        asyncio.run(run_worker(settings))
    except KeyboardInterrupt:
        pass
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        console.print("[bold]stopped[/] Temporal server and worker")
