"""An approval through the HTTP API (HTTP → authentication → service → Update → append → reply), beside
the same approval through the service directly (no HTTP) and a bare no-op Temporal update, interleaved
one of each per round so all three see the same machine and the same workflow size. The API is served
by uvicorn on a local port and called with httpx over a kept-alive connection, with a bearer token.

    python -m bench.api_approval [--quick]
"""

from __future__ import annotations

import asyncio
import socket
import time
from datetime import UTC, datetime, timedelta

import httpx
import uvicorn
from rich.table import Table
from temporalio.client import WorkflowHandle

from api.app import create_app
from bench.baseline import BareWorkflow
from bench.common import (
    BASELINE_QUEUE,
    TASK_QUEUE,
    Bench,
    assessment,
    bench_env,
    console,
    median,
    ms,
    new_operation_id,
    parse_args,
    percentile,
    two_state_spec,
)
from bootstrap import System, bootstrap
from domain import commands as cmd
from domain.actors import Actor, Role
from domain.model import TaskKind
from services.identity import actor_of
from settings import Settings

WARMUP = 10
PASSWORD = "benchmark password"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _principals(system: System) -> tuple[Actor, Actor]:
    system.principals.bootstrap_administrator("admin-1", "Benchmark administrator", PASSWORD)
    admin = Actor(id="admin-1", role=Role.ADMINISTRATOR)
    for pid, role, state in (("coord-1", Role.COORDINATOR, None), ("ap-bg", Role.APPROVER, "BG")):
        system.principals.register(admin, pid, role, state, pid, "benchmark", PASSWORD)
    return (actor_of(system.principals.get(admin, "coord-1")), actor_of(system.principals.get(admin, "ap-bg")))


async def _prepared(system: System, coordinator: Actor, tasks: int) -> str:
    operation_id = new_operation_id("bench-api")
    await system.operations.open(coordinator, cmd.OpenOperationRequest(
        operation_id=operation_id, spec=two_state_spec(), justification="benchmark"))
    await system.operations.send(coordinator, operation_id, cmd.SubmitForPrioritisationRequest(
        assessment=assessment()))
    await system.operations.send(coordinator, operation_id, cmd.DecidePriorityRequest())
    for n in range(tasks):
        await system.operations.send(coordinator, operation_id, cmd.PlanTaskRequest(
            member_state="BG", task_kind=TaskKind.SEARCH, description=f"benchmark task {n}",
            due=datetime.now(UTC) + timedelta(days=7)))
    return operation_id


async def measure(bench: Bench, n: int) -> dict[str, list[float]]:
    system = bootstrap(Settings(), engine=bench.engine, client=bench.client, task_queue=TASK_QUEUE)
    coordinator, approver = _principals(system)
    rounds = WARMUP + n
    operation_id = await _prepared(system, coordinator, 2 * rounds)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(system), host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    bare: WorkflowHandle[BareWorkflow, None] = await bench.client.start_workflow(
        BareWorkflow.run, id=new_operation_id("bench-bare"), task_queue=BASELINE_QUEUE)
    samples: dict[str, list[float]] = {"bare": [], "service": [], "http": []}
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as anonymous:
            signed_in = await anonymous.post("/auth/token", json={"principal_id": "ap-bg", "password": PASSWORD})
            token = signed_in.json()["token"]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}",
                                     headers={"Authorization": f"Bearer {token}"}) as client:
            for i in range(rounds):
                timed = await _round(bare, system, client, approver, operation_id, i)
                if i >= WARMUP:
                    for name, seconds in timed.items():
                        samples[name].append(seconds)
    finally:
        await bare.signal(BareWorkflow.finish)
        server.should_exit = True
        await serving
    return samples


async def _round(bare: WorkflowHandle[BareWorkflow, None], system: System, client: httpx.AsyncClient,
                 approver: Actor, operation_id: str, i: int) -> dict[str, float]:
    start = time.perf_counter()
    await bare.execute_update(BareWorkflow.ping, i)
    bare_took = time.perf_counter() - start
    start = time.perf_counter()
    outcome = await system.tasks.approve(approver, operation_id, f"TK{2 * i + 1}")
    service_took = time.perf_counter() - start
    assert outcome.events == ["task_approval_given", "task_approved"], outcome.events
    start = time.perf_counter()
    answer = await client.post(f"/operations/{operation_id}/approve-task", json={"task_id": f"TK{2 * i + 2}"})
    http_took = time.perf_counter() - start
    assert answer.status_code == 200, answer.text
    return {"bare": bare_took, "service": service_took, "http": http_took}


async def main() -> None:
    args = parse_args(__doc__ or "")
    n = 20 if args.quick else 200
    async with bench_env() as bench:
        console.print(f"{n} rounds (after {WARMUP} warm-up rounds): a bare update, an approval through the "
                      "service, an approval through the HTTP API…")
        samples = await measure(bench, n)
    base, direct = median(samples["bare"]), median(samples["service"])
    table = Table(title=f"Approval round trip, client → reply ({n} of each, interleaved)")
    for column in ("path", "median ms", "p99 ms", "median ÷ bare", "median − service ms"):
        table.add_column(column, justify="left" if column == "path" else "right")
    for label, name in (("bare no-op update (baseline)", "bare"), ("approval through the service", "service"),
                        ("approval through the HTTP API", "http")):
        found = samples[name]
        table.add_row(label, ms(median(found)), ms(percentile(found, 99)), f"{median(found) / base:.2f}x",
                      ms(median(found) - direct))
    console.print(table)
    console.print(f"the API adds {ms(median(samples['http']) - direct)} ms at the median (target ≤ 5 ms)")


if __name__ == "__main__":
    asyncio.run(main())
