"""The append-only, hash-chained audit log: one stream per operation."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, Row, func, select, text
from sqlalchemy.exc import IntegrityError

from domain.audit import MAX_EVENTS_PER_COMMAND, AuditRecord, ChainHead, chain_hash, event_id_for, extend_chain
from domain.utc import as_utc
from store.db import gc_paused, write_transaction
from store.tables import audit_events as t

_FIELDS = ("stream_id", "seq", "event_id", "type", "payload", "actor_id", "actor_role",
           "member_state", "justification", "occurred_at", "prev_hash", "hash", "position")


class ChainConflict(Exception):
    """The stream's head is not the one the writer expected, or an event id is reused elsewhere."""


def _describe(head: ChainHead) -> str:
    return f"#{head.seq} {head.hash[:12]}…"


def _require_chain(stream_id: str, records: Sequence[AuditRecord]) -> None:
    """Chained records must be one contiguous, correctly hashed piece of this stream."""
    prev_hash, seq = records[0].prev_hash, records[0].seq
    for record in records:
        if record.stream_id != stream_id or record.seq != seq or record.prev_hash != prev_hash \
                or chain_hash(record.prev_hash, record) != record.hash:
            raise ChainConflict(f"stream {stream_id}: the records to append are not a chain at #{record.seq}")
        prev_hash, seq = record.hash, seq + 1


def _disagreement(stream_id: str, ours: AuditRecord, stored: Any) -> str:
    if stored is None:
        return f"stream {stream_id}: #{ours.seq} is missing although the stream's head is past it"
    return (f"stream {stream_id} #{ours.seq} holds another record ({stored.type}, hash {stored.hash[:12]}…) "
            f"than the workflow decided ({ours.type}, hash {ours.hash[:12]}…); nothing was written")


RECORD_COLUMNS = tuple(t.c[name] for name in _FIELDS)


def record_from_row(row: Row[Any]) -> AuditRecord:
    """An AuditRecord from a row selected as ``select(*RECORD_COLUMNS)`` (positional: no mapping per row)."""
    values = dict(zip(_FIELDS, row, strict=True))
    values["occurred_at"] = as_utc(values["occurred_at"])
    return AuditRecord(**values)


