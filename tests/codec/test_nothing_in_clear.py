"""After a whole lifecycle with personal data (names in two scripts, an IBAN, a phone, a place), none of
it is in what Temporal shows (`temporal workflow show`, JSON and text) or stores (the dev server's
database file), in clear or base64; the operation still verifies against Temporal's witness and replays.
A workflow started in clear on the same server is the control: the same searches find its data."""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from pathlib import Path

from google.protobuf import json_format
from sqlalchemy import Engine
from temporalio import workflow
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from gateway.audit import verify_records
from gateway.codec import (
    BINDING,
    BOUND_TO_WORKFLOW,
    EncryptionCodec,
    Keyring,
    is_encrypted,
    payloads_in,
    replay_data_converter,
)
from gateway.history import histories_of_workflow, replay
from gateway.operations import OperationsGateway
from gateway.witness import histories, witnessed
from store.audit_log import AuditLog
from tests.codec.lifecycle import decoded_base64_fields, forms_of, found_in, full_lifecycle, personal_data
from tests.codec.servers import own_server
from tests.conftest import SERVER_SETTINGS, temporal_binary
from worker import build_worker

QUEUE = "liaison-codec-tests"
CONTROL = "Контрол Зеленков control-marker-0042"


@workflow.defn(sandboxed=False)  # a test module is no sandbox-clean import
class Echo:
    """The control: a workflow whose input and result are a marker, run with no codec."""

    @workflow.run
    async def run(self, value: str) -> str:
        return value


async def _show(address: str, workflow_id: str, *json_output: str) -> bytes:
    shown = await asyncio.to_thread(subprocess.run, [
        temporal_binary(), "workflow", "show", "--workflow-id", workflow_id, "--address", address, *json_output],
        capture_output=True, check=True)
    return shown.stdout


def _clear_payloads(runs: list[WorkflowHistory]) -> list[str]:
    """Where a history holds a payload not encrypted and bound to its workflow, by event kind."""
    clear = []
    for history in runs:
        for event in history.events:
            for payload in payloads_in(event):
                if not is_encrypted(payload) or payload.metadata[BINDING] != BOUND_TO_WORKFLOW:
                    clear.append(str(event.WhichOneof("attributes")))
    return clear


async def test_no_personal_data_in_what_temporal_shows_or_stores(session_engine: Engine, tmp_path: Path) -> None:
    data = personal_data()
    forms = forms_of(data.strings)
    operation_id, control_id = f"op-codec-{uuid.uuid4().hex[:8]}", f"control-{uuid.uuid4().hex[:8]}"
    async with own_server(tmp_path / "temporal.db") as env:
        address = env.client.service_client.config.target_host
        async with build_worker(env.client, session_engine, QUEUE, strict_sandbox=True, settings=SERVER_SETTINGS):
            final = await full_lifecycle(OperationsGateway(env.client, QUEUE, AuditLog(session_engine)), operation_id,
                                         data)
            in_clear = Client(env.client.service_client, namespace=env.client.namespace,
                              data_converter=pydantic_data_converter)
            async with Worker(in_clear, task_queue="control", workflows=[Echo]):
                await in_clear.execute_workflow(Echo.run, CONTROL, id=control_id, task_queue="control")

            # Temporal's own views: the official CLI's JSON and text, and what a describe lists
            shown_json, shown_text = await _show(address, operation_id, "--output", "json"), await _show(
                address, operation_id)
            assert found_in(shown_json, forms) == set() and found_in(shown_text, forms) == set()
            assert found_in(decoded_base64_fields(json.loads(shown_json)), forms) == set()
            control_json, control_text = await _show(address, control_id, "--output", "json"), await _show(
                address, control_id)
            assert CONTROL in found_in(decoded_base64_fields(json.loads(control_json)), forms_of([CONTROL]))
            assert CONTROL in found_in(control_text, forms_of([CONTROL]))

            # what Temporal keeps in clear by design (workflow id, search attributes, memo), and all it describes
            described = await env.client.get_workflow_handle(operation_id).describe()
            info = described.raw_description.workflow_execution_info
            by_design = json.dumps([described.id, {p.key.name: p.value for p in described.typed_search_attributes},
                                    json_format.MessageToDict(info.memo)], default=str, ensure_ascii=False).encode()
            assert found_in(by_design, forms) == set() and b"EMBER" in by_design
            description = json_format.MessageToJson(described.raw_description, ensure_ascii=False)
            assert found_in(description.encode(), forms) == set()
            assert found_in(decoded_base64_fields(json.loads(description)), forms) == set()

            # every payload is encrypted and bound to the operation, except the search attributes and what the
            # SDK core writes itself into markers (patch ids, a local activity's id and type)
            raw = await histories(env.client, operation_id)
            assert set(_clear_payloads(raw)) == {"marker_recorded_event_attributes",
                                                 "upsert_workflow_search_attributes_event_attributes"}

            # and the operation still verifies against Temporal's witness, and replays
            witness = await witnessed(env.client, operation_id)
            records = AuditLog(session_engine).read(operation_id)
            verification = verify_records(operation_id, records, witness.heads, states=witness.states,
                                          pending=witness.pending)
            assert verification.intact and verification.witnesses >= len(records) and witness.states
            assert final.version == len(records)
            outcomes = await replay(await histories_of_workflow(env.client, operation_id))
            assert outcomes and all(o.ok for o in outcomes), [o.failure for o in outcomes]
            (without_the_key,) = await replay(await histories_of_workflow(env.client, operation_id),
                                              data_converter=replay_data_converter(Keyring()))
            assert not without_the_key.ok and "which this process does not hold" in (without_the_key.failure or "")
            assert isinstance(env.client.data_converter.payload_codec, EncryptionCodec)

    stored = b"".join(path.read_bytes() for path in sorted(tmp_path.glob("temporal.db*")))
    assert found_in(stored, forms) == set()
    assert CONTROL in found_in(stored, forms_of([CONTROL]))  # the search would have found them
