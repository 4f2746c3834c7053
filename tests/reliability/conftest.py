"""The fault suite: each case starts its own dev server and worker processes and kills them for real.

Marked `reliability`; CI runs it. Locally, `pytest -m "not reliability"` leaves it out, and says so.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import Engine
from temporalio.client import Client

from gateway.operations import OperationsGateway
from store.audit_log import AuditLog
from store.db import make_engine, upgrade
from tests.reliability.harness import DevServer, Tally, WorkerProcess, connect

TASK_QUEUE = "liaison-reliability"
TALLIES: list[Tally] = []


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/reliability/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.reliability)


@dataclass
class System:
    server: DevServer
    store_url: str
    engine: Engine
    client: Client
    gateway: OperationsGateway
    workers: list[WorkerProcess] = field(default_factory=list)

    def worker(self, name: str) -> WorkerProcess:
        worker = WorkerProcess(self.server, self.store_url, TASK_QUEUE, name)
        self.workers.append(worker)
        worker.start()
        return worker

    async def reconnect(self) -> None:
        self.client = await connect(self.server)
        self.gateway = OperationsGateway(self.client, TASK_QUEUE, AuditLog(self.engine))


@asynccontextmanager
async def running_system(data_dir: Path, store_url: str | None = None, workers: int = 1) -> AsyncIterator[System]:
    server = DevServer(data_dir)
    url = store_url or f"sqlite:///{data_dir / 'liaison.db'}"
    upgrade(url)
    engine = make_engine(url)
    server.start()
    try:
        client = await connect(server)
        system = System(server, url, engine, client, OperationsGateway(client, TASK_QUEUE, AuditLog(engine)))
        for n in range(workers):
            system.worker(f"w{n + 1}")
        yield system
    finally:
        for worker in system.workers if "system" in locals() else []:
            worker.stop()
        server.stop()
        engine.dispose()


@pytest.fixture
def tally(request: pytest.FixtureRequest) -> Iterator[Tally]:
    recorded = Tally(case=request.node.name)
    yield recorded
    TALLIES.append(recorded)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TALLIES:
        return
    write = terminalreporter.write_line
    write("")
    write("reliability summary (per case: faults, operations completed/driven, commands sent/accepted/refused, "
          "events, duplicates, losses, wrong records, longest wait)")
    for t in TALLIES:
        accepted = sum(s.outcome == "accepted" for s in t.sent)
        refused = sum(s.outcome == "refused" for s in t.sent)
        write(f"  {t.case}: faults {t.faults}, operations {t.completed}/{t.operations}, commands {len(t.sent)}/"
              f"{accepted}/{refused}, events {t.events}, duplicates {t.duplicates}, losses {t.losses}, "
              f"wrong {t.wrong}, longest wait {t.longest_wait:.1f} s, resent after 'not known yet' "
              f"{sum(s.retries for s in t.sent)}")
    totals = (sum(t.faults for t in TALLIES), sum(len(t.sent) for t in TALLIES), sum(t.events for t in TALLIES),
              sum(t.duplicates + t.losses + t.wrong for t in TALLIES))
    write(f"  total: faults {totals[0]}, commands {totals[1]}, events {totals[2]}, wrong or missing {totals[3]}")
