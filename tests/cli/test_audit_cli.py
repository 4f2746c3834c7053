"""The auditor's toolkit end to end, through the API: replay to a point, verify against Temporal's
witnesses, export and verify bundles offline, replay histories (ours and the official CLI's), the
consultation log."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, update
from temporalio import workflow
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from domain import commands as cmd
from domain.audit import chained
from domain.model import TaskKind
from domain.state import OperationState
from gateway.history import load_histories, replay
from gateway.operations import OperationsGateway
from gateway.witness import histories
from store.audit_log import AuditLog
from store.consultations import Consultations
from store.tables import audit_events
from tests.cli.conftest import Cli, exit_of
from tests.cli.conftest import offline as no_server
from tests.conftest import temporal_binary
from tests.workflows.scenario import COORDINATOR, Scenario, later
from workflows.messages import OperationInput
from workflows.operation import OperationWorkflow


@pytest.fixture
async def prepared(gateway: OperationsGateway, operation_id: str) -> str:
    await Scenario(gateway, operation_id).to_prepare()
    return operation_id


async def test_replay_to_a_sequence_number_or_a_moment(cli: Cli, prepared: str, session_engine: Engine) -> None:
    at_seq = await cli("audit", "replay", prepared, "--seq", "2", "--format", "json", actor="aud-1")
    assert at_seq.exit_code == 0, at_seq.output
    document = json.loads(at_seq.output)
    assert document["as_of_seq"] == 2 and document["state"]["phase"] == "prioritise"
    assert [e["type"] for e in document["timeline"]] == ["operation_opened", "phase_advanced"]
    assert document["timeline"][0]["actor"] == "coord-1" and document["timeline"][0]["justification"] == "referral"

    first = AuditLog(session_engine).read(prepared)[0]
    at_time = await cli("audit", "replay", prepared, "--at", first.occurred_at.isoformat(), actor="aud-1")
    assert at_time.exit_code == 0 and "up to #1" in at_time.output and "IDENTIFY" in at_time.output
    before = await cli("audit", "replay", prepared, "--at", "2000-01-01T00:00Z", actor="aud-1")
    assert before.exit_code == exit_of("not_found") and "had no events yet" in before.output


async def test_verify_catches_a_rewrite_only_temporal_witnessed(cli: Cli, prepared: str,
                                                                session_engine: Engine) -> None:
    assert (await cli("audit", "verify", prepared, actor="aud-1")).exit_code == 0
    records = AuditLog(session_engine).read(prepared)
    prev, rewritten = records[0].prev_hash, []
    for record in records:
        changed = record.model_copy(update={"justification": "forged"}) if record.seq == 1 else record
        rewritten.append(chained(changed, prev))
        prev = rewritten[-1].hash
    with session_engine.begin() as conn:
        for link in rewritten:
            conn.execute(update(audit_events).where(audit_events.c.stream_id == prepared,
                                                    audit_events.c.seq == link.seq)
                         .values(justification=link.justification, prev_hash=link.prev_hash, hash=link.hash))
    result = await cli("audit", "verify", prepared, actor="aud-1")
    assert result.exit_code == 1
    assert f"{prepared} #1: rewritten: the chain at #1 differs from the head the workflow recorded" in result.output


async def test_bundle_verifies_offline_and_catches_tampering(cli: Cli, prepared: str, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.zip"
    exported = await cli("audit", "export", prepared, str(bundle), actor="aud-1")
    assert exported.exit_code == 0 and "manifest sha256" in exported.output

    # Offline: no store (the URL points at nothing) and no server (a closed port).
    offline = no_server(LIAISON_DATABASE_URL=f"sqlite:///{tmp_path / 'gone' / 'none.db'}")
    ok = await offline("audit", "verify", "--bundle", str(bundle), actor=None, purpose=None)
    assert ok.exit_code == 0, ok.output
    assert f"intact {prepared}" in ok.output and "witnessed heads agree" in ok.output
    assert not (tmp_path / "gone").exists()
    digest = re.search(r"manifest sha256 ([0-9a-f]{64})", exported.output)
    assert digest is not None
    expected = await offline("audit", "verify", "--bundle", str(bundle), "--expect-sha256", digest[1],
                             actor=None, purpose=None)
    assert expected.exit_code == 0, expected.output
    other = await offline("audit", "verify", "--bundle", str(bundle), "--expect-sha256", "0" * 64,
                          actor=None, purpose=None)
    assert other.exit_code == 1
    assert f"finding the manifest digest is {digest[1]}, not the {'0' * 64} the exporter gave" in other.output

    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(bundle) as source, zipfile.ZipFile(tampered, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            target.writestr(name, data.replace(b'"referral"', b'"forged"') if name == "events.jsonl" else data)
    bad = await offline("audit", "verify", "--bundle", str(tampered), actor=None, purpose=None)
    assert bad.exit_code == 1
    assert "events.jsonl: digest differs from the manifest" in bad.output
    assert f"{prepared} #1: edited: its content no longer matches its hash" in bad.output

    replayed = await offline("history", "replay", str(bundle), actor=None, purpose=None)
    assert replayed.exit_code == 0 and "0 non-deterministic" in replayed.output

    damaged = tmp_path / "damaged.zip"
    with zipfile.ZipFile(bundle) as source, zipfile.ZipFile(damaged, "w") as target:
        for name in source.namelist():
            broken = name.startswith("history/")
            target.writestr(name, b'{"events": [{"eventId": "x"}]}' if broken else source.read(name))
    found = await offline("audit", "verify", "--bundle", str(damaged), actor=None, purpose=None)
    assert found.exit_code == 1 and "Traceback" not in found.output and "internal error" not in found.output
    assert "digest differs from the manifest" in found.output and "not a Temporal history" in found.output


async def test_history_written_by_the_official_cli_replays(cli: Cli, prepared: str, tmp_path: Path,
                                                           temporal_env: WorkflowEnvironment,
                                                           session_engine: Engine) -> None:
    target = temporal_env.client.service_client.config.target_host
    shown = await asyncio.to_thread(subprocess.run, [
        temporal_binary(), "workflow", "show", "--workflow-id", prepared, "--address", target,
        "--output", "json"], capture_output=True, check=True)
    path = tmp_path / "official.json"
    path.write_bytes(shown.stdout)
    result = await cli("history", "replay", str(path), actor="aud-1")
    assert result.exit_code == 0, result.output
    assert "replays" in result.output and "1 histories replayed, 0 non-deterministic" in result.output
    by_id = await cli("history", "replay", "--workflow-id", prepared, actor="aud-1")
    assert by_id.exit_code == 0 and "0 non-deterministic" in by_id.output
    assert len(load_histories(path)) == 1
    query = f"WorkflowId = '{prepared}'"
    for _ in range(50):  # visibility is eventually consistent
        by_query = await cli("history", "replay", "--query", query, actor="aud-1", purpose="query audit")
        if by_query.exit_code == 0:
            break
        await asyncio.sleep(0.1)
    assert by_query.exit_code == 0, by_query.output
    logged = [(c.action, c.operation_id) for c in Consultations(session_engine).search(prepared)
              if c.justification == "query audit"]
    assert logged[-1] == (f"history replay --query {query}", prepared)


@workflow.defn(name="OperationWorkflow", sandboxed=False)
class ChangedOperationWorkflow(OperationWorkflow):
    """A deliberately non-deterministic edit: a timer before each command's append."""

    @workflow.run
    async def run(self, start: OperationInput) -> OperationState:
        return await super().run(start)

    async def _append(self, events, key):  # type: ignore[no-untyped-def,override]
        await workflow.sleep(0.01)
        await super()._append(events, key)


async def test_a_non_deterministic_change_is_reported(prepared: str, temporal_client: Client) -> None:
    recorded = [(prepared, h) for h in await histories(temporal_client, prepared)]
    assert all(o.ok for o in await replay(recorded))
    outcomes = await replay(recorded, workflows=[ChangedOperationWorkflow])
    assert not outcomes[0].ok and "nondetermin" in (outcomes[0].failure or "").lower()


async def test_every_read_path_is_logged_with_its_purpose(cli: Cli, prepared: str, session_engine: Engine,
                                                          tmp_path: Path, gateway: OperationsGateway) -> None:
    refused = await cli("operation", "show", prepared, purpose=None)
    assert refused.exit_code == exit_of("invalid_input") and "reading operation data needs a purpose" in refused.output
    reads = [(("operation", "show", prepared), "coord-1"), (("operation", "timeline", prepared), "coord-1"),
             (("task", "pending", prepared), "ap-bg-1"), (("audit", "replay", prepared), "aud-1"),
             (("audit", "verify", prepared), "aud-1"), (("history", "replay", "--workflow-id", prepared), "aud-1"),
             (("audit", "export", prepared, str(tmp_path / "b.zip")), "aud-1")]
    for args, actor in reads:
        result = await cli(*args, actor=actor, purpose=f"purpose of {args[1]}")
        assert result.exit_code == 0, result.output
    logged = [(c.action, c.actor_id, c.justification, c.outcome)
              for c in Consultations(session_engine).search(prepared)]
    assert logged == [("operation show", "coord-1", "", "refused")] + [
        (f"{args[0]} {args[1]}", actor, f"purpose of {args[1]}", "served") for args, actor in reads]
    listed = await cli("audit", "consultations", "--operation", prepared, actor="aud-1")
    assert "purpose of timeline" in listed.output and "ap-bg-1" in listed.output

    # Reads of many operations log each operation they returned.
    await gateway.send(prepared, cmd.PlanTask(actor=COORDINATOR, member_state="BG", task_kind=TaskKind.ARREST,
                                              description="arrest", due=later(3600)))
    for _ in range(50):  # visibility is eventually consistent
        if prepared in (await cli("operation", "list", actor="lo-bg", purpose="looking")).output:
            break
        await asyncio.sleep(0.2)
    many = [(("operation", "intel", prepared), "lo-bg"), (("task", "pending"), "ap-bg-1"),
            (("audit", "verify", "--all"), "aud-1"), (("operation", "list"), "lo-bg")]
    for args, actor in many:
        result = await cli(*args, actor=actor, purpose="sweep")
        assert result.exit_code in (0, 1), result.output  # --all may meet other tests' tampering
    swept = {(c.action, c.actor_id) for c in Consultations(session_engine).search(prepared)
             if c.justification == "sweep"}
    assert swept == {("operation intel", "lo-bg"), ("task pending", "ap-bg-1"), ("audit verify --all", "aud-1"),
                     ("operation list", "lo-bg")}


