"""Chain heads witnessed by Temporal: every append's result as recorded in the workflow history."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode

from domain.audit import ChainHead
from gateway.codec import codec_of, decrypted_history

_LOCAL_ACTIVITY_MARKER = "core_local_activity"
_APPEND_ACTIVITY = "append_events"
_APPEND_ENDED_OTHERWISE: dict[Any, Any] = {
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED: lambda e: e.activity_task_failed_event_attributes,
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: lambda e: e.activity_task_timed_out_event_attributes,
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED: lambda e: e.activity_task_canceled_event_attributes,
}


def _as_head(data: bytes) -> ChainHead | None:
    try:
        value: Any = json.loads(data)
    except ValueError:
        return None
    if isinstance(value, dict) and set(value) == {"seq", "hash"}:
        return ChainHead.model_validate(value)
    return None


def _result_payload_data(event: HistoryEvent) -> list[bytes]:
    if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
        return [p.data for p in event.activity_task_completed_event_attributes.result.payloads]
    if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
        marker = event.marker_recorded_event_attributes
        if marker.marker_name == _LOCAL_ACTIVITY_MARKER and "result" in marker.details:
            return [p.data for p in marker.details["result"].payloads]
    if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
        return [_carried_head(p.data) for p in event.workflow_execution_started_event_attributes.input.payloads]
    return []


def _carried_head(data: bytes) -> bytes:
    """The head a continued run was started with, or nothing usable (a first run, a damaged input)."""
    try:
        value: Any = json.loads(data)
    except ValueError:
        return b""
    return json.dumps(value.get("head")).encode() if isinstance(value, dict) else b""


def _chained_records(data: bytes) -> list[ChainHead]:
    """(seq, hash) of every record an append request carried already chained by the workflow."""
    try:
        value: Any = json.loads(data)
    except ValueError:
        return []
    records = value.get("records") if isinstance(value, dict) else None
    if not isinstance(records, list):
        return []
    return [ChainHead(seq=r["seq"], hash=r["hash"]) for r in records
            if isinstance(r, dict) and isinstance(r.get("seq"), int) and isinstance(r.get("hash"), str) and r["hash"]]


def _appended_records(history: WorkflowHistory, pending: list[ChainHead] | None = None) -> list[ChainHead]:
    """The hash of every record the workflow chained itself and the store acknowledged: Temporal then
    witnesses each event's content, not only the heads at append boundaries. Appends scheduled but not
    yet completed go to ``pending``: the store may or may not hold them yet."""
    scheduled: dict[int, bytes] = {}
    found: list[ChainHead] = []
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attributes = event.activity_task_scheduled_event_attributes
            if attributes.activity_type.name == _APPEND_ACTIVITY and attributes.input.payloads:
                scheduled[event.event_id] = attributes.input.payloads[0].data
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            data = scheduled.pop(event.activity_task_completed_event_attributes.scheduled_event_id, None)
            if data is not None:
                found.extend(_chained_records(data))
        elif event.event_type in _APPEND_ENDED_OTHERWISE:  # failed, timed out, cancelled: not under way
            scheduled.pop(_APPEND_ENDED_OTHERWISE[event.event_type](event).scheduled_event_id, None)
    if pending is not None:
        pending.extend(head for data in scheduled.values() for head in _chained_records(data))
    return found


def heads_in_history(history: WorkflowHistory) -> list[ChainHead]:
    """Every chain head the workflow received from an append (or carried into a new run), and the hash of
    every record it chained itself."""
    heads = []
    for event in history.events:
        for data in _result_payload_data(event):
            head = _as_head(data)
            if head is not None:
                heads.append(head)
    return heads + _appended_records(history)


def states_in_history(history: WorkflowHistory) -> list[dict[str, Any]]:
    """The operation's state as the workflow itself held it: carried into a continued run, and returned
    when it completed (JSON, as recorded)."""
    states = []
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            payloads = event.workflow_execution_started_event_attributes.input.payloads
            states += [_field(p.data, "state") for p in payloads]
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            payloads = event.workflow_execution_completed_event_attributes.result.payloads
            states += [_field(p.data, None) for p in payloads]
    return [state for state in states if isinstance(state, dict) and isinstance(state.get("version"), int)]


def _field(data: bytes, name: str | None) -> Any:
    try:
        value: Any = json.loads(data)
    except ValueError:
        return None
    return value if name is None else (value.get(name) if isinstance(value, dict) else None)


async def histories(client: Client, operation_id: str) -> list[WorkflowHistory]:
    """The histories of every run of the operation's workflow, oldest first.

    Runs are followed backwards through continue-as-new links rather than listed through
    visibility, which is only eventually consistent. Runs Temporal no longer holds (never started,
    or past retention) are simply absent: the caller then has fewer witnesses, not an error.
    """
    found: list[WorkflowHistory] = []
    run_id: str | None = None
    while True:
        try:
            history = await client.get_workflow_handle(operation_id, run_id=run_id).fetch_history()
        except RPCError as error:
            if error.status is not RPCStatusCode.NOT_FOUND:
                raise
            return list(reversed(found))
        found.append(history)
        started = history.events[0].workflow_execution_started_event_attributes
        run_id = started.continued_execution_run_id or None
        if run_id is None:
            return list(reversed(found))


async def operation_ids_in_temporal(client: Client) -> list[str]:
    """Every operation Temporal knows of, so that a stream deleted whole from the log is still checked."""
    ids = {execution.id async for execution in client.list_workflows("WorkflowType = 'OperationWorkflow'")}
    return sorted(ids)


async def readable_histories(client: Client, operation_id: str) -> list[WorkflowHistory]:
    """The runs' histories with their payloads decrypted by the client's codec, for reading them here."""
    codec = codec_of(client.data_converter)
    runs = await histories(client, operation_id)
    return runs if codec is None else [decrypted_history(history, codec) for history in runs]


async def witnessed_heads(client: Client, operation_id: str) -> list[ChainHead]:
    return [head for history in await readable_histories(client, operation_id)
            for head in heads_in_history(history)]


class Witness(NamedTuple):
    heads: list[ChainHead]  # heads and record hashes of completed appends
    states: list[dict[str, Any]]  # states the workflow carried or returned
    pending: list[ChainHead]  # record hashes of appends under way: stored or not, neither is a finding


async def witnessed(client: Client, operation_id: str) -> Witness:
    """Every head and record hash, and every state, that the operation's Temporal histories hold."""
    runs = await readable_histories(client, operation_id)
    pending: list[ChainHead] = []
    for history in runs[-1:]:
        _appended_records(history, pending)
    return Witness([head for history in runs for head in heads_in_history(history)],
                   [state for history in runs for state in states_in_history(history)], pending)
