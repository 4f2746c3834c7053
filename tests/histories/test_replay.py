"""Histories recorded from the end-to-end run replay against the current workflow code.

Re-record after an intended change with: LIAISON_RECORD_HISTORIES=1 pytest tests/workflows
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.operation import OperationWorkflow
from workflows.sandbox import workflow_runner

HISTORY_FILES = sorted(Path(__file__).resolve().parent.glob("*.json"))


def test_recorded_histories_are_present() -> None:
    assert {p.stem for p in HISTORY_FILES} >= {"full_lifecycle", "cancelled_in_execute",
                                               "parked_then_overridden", "closed_at_results_deadline",
                                               "hit_signalled_then_resolved_by_the_other_side",
                                               "cancelled_with_an_open_hit", "hit_withdrawn_by_the_other_side"}


@pytest.mark.parametrize("path", HISTORY_FILES, ids=[p.stem for p in HISTORY_FILES])
async def test_history_replays_without_nondeterminism(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, json.loads(path.read_text(encoding="utf-8")))
    replayer = Replayer(workflows=[OperationWorkflow], data_converter=pydantic_data_converter,
                        workflow_runner=workflow_runner(strict=True))
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"