async def test_unreadable_evidence_is_named_without_a_traceback(tmp_path: Path) -> None:
    offline = no_server(LIAISON_DATABASE_URL=f"sqlite:///{tmp_path / 'none.db'}", LIAISON_DATA_DIR=str(tmp_path))
    text_file, empty_zip, not_history, not_json = (tmp_path / n for n in ("a.txt", "b.zip", "c.json", "d.json"))
    text_file.write_text("hello")
    with zipfile.ZipFile(empty_zip, "w") as bundle:
        bundle.writestr("readme.txt", "no manifest here")
    not_history.write_text('{"operation_id": "op-x"}')
    not_json.write_text("{not json")
    expectations = [
        (("audit", "verify", "--bundle", str(text_file)), f"{text_file}: not an audit bundle (not a zip file)"),
        (("audit", "verify", "--bundle", str(empty_zip)), f"{empty_zip}: not an audit bundle: it has no manifest"),
        (("audit", "verify", "--bundle", str(tmp_path / "missing.zip")), "missing.zip: no such file"),
        (("history", "replay", str(not_history)), "not a Temporal history: expected an object with 'events'"),
        (("history", "replay", str(not_json)), f"{not_json}: not JSON"),
        (("history", "replay", str(empty_zip)), "a zip file but not an audit bundle: it has no manifest.json"),
    ]
    for args, message in expectations:
        result = await offline(*args, actor=None, purpose=None)
        assert result.exit_code == exit_of("invalid_input"), (args, result.output)
        assert message in result.output, (args, result.output)
        assert "Traceback" not in result.output and "internal error" not in result.output
    assert not (tmp_path / "logs").exists()


