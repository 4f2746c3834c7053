"""Appends of records the workflow chained itself: stored as given, a retry succeeds, anything else is
a ChainConflict and stores nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from domain.audit import ChainHead, event_id_for, extend_chain, update_event_key
from store.audit_log import AuditLog, ChainConflict
from tests.store.test_audit_log import rec


def chain(head: ChainHead, key: str, *ns: int, stream: str = "op-1") -> list:  # type: ignore[type-arg]
    return extend_chain(head, [rec(event_id_for(stream, update_event_key(key), i), stream=stream, n=n)
                               for i, n in enumerate(ns)])


def test_a_retried_append_finds_its_own_records(store_engine: Engine) -> None:
    log = AuditLog(store_engine)
    first = chain(ChainHead(), "k1", 1, 2)
    head = log.append("op-1", first, expected_head=ChainHead())
    assert head == ChainHead(seq=2, hash=first[-1].hash)
    assert log.append("op-1", first, expected_head=ChainHead()) == head  # the activity retried
    assert [r.hash for r in log.read("op-1")] == [r.hash for r in first]
    assert len(log.records_of_command("op-1", update_event_key("k1"))) == 2


def test_a_position_holding_another_record_is_a_conflict(store_engine: Engine) -> None:
    log = AuditLog(store_engine)
    log.append("op-1", chain(ChainHead(), "k1", 1))
    # a discarded task's command and the replacement's differ: the same position, other content
    other = chain(ChainHead(), "k2", 7)
    with pytest.raises(ChainConflict, match="holds another record"):
        log.append("op-1", other, expected_head=ChainHead())
    assert log.count() == 1 and log.records_of_command("op-1", update_event_key("k2")) == []


def test_a_broken_chain_or_a_stale_head_is_refused(store_engine: Engine) -> None:
    log = AuditLog(store_engine)
    head = log.append("op-1", chain(ChainHead(), "k1", 1))
    forged = [r.model_copy(update={"justification": "changed"}) for r in chain(head, "k2", 2)]
    with pytest.raises(ChainConflict, match="not a chain"):
        log.append("op-1", forged)
    with pytest.raises(ChainConflict, match="expected head"):
        log.append("op-1", chain(ChainHead(seq=1, hash="f" * 64), "k3", 3))
    assert log.count() == 1


def test_an_unchained_retry_with_other_content_is_a_conflict(store_engine: Engine) -> None:
    log = AuditLog(store_engine)
    log.append("op-1", [rec("legacy-1", n=1)])
    with pytest.raises(ChainConflict, match="other content"):
        log.append("op-1", [rec("legacy-1", n=2)])  # the same (per-run random) id for another command
    assert log.count() == 1
