"""Deconfliction lookups against the shared index: file an operation's new targets and action
windows, find hits with other live operations, release entries. Idempotent under retry: filing the
same entries twice adds nothing, and a check only reads."""

from __future__ import annotations

import asyncio
import hashlib

import structlog
from sqlalchemy import Engine, select
from temporalio import activity

from domain.deconfliction.entries import Hit, IndexEntry, entries_for_action_day, entries_for_target
from domain.model import HandlingCode
from store.db import insert_ignoring_conflict, write_transaction
from store.index import DeconflictionIndex
from store.tables import deconfliction_operations as ops
from workflows.messages import DeconflictRequest, FoundHit, ReleaseEntriesRequest

log = structlog.get_logger(__name__)


def hit_id_for(kind: str, a: tuple[str, str], b: tuple[str, str]) -> str:
    """The same id whichever side finds the hit: (operation, ref) pairs in sorted order."""
    first, second = sorted((a, b))
    return "H" + hashlib.sha256(f"{kind}|{first}|{second}".encode()).hexdigest()[:10].upper()


def entries_of(request: DeconflictRequest) -> list[IndexEntry]:
    """Clear entries; in privacy mode the index digests them before anything is stored or looked up."""
    entries = [e for t in request.targets for e in entries_for_target(t, t.contributed_by)]
    for day in request.action_days:
        entries += entries_for_action_day(day, day.member_states[0] if day.member_states else None)
    return entries


class DeconflictionActivities:
    def __init__(self, engine: Engine, index: DeconflictionIndex) -> None:
        self._engine = engine
        self._index = index

    @activity.defn(name="deconflict")
    async def deconflict(self, request: DeconflictRequest) -> list[FoundHit]:
        return await asyncio.to_thread(self._deconflict, request)

    def _deconflict(self, request: DeconflictRequest) -> list[FoundHit]:
        entries = entries_of(request)
        self._remember_contact(request)
        # Filed before checking: two operations filing the same phone at once then both see the hit.
        self._index.register(request.operation_id, entries)
        hits = self._index.check(entries, exclude_operation_id=request.operation_id)
        contacts = self._contacts({h.operation_id for h in hits})
        found = [self._found(request.operation_id, hit, contacts) for hit in hits]
        log.info("deconfliction_checked", operation_id=request.operation_id, entries=len(entries), hits=len(found))
        return found

    def _remember_contact(self, request: DeconflictRequest) -> None:
        with write_transaction(self._engine) as conn:
            insert_ignoring_conflict(conn, ops, {"operation_id": request.operation_id,
                                                 "point_of_contact": request.point_of_contact,
                                                 "handling_code": request.handling_code.value})

    def _contacts(self, operation_ids: set[str]) -> dict[str, tuple[str, str]]:
        if not operation_ids:
            return {}
        with self._engine.connect() as conn:
            rows = conn.execute(select(ops).where(ops.c.operation_id.in_(operation_ids))).all()
        return {r.operation_id: (r.point_of_contact, r.handling_code) for r in rows}

    @staticmethod
    def _found(operation_id: str, hit: Hit, contacts: dict[str, tuple[str, str]]) -> FoundHit:
        contact, code = contacts.get(hit.operation_id, ("(unknown)", HandlingCode.H0.value))
        return FoundHit(hit_id=hit_id_for(hit.kind.value, (operation_id, hit.ref), (hit.operation_id, hit.other_ref)),
                        kind=hit.kind.value, matched=hit.matched, own_ref=hit.ref, other_ref=hit.other_ref,
                        other_operation_id=hit.operation_id, other_state=hit.member_state, other_contact=contact,
                        other_handling_code=HandlingCode(code))

    @activity.defn(name="release_entries")
    async def release_entries(self, request: ReleaseEntriesRequest) -> int:
        released = await asyncio.to_thread(self._index.release, request.operation_id, request.refs)
        log.info("deconfliction_released", operation_id=request.operation_id, refs=request.refs, entries=released)
        return released