class AuditLog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def append(self, stream_id: str, records: Sequence[AuditRecord],
               expected_head: ChainHead | None = None) -> ChainHead:
        """Store records at the end of the stream, atomically and idempotently.

        Records the workflow already chained (the workflow numbers and hashes what it decided) are
        checked and stored as they are; a retry of an append that landed finds its own records and
        succeeds, while a position that holds any other record is a ChainConflict, never a success.
        Unchained records (workflows recorded before the workflow chained, tests) are chained here.
        """
        with write_transaction(self.engine) as conn:
            return self.append_within(conn, stream_id, records, expected_head)

    def append_within(self, conn: Connection, stream_id: str, records: Sequence[AuditRecord],
                      expected_head: ChainHead | None = None) -> ChainHead:
        """`append` inside the caller's write transaction, so a change and its audit record commit together."""
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:stream, 0))"),
                         {"stream": stream_id})
        head = self._head(conn, stream_id)
        if not records:
            return head
        if all(r.hash for r in records):
            return self._store_chained(conn, stream_id, records, head)
        return self._store_unchained(conn, stream_id, records, head, expected_head)

    def _store_chained(self, conn: Connection, stream_id: str, records: Sequence[AuditRecord],
                       head: ChainHead) -> ChainHead:
        _require_chain(stream_id, records)
        first, last = records[0], records[-1]
        if head.seq >= first.seq:  # a retry of an append that landed, or another writer's record
            stored = {row.seq: row for row in conn.execute(
                select(t.c.seq, t.c.event_id, t.c.type, t.c.hash)
                .where(t.c.stream_id == stream_id, t.c.seq >= first.seq, t.c.seq <= last.seq))}
            for record in records:
                row = stored.get(record.seq)
                if row is None or row.hash != record.hash or row.event_id != record.event_id:
                    raise ChainConflict(_disagreement(stream_id, record, row))
            return ChainHead(seq=last.seq, hash=last.hash)
        start = ChainHead(seq=first.seq - 1, hash=first.prev_hash)
        if start != head:
            raise ChainConflict(f"stream {stream_id}: expected head {_describe(start)} "
                                f"but the head is {_describe(head)}")
        self._insert(conn, stream_id, records)
        return ChainHead(seq=last.seq, hash=last.hash)

    def _store_unchained(self, conn: Connection, stream_id: str, records: Sequence[AuditRecord],
                         head: ChainHead, expected_head: ChainHead | None) -> ChainHead:
        event_ids = [r.event_id for r in records]
        stored = conn.execute(select(*RECORD_COLUMNS).where(t.c.event_id.in_(event_ids))
                              .order_by(t.c.seq)).all()
        if stored:
            return self._already_stored(stream_id, records, [record_from_row(row) for row in stored])
        if expected_head is not None and expected_head != head:
            raise ChainConflict(f"stream {stream_id}: expected head {_describe(expected_head)} "
                                f"but the head is {_describe(head)}")
        chain = extend_chain(head, [r.model_copy(update={"stream_id": stream_id}) for r in records])
        self._insert(conn, stream_id, chain)
        return ChainHead(seq=chain[-1].seq, hash=chain[-1].hash)

    @staticmethod
    def _already_stored(stream_id: str, records: Sequence[AuditRecord],
                        stored: list[AuditRecord]) -> ChainHead:
        """A retried append: every id stored, each with this very content; anything else is loud."""
        by_id = {r.event_id: r for r in stored}
        if len(stored) != len({r.event_id for r in records}) or {r.stream_id for r in stored} != {stream_id}:
            raise ChainConflict(f"stream {stream_id}: {len(stored)} of {len(records)} event ids are "
                                "already stored, not all of them in this stream")
        for record in records:
            kept = by_id[record.event_id]
            ours = record.model_copy(update={"stream_id": stream_id, "seq": kept.seq})
            if chain_hash(kept.prev_hash, ours) != kept.hash:
                raise ChainConflict(f"stream {stream_id} #{kept.seq}: event id {record.event_id} is stored "
                                    f"with other content ({kept.type}) than this append's ({record.type})")
        return ChainHead(seq=stored[-1].seq, hash=stored[-1].hash)

    @staticmethod
    def _insert(conn: Connection, stream_id: str, chain: Sequence[AuditRecord]) -> None:
        rows = [{**link.model_dump(exclude={"position"}), "stream_id": stream_id,
                 "occurred_at": as_utc(link.occurred_at)} for link in chain]
        try:
            conn.execute(t.insert(), rows)
        except IntegrityError as error:  # an event id already used in another stream or position
            raise ChainConflict(f"stream {stream_id}: an event id of this append is already stored "
                                f"elsewhere ({error.orig})") from None

    @staticmethod
    def _head(conn: Connection, stream_id: str) -> ChainHead:
        row = conn.execute(select(t.c.seq, t.c.hash).where(t.c.stream_id == stream_id)
                           .order_by(t.c.seq.desc()).limit(1)).first()
        return ChainHead(seq=row.seq, hash=row.hash) if row else ChainHead()

    def head(self, stream_id: str) -> ChainHead:
        with self.engine.connect() as conn:
            return self._head(conn, stream_id)

    def records_of_command(self, stream_id: str, command_key: str, count: int = MAX_EVENTS_PER_COMMAND
                           ) -> list[AuditRecord]:
        """The events a command (by its idempotency key) was recorded with: empty if it never was. With
        count, only its first count events (a command that is known to have decided so many)."""
        ids = [event_id_for(stream_id, command_key, i) for i in range(min(count, MAX_EVENTS_PER_COMMAND))]
        query = select(*RECORD_COLUMNS).where(t.c.stream_id == stream_id, t.c.event_id.in_(ids)).order_by(t.c.seq)
        with self.engine.connect() as conn:
            return [record_from_row(row) for row in conn.execute(query)]

    def read_after(self, stream_id: str, head: ChainHead) -> list[AuditRecord]:
        """The records after head, which must be stored as it is (else the tail is another chain's)."""
        records = [r for r in self.read(stream_id) if r.seq >= head.seq]
        if head.seq and (not records or records[0].hash != head.hash):
            raise ChainConflict(f"stream {stream_id}: #{head.seq} is not stored with hash {head.hash[:12]}…")
        tail = [r for r in records if r.seq > head.seq]
        if tail:
            if tail[0].prev_hash != head.hash:
                raise ChainConflict(f"stream {stream_id}: #{tail[0].seq} does not follow #{head.seq}")
            _require_chain(stream_id, tail)
        return tail

    def read(self, stream_id: str, upto_seq: int | None = None) -> list[AuditRecord]:
        query = select(*RECORD_COLUMNS).where(t.c.stream_id == stream_id).order_by(t.c.seq)
        if upto_seq is not None:
            query = query.where(t.c.seq <= upto_seq)
        with self.engine.connect() as conn, gc_paused():
            return [record_from_row(row) for row in conn.execute(query)]

    def read_in_batches(self, stream_id: str, size: int = 10_000) -> Iterator[list[AuditRecord]]:
        """The stream in order, a batch at a time (keyset on seq), so long logs can show progress."""
        after = 0
        with self.engine.connect() as conn:
            while True:
                with gc_paused():
                    rows = conn.execute(select(*RECORD_COLUMNS).where(t.c.stream_id == stream_id, t.c.seq > after)
                                        .order_by(t.c.seq).limit(size)).all()
                    batch = [record_from_row(row) for row in rows]
                if batch:
                    yield batch
                if len(rows) < size:
                    return
                after = rows[-1].seq

    def streams(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.scalars(select(t.c.stream_id).distinct().order_by(t.c.stream_id)))

    def count(self) -> int:
        with self.engine.connect() as conn:
            return conn.scalar(select(func.count()).select_from(t)) or 0
