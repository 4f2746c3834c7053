"""On PostgreSQL the application's role can insert and read the audit tables but never update,
delete or truncate them: a trigger (migration 0003) refuses."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, delete, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.expression import Executable

from domain.actors import Actor, Role
from domain.audit import AuditRecord
from store.audit_log import AuditLog
from store.consultations import Consultations
from store.tables import audit_events, consultations


def _append_one(engine: Engine) -> None:
    AuditLog(engine).append("op-ao", [AuditRecord(
        stream_id="op-ao", seq=1, event_id="ao-1", type="operation_cancelled", payload={"phase": "identify"},
        actor_id="coord-1", actor_role="coordinator", member_state=None, justification="x",
        occurred_at=datetime(2026, 11, 28, tzinfo=UTC))])


@pytest.mark.parametrize("statement", ["update", "delete", "truncate"])
def test_audit_events_refuse_change_on_postgres(postgres_engine: Engine, statement: str) -> None:
    store_engine = postgres_engine
    _append_one(store_engine)
    changes: dict[str, Executable] = {"update": update(audit_events).values(justification="edited"),
                                      "delete": delete(audit_events), "truncate": text("TRUNCATE audit_events")}
    change = changes[statement]
    with pytest.raises(DBAPIError, match="audit_events is append-only"), store_engine.begin() as conn:
        conn.execute(change)
    assert AuditLog(store_engine).read("op-ao")[0].justification == "x"


def test_consultation_log_is_append_only_on_postgres(postgres_engine: Engine) -> None:
    store_engine = postgres_engine
    Consultations(store_engine).record(Actor(id="aud-1", role=Role.AUDITOR), "audit replay", "case review", "op-1")
    with pytest.raises(DBAPIError, match="consultations is append-only"), store_engine.begin() as conn:
        conn.execute(delete(consultations))
    assert len(Consultations(store_engine).search(operation_id="op-1")) == 1