async def test_a_log_without_a_workflow_verifies_as_chain_only(cli: Cli, prepared: str,
                                                                session_engine: Engine) -> None:
    ghost = f"{prepared}-ghost"
    copied = [r.model_copy(update={"stream_id": ghost, "event_id": f"{ghost}-{r.seq}", "prev_hash": "", "hash": ""})
              for r in AuditLog(session_engine).read(prepared)]
    AuditLog(session_engine).append(ghost, copied)
    result = await cli("audit", "verify", ghost, actor="aud-1")
    assert result.exit_code == 0, result.output
    assert f"intact {ghost}: {len(copied)} events" in result.output
    assert "chain only: Temporal holds no history of it" in result.output


async def test_queries_of_an_unknown_operation_are_refused_by_name(cli: Cli) -> None:
    for args, actor in [(("task", "pending", "op-nowhere"), "ap-bg-1"), (("operation", "intel", "op-nowhere"),
                                                                          "coord-1")]:
        result = await cli(*args, actor=actor)
        assert result.exit_code == exit_of("not_found"), result.output
        assert "refused: operation op-nowhere does not exist" in result.output
        assert "Traceback" not in result.output


async def test_verifying_an_unknown_operation_is_refused_not_reported_intact(cli: Cli) -> None:
    result = await cli("audit", "verify", "op-typo", actor="aud-1")
    assert result.exit_code == exit_of("not_found"), result.output
    assert ("refused: operation op-typo is unknown: it has no events in the audit log and no Temporal history"
            in " ".join(result.output.split()))


async def test_verify_all_checks_an_operation_whose_whole_stream_was_deleted(cli: Cli, prepared: str,
                                                                             session_engine: Engine) -> None:
    with session_engine.begin() as conn:
        conn.execute(delete(audit_events).where(audit_events.c.stream_id == prepared))
    result = await cli("audit", "verify", "--all", actor="aud-1")
    assert result.exit_code == 1, result.output
    assert f"{prepared} #1: truncated: the log ends at #0 but the workflow recorded events up to" in result.output


async def test_a_malformed_visibility_query_is_named_as_temporal_refused_it(cli: Cli) -> None:
    result = await cli("history", "replay", "--query", "WorkflowId = (", actor="aud-1")
    assert result.exit_code == exit_of("invalid_input"), result.output
    assert "refused: Temporal refused the request:" in result.output and "Traceback" not in result.output


async def test_history_replay_by_workflow_id_takes_any_id_literally(cli: Cli, prepared: str) -> None:
    replayed = await cli("history", "replay", "--workflow-id", prepared, actor="aud-1")
    assert replayed.exit_code == 0 and f"replays {prepared} run 1 of 1" in replayed.output, replayed.output
    quoted = await cli("history", "replay", "--workflow-id", "it's-not-there", actor="aud-1")
    assert quoted.exit_code == exit_of("not_found"), quoted.output
    assert "refused: no workflow history found" in quoted.output, quoted.output


async def test_a_purpose_in_any_script_is_logged_as_written(cli: Cli, prepared: str, session_engine: Engine) -> None:
    purpose = "Überprüfung im Fall Петров — Ιωάννης"
    assert (await cli("operation", "show", prepared, purpose=purpose)).exit_code == 0
    assert purpose in [c.justification for c in Consultations(session_engine).search(prepared)]
