"""Taking a signed checkpoint of the audit log (idempotent: a size is signed once per key)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import structlog
from sqlalchemy import Engine
from temporalio import activity

from gateway.checkpoints import signing_key, take_checkpoint

log = structlog.get_logger(__name__)


class CheckpointActivities:
    def __init__(self, engine: Engine, key_file: Path) -> None:
        self._engine = engine
        self._key_file = key_file

    @activity.defn(name="take_checkpoint")
    async def take_checkpoint(self) -> int:
        key = signing_key(self._key_file, create=True)
        checkpoint, stored = await asyncio.to_thread(take_checkpoint, self._engine, key)
        log.info("audit_checkpoint", size=checkpoint.log_size, root=checkpoint.root_hex, key_id=checkpoint.key_id,
                 new=stored, workflow_id=activity.info().workflow_id)
        return checkpoint.log_size
