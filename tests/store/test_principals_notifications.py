from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from domain.actors import Actor, Role
from domain.audit import verify_chain
from domain.principal_events import PRINCIPAL_STREAM, PrincipalDisabled, PrincipalRegistered
from store.audit_log import AuditLog
from store.notifications import Notifications
from store.principals import Principal, Principals

ADMIN = Actor(id="admin-1", role=Role.ADMINISTRATOR)


def test_notifications_are_idempotent(store_engine: Engine) -> None:
    notes = Notifications(store_engine)
    at = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    args = ("op-1:approval:t1:BG", "op-1", "approval_requested", "approver", "BG", "please", at)
    assert notes.record(*args) is True
    assert notes.record(*args) is False
    assert notes.record("op-2:x", "op-2", "reminder", "coordinator", None, "hi", at) is True
    [stored] = notes.for_operation("op-1")
    assert stored["id"] == "op-1:approval:t1:BG" and stored["recipient_state"] == "BG"
    assert stored["created_at"] == at
    assert notes.for_operation("op-3") == []


def _registered(principal: Principal) -> PrincipalRegistered:
    return PrincipalRegistered(actor=ADMIN, at=datetime(2026, 1, 5, tzinfo=UTC), justification="new officer",
                               principal_id=principal.id, role=principal.role, member_state=principal.member_state,
                               display_name=principal.display_name)


def test_principals_add_get_list_each_change_with_its_event(store_engine: Engine) -> None:
    people = Principals(store_engine)
    anna = Principal(id="ap-de-1", display_name="Anna", role="approver", member_state="DE")
    coord = Principal(id="co-1", display_name="Chris", role="coordinator", member_state=None)
    assert people.add(_registered(anna), password_hash="hash") is True
    people.add(_registered(coord))
    assert people.add(_registered(anna)) is False  # identical: no-op, nothing recorded
    assert people.get("ap-de-1") == anna and people.get("AP-DE-1") == anna and people.get("nobody") is None
    assert people.list() == [anna, coord]
    with pytest.raises(ValueError, match="already exists"):
        people.add(_registered(anna.model_copy(update={"member_state": "FR"})))
    with pytest.raises(ValueError, match="already exists"):  # ids are unique whatever their case
        people.add(_registered(anna.model_copy(update={"id": "AP-de-1"})))
    assert people.get("ap-de-1") == anna
    people.change("ap-de-1", PrincipalDisabled(actor=ADMIN, at=datetime(2026, 2, 1, tzinfo=UTC),
                                               justification="left", principal_id="ap-de-1"),
                  disabled_at=datetime(2026, 2, 1, tzinfo=UTC))
    assert people.get("ap-de-1") == anna.model_copy(update={"disabled": True})
    stream = AuditLog(store_engine).read(PRINCIPAL_STREAM)
    assert [(r.seq, r.type, r.payload["principal_id"]) for r in stream] == [
        (1, "principal_registered", "ap-de-1"), (2, "principal_registered", "co-1"),
        (3, "principal_disabled", "ap-de-1")]
    assert not verify_chain(stream)
