"""The append-only, hash-chained audit log: one stream per operation."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, Row, func, select, text

from domain.audit import AuditRecord, ChainHead, chained
from store.db import as_utc, gc_paused, write_transaction
from store.tables import audit_events as t

_FIELDS = ("stream_id", "seq", "event_id", "type", "payload", "actor_id", "actor_role",
           "member_state", "justification", "occurred_at", "prev_hash", "hash", "position")


class ChainConflict(Exception):
    """The stream's head is not the one the writer expected, or an event id is reused elsewhere."""


def _describe(head: ChainHead) -> str:
    return f"#{head.seq} {head.hash[:12]}…"


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
        """Chain and store records at the end of the stream, atomically and idempotently."""
        with write_transaction(self.engine) as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:stream, 0))"),
                             {"stream": stream_id})
            head = self._head(conn, stream_id)
            if not records:
                return head
            event_ids = [r.event_id for r in records]
            stored = conn.execute(select(t.c.stream_id, t.c.seq, t.c.hash)
                                  .where(t.c.event_id.in_(event_ids))
                                  .order_by(t.c.seq)).all()
            if stored:
                streams = {s.stream_id for s in stored}
                if len(stored) != len(set(event_ids)) or streams != {stream_id}:
                    raise ChainConflict(
                        f"stream {stream_id}: {len(stored)} of {len(event_ids)} event ids are "
                        "already stored, not all of them in this stream")
                return ChainHead(seq=stored[-1].seq, hash=stored[-1].hash)
            if expected_head is not None and expected_head != head:
                raise ChainConflict(f"stream {stream_id}: expected head {_describe(expected_head)} "
                                    f"but the head is {_describe(head)}")
            rows = []
            for record in records:
                unchained = record.model_copy(update={"stream_id": stream_id,
                                                      "seq": head.seq + 1})
                link = chained(unchained, head.hash)
                head = ChainHead(seq=link.seq, hash=link.hash)
                rows.append({**link.model_dump(exclude={"position"}),
                             "occurred_at": as_utc(link.occurred_at)})
            conn.execute(t.insert(), rows)
            return head

    @staticmethod
    def _head(conn: Connection, stream_id: str) -> ChainHead:
        row = conn.execute(select(t.c.seq, t.c.hash).where(t.c.stream_id == stream_id)
                           .order_by(t.c.seq.desc()).limit(1)).first()
        return ChainHead(seq=row.seq, hash=row.hash) if row else ChainHead()

    def head(self, stream_id: str) -> ChainHead:
        with self.engine.connect() as conn:
            return self._head(conn, stream_id)

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
