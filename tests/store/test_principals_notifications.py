from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from store.notifications import Notifications
from store.principals import Principal, Principals


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


def test_principals_add_get_list(store_engine: Engine) -> None:
    people = Principals(store_engine)
    anna = Principal(id="ap-de-1", display_name="Anna", role="approver", member_state="DE")
    coord = Principal(id="co-1", display_name="Chris", role="coordinator", member_state=None)
    people.add(anna)
    people.add(coord)
    people.add(anna)  # identical: no-op
    assert people.get("ap-de-1") == anna and people.get("nobody") is None
    assert people.list() == [anna, coord]
    with pytest.raises(ValueError, match="already exists"):
        people.add(anna.model_copy(update={"member_state": "FR"}))
    assert people.get("ap-de-1") == anna
