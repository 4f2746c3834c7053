"""Taking a signed checkpoint of the audit log (idempotent: a size is signed once per key)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import structlog
from sqlalchemy import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from gateway.checkpoints import signing_key, take_checkpoint
from store.checkpoints import CheckpointConflict

log = structlog.get_logger(__name__)


class CheckpointActivities:
    def __init__(self, engine: Engine, key_file: Path) -> None:
        self._engine = engine
        self._key_file = key_file

    @activity.defn(name="take_checkpoint")
    async def take_checkpoint(self) -> int:
        key = signing_key(self._key_file, create=True)
        try:
            checkpoint, stored = await asyncio.to_thread(take_checkpoint, self._engine, key)
        except CheckpointConflict as conflict:
            # The log no longer matches what this key signed: tampering, which no retry can mend.
            log.error("audit_checkpoint_conflict", problem=str(conflict), workflow_id=activity.info().workflow_id)
            raise ApplicationError(str(conflict), type="CheckpointConflict", non_retryable=True) from None
        log.info("audit_checkpoint", size=checkpoint.log_size, root=checkpoint.root_hex, key_id=checkpoint.key_id,
                 new=stored, workflow_id=activity.info().workflow_id)
        return checkpoint.log_size
