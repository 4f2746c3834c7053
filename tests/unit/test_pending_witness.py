"""An append the store holds but whose completion Temporal has not recorded yet is not a finding; a
record no append carried is."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.audit import AuditRecord, ChainHead, extend_chain
from domain.verification import verify_stream


def _records(n: int) -> list[AuditRecord]:
    return extend_chain(ChainHead(), [AuditRecord(
        stream_id="op-1", seq=0, event_id=f"e{i}", type="TargetAdded", payload={"n": i}, actor_id="lo-bg",
        actor_role="liaison_officer", member_state="BG", justification="", occurred_at=datetime(2026, 1, 1, tzinfo=UTC))
        for i in range(n)])


def test_a_stored_append_still_under_way_is_not_inserted() -> None:
    records = _records(3)
    witnessed = [ChainHead(seq=r.seq, hash=r.hash) for r in records[:2]]
    pending = [ChainHead(seq=records[2].seq, hash=records[2].hash)]
    assert verify_stream("op-1", records, witnessed, pending=pending) == []
    findings = verify_stream("op-1", records, witnessed)
    assert [f.problem.split(":")[0] for f in findings] == ["inserted"]
    other = [ChainHead(seq=3, hash="f" * 64)]  # under way, but not this record
    assert [f.problem.split(":")[0] for f in verify_stream("op-1", records, witnessed, pending=other)] == ["inserted"]
