"""The one client interface the CLI calls: every role use case, for one authenticated caller with one
purpose. This in-process implementation calls the services; an HTTP client of the API offers the same
methods, so the CLI's commands do not change when they move behind the API."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from domain import commands as cmd
from domain.actors import Actor
from domain.model import HitResolution, Intelligence, Target
from domain.state import OperationState
from gateway.audit import TimelineEntry, Verification
from gateway.checkpoints import CheckpointReport
from gateway.deconfliction import Precheck
from gateway.history import ReplayOutcome
from gateway.recovery import Recovery
from services.audit import AuditReplay, Export, Progress, Proof
from services.notifications import NotificationView
from services.operations import CommandOutcome, Opening, OperationFilter
from store.consultations import Consultation
from store.read_models import OperationSummary, PendingTaskView

if TYPE_CHECKING:
    from bootstrap import System
    from domain.signing import Checkpoint


class LiaisonClient:
    def __init__(self, system: System, principal_id: str | None, purpose: str | None = None) -> None:
        self._system = system
        self._principal_id = principal_id
        self._purpose = purpose
        self._actor: Actor | None = None

    @property
    def actor(self) -> Actor:
        """Who the caller is, as authentication says (today: a registered principal id)."""
        if self._actor is None:
            self._actor = self._system.principals.authenticate(self._principal_id)
        return self._actor

    # --- commands ---------------------------------------------------------------------------------

    async def open_operation(self, request: cmd.OpenOperationRequest, key: str | None = None) -> Opening:
        return await self._system.operations.open(self.actor, request, key)

    async def send(self, operation_id: str, request: cmd.Request, key: str | None = None) -> CommandOutcome:
        return await self._system.operations.send(self.actor, operation_id, request, key)

    async def approve(self, operation_id: str, task_id: str, justification: str, key: str | None = None
                      ) -> CommandOutcome:
        return await self._system.tasks.approve(self.actor, operation_id, task_id, justification, key)

    async def reject(self, operation_id: str, task_id: str, reason: str, key: str | None = None) -> CommandOutcome:
        return await self._system.tasks.reject(self.actor, operation_id, task_id, reason, key)

    async def resolve_hit(self, operation_id: str, hit_id: str, resolution: HitResolution, justification: str,
                          key: str | None = None) -> CommandOutcome:
        return await self._system.deconfliction.resolve(self.actor, operation_id, hit_id, resolution,
                                                        justification, key)

    # --- reads ------------------------------------------------------------------------------------

    async def show(self, operation_id: str) -> OperationState:
        return await self._system.operations.show(self.actor, self._purpose, operation_id)

    async def timeline(self, operation_id: str) -> list[TimelineEntry]:
        return await self._system.operations.timeline(self.actor, self._purpose, operation_id)

    async def intelligence(self, operation_id: str, item_id: str | None = None) -> list[Intelligence]:
        return await self._system.operations.intelligence(self.actor, self._purpose, operation_id, item_id)

    async def operations(self, where: OperationFilter) -> list[OperationSummary]:
        return await self._system.operations.list(self.actor, self._purpose, where)

    async def pending_tasks(self, operation_id: str | None = None) -> list[PendingTaskView]:
        return await self._system.tasks.pending(self.actor, self._purpose, operation_id)

    async def notifications(self) -> list[NotificationView]:
        return await self._system.notifications.inbox(self.actor, self._purpose)

    async def check_targets(self, targets: Sequence[Target], default_state: str | None) -> Precheck:
        return await self._system.deconfliction.check(self.actor, self._purpose, targets, default_state)

    # --- audit ------------------------------------------------------------------------------------

    async def replay(self, operation_id: str, at: datetime | None, seq: int | None) -> AuditReplay:
        return await self._system.audit.replay(self.actor, self._purpose, operation_id, at, seq)

    async def verify(self, operation_ids: list[str] | None, progress: Progress | None = None) -> list[Verification]:
        return await self._system.audit.verify(self.actor, self._purpose, operation_ids, progress)

    async def export(self, operation_id: str, file: Path) -> Export:
        return await self._system.audit.export(self.actor, self._purpose, operation_id, file)

    async def prove(self, operation_id: str, seq: int) -> Proof:
        return await self._system.audit.prove(self.actor, self._purpose, operation_id, seq)

    async def server_histories(self, workflow_id: str | None, query: str | None) -> list[ReplayOutcome]:
        return await self._system.audit.server_histories(self.actor, self._purpose, workflow_id, query)

    async def recover(self, operation_id: str, justification: str) -> Recovery:
        return await self._system.audit.recover(self.actor, operation_id, justification)

    def consultations(self, operation_id: str | None, reader: str | None, since: datetime | None
                      ) -> list[Consultation]:
        return self._system.audit.consultations(self.actor, operation_id, reader, since)

    def checkpoint(self) -> tuple[Checkpoint, bool]:
        return self._system.audit.checkpoint(self.actor)

    def checkpoints(self) -> CheckpointReport:
        return self._system.audit.checkpoints(self.actor)
