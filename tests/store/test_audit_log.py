from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine

from domain.audit import GENESIS_HASH, AuditRecord, ChainHead, verify_chain
from store.audit_log import AuditLog, ChainConflict

T0 = datetime(2025, 3, 1, 8, 30, 15, 123456, tzinfo=UTC)


def rec(event_id: str, stream: str = "op-1", n: int = 0) -> AuditRecord:
    return AuditRecord(
        stream_id=stream, seq=0, event_id=event_id, type="TargetAdded",
        payload={"target": {"name": "Иван Петров", "n": n}, "tags": ["a", "b"]},
        actor_id="lo-bg-1", actor_role="liaison_officer", member_state="BG",
        justification="new lead", occurred_at=T0 + timedelta(seconds=n))


def test_append_is_idempotent(store_engine: Engine) -> None:
    log = AuditLog(store_engine)
    batch = [rec("e1", n=1), rec("e2", n=2)]
    first = log.append("op-1", batch)
    again = log.append("op-1", batch, expected_head=ChainHead(seq=99, hash="f" * 64))
    assert first == again and first.seq == 2
    assert log.count() == 2
    assert log.append("op-1", batch[:1]) == ChainHead(seq=1, hash=log.read("op-1")[0].hash)
    with pytest.raises(ChainConflict):  # a stored event id reused with a new one
        log.append("op-1", [rec("e2"), rec("e3")])
    assert log.count() == 2


def test_concurrent_appends_keep_the_chain_contiguous(store_engine: Engine) -> None:
    log = AuditLog(store_engine)
    errors: list[BaseException] = []

    def writer(w: int) -> None:
        try:
            for i in range(20):
                log.append("op-c", [rec(f"w{w}-{i}", stream="op-c", n=i)])
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    records = log.read("op-c")
    assert [r.seq for r in records] == list(range(1, 121))
    assert verify_chain(records, log.head("op-c")) == []


def test_expected_head_mismatch_stores_nothing(store_engine: Engine) -> None:
    log = AuditLog(store_engine)
    head = log.append("op-1", [rec("e1")], expected_head=ChainHead())
    with pytest.raises(ChainConflict, match=r"#0 .*#1"):
        log.append("op-1", [rec("e2"), rec("e3")], expected_head=ChainHead())
    assert log.count() == 1
    assert log.append("op-1", [rec("e2")], expected_head=head).seq == 2


def test_read_head_streams(store_engine: Engine) -> None:
    log = AuditLog(store_engine)
    assert log.head("op-1") == ChainHead(seq=0, hash=GENESIS_HASH)
    assert log.read("op-1") == [] and log.streams() == [] and log.count() == 0
    assert log.append("op-1", []) == ChainHead()
    odd_zone = timezone(timedelta(hours=2))
    log.append("op-2", [rec("b1", stream="ignored", n=1)])
    head = log.append("op-1", [rec("a1", n=1), rec("a2", n=2).model_copy(
        update={"seq": 42, "occurred_at": T0.astimezone(odd_zone)})])
    log.append("op-1", [rec("a3", n=3)])
    records = log.read("op-1")
    assert [r.seq for r in records] == [1, 2, 3]
    assert records[0].prev_hash == GENESIS_HASH and records[1].prev_hash == records[0].hash
    assert all(r.stream_id == "op-1" and r.position is not None for r in records)
    assert records[0].position < records[1].position < records[2].position  # type: ignore[operator]
    assert records[1].occurred_at == T0 and records[1].occurred_at.tzinfo is not None
    assert records[0].payload == rec("a1", n=1).payload
    assert verify_chain(records, log.head("op-1")) == []
    assert log.read("op-1", upto_seq=2)[-1].hash == head.hash
    assert log.streams() == ["op-1", "op-2"] and log.count() == 4
    assert log.read("op-2")[0].stream_id == "op-2"


def test_a_long_stream_reads_in_batches_exactly_as_at_once(store_engine: Engine) -> None:
    log = AuditLog(store_engine)
    log.append("op-long", [rec(f"l{n}", stream="op-long", n=n) for n in range(25)])
    log.append("op-other", [rec("o1", stream="op-other")])
    batches = list(log.read_in_batches("op-long", size=10))
    assert [len(b) for b in batches] == [10, 10, 5]
    assert [r for b in batches for r in b] == log.read("op-long")
    assert [len(b) for b in log.read_in_batches("op-long", size=25)] == [25]
    assert list(log.read_in_batches("op-none")) == []
