from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine

import store.checkpoints
from domain.audit import AuditRecord, verify_chain
from domain.merkle import (
    EMPTY_ROOT,
    audit_leaf,
    consistency_proof,
    inclusion_proof,
    root,
    verify_consistency,
    verify_inclusion,
)
from domain.signing import sign_checkpoint, verify_checkpoint
from gateway.checkpoints import generate_key
from store.audit_log import AuditLog
from store.checkpoints import CheckpointConflict, Checkpoints, global_leaves, iter_global_records, make_checkpoint

T0 = datetime(2030, 3, 1, 8, 30, 15, 123456, tzinfo=UTC)
KEY, PUBLIC = generate_key()
OTHER_KEY, OTHER_PUBLIC = generate_key()


def rec(event_id: str, n: int = 0) -> AuditRecord:
    return AuditRecord(
        stream_id="", seq=0, event_id=event_id, type="target_added",
        payload={"target": {"name": "Иван Петров", "n": n}}, actor_id="lo-bg-1",
        actor_role="liaison_officer", member_state="BG", justification="new lead",
        occurred_at=T0 + timedelta(seconds=n))


def fill(log: AuditLog, count: int, start: int = 0) -> None:
    """count events spread over three interleaved streams."""
    for n in range(start, start + count):
        log.append(f"op-{n % 3}", [rec(f"e{n}", n)])


def test_add_is_idempotent_and_refuses_a_split_view(store_engine: Engine) -> None:
    checkpoints = Checkpoints(store_engine)
    assert checkpoints.latest() is None and checkpoints.all() == []
    first = sign_checkpoint(KEY, 0, EMPTY_ROOT, T0)
    assert checkpoints.add(first) is True
    assert checkpoints.add(first) is False
    assert checkpoints.all() == [first]
    forked = sign_checkpoint(KEY, 0, b"\x01" * 32, T0)
    with pytest.raises(CheckpointConflict, match="already signed size 0"):
        checkpoints.add(forked)
    later = sign_checkpoint(KEY, 0, EMPTY_ROOT, T0 + timedelta(hours=1))  # the log has not grown
    assert checkpoints.add(later) is False
    assert checkpoints.all() == [first]  # the first one is kept
    assert checkpoints.add(sign_checkpoint(OTHER_KEY, 0, EMPTY_ROOT, T0)) is True  # another key: a witness
    assert len(checkpoints.all()) == 2


def test_latest_and_all_keep_times_and_order(store_engine: Engine) -> None:
    checkpoints = Checkpoints(store_engine)
    odd_zone = timezone(timedelta(hours=-5))
    made = [sign_checkpoint(KEY, size, bytes([size]) * 32, (T0 + timedelta(minutes=size)).astimezone(odd_zone))
            for size in (5, 1, 3)]
    witness = sign_checkpoint(OTHER_KEY, 4, b"\x04" * 32, T0)
    for checkpoint in [*made, witness]:
        assert checkpoints.add(checkpoint)
    stored = checkpoints.all()
    assert [c.log_size for c in stored] == [1, 3, 4, 5]
    assert all(verify_checkpoint(PUBLIC, c) for c in stored if c.key_id == made[0].key_id)
    latest = checkpoints.latest()
    assert latest == made[0] and latest is not None and latest.issued_at == T0 + timedelta(minutes=5)
    assert latest.issued_at.tzinfo is UTC
    assert checkpoints.latest(key_id=witness.key_id) == witness
    assert checkpoints.latest(key_id="0" * 16) is None


def test_global_leaves_follow_positions_across_streams(store_engine: Engine,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store.checkpoints, "_BATCH", 4)  # exercise the keyset pagination
    log = AuditLog(store_engine)
    assert global_leaves(store_engine) == []
    fill(log, 11)
    records = list(iter_global_records(store_engine))
    assert [r.event_id for r in records] == [f"e{n}" for n in range(11)]
    positions = [r.position or 0 for r in records]
    assert positions == sorted(positions) and positions[0] > 0
    for stream in ("op-0", "op-1", "op-2"):
        assert verify_chain([r for r in records if r.stream_id == stream], log.head(stream)) == []
    leaves = global_leaves(store_engine)
    assert leaves == [audit_leaf(r) for r in records]
    assert global_leaves(store_engine, upto_position=positions[7]) == leaves[:8]
    assert global_leaves(store_engine, upto_position=positions[0] - 1) == []
    assert leaves == [audit_leaf(r) for r in sorted(
        (r for s in ("op-0", "op-1", "op-2") for r in log.read(s)), key=lambda r: r.position or 0)]


def test_checkpoints_over_a_growing_log_prove_inclusion_and_consistency(store_engine: Engine) -> None:
    log, checkpoints = AuditLog(store_engine), Checkpoints(store_engine)
    fill(log, 7)
    old = make_checkpoint(store_engine, KEY, T0)
    assert old.log_size == 7 and verify_checkpoint(PUBLIC, old) and checkpoints.add(old)
    fill(log, 6, start=7)
    new = make_checkpoint(store_engine, KEY, T0 + timedelta(hours=1))
    assert new.log_size == 13 and checkpoints.add(new)
    assert checkpoints.latest() == new
    leaves = global_leaves(store_engine)
    assert root(leaves) == new.root and root(leaves[:7]) == old.root
    assert verify_consistency(7, 13, old.root, new.root, consistency_proof(7, leaves))
    for index, record in enumerate(iter_global_records(store_engine)):
        assert verify_inclusion(index, 13, audit_leaf(record), inclusion_proof(index, leaves), new.root)
    positions = [r.position or 0 for r in iter_global_records(store_engine)]
    partial = make_checkpoint(store_engine, KEY, T0, upto_position=positions[6])
    assert (partial.log_size, partial.root_hex) == (old.log_size, old.root_hex)
