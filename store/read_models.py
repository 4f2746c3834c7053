"""Reads of the read models store/projections.py writes: each list is one indexed table, or one join.

Rows say what the log says; who may read which row, and what of it, is the services' business.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine, Row, Select, select

from domain.model import Phase
from domain.reference import canonical_code
from services.views import OpenHitView, OperationSummary, PendingTaskView
from store.tables import open_hits, operation_participants, operation_summaries, pending_tasks
from store.tables import projection_streams as streams


def _views(model: type[BaseModel], rows: Sequence[Row[Any]]) -> list[Any]:
    if not rows:
        return []
    keys = list(rows[0]._fields)  # plain dicts: a row's mapping view is slow to validate from
    return [model.model_validate(dict(zip(keys, row, strict=True))) for row in rows]


class ReadModels:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _rows(self, query: Select[Any]) -> Sequence[Row[Any]]:
        with self.engine.connect() as conn:
            return conn.execute(query).all()

    def summaries(self, phase: Phase | str | None = None, member_state: str | None = None,
                  min_priority: float | None = None, parked: bool | None = None,
                  participant: str | None = None) -> list[OperationSummary]:
        """Operations, highest priority first. member_state: those it leads or takes part in as a member
        state; participant: those it takes part in in any way, an invited partner's included."""
        s = operation_summaries
        query = select(s)
        if phase is not None:
            query = query.where(s.c.phase == Phase(phase).value)
        if min_priority is not None:
            query = query.where(s.c.priority >= min_priority)
        if parked is not None:
            query = query.where(s.c.parked == parked)
        for code, roles in ((member_state, ("lead", "member")), (participant, ("lead", "member", "partner"))):
            if code is not None:
                p = operation_participants.alias()
                query = query.join(p, p.c.operation_id == s.c.operation_id).where(
                    p.c.member_state == canonical_code(code), p.c.role.in_(roles))
        query = query.order_by(s.c.priority.desc().nulls_last(), s.c.operation_id)
        return _views(OperationSummary, self._rows(query))

    def summary(self, operation_id: str) -> OperationSummary | None:
        rows = self._rows(select(operation_summaries).where(operation_summaries.c.operation_id == operation_id))
        return _views(OperationSummary, rows)[0] if rows else None

    def pending_tasks(self, member_state: str | None = None, operation_id: str | None = None) -> list[PendingTaskView]:
        """Tasks awaiting approval in live operations, soonest due first."""
        t = pending_tasks
        query = select(t).order_by(t.c.due, t.c.operation_id, t.c.task_id)
        if member_state is not None:
            query = query.where(t.c.member_state == canonical_code(member_state))
        if operation_id is not None:
            query = query.where(t.c.operation_id == operation_id)
        return _views(PendingTaskView, self._rows(query))

    def open_hits(self, member_state: str | None = None, operation_id: str | None = None) -> list[OpenHitView]:
        """Unresolved hits of live operations (of those involving member_state on our side)."""
        h = open_hits
        query = select(h).order_by(h.c.operation_id, h.c.hit_id, h.c.member_state)
        if member_state is not None:
            query = query.where(h.c.member_state == canonical_code(member_state))
        if operation_id is not None:
            query = query.where(h.c.operation_id == operation_id)
        # a hit has a row per state of ours it involves: each is shown once
        once: dict[tuple[str, str], Row[Any]] = {}
        for row in self._rows(query):
            once.setdefault((row.operation_id, row.hit_id), row)
        return _views(OpenHitView, list(once.values()))

    def projected_seq(self, stream_id: str) -> int:
        """The last sequence number of the stream the read models show (0: none yet)."""
        with self.engine.connect() as conn:
            seq = conn.scalar(select(streams.c.seq).where(streams.c.stream_id == stream_id))
        return seq or 0
