"""Read models projected from the audit log, one stream at a time and by the stream's own sequence.

Each stream's progress is its last projected sequence number and the OperationState folded up to it
(``projection_streams``). Catching a stream up evolves that state by the events past it, in sequence
order, and rewrites the stream's rows from the new state, all in one transaction: the rows are a
function of the events up to the recorded sequence, so a projector that crashes leaves the previous
rows, one that runs twice writes the same rows, and ``rebuild`` (empty, then catch up) equals what
was built incrementally. Progress is tracked per stream, never as a global position watermark: an
append commits its events in one transaction, but appends of different streams can commit in
another order than their global positions, and a watermark would skip the one committed late.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import structlog
from pydantic import ValidationError
from sqlalchemy import Connection, Delete, Engine, Table, bindparam, delete, func, insert, select, text, update

from domain import events as ev
from domain.audit import AuditRecord, event_of
from domain.model import DeconflictionHit, Task
from domain.state import OperationState, evolve
from domain.utc import as_utc
from store.audit_log import RECORD_COLUMNS, record_from_row
from store.db import gc_paused, write_transaction
from store.tables import audit_events, open_hits, operation_participants, operation_summaries, pending_tasks
from store.tables import projection_streams as streams

log = structlog.get_logger(__name__)

# Written in this order and emptied in this order everywhere, so concurrent writers lock rows alike.
READ_MODEL_TABLES: tuple[Table, ...] = (streams, operation_summaries, operation_participants, pending_tasks,
                                        open_hits)


@dataclass
class StreamProgress:
    """How far a stream is projected: its sequence number and the state folded up to it."""

    seq: int = 0
    state: OperationState = field(default_factory=OperationState)
    hits_raised_at: dict[str, datetime] = field(default_factory=dict)

    def advance(self, record: AuditRecord) -> None:
        event = event_of(record)
        self.state = evolve(self.state, event)
        if isinstance(event, ev.DeconflictionHitRaised):
            self.hits_raised_at[event.hit.hit_id] = as_utc(event.at)
        self.seq = record.seq


# --- rows: pure functions of a stream's progress --------------------------------------------------

def _utc(moment: datetime | None) -> datetime | None:
    """UTC before it is stored: SQLite keeps a time's wall clock and drops its offset."""
    return as_utc(moment) if moment is not None else None


def is_live(state: OperationState) -> bool:
    return state.phase is not None and not state.phase.is_terminal


def live_pending(state: OperationState) -> list[Task]:
    """What awaits approval: nothing in an operation that has closed or been cancelled."""
    return sorted(state.pending_tasks(), key=lambda t: (t.due, t.task_id)) if is_live(state) else []


def live_open_hits(state: OperationState) -> list[DeconflictionHit]:
    return sorted(state.open_hits(), key=lambda h: h.hit_id) if is_live(state) else []


def blocked_reasons(state: OperationState) -> list[str]:
    """Why execution is held back now: what the last blocked start recorded, and every hit still open."""
    if not is_live(state):
        return []
    return list(dict.fromkeys([*state.execution_blocked_reasons, *state.hit_problems()]))


def summary_row(stream_id: str, progress: StreamProgress) -> dict[str, Any]:
    state = progress.state
    pending = live_pending(state)
    reasons = blocked_reasons(state)
    return {
        "operation_id": stream_id, "code_name": state.code_name,
        "phase": state.phase.value if state.phase else "", "lead_state": state.lead_state,
        "member_states": list(state.participating_states), "partners": list(state.partners),
        "priority": state.priority, "parked": state.parked, "blocked": bool(reasons), "blocked_reasons": reasons,
        "open_hits": len(live_open_hits(state)), "pending_tasks": len(pending),
        "escalated_tasks": sum(t.escalated for t in pending),
        "earliest_due": _utc(min((t.due for t in pending), default=None)),
        "opened_at": _utc(state.opened_at), "last_event_at": _utc(state.last_event_at),
        "handling_code": state.handling_code.value, "version": state.version,
    }


