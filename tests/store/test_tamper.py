"""Each kind of tampering with the audit log, done in SQL as a database superuser would, is found
and reported precisely (stream, sequence, what is wrong), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Connection, Engine, delete, insert, select, text, update

from domain.audit import AuditRecord, ChainHead, chained, record_of
from gateway.audit import verify
from store.audit_log import AuditLog
from store.tables import audit_events as t
from tests.unit.builders import driven_to

STREAM = "op-tamper"


@contextmanager
def as_attacker(engine: Engine) -> Iterator[Connection]:
    """A superuser session: on PostgreSQL it bypasses the append-only triggers."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        yield conn


@pytest.fixture
def witnesses(store_engine: Engine) -> list[ChainHead]:
    """A closed operation's events appended in batches as the workflow does; the heads it kept."""
    events = driven_to("closed").events
    log, heads, seq = AuditLog(store_engine), [], 0
    batches = [events[i:i + 2] for i in range(0, len(events), 2)]
    for batch in batches:
        records = [record_of(STREAM, seq + n, f"{STREAM}-{seq + n}", e) for n, e in enumerate(batch, 1)]
        heads.append(log.append(STREAM, records))
        seq += len(batch)
    return heads


def findings(engine: Engine, witnesses: list[ChainHead]) -> list[str]:
    return [str(f) for f in verify(AuditLog(engine), STREAM, witnesses).findings]


def _payload(engine: Engine, seq: int) -> dict[str, object]:
    with engine.connect() as conn:
        return dict(conn.execute(select(t.c.payload).where(t.c.stream_id == STREAM, t.c.seq == seq)).scalar_one())


def test_untouched_log_is_intact(store_engine: Engine, witnesses: list[ChainHead]) -> None:
    assert findings(store_engine, witnesses) == []


def test_edited_payload(store_engine: Engine, witnesses: list[ChainHead]) -> None:
    payload = _payload(store_engine, 3) | {"edited": True}
    with as_attacker(store_engine) as conn:
        conn.execute(update(t).where(t.c.stream_id == STREAM, t.c.seq == 3).values(payload=payload))
    assert findings(store_engine, witnesses) == [f"{STREAM} #3: edited: its content no longer matches its hash"]


def test_edited_justification_with_chain_recomputed(store_engine: Engine, witnesses: list[ChainHead]) -> None:
    records = AuditLog(store_engine).read(STREAM)
    prev, rewritten = records[4].prev_hash, []
    for record in records[4:]:
        changed = record.model_copy(update={"justification": "nothing to see"}) if record.seq == 5 else record
        link = chained(changed, prev)
        rewritten.append(link)
        prev = link.hash
    with as_attacker(store_engine) as conn:
        for link in rewritten:
            conn.execute(update(t).where(t.c.stream_id == STREAM, t.c.seq == link.seq).values(
                justification=link.justification, prev_hash=link.prev_hash, hash=link.hash))
    # The chain itself is now consistent; only Temporal's witnesses reveal the rewrite.
    assert findings(store_engine, []) == []
    assert findings(store_engine, witnesses) == [
        f"{STREAM} #6: rewritten: the chain at #6 differs from the head the workflow recorded; "
        "an event in #5–#6 was altered and the chain recomputed"]


def test_deleted_event(store_engine: Engine, witnesses: list[ChainHead]) -> None:
    with as_attacker(store_engine) as conn:
        conn.execute(delete(t).where(t.c.stream_id == STREAM, t.c.seq == 4))
    assert findings(store_engine, witnesses) == [
        f"{STREAM} #4: deleted: event #4 is missing from the log",
        f"{STREAM} #5: broken link: its previous hash is not the hash of the event before it"]


def test_swapped_events(store_engine: Engine, witnesses: list[ChainHead]) -> None:
    with as_attacker(store_engine) as conn:
        for old, new in ((6, -1), (7, 6), (-1, 7)):
            conn.execute(update(t).where(t.c.stream_id == STREAM, t.c.seq == old).values(seq=new))
    assert findings(store_engine, witnesses) == [
        f"{STREAM} #6: reordered: the event stored as #6 was written as #7",
        f"{STREAM} #7: reordered: the event stored as #7 was written as #6",
        f"{STREAM} #8: broken link: its previous hash is not the hash of the event before it",
        f"{STREAM} #6: rewritten: the chain at #6 differs from the head the workflow recorded; "
        "an event in #5–#6 was altered and the chain recomputed"]


def test_truncated_tail(store_engine: Engine, witnesses: list[ChainHead]) -> None:
    last = witnesses[-1].seq
    with as_attacker(store_engine) as conn:
        conn.execute(delete(t).where(t.c.stream_id == STREAM, t.c.seq > last - 3))
    assert findings(store_engine, witnesses) == [
        f"{STREAM} #{last - 2}: truncated: the log ends at #{last - 3} but the workflow recorded events "
        f"up to #{last}"]


def test_inserted_event(store_engine: Engine, witnesses: list[ChainHead]) -> None:
    records = AuditLog(store_engine).read(STREAM)
    forged: AuditRecord = chained(records[-1].model_copy(update={
        "seq": records[-1].seq + 1, "event_id": "forged", "justification": "backdated"}), records[-1].hash)
    with as_attacker(store_engine) as conn:
        conn.execute(insert(t).values(**forged.model_dump(exclude={"position"})))
    seq = forged.seq
    assert findings(store_engine, witnesses) == [
        f"{STREAM} #{seq}: inserted: events #{seq}–#{seq} are in the log but the workflow never appended "
        f"them (its last head is #{seq - 1})"]


def test_event_inserted_mid_stream_and_the_rest_renumbered(store_engine: Engine, witnesses: list[ChainHead]) -> None:
    records = AuditLog(store_engine).read(STREAM)
    last = records[-1].seq
    forged = chained(records[3].model_copy(update={"event_id": "forged", "justification": "backdated"}),
                     records[3].prev_hash)
    with as_attacker(store_engine) as conn:
        for seq in range(last, 3, -1):
            conn.execute(update(t).where(t.c.stream_id == STREAM, t.c.seq == seq).values(seq=seq + 1))
        conn.execute(insert(t).values(**forged.model_dump(exclude={"position"})))
    assert findings(store_engine, witnesses) == [
        f"{STREAM} #5: renumbered: events #5–#{last + 1} were written as #4–#{last}; an event was inserted at #4",
        f"{STREAM} #4: rewritten: the chain at #4 differs from the head the workflow recorded; "
        "an event in #3–#4 was altered and the chain recomputed",
        f"{STREAM} #{last + 1}: inserted: events #{last + 1}–#{last + 1} are in the log but the workflow never "
        f"appended them (its last head is #{last})"]


def test_event_deleted_mid_stream_and_the_rest_renumbered(store_engine: Engine, witnesses: list[ChainHead]) -> None:
    last = witnesses[-1].seq
    with as_attacker(store_engine) as conn:
        conn.execute(delete(t).where(t.c.stream_id == STREAM, t.c.seq == 4))
        for seq in range(5, last + 1):
            conn.execute(update(t).where(t.c.stream_id == STREAM, t.c.seq == seq).values(seq=seq - 1))
    assert findings(store_engine, witnesses) == [
        f"{STREAM} #4: renumbered: events #4–#{last - 1} were written as #5–#{last}; "
        "an event originally at #4 was deleted and the rest renumbered",
        f"{STREAM} #4: rewritten: the chain at #4 differs from the head the workflow recorded; "
        "an event in #3–#4 was altered and the chain recomputed",
        f"{STREAM} #{last}: truncated: the log ends at #{last - 1} but the workflow recorded events up to #{last}"]
