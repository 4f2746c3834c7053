"""Keys rotate in the middle of an operation without a restart, and its whole history (payloads under
both keys) replays and verifies; a ciphertext copied into another operation does not decrypt there."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from sqlalchemy import Engine
from temporalio.api.failure.v1 import Failure
from temporalio.client import Client
from temporalio.common import RawValue
from temporalio.converter import WorkflowSerializationContext

from bootstrap import bootstrap
from domain import commands as cmd
from domain.model import TaskKind
from gateway.audit import verify_records
from gateway.codec import is_encrypted, key_ids_in, replay_data_converter
from gateway.history import histories_of_workflow, replay
from gateway.operations import OperationsGateway
from gateway.payload_keys import data_converter, payload_codec, rotate_payload_key
from gateway.witness import histories, witnessed
from settings import Settings
from store.audit_log import AuditLog
from tests.codec.servers import own_server
from tests.conftest import SERVER_SETTINGS
from tests.workflows.scenario import ASSESSMENT, AUDITOR, COORDINATOR, Scenario, approver, later
from worker import build_worker

QUEUE = "liaison-rotation-tests"


def client_with(client: Client, settings: Settings) -> Client:
    """Another client on the same server, with the keys these settings hold."""
    return Client(client.service_client, namespace=client.namespace, data_converter=data_converter(settings))


async def test_a_key_rotated_mid_operation_is_taken_without_restart_and_the_history_replays(
        session_engine: Engine, operation_id: str, tmp_path: Path) -> None:
    settings = Settings(payload_keys_dir=tmp_path, payload_keys={})  # the session's key (environment) is kept too
    first = rotate_payload_key(settings)
    async with own_server() as env:
        before = client_with(env.client, settings)
        async with build_worker(before, session_engine, QUEUE, strict_sandbox=True, settings=SERVER_SETTINGS):
            op = Scenario(OperationsGateway(before, QUEUE, AuditLog(session_engine)), operation_id)
            await op.open()
            await op.send(cmd.SubmitForPrioritisation(actor=COORDINATOR, assessment=ASSESSMENT))

            # rotated while the worker runs: it meets the new key in the next update, reads the directory again
            second = rotate_payload_key(settings)
            after = client_with(env.client, settings)
            assert payload_codec(settings).keyring.current == second != first
            op.gateway = OperationsGateway(after, QUEUE, AuditLog(session_engine))
            await op.send(cmd.DecidePriority(actor=COORDINATOR))
            await op.send(cmd.PlanTask(actor=COORDINATOR, member_state="BG", task_kind=TaskKind.ARREST,
                                       description="arrest", due=later(3600)))
            await op.send(cmd.ApproveTask(actor=approver("BG"), task_id="TK1"))

        runs = await histories(after, operation_id)
        assert {first, second} <= set().union(*(key_ids_in(run) for run in runs))
        replayed = await replay(await histories_of_workflow(after, operation_id),
                                data_converter=replay_data_converter(payload_codec(settings).keyring))
        assert replayed and all(o.ok for o in replayed), [o.failure for o in replayed]
        witness = await witnessed(after, operation_id)
        records = AuditLog(session_engine).read(operation_id)
        assert verify_records(operation_id, records, witness.heads, states=witness.states,
                              pending=witness.pending).intact

        (tmp_path / f"{first}.key").unlink()  # the old key lost: the history no longer replays, and says why
        (lost,) = await replay(await histories_of_workflow(after, operation_id),
                               data_converter=replay_data_converter(payload_codec(settings).keyring))
        assert not lost.ok and f"under key '{first}', which this process does not hold" in (lost.failure or "")
        # and `audit verify` without the keys checks the chain alone, as a finding, not as an internal error
        system = bootstrap(SERVER_SETTINGS, engine=session_engine, client=env.client, task_queue=QUEUE)
        (verification,) = await system.audit.verify(AUDITOR, "key loss drill", [operation_id])
        assert [f.problem.split(":")[0] for f in verification.findings] == ["unwitnessed"]
        assert "which this process does not hold" in verification.findings[0].problem


async def _first_task_failure(client: Client, workflow_id: str) -> Failure:
    for _ in range(100):
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        for event in history.events:
            if event.HasField("workflow_task_failed_event_attributes"):
                return event.workflow_task_failed_event_attributes.failure
        await asyncio.sleep(0.1)
    raise AssertionError(f"{workflow_id}: no workflow task failed")


async def test_a_ciphertext_copied_into_another_operation_does_not_decrypt(session_engine: Engine) -> None:
    """On a server of its own, so that the operation that cannot start is listed in no other test."""
    async with own_server() as env:
        client, original, copy = env.client, f"op-bound-{uuid.uuid4().hex[:8]}", f"op-copy-{uuid.uuid4().hex[:8]}"
        async with build_worker(client, session_engine, QUEUE, strict_sandbox=True, settings=SERVER_SETTINGS):
            await Scenario(OperationsGateway(client, QUEUE, AuditLog(session_engine)), original).open()
            [history] = await histories(client, original)
            sealed = history.events[0].workflow_execution_started_event_attributes.input.payloads[0]
            assert is_encrypted(sealed)
            # started with the very ciphertext (passed through as it is, never sealed twice)
            handle = await client.start_workflow("OperationWorkflow", RawValue(sealed), id=copy, task_queue=QUEUE)
            failure = await _first_task_failure(client, copy)
            await handle.terminate("the copied ciphertext was refused, as it should be")
        bound = client.data_converter.with_context(WorkflowSerializationContext(namespace=client.namespace,
                                                                               workflow_id=copy))
        error = await bound.decode_failure(failure)
        assert f"does not decrypt for workflow '{copy}': it was encrypted for another operation" in str(error)