def participant_rows(stream_id: str, progress: StreamProgress) -> list[dict[str, Any]]:
    state = progress.state
    roles: dict[str, str] = {}
    for code, role in ((state.lead_state, "lead"), *((c, "member") for c in state.participating_states),
                       *((c, "partner") for c in state.partners)):
        if code:
            roles.setdefault(code, role)
    return [{"operation_id": stream_id, "member_state": code, "role": role} for code, role in roles.items()]


def pending_task_rows(stream_id: str, progress: StreamProgress) -> list[dict[str, Any]]:
    state = progress.state
    return [{"operation_id": stream_id, "task_id": t.task_id, "code_name": state.code_name,
             "phase": state.phase.value if state.phase else "", "member_state": t.member_state,
             "kind": t.kind.value, "description": t.description, "due": as_utc(t.due), "four_eyes": t.four_eyes,
             "approvals": list(t.approvals), "approvals_needed": t.approvals_needed, "reminded": t.reminded,
             "escalated": t.escalated, "item_id": t.item_id, "release_to": t.release_to}
            for t in live_pending(state)]


def open_hit_rows(stream_id: str, progress: StreamProgress) -> list[dict[str, Any]]:
    state = progress.state
    rows = []
    for hit in live_open_hits(state):
        ours = list(dict.fromkeys(state.our_states_in(hit)))
        common = {"operation_id": stream_id, "hit_id": hit.hit_id, "code_name": state.code_name,
                  "our_states": ours, "kind": hit.kind, "matched": hit.matched, "own_ref": hit.own_ref,
                  "own_ref_handling_code": state.handling_code_of(hit.own_ref).value,
                  "other_state": hit.other_state, "other_contact": hit.other_contact,
                  "other_handling_code": hit.other_handling_code.value,
                  "raised_at": progress.hits_raised_at.get(hit.hit_id)}
        rows += [{**common, "member_state": code} for code in ours]
    return rows


# --- the projector ----------------------------------------------------------------------------------

def _lock_stream(conn: Connection, stream_id: str) -> None:
    """Two projectors of one stream take turns (SQLite: the write transaction already serialises them).
    Its own key space, so projecting never waits for the stream's appends (store/audit_log.py)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                     {"key": f"projection:{stream_id}"})


_SELECT_PROGRESS = select(streams.c.seq, streams.c.state, streams.c.hits_raised_at).where(
    streams.c.stream_id == bindparam("stream"))
_NEW_RECORDS = (select(*RECORD_COLUMNS)
                .where(audit_events.c.stream_id == bindparam("stream"), audit_events.c.seq > bindparam("after"))
                .order_by(audit_events.c.seq))
# The stream's row moves on only from the sequence it was read at: a row a rebuild removed meanwhile
# updates nothing, and the stream is then written afresh.
_ADVANCE = (update(streams).where(streams.c.stream_id == bindparam("stream"), streams.c.seq == bindparam("was"))
            .values(seq=bindparam("seq"), state=bindparam("state"), hits_raised_at=bindparam("raised")))
_INSERT_PROGRESS = insert(streams).values(stream_id=bindparam("stream"), seq=bindparam("seq"),
                                          state=bindparam("state"), hits_raised_at=bindparam("raised"))
RowsOf = Callable[[str, StreamProgress], list[dict[str, Any]]]


def _rows_of(table: Table) -> RowsOf:
    # looked up when called, so that a test can make one of them fail half-way through a write
    return {operation_summaries: lambda s, p: [summary_row(s, p)],
            operation_participants: participant_rows, pending_tasks: pending_task_rows,
            open_hits: open_hit_rows}[table]


def _deleting(table: Table) -> Delete:
    key = table.c.stream_id if table is streams else table.c.operation_id
    return delete(table).where(key == bindparam("stream"))


_DELETE = {table: _deleting(table) for table in READ_MODEL_TABLES}


def _load(conn: Connection, stream_id: str) -> StreamProgress:
    row = conn.execute(_SELECT_PROGRESS, {"stream": stream_id}).first()
    if row is None:
        return StreamProgress()
    try:
        state = OperationState.model_validate(row.state)
    except ValidationError as error:  # stored by an earlier shape of the state: fold the stream again
        log.warning("projection_state_refolded", stream_id=stream_id, error=str(error).splitlines()[0])
        return StreamProgress()
    raised = {hit_id: as_utc(datetime.fromisoformat(at)) for hit_id, at in row.hits_raised_at.items()}
    return StreamProgress(seq=row.seq, state=state, hits_raised_at=raised)


def _new_records(conn: Connection, stream_id: str, after: int) -> list[AuditRecord]:
    with gc_paused():
        return [record_from_row(row) for row in conn.execute(_NEW_RECORDS, {"stream": stream_id, "after": after})]


def _write(conn: Connection, stream_id: str, before: StreamProgress, after: StreamProgress) -> None:
    """Make the stream's rows those of its new state, rewriting only the tables whose rows changed."""
    values = {"stream": stream_id, "was": before.seq, "seq": after.seq, "state": after.state.model_dump(mode="json"),
              "raised": {hit_id: at.isoformat() for hit_id, at in after.hits_raised_at.items()}}
    fresh = before.seq == 0 or conn.execute(_ADVANCE, values).rowcount != 1
    if fresh:  # no row yet, or it went: whatever rows the stream still has are rewritten
        conn.execute(_DELETE[streams], values)
        conn.execute(_INSERT_PROGRESS, values)
    for table in READ_MODEL_TABLES[1:]:
        rows_of = _rows_of(table)
        rows = rows_of(stream_id, after)
        if not fresh and rows == rows_of(stream_id, before):
            continue
        conn.execute(_DELETE[table], values)
        if rows:
            conn.execute(insert(table), rows)


