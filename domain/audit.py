"""The audit log's records and hash chain, as pure functions.

Each record's hash is SHA-256 over the previous record's hash and the canonical encoding of the
record (every field but the two hashes): JSON with sorted keys, no spaces, UTF-8, times in UTC.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from domain.actors import Actor, Role
from domain.events import Event, event_from_dict
from domain.utc import as_utc

GENESIS_HASH = "0" * 64
MAX_EVENTS_PER_COMMAND = 256  # far above what any one command decides; bounds the lookup by key
_ENVELOPE_FIELDS = {"actor", "at", "justification"}


class ChainHead(BaseModel):
    model_config = ConfigDict(frozen=True)

    seq: int = 0
    hash: str = GENESIS_HASH


class AuditRecord(BaseModel):
    """One row of the audit log. prev_hash and hash are empty until the store chains it."""

    model_config = ConfigDict(frozen=True)

    stream_id: str
    seq: int
    event_id: str
    type: str
    payload: dict[str, Any]
    actor_id: str
    actor_role: str
    member_state: str | None
    justification: str
    occurred_at: datetime
    prev_hash: str = ""
    hash: str = ""
    position: int | None = None


def utc_text(moment: datetime) -> str:
    """A time as fixed-width UTC text; a naive time (SQLite gives those back) is taken as UTC."""
    utc = as_utc(moment).replace(tzinfo=None)
    if utc.year < 1000:  # strftime leaves such years unpadded; keep its form so every stored hash still holds
        return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return utc.isoformat(timespec="microseconds") + "Z"  # the same text as that strftime, faster


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(value: Any) -> bytes:
    return _CANONICAL.encode(value).encode()


def canonical_bytes(record: AuditRecord) -> bytes:
    return canonical_json({
        "stream_id": record.stream_id, "seq": record.seq, "event_id": record.event_id,
        "type": record.type, "payload": record.payload, "actor_id": record.actor_id,
        "actor_role": record.actor_role, "member_state": record.member_state,
        "justification": record.justification, "occurred_at": utc_text(record.occurred_at),
    })


def chain_hash(prev_hash: str, record: AuditRecord) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical_bytes(record)).hexdigest()


def chained(record: AuditRecord, prev_hash: str) -> AuditRecord:
    return record.model_copy(update={"prev_hash": prev_hash, "hash": chain_hash(prev_hash, record)})


def extend_chain(head: ChainHead, records: Iterable[AuditRecord]) -> list[AuditRecord]:
    """The records numbered and chained after ``head``: the one place a stream's sequence is assigned.

    The workflow runs this on the events it decided and sends the chained records to the store,
    which only checks and stores them; the workflow then knows every hash the store must hold.
    """
    chain: list[AuditRecord] = []
    seq, prev_hash = head.seq, head.hash
    for record in records:
        seq += 1
        link = chained(record.model_copy(update={"seq": seq}), prev_hash)
        chain.append(link)
        prev_hash = link.hash
    return chain


def head_of(records: Sequence[AuditRecord], default: ChainHead) -> ChainHead:
    return ChainHead(seq=records[-1].seq, hash=records[-1].hash) if records else default


def event_id_for(stream_id: str, command_key: str, index: int) -> str:
    """An event's identity: the command it came from (its idempotency key) and its place among that
    command's events, as SHA-256 hex (it fits the column whatever the key). A redone workflow task
    that decides another command makes other ids, so no stored record can ever be taken for another
    command's, as it could with a per-run random id."""
    return hashlib.sha256(f"{stream_id}\x1f{command_key}\x1f{index}".encode()).hexdigest()


# The keys events are identified by, one namespace per origin, so no caller's key can ever name the
# events of a command the workflow issues itself or of an opening.
def update_event_key(update_id: str) -> str:
    return f"update:{update_id}"


def system_event_key(first_seq: int) -> str:
    return f"system:{first_seq}"


def opening_event_key(open_key: str) -> str:
    return f"open:{open_key}"


def record_of(stream_id: str, seq: int, event_id: str, event: Event) -> AuditRecord:
    """The unchained audit record of a domain event."""
    return AuditRecord(
        stream_id=stream_id, seq=seq, event_id=event_id, type=event.type,
        payload=event.model_dump(mode="json", exclude=_ENVELOPE_FIELDS),
        actor_id=event.actor.id, actor_role=event.actor.role.value,
        member_state=event.actor.member_state, justification=event.justification,
        occurred_at=event.at,
    )


def event_of(record: AuditRecord) -> Event:
    actor = Actor(id=record.actor_id, role=Role(record.actor_role), member_state=record.member_state)
    return event_from_dict({**record.payload, "actor": actor, "at": as_utc(record.occurred_at),
                            "justification": record.justification})


class ChainFinding(BaseModel):
    model_config = ConfigDict(frozen=True)

    stream_id: str
    seq: int
    problem: str

    def __str__(self) -> str:
        return f"{self.stream_id} #{self.seq}: {self.problem}"


def verify_chain(records: Iterable[AuditRecord], expected_head: ChainHead | None = None) -> list[ChainFinding]:
    """Check sequence numbers and hashes of one stream, and optionally its head against a witness."""
    findings: list[ChainFinding] = []
    prev_hash, expected_seq, stream_id = GENESIS_HASH, 1, ""
    for record in records:
        stream_id = record.stream_id
        if record.seq != expected_seq:
            findings.append(ChainFinding(stream_id=stream_id, seq=record.seq,
                                         problem=f"sequence gap: expected #{expected_seq}"))
        if record.prev_hash != prev_hash:
            findings.append(ChainFinding(stream_id=stream_id, seq=record.seq,
                                         problem="previous hash does not match the preceding event"))
        if chain_hash(record.prev_hash, record) != record.hash:
            findings.append(ChainFinding(stream_id=stream_id, seq=record.seq,
                                         problem="hash does not match the event's content"))
        prev_hash, expected_seq = record.hash, record.seq + 1
    if expected_head is not None and (expected_head.seq > 0 or expected_seq > 1):
        last = ChainHead(seq=expected_seq - 1, hash=prev_hash)
        if last != expected_head:
            findings.append(ChainFinding(
                stream_id=stream_id, seq=last.seq,
                problem=f"chain head #{last.seq} {last.hash[:12]}… differs from the head the workflow "
                        f"recorded (#{expected_head.seq} {expected_head.hash[:12]}…)"))
    return findings
