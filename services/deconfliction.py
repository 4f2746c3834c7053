"""Deconfliction: pre-check targets against every live operation, and resolve hits."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from sqlalchemy import Engine

from domain import commands as cmd
from domain.actors import Actor, Role
from domain.errors import InvalidInput, NotAuthorised
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
        async def read() -> Precheck:
            require_role(actor, "check targets for deconfliction", *CHECKERS)
            contributing = self._contributing_state(actor, default_state)
            if contributing is None and any(not t.contributed_by for t in targets):
                raise InvalidInput("contributed_by", None, "which state contributes these targets? pass --state XX "
                                   "or set contributed_by on each target")
            return await asyncio.to_thread(precheck, self._engine, self._index, list(targets), contributing or "")

        return await self._consultations.reading(actor, purpose, "deconfliction check", [], read)

    @staticmethod
    def _contributing_state(actor: Actor, default_state: str | None) -> str | None:
        """A liaison officer checks for its own state; a coordinator names the state (or each target does)."""
        if default_state is None:
            return actor.member_state
        code = participant(default_state, "--state")
        if actor.role is Role.LIAISON_OFFICER and code != actor.member_state:
            raise NotAuthorised(f"{actor.describe()} may not check targets for {code}: a liaison officer checks "
                                f"for {actor.member_state}", field="member_state", value=code)
        return code

    async def resolve(self, actor: Actor, operation_id: str, hit_id: str, resolution: HitResolution,
                      justification: str = "", key: str | None = None) -> CommandOutcome:
        return await self._operations.send(actor, operation_id, cmd.ResolveHitRequest(
            hit_id=hit_id, resolution=resolution, justification=justification), key)