class Projector:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def catch_up(self, stream_id: str) -> int:
        """Project the stream's events past its projected sequence, in order, stopping at a gap (a later
        catch-up takes it from there); returns how many were projected."""
        with write_transaction(self.engine) as conn:
            _lock_stream(conn, stream_id)
            before = _load(conn, stream_id)
            progress = replace(before, hits_raised_at=dict(before.hits_raised_at))
            for record in _new_records(conn, stream_id, before.seq):
                if record.seq != progress.seq + 1:
                    log.warning("projection_gap", stream_id=stream_id, expected=progress.seq + 1, found=record.seq)
                    break
                progress.advance(record)
            if progress.seq > before.seq:
                _write(conn, stream_id, before, progress)
            return progress.seq - before.seq

    def behind(self) -> list[str]:
        """Streams whose audit head is past their projected sequence number."""
        heads = (select(audit_events.c.stream_id, func.max(audit_events.c.seq).label("head"))
                 .where(~audit_events.c.stream_id.startswith("@"))  # the log's own streams: no operation
                 .group_by(audit_events.c.stream_id).subquery())
        query = (select(heads.c.stream_id).outerjoin(streams, streams.c.stream_id == heads.c.stream_id)
                 .where(heads.c.head > func.coalesce(streams.c.seq, 0)).order_by(heads.c.stream_id))
        with self.engine.connect() as conn:
            return list(conn.scalars(query))

    def catch_up_all(self) -> int:
        """Catch up every stream that is behind; one stream that fails is logged and the others go on."""
        projected = 0
        for stream_id in self.behind():
            try:
                projected += self.catch_up(stream_id)
            except Exception as error:  # the next catch-up retries it; the rest must not wait for it
                log.error("projection_failed", stream_id=stream_id, error=str(error), exc_info=True)
        return projected

    def rebuild(self) -> int:
        """Empty the read models and project the whole log again."""
        with write_transaction(self.engine) as conn:
            for table in READ_MODEL_TABLES:
                conn.execute(delete(table))
        projected = self.catch_up_all()
        log.info("projections_rebuilt", events=projected)
        return projected
