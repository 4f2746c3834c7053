"""The benchmark harness: a real dev server, a migrated SQLite store, the Liaison worker and a
baseline worker in this process, plus the actors, spec and statistics the benchmarks share."""

from __future__ import annotations

import argparse
import itertools
import math
import os
import shutil
import statistics
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from rich.console import Console
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from bench.baseline import BareWorkflow, OneActivityWorkflow, noop
from domain import commands as cmd
from domain.actors import Actor, Role
from domain.model import Identifier, IdentifierKind, OperationSpec, Place, Target, TaskKind
from domain.prioritisation import Assessment
from domain.timing import Timing
from gateway.codec import EncryptionCodec, Keyring, encrypted_data_converter
from gateway.operations import OperationsGateway
from logging_setup import configure_logging
from store.audit_log import AuditLog
from store.db import make_engine, upgrade
from worker import build_worker
from workflows.messages import SEARCH_ATTRIBUTES

console = Console(width=None if sys.stdout.isatty() else 110)
ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
TASK_QUEUE = "bench-liaison"
CLEAR_QUEUE = "bench-liaison-without-codec"  # the same worker with no payload codec, to compare against
BASELINE_QUEUE = "bench-baseline"

_KEY_FACTORIES: dict[str, Callable[[str], SearchAttributeKey]] = {
    "Keyword": SearchAttributeKey.for_keyword, "KeywordList": SearchAttributeKey.for_keyword_list,
    "Double": SearchAttributeKey.for_float, "Bool": SearchAttributeKey.for_bool,
    "Int": SearchAttributeKey.for_int, "Text": SearchAttributeKey.for_text,
    "Datetime": SearchAttributeKey.for_datetime,
}

COORDINATOR = Actor(id="coord-1", role=Role.COORDINATOR)
APPROVER = {s: Actor(id=f"ap-{s.lower()}", role=Role.APPROVER, member_state=s)
            for s in ("BG", "EL")}
OFFICER = {s: Actor(id=f"lo-{s.lower()}", role=Role.LIAISON_OFFICER, member_state=s)
           for s in ("BG", "EL")}


def parse_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    return parser.parse_args()


def temporal_binary() -> str:
    found = shutil.which("temporal") or str(Path(sys.executable).parent / "temporal")
    if not Path(found).exists():
        raise SystemExit("no `temporal` CLI found on PATH or next to the Python interpreter")
    return found


@dataclass
class Bench:
    client: Client  # with the payload codec, as every Liaison client is
    clear_client: Client  # the same server with no codec
    engine: Engine

    def gateway(self, *, codec: bool = True) -> OperationsGateway:
        if codec:
            return OperationsGateway(self.client, TASK_QUEUE, AuditLog(self.engine))
        return OperationsGateway(self.clear_client, CLEAR_QUEUE, AuditLog(self.engine))


@asynccontextmanager
async def bench_env(codec: EncryptionCodec | None = None) -> AsyncIterator[Bench]:
    """Dev server + store + the workers (Liaison with its payload codec, under a key of this run; Liaison
    without it; the baseline); everything is shut down when the block exits."""
    configure_logging("console", "WARNING")  # per-append info logs would swamp the tables
    keys = [_KEY_FACTORIES[kind](name) for name, kind in SEARCH_ATTRIBUTES.items()]
    with tempfile.TemporaryDirectory(prefix="liaison-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'liaison.db'}"
        upgrade(url)
        engine = make_engine(url)
        console.print("[dim]starting the Temporal dev server…[/]")
        codec = codec or EncryptionCodec(Keyring({"bench": os.urandom(32)}, "bench"))
        async with await WorkflowEnvironment.start_local(
            dev_server_existing_path=temporal_binary(), search_attributes=keys,
            data_converter=encrypted_data_converter(codec),
        ) as env:
            clear = Client(env.client.service_client, namespace=env.client.namespace,
                           data_converter=pydantic_data_converter)
            liaison = build_worker(env.client, engine, TASK_QUEUE)
            without_codec = build_worker(clear, engine, CLEAR_QUEUE)
            baseline = Worker(env.client, task_queue=BASELINE_QUEUE,
                              workflows=[BareWorkflow, OneActivityWorkflow], activities=[noop])
            try:
                async with liaison, without_codec, baseline:
                    yield Bench(env.client, clear, engine)
            finally:
                engine.dispose()


# --- the domain inputs ---------------------------------------------------------------------------

def _example(name: str) -> object:
    return yaml.safe_load((EXAMPLES / name).read_text("utf-8"))


_DISTINCT = itertools.count(1)


def _distinct_target(target: Target, n: int) -> Target:
    """The target with a phone and a date of birth of its own (day above 12: no transposed match)."""
    return target.model_copy(update={
        "date_of_birth": f"{1900 + n // 192}-{1 + (n // 16) % 12:02d}-{13 + n % 16}",
        "identifiers": (Identifier(kind=IdentifierKind.PHONE, value=f"+35988{n:07d}"),)})


def two_state_spec() -> OperationSpec:
    """The example operation, cut down to its lead BG and EL (the demo's third state DE dropped), with
    targets no other benchmark operation has, so deconfliction finds no hit to block execution."""
    spec = OperationSpec.model_validate(_example("operation.yaml"))
    targets = tuple(_distinct_target(t, next(_DISTINCT)) for t in spec.targets)
    return spec.model_copy(update={"participating_states": ("BG", "EL"), "targets": targets})


def distinct_place() -> Place:
    """A place about 5 km from any other this run hands out, so action windows do not collide."""
    n = next(_DISTINCT)
    return Place(name=f"Sofia #{n}", country="BG", latitude=30 + (n // 100) * 0.05, longitude=(n % 100) * 0.07)


def assessment() -> Assessment:
    return Assessment.model_validate(_example("assessment.yaml"))


def new_operation_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def open_command(operation_id: str, timing: Timing | None = None) -> cmd.OpenOperation:
    return cmd.OpenOperation(actor=COORDINATOR, operation_id=operation_id, spec=two_state_spec(),
                             timing=timing or Timing(), justification="benchmark")


async def open_to_prepare(gateway: OperationsGateway, operation_id: str,
                          timing: Timing | None = None) -> None:
    """Open, submit and confirm the priority: the operation ends in PREPARE."""
    await gateway.open(open_command(operation_id, timing))
    await gateway.send(operation_id, cmd.SubmitForPrioritisation(
        actor=COORDINATOR, assessment=assessment(), justification="benchmark"))
    await gateway.send(operation_id, cmd.DecidePriority(actor=COORDINATOR))


def plan_task(member_state: str, n: int, due_in: timedelta = timedelta(days=7)) -> cmd.PlanTask:
    return cmd.PlanTask(actor=COORDINATOR, member_state=member_state, task_kind=TaskKind.SEARCH,
                        description=f"benchmark task {n}", due=datetime.now(UTC) + due_in)


# --- figures -------------------------------------------------------------------------------------

def percentile(samples: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"

