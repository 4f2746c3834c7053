"""The CLI's wall time for one role command, `liaison operation list`, beside `python -c 'import httpx,
typer, rich'` in the same run (interleaved, so both see the same machine).

The command runs as a user runs it (a fresh `liaison` process with a token in LIAISON_TOKEN) against the
API served by uvicorn in this process, over a real dev server, worker and store holding a few operations.
Targets: a median under 250 ms and at most twice the import's.

    python -m bench.cli_wall [--runs N] [--operations N] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
import time
from datetime import timedelta
from pathlib import Path

from rich.table import Table

from api.app import create_app
from bench.common import TASK_QUEUE, bench_env, console, median, ms, new_operation_id, open_to_prepare, percentile
from bootstrap import System, bootstrap
from cli.up import api_server
from domain.actors import Actor, Role
from settings import Settings

LIAISON = str(Path(sys.executable).parent / "liaison")
BASELINE = [sys.executable, "-c", "import httpx, typer, rich"]
TARGET_MEDIAN = 0.250
TARGET_RATIO = 2.0
WARMUP = 2


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="timed runs of each (default 20)")
    parser.add_argument("--operations", type=int, default=10, help="operations the list shows (default 10)")
    parser.add_argument("--quick", action="store_true", help="5 runs, 2 operations")
    return parser.parse_args()


def coordinator_token(system: System) -> str:
    """A coordinator registered by an administrator, as in production, with a token of its own."""
    admin = Actor(id=system.principals.bootstrap_administrator("bench-admin").principal.id, role=Role.ADMINISTRATOR)
    coordinator = system.principals.register(admin, "coord-1", Role.COORDINATOR, None, "Coordinator", "benchmark")
    return system.identity.issue_token(coordinator.principal, "bench", timedelta(hours=1), admin).token


async def wall(command: list[str], env: dict[str, str]) -> tuple[float, int, bytes]:
    """Seconds from spawning the process to its exit; its exit code and stderr."""
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(*command, env=env, stdout=asyncio.subprocess.DEVNULL,
                                                   stderr=asyncio.subprocess.PIPE)
    _, stderr = await process.communicate()
    return time.perf_counter() - started, process.returncode or 0, stderr


async def measure(runs: int, env: dict[str, str]) -> tuple[list[float], list[float]]:
    command = [LIAISON, "operation", "list"]
    liaison: list[float] = []
    baseline: list[float] = []
    for n in range(WARMUP + runs):
        seconds, code, stderr = await wall(command, env)
        if code != 0 or b"Fatal Python error" in stderr:
            raise SystemExit(f"`liaison operation list` failed (exit {code}): {stderr.decode(errors='replace')}")
        imported, _, _ = await wall(BASELINE, env)
        if n >= WARMUP:
            liaison.append(seconds)
            baseline.append(imported)
    return liaison, baseline


def report(liaison: list[float], baseline: list[float]) -> None:
    table = Table(title=f"CLI wall time, {len(liaison)} runs each (ms)", title_justify="left")
    for column in ("", "median", "p90", "min", "max"):
        table.add_column(column, justify="right" if column else "left")
    for label, samples in (("liaison operation list", liaison), ("python -c 'import httpx, typer, rich'", baseline)):
        table.add_row(label, ms(median(samples)), ms(percentile(samples, 90)), ms(min(samples)), ms(max(samples)))
    console.print(table)
    ratio = median(liaison) / median(baseline)
    verdict = "[green]met[/]" if median(liaison) < TARGET_MEDIAN and ratio <= TARGET_RATIO else "[red]missed[/]"
    console.print(f"ratio {ratio:.2f}x the import (target ≤ {TARGET_RATIO:g}x); median "
                  f"{ms(median(liaison))} ms (target < {TARGET_MEDIAN * 1000:.0f} ms): {verdict}", highlight=False)


async def main(args: argparse.Namespace) -> None:
    runs, operations = (5, 2) if args.quick else (args.runs, args.operations)
    async with bench_env() as bench:
        console.print(f"[dim]opening {operations} operations…[/]")
        gateway = bench.gateway()
        await asyncio.gather(*(open_to_prepare(gateway, new_operation_id("op-cli")) for _ in range(operations)))
        system = bootstrap(Settings(), engine=bench.engine, client=bench.client, task_queue=TASK_QUEUE)
        token = coordinator_token(system)
        listening = socket.socket()
        listening.bind(("127.0.0.1", 0))
        server = api_server(create_app(system), "127.0.0.1", listening.getsockname()[1])
        serving = asyncio.create_task(server.serve(sockets=[listening]))
        while not server.started:
            await asyncio.sleep(0.01)
        env = os.environ | {"LIAISON_TOKEN": token, "LIAISON_PURPOSE": "benchmark", "COLUMNS": "160",
                            "LIAISON_SERVER_URL": f"http://127.0.0.1:{listening.getsockname()[1]}"}
        try:
            liaison, baseline = await measure(runs, env)
        finally:
            server.should_exit = True
            await serving
    report(liaison, baseline)


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
