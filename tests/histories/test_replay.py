"""Histories recorded from the end-to-end run replay against the current workflow code.

Re-record after an intended change with: LIAISON_RECORD_HISTORIES=1 pytest tests/workflows
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from gateway.payload_keys import data_converter
from settings import Settings
from workflows.operation import RULES_V2, OperationWorkflow
from workflows.sandbox import workflow_runner

# The worker's converter, codec on: these histories were recorded in clear, before payload encryption,
# and payloads without its metadata decode as they are, so they replay as recorded.
CONVERTER = data_converter(Settings())
HISTORY_FILES = sorted(Path(__file__).resolve().parent.glob("*.json"))  # not faults/: see below


def test_recorded_histories_are_present() -> None:
    assert {p.stem for p in HISTORY_FILES} >= {"full_lifecycle", "cancelled_in_execute",
                                               "parked_then_overridden", "closed_at_results_deadline",
                                               "hit_signalled_then_resolved_by_the_other_side",
                                               "cancelled_with_an_open_hit", "hit_withdrawn_by_the_other_side",
                                               "opened_with_the_servers_policy", "rules_v2_partners_and_step_up"}


def test_the_servers_policy_is_read_at_the_opening_behind_its_patch() -> None:
    """The opening of a service's request records the patch and the worker's policy (a local activity)."""
    history = json.loads((Path(__file__).resolve().parent / "opened_with_the_servers_policy.json").read_text("utf-8"))
    markers = [base64.b64decode(payload["data"]).decode()
               for event in history["events"] if event["eventType"] == "EVENT_TYPE_MARKER_RECORDED"
               for detail in event["markerRecordedEventAttributes"]["details"].values()
               for payload in detail["payloads"]]
    assert any('"server-policy-at-opening"' in m for m in markers)
    assert any('"activity_type":"server_policy"' in m for m in markers)


def _patch_ids(path: Path) -> set[str]:
    history = json.loads(path.read_text("utf-8"))
    return {json.loads(base64.b64decode(payload["data"]))["id"]
            for event in history["events"] if event["eventType"] == "EVENT_TYPE_MARKER_RECORDED"
            and event["markerRecordedEventAttributes"]["markerName"] == "core_patch"
            for payload in event["markerRecordedEventAttributes"]["details"]["patch-data"]["payloads"]}


def test_runs_recorded_before_rules_v2_replay_under_v1_and_a_new_run_under_v2() -> None:
    """The histories recorded before v2 hold no rules-v2 marker (so they replay deciding by v1: that they
    replay at all shows v1 decides as it did); a run opened since asked for v2, and replays under it."""
    by_name = {path.stem: _patch_ids(path) for path in HISTORY_FILES}
    assert RULES_V2 in by_name.pop("rules_v2_partners_and_step_up")
    assert not any(RULES_V2 in ids for ids in by_name.values())


@pytest.mark.parametrize("path", HISTORY_FILES, ids=[p.stem for p in HISTORY_FILES])
async def test_history_replays_without_nondeterminism(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, json.loads(path.read_text(encoding="utf-8")))
    replayer = Replayer(workflows=[OperationWorkflow], data_converter=CONVERTER,
                        workflow_runner=workflow_runner(strict=True))
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"


FAULTS = Path(__file__).resolve().parent / "faults"
# Recorded under faults with the code of efb5d8b (see faults/README.md): the replay check keeps its teeth
# only if the two that broke are still reported non-deterministic, at the duplicated timer.
BROKEN_BY_A_QUERY = ("stuck-after-worker-kill-and-query", "taken-over-by-second-worker-then-queried")


@pytest.mark.parametrize("name", BROKEN_BY_A_QUERY)
async def test_histories_broken_by_a_query_are_still_reported_non_deterministic(name: str) -> None:
    history = WorkflowHistory.from_json(name, json.loads((FAULTS / f"{name}.json").read_text(encoding="utf-8")))
    replayer = Replayer(workflows=[OperationWorkflow], data_converter=CONVERTER,
                        workflow_runner=workflow_runner(strict=True))
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    failure = str(result.replay_failure or "")
    assert "nondetermin" in failure.lower(), failure
    assert "Timer" in failure, failure


async def test_history_with_orphan_records_replays() -> None:
    """Its defect was in the audit store, not the history: it replays, and its log is what verify flags."""
    name = "concurrent-100-commands-orphan-records"
    history = WorkflowHistory.from_json(name, json.loads((FAULTS / f"{name}.json").read_text(encoding="utf-8")))
    replayer = Replayer(workflows=[OperationWorkflow], data_converter=CONVERTER,
                        workflow_runner=workflow_runner(strict=True))
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure
