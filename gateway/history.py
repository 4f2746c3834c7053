"""Replay Temporal histories against the current workflow code and report non-determinism."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.worker import Replayer

from gateway.codec import replay_data_converter
from gateway.payload_keys import local_codec
from gateway.witness import histories
from services.views import ReplayOutcome
from workflows.checkpoint import CheckpointWorkflow
from workflows.operation import OperationWorkflow
from workflows.sandbox import workflow_runner


def _histories_in_json(data: Any, workflow_id: str) -> list[WorkflowHistory]:
    if isinstance(data, list):
        return [h for item in data for h in _histories_in_json(item, workflow_id)]
    if isinstance(data, dict) and "events" in data:
        return [WorkflowHistory.from_json(data.get("workflowId") or _started_workflow_id(data) or workflow_id, data)]
    raise ValueError("not a Temporal history: expected an object with 'events' "
                     "(as `temporal workflow show --output json` writes) or a list of them")


def _started_workflow_id(data: dict[str, Any]) -> str | None:
    """The workflow id its first event names (the server records it there): payloads are encrypted for
    that workflow, so the Replayer must be given it, not the file's name."""
    events = data.get("events") or [{}]
    started = events[0].get("workflowExecutionStartedEventAttributes") if isinstance(events[0], dict) else None
    found = started.get("workflowId") if isinstance(started, dict) else None
    return found if isinstance(found, str) and found else None


def load_histories(path: Path) -> list[tuple[str, WorkflowHistory]]:
    """Histories from a `temporal workflow show --output json` file, a list of them, or an audit bundle."""
    if zipfile.is_zipfile(path):
        return _histories_in_bundle(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: not JSON ({error}); expected `temporal workflow show --output json` "
                         "output or an audit bundle") from None
    try:
        return [(str(path), h) for h in _histories_in_json(data, path.stem)]
    except (KeyError, TypeError, ValueError, json_format.Error) as error:
        raise ValueError(f"{path}: {error}") from None


def _histories_in_bundle(path: Path) -> list[tuple[str, WorkflowHistory]]:
    with zipfile.ZipFile(path) as bundle:
        names = bundle.namelist()
        if "manifest.json" not in names:
            raise ValueError(f"{path}: a zip file but not an audit bundle: it has no manifest.json")
        try:
            operation_id = json.loads(bundle.read("manifest.json"))["operation_id"]
            return [(f"{path.name}:{name}", WorkflowHistory.from_json(operation_id, json.loads(bundle.read(name))))
                    for name in sorted(names) if name.startswith("history/")]
        except (KeyError, TypeError, ValueError, json_format.Error) as error:
            raise ValueError(f"{path}: damaged audit bundle: {error}") from None


async def histories_from_server(client: Client, query: str) -> list[tuple[str, WorkflowHistory]]:
    found = []
    async for execution in client.list_workflows(query):
        history = await client.get_workflow_handle(execution.id, run_id=execution.run_id).fetch_history()
        found.append((f"{execution.id} run {execution.run_id}", history))
    return found


async def histories_of_workflow(client: Client, workflow_id: str) -> list[tuple[str, WorkflowHistory]]:
    """Every run of one workflow, followed through continue-as-new (no visibility query to quote into)."""
    runs = await histories(client, workflow_id)
    return [(f"{workflow_id} run {n} of {len(runs)}", history) for n, history in enumerate(runs, 1)]


async def replay(histories: Sequence[tuple[str, WorkflowHistory]],
                 workflows: Sequence[type] = (OperationWorkflow, CheckpointWorkflow),
                 data_converter: DataConverter | None = None) -> list[ReplayOutcome]:
    """The Replayer needs the worker's data converter, codec included: without one given, it decrypts
    with the keys this machine's settings hold (clear histories, recorded before encryption, need none)."""
    if data_converter is None:
        data_converter = replay_data_converter(local_codec().keyring)
    replayer = Replayer(workflows=list(workflows), data_converter=data_converter, workflow_runner=workflow_runner())
    outcomes = []
    for source, history in histories:
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        failure = None if result.replay_failure is None else str(result.replay_failure)
        outcomes.append(ReplayOutcome(workflow_id=history.workflow_id, source=source,
                                      events=len(history.events), failure=failure))
    return outcomes
