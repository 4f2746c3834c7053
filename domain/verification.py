"""Audit verification: a stream's own chain, cross-checked against independent witnesses.

The workflow keeps the chain head returned by every append, so its Temporal history holds a
witness (seq, hash) for every append boundary. An attacker who edits an event and recomputes the
whole chain still cannot change those witnesses; comparing them localises the edit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from domain.audit import GENESIS_HASH, AuditRecord, ChainFinding, ChainHead, chain_hash


def _finding(stream_id: str, seq: int, kind: str, detail: str) -> ChainFinding:
    return ChainFinding(stream_id=stream_id, seq=seq, problem=f"{kind}: {detail}")


def _written_as(record: AuditRecord, candidates: Sequence[int]) -> int | None:
    """The sequence number under which this record's stored hash was computed, if another."""
    for seq in candidates:
        if seq != record.seq and chain_hash(record.prev_hash, record.model_copy(update={"seq": seq})) == record.hash:
            return seq
    return None


Progress = Callable[[int], None]
PROGRESS_EVERY = 10_000


def chain_findings(stream_id: str, records: Sequence[AuditRecord],
                   progress: Progress | None = None) -> list[ChainFinding]:
    """Gaps, duplicates, reordering, broken links and edited content within one stream;
    ``progress`` is told how many more records were checked, every PROGRESS_EVERY records."""
    findings: list[ChainFinding] = []
    seqs = [r.seq for r in records]
    expected, prev_hash = 1, GENESIS_HASH
    for checked, record in enumerate(records, start=1):
        if progress is not None and checked % PROGRESS_EVERY == 0:
            progress(PROGRESS_EVERY)
        if record.seq > expected:
            missing = f"#{expected}" if record.seq == expected + 1 else f"#{expected}–#{record.seq - 1}"
            findings.append(_finding(stream_id, expected, "deleted", f"event {missing} is missing from the log"))
        if chain_hash(record.prev_hash, record) != record.hash:
            written = _written_as(record, seqs)
            if written is not None:
                findings.append(_finding(stream_id, record.seq, "reordered",
                                         f"the event stored as #{record.seq} was written as #{written}"))
            else:
                findings.append(_finding(stream_id, record.seq, "edited",
                                         "its content no longer matches its hash"))
        elif record.prev_hash != prev_hash:
            findings.append(_finding(stream_id, record.seq, "broken link",
                                     "its previous hash is not the hash of the event before it"))
        expected, prev_hash = record.seq + 1, record.hash
    if progress is not None:
        progress(len(records) % PROGRESS_EVERY)
    return findings


def witness_findings(stream_id: str, records: Sequence[AuditRecord],
                     witnesses: Sequence[ChainHead]) -> list[ChainFinding]:
    """Compare the stored chain with the heads the workflow recorded at each append."""
    if not witnesses:
        return []
    findings: list[ChainFinding] = []
    by_seq = {r.seq: r for r in records}
    last_good = 0
    for witness in sorted(set(witnesses), key=lambda w: w.seq):
        if witness.seq == 0:
            continue
        record = by_seq.get(witness.seq)
        if record is None:
            continue
        if record.hash != witness.hash:
            findings.append(_finding(
                stream_id, witness.seq, "rewritten",
                f"the chain at #{witness.seq} differs from the head the workflow recorded; an event in "
                f"#{last_good + 1}–#{witness.seq} was altered and the chain recomputed"))
            break
        last_good = witness.seq
    top = max(witnesses, key=lambda w: w.seq)
    stored_top = max((r.seq for r in records), default=0)
    if stored_top < top.seq:
        findings.append(_finding(stream_id, stored_top + 1, "truncated",
                                 f"the log ends at #{stored_top} but the workflow recorded events up to #{top.seq}"))
    elif stored_top > top.seq:
        findings.append(_finding(stream_id, top.seq + 1, "inserted",
                                 f"events #{top.seq + 1}–#{stored_top} are in the log but the workflow never "
                                 f"appended them (its last head is #{top.seq})"))
    return findings


def verify_stream(stream_id: str, records: Sequence[AuditRecord], witnesses: Sequence[ChainHead] = (),
                  progress: Progress | None = None) -> list[ChainFinding]:
    return chain_findings(stream_id, records, progress) + witness_findings(stream_id, records, witnesses)
