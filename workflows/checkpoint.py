"""CheckpointWorkflow: run by a Temporal schedule, it has the audit log's Merkle root signed."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

CHECKPOINT_SCHEDULE_ID = "liaison-audit-checkpoint"


@workflow.defn(name="CheckpointWorkflow")
class CheckpointWorkflow:
    @workflow.run
    async def run(self) -> int:
        """The signed log size."""
        size: int = await workflow.execute_activity(
            "take_checkpoint", start_to_close_timeout=timedelta(minutes=10), result_type=int)
        return size
