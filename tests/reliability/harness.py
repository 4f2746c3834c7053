"""Real processes for the fault suite: a Temporal dev server on its own file, worker processes, a
store, and the checks every case makes of every operation it drove."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from temporalio.client import Client

from cli.up import temporal_command
from domain.audit import (
    MAX_EVENTS_PER_COMMAND,
    AuditRecord,
    ChainHead,
    event_id_for,
    extend_chain,
    update_event_key,
)
from domain.errors import DomainError, Unavailable
from domain.state import OperationState
from gateway.audit import replay, verify_records
from gateway.history import histories_of_workflow
from gateway.history import replay as replay_histories
from gateway.operations import CommandOutcomeUnknown, OperationsGateway, update_id_for
from gateway.payload_keys import data_converter
from gateway.witness import witnessed
from settings import Settings
from store.audit_log import AuditLog

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _stop(process: subprocess.Popen[bytes] | None, signum: int) -> None:
    """Send the signal and wait for the exit; a process that outlives 20 s is killed."""
    if process is not None and process.poll() is None:
        process.send_signal(signum)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class DevServer:
    """`temporal server start-dev` on a file of its own, stopped and restarted on that file."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.settings = Settings(data_dir=data_dir, temporal_address=f"127.0.0.1:{self.port}",
                                 temporal_ui_port=free_port())
        self.process: subprocess.Popen[bytes] | None = None
        data_dir.mkdir(parents=True, exist_ok=True)

    @property
    def address(self) -> str:
        return self.settings.temporal_address

    def start(self) -> None:
        log = (self.settings.data_dir / "temporal.log").open("ab")
        self.process = subprocess.Popen(temporal_command(self.settings), stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not _port_open(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the dev server did not start; see {self.settings.data_dir / 'temporal.log'}")
            time.sleep(0.1)

    def stop(self, signum: int = signal.SIGTERM) -> None:
        _stop(self.process, signum)
        self.process = None


class WorkerProcess:
    """`python -m worker` against the server and the store, killed for real."""

    def __init__(self, server: DevServer, store_url: str, task_queue: str, name: str) -> None:
        self.name = name
        self.env = {**os.environ, "LIAISON_TEMPORAL_ADDRESS": server.address, "LIAISON_DATABASE_URL": store_url,
                    "LIAISON_TASK_QUEUE": task_queue, "LIAISON_DATA_DIR": str(server.settings.data_dir),
                    "LIAISON_LOG_LEVEL": "WARNING", "LIAISON_LOG_FORMAT": "json"}
        self.log_path = server.settings.data_dir / f"worker-{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen([sys.executable, "-m", "worker"], cwd=ROOT, env=self.env,
                                        stdout=log, stderr=subprocess.STDOUT)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no goodbye to the server (its sticky queue and activities just stop)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def stop(self) -> None:
        """SIGTERM and wait; the verdict of a test never depends on this exit code (sdk-python issue 300)."""
        _stop(self.process, signal.SIGTERM)
        self.process = None


async def connect(server: DevServer) -> Client:
    deadline = time.monotonic() + 30
    while True:
        try:
            return await Client.connect(server.address, data_converter=data_converter(Settings()))
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


@dataclass
class Sent:
    """One command as its caller saw it; marker: text only this command put in the log."""

    operation_id: str
    key: str
    marker: str
    outcome: str = "pending"  # accepted | refused | unknown
    reason: str = ""
    waited: float = 0.0
    retries: int = 0  # times the caller was told "not known yet" and sent it again with its key
    update_id: str = ""


@dataclass
class Tally:
    """What one case did, for the suite's summary."""

    case: str
    faults: int = 0
    operations: int = 0
    completed: int = 0
    sent: list[Sent] = field(default_factory=list)
    events: int = 0
    duplicates: int = 0
    losses: int = 0
    wrong: int = 0

    @property
    def longest_wait(self) -> float:
        return max((s.waited for s in self.sent), default=0.0)


async def send_tracked(gateway: OperationsGateway, sent: Sent, command_factory: Callable[[], Any],
                       tries: int = 3) -> Sent:
    """Send as a caller would: told "not known yet", send it again with the key it was given."""
    started = time.monotonic()
    sent.update_id = update_id_for(sent.key, command_factory())
    for _ in range(tries):
        try:
            await gateway.send(sent.operation_id, command_factory(), key=sent.key)
            sent.outcome = "accepted"
        except (CommandOutcomeUnknown, Unavailable) as error:
            sent.outcome, sent.reason = "unknown", error.message
            sent.retries += 1
            continue
        except DomainError as error:  # a refusal, with its reason
            sent.outcome, sent.reason = "refused", str(error)
        break
    sent.waited = time.monotonic() - started
    return sent


def _occurrences(records: Iterable[AuditRecord], marker: str) -> int:
    return sum(marker in r.model_dump_json() for r in records)


async def check_operation(client: Client, engine: Engine, operation_id: str, sent: list[Sent],
                          tally: Tally, workflow_state: OperationState | None = None) -> None:
    """Exactly the accepted commands' events, once each (traced by content); the rebuilt state is the
    workflow's; the history replays; verify is intact, and not intact once a record is planted."""
    records = AuditLog(engine).read(operation_id)
    tally.events += len(records)
    mine = [s for s in sent if s.operation_id == operation_id]
    assert not [s for s in mine if s.outcome == "unknown"], "every caller learns the outcome"
    for command in mine:
        own = {event_id_for(operation_id, update_event_key(command.update_id), i)
               for i in range(MAX_EVENTS_PER_COMMAND)}
        found = [r for r in records if command.marker in r.model_dump_json()]
        if command.outcome == "accepted":  # in its own events, and in no other command's
            tally.losses += not found
            tally.duplicates += sum(r.event_id not in own for r in found)
        else:
            tally.wrong += len(found)
    assert (tally.losses, tally.duplicates, tally.wrong) == (0, 0, 0), [
        (s.marker, s.outcome, s.reason, _occurrences(records, s.marker)) for s in mine]
    if workflow_state is None:
        workflow_state = await client.get_workflow_handle(operation_id).query("state", result_type=OperationState)
    assert replay(records) == workflow_state, "the state rebuilt from the log is the workflow's"
    outcomes = await replay_histories(await histories_of_workflow(client, operation_id))
    assert outcomes and all(o.ok for o in outcomes), [o.failure for o in outcomes if not o.ok]
    heads, states, _ = await witnessed(client, operation_id)
    assert verify_records(operation_id, records, heads, states=states).intact
    assert not verify_records(operation_id, planted(records), heads, states=states).intact


def planted(records: list[AuditRecord]) -> list[AuditRecord]:
    """The log with one record's justification changed and the whole chain recomputed, as an attacker
    with write access would leave it: every hash agrees with itself."""
    middle = len(records) // 2
    changed = [r.model_copy(update={"prev_hash": "", "hash": ""}) for r in records]
    changed[middle] = changed[middle].model_copy(update={"justification": changed[middle].justification + "!"})
    return extend_chain(ChainHead(), changed)


async def eventually(probe: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await probe():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        await asyncio.sleep(0.2)
