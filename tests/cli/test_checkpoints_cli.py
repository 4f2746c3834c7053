"""Signed checkpoints end to end: taken by command and by the Temporal schedule, verified as prefixes
of the log, inclusion proved, and a rewrite of history before a checkpoint caught."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, update
from temporalio.client import Client

from bootstrap import bootstrap
from domain.actors import Role
from domain.audit import chained, record_of
from gateway.history import histories_from_server, replay
from store.audit_log import AuditLog
from store.checkpoints import Checkpoints
from store.db import make_engine, upgrade
from store.tables import audit_events
from tests.cli.conftest import Cli, cli_settings, exit_of, serving, sign_in
from tests.identities import register
from tests.unit.builders import driven_to
from worker import build_worker, ensure_checkpoint_schedule
from workflows.checkpoint import CHECKPOINT_SCHEDULE_ID


@dataclass
class OwnStore:
    engine: Engine
    cli: Cli


@pytest.fixture
async def own_store(tmp_path: Path) -> AsyncIterator[OwnStore]:
    """A store of two closed operations, and the API over it (no Temporal: checkpoints need none)."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade(url)
    engine = make_engine(url)
    for stream in ("op-a", "op-b"):
        events = driven_to("closed").events
        AuditLog(engine).append(stream, [record_of(stream, n, f"{stream}-{n}", e) for n, e in enumerate(events, 1)])
    settings = cli_settings(tmp_path).model_copy(update={"checkpoint_key_file": tmp_path / "key.pem",
                                                         "temporal_address": "127.0.0.1:9"})
    system = bootstrap(settings, engine=engine)
    register(system, "aud-1", Role.AUDITOR)
    async with serving(system) as server:
        cli = Cli({"COLUMNS": "200", "LIAISON_CONFIG_DIR": str(tmp_path / "config")}, server,
                  {"aud-1": await sign_in(server, "aud-1")})
        yield OwnStore(engine, cli)
    engine.dispose()


async def test_checkpoints_prove_prefixes_and_inclusion(own_store: OwnStore, tmp_path: Path) -> None:
    engine, cli = own_store.engine, own_store.cli
    first = await cli("audit", "checkpoint", actor="aud-1")
    assert first.exit_code == 0 and "signed checkpoint" in first.output, first.output
    again = await cli("audit", "checkpoint", actor="aud-1")
    assert "unchanged" in again.output and len(Checkpoints(engine).all()) == 1
    assert oct((tmp_path / "key.pem").stat().st_mode & 0o777) == "0o600"

    more = driven_to("cancelled").events
    AuditLog(engine).append("op-c", [record_of("op-c", n, f"op-c-{n}", e) for n, e in enumerate(more, 1)])
    assert (await cli("audit", "checkpoint", actor="aud-1")).exit_code == 0
    consistent = await cli("audit", "checkpoints", actor="aud-1")
    assert consistent.exit_code == 0 and "2 checkpoints are signed and are prefixes" in consistent.output

    proved = await cli("audit", "prove", "op-b", "3", actor="aud-1")
    assert proved.exit_code == 0 and "included" in proved.output and "is leaf" in proved.output


async def test_rewriting_history_before_a_checkpoint_is_caught(own_store: OwnStore) -> None:
    engine, cli = own_store.engine, own_store.cli
    assert (await cli("audit", "checkpoint", actor="aud-1")).exit_code == 0
    records = AuditLog(engine).read("op-a")
    prev = records[1].prev_hash
    with engine.begin() as conn:
        for record in records[1:]:
            changed = record.model_copy(update={"justification": "rewritten"}) if record.seq == 2 else record
            link = chained(changed, prev)
            prev = link.hash
            conn.execute(update(audit_events).where(audit_events.c.position == record.position).values(
                justification=link.justification, prev_hash=link.prev_hash, hash=link.hash))
    found = await cli("audit", "checkpoints", actor="aud-1")
    assert found.exit_code == 1
    assert "not a prefix of the current log" in found.output
    resigned = await cli("audit", "checkpoint", actor="aud-1")  # the same size, another root: refused
    assert resigned.exit_code == exit_of("integrity") and "Traceback" not in resigned.output
    assert "integrity failure: the audit log no longer matches a checkpoint already signed" in resigned.output
    assert len(Checkpoints(engine).all()) == 1


async def test_the_schedule_takes_checkpoints(temporal_client: Client, tmp_path: Path, own_store: OwnStore) -> None:
    from settings import Settings

    engine = own_store.engine
    settings = Settings(task_queue="liaison-checkpoints", data_dir=tmp_path)
    async with build_worker(temporal_client, engine, settings.task_queue, checkpoint_key_file=tmp_path / "k.pem"):
        await ensure_checkpoint_schedule(temporal_client, settings)
        await ensure_checkpoint_schedule(temporal_client, settings)  # idempotent
        handle = temporal_client.get_schedule_handle(CHECKPOINT_SCHEDULE_ID)
        await handle.trigger()
        for _ in range(100):
            if Checkpoints(engine).all():
                break
            await asyncio.sleep(0.1)
        await handle.delete()
    checkpoints = Checkpoints(engine).all()
    assert [cp.log_size for cp in checkpoints] == [AuditLog(engine).count()]  # both operations and the principals
    runs = await histories_from_server(temporal_client, "WorkflowType = 'CheckpointWorkflow'")
    for _ in range(50):
        if runs:
            break
        await asyncio.sleep(0.1)  # visibility is eventually consistent
        runs = await histories_from_server(temporal_client, "WorkflowType = 'CheckpointWorkflow'")
    outcomes = await replay(runs)  # the auditor's `history replay` knows the checkpoint workflow too
    assert outcomes and all(o.ok for o in outcomes), [o.failure for o in outcomes]
