"""Deconfliction lookups against the shared index: file an operation's new targets and action
windows, find hits with other live operations, release entries. Idempotent under retry: filing the
same entries twice adds nothing, and a check only reads."""

from __future__ import annotations

import hashlib

import structlog
from sqlalchemy import Engine
from temporalio import activity

from activities.heartbeat import in_thread_heartbeating
from domain.deconfliction.entries import (
    Hit,
    IndexEntry,
    entries_for_action_day,
    entries_for_item,
    entries_for_target,
)
from domain.model import HandlingCode
from store.contacts import UNKNOWN, Contacts
from store.index import DeconflictionIndex
from workflows.messages import DeconflictRequest, FoundHit, ReleaseEntriesRequest

log = structlog.get_logger(__name__)


def hit_id_for(kind: str, a: tuple[str, str], b: tuple[str, str]) -> str:
    """The same id whichever side finds the hit: (operation, ref) pairs in sorted order."""
    first, second = sorted((a, b))
    return "H" + hashlib.sha256(f"{kind}|{first}|{second}".encode()).hexdigest()[:10].upper()


def found_hit(operation_id: str, hit: Hit, contact: tuple[str, HandlingCode]) -> FoundHit:
    return FoundHit(hit_id=hit_id_for(hit.kind.value, (operation_id, hit.ref), (hit.operation_id, hit.other_ref)),
                    kind=hit.kind.value, matched=hit.matched, own_ref=hit.ref, other_ref=hit.other_ref,
                    other_operation_id=hit.operation_id, other_state=hit.member_state, other_contact=contact[0],
                    other_handling_code=HandlingCode.strictest(contact[1], hit.other_handling_code))


def entries_of(request: DeconflictRequest) -> list[IndexEntry]:
    """Clear entries; in privacy mode the index digests them before anything is stored or looked up."""
    entries = [e for t in request.targets for e in entries_for_target(t, t.contributed_by)]
    entries += [e for item in request.items for e in entries_for_item(item)]
    for day in request.action_days:
        entries += entries_for_action_day(day, day.member_states[0] if day.member_states else None)
    return entries


class DeconflictionActivities:
    def __init__(self, engine: Engine, index: DeconflictionIndex) -> None:
        self._contacts = Contacts(engine)
        self._index = index

    @activity.defn(name="deconflict")
    async def deconflict(self, request: DeconflictRequest) -> list[FoundHit]:
        return await in_thread_heartbeating(self._deconflict, request)

    def _deconflict(self, request: DeconflictRequest) -> list[FoundHit]:
        entries = entries_of(request)
        self._contacts.remember(request.operation_id, request.point_of_contact, request.handling_code)
        # Filed before checking: two operations filing the same phone at once then both see the hit.
        self._index.register(request.operation_id, entries)
        hits = self._index.check(entries, exclude_operation_id=request.operation_id)
        contacts = self._contacts.of({h.operation_id for h in hits})
        found = [found_hit(request.operation_id, hit, contacts.get(hit.operation_id, UNKNOWN)) for hit in hits]
        log.info("deconfliction_checked", operation_id=request.operation_id, workflow_id=activity.info().workflow_id,
                 entries=len(entries), hits=len(found))
        return found

    @activity.defn(name="release_entries")
    async def release_entries(self, request: ReleaseEntriesRequest) -> int:
        released = await in_thread_heartbeating(self._index.release, request.operation_id, request.refs)
        log.info("deconfliction_released", operation_id=request.operation_id, workflow_id=activity.info().workflow_id,
                 refs=request.refs, entries=released)
        return released
