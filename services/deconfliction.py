"""Deconfliction: pre-check targets against every live operation, and resolve hits."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from sqlalchemy import Engine

from domain import commands as cmd
from domain.actors import Actor, Role
from domain.errors import InvalidInput
from domain.model import HitResolution, Target
from domain.reference import participant
from domain.rules import require_role
from gateway.deconfliction import Precheck, precheck
from services.consultations import ConsultationService
from services.operations import CommandOutcome, OperationService
from store.index import DeconflictionIndex

CHECKERS = (Role.COORDINATOR, Role.LIAISON_OFFICER)


class DeconflictionService:
    def __init__(self, engine: Engine, index: DeconflictionIndex, operations: OperationService,
                 consultations: ConsultationService) -> None:
        self._engine = engine
        self._index = index
        self._operations = operations
        self._consultations = consultations

    async def check(self, actor: Actor, purpose: str | None, targets: Sequence[Target],
                    default_state: str | None = None) -> Precheck:
        """Hits of a batch of targets on every live operation's entries, storing nothing. A hit shows
        another state's data (who to call), so the check is a logged consultation."""
        require_role(actor, "check targets for deconfliction", *CHECKERS)
        contributing = participant(default_state, "--state") if default_state else actor.member_state
        if contributing is None and any(not t.contributed_by for t in targets):
            raise InvalidInput("contributed_by", None, "which state contributes these targets? pass --state XX "
                               "or set contributed_by on each target")

        async def read() -> Precheck:
            return await asyncio.to_thread(precheck, self._engine, self._index, list(targets), contributing or "")

        return await self._consultations.reading(actor, purpose, "deconfliction check", [], read)

    async def resolve(self, actor: Actor, operation_id: str, hit_id: str, resolution: HitResolution,
                      justification: str = "", key: str | None = None) -> CommandOutcome:
        return await self._operations.send(actor, operation_id, cmd.ResolveHitRequest(
            hit_id=hit_id, resolution=resolution, justification=justification), key)
