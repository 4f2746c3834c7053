"""Audit verification: a stream's own chain, cross-checked against independent witnesses.

The workflow keeps the chain head returned by every append, so its Temporal history holds a
witness (seq, hash) for every append boundary. An attacker who edits an event and recomputes the
whole chain still cannot change those witnesses; comparing them localises the edit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from domain.audit import GENESIS_HASH, AuditRecord, ChainFinding, ChainHead, chain_hash


def _finding(stream_id: str, seq: int, kind: str, detail: str) -> ChainFinding:
    return ChainFinding(stream_id=stream_id, seq=seq, problem=f"{kind}: {detail}")


# How far from its stored number a moved event is looked for first; beyond that only the first
# FAR_SEARCHES unmatched events of a stream of at most FAR_SEARCH_STREAM events are looked for everywhere,
# so that a tampered log of a million events is still verified in linear time while a far swap in an
# operation's stream (hundreds of events) is still named.
MOVE_REACH = 32
FAR_SEARCHES = 8
FAR_SEARCH_STREAM = 10_000


def _near(seq: int, likely_shift: int | None) -> list[int]:
    """Numbers to try for an event stored as ``seq``: the shift of the event before first (renumbering
    moves a whole run by the same amount), then ever further either side."""
    shifts = [likely_shift] if likely_shift else []
    shifts += [d for step in range(1, MOVE_REACH + 1) for d in (step, -step) if d != likely_shift]
    return [seq + d for d in shifts]


def _written_as(record: AuditRecord, candidates: Iterable[int]) -> int | None:
    """The sequence number under which this record's stored hash was computed, if another."""
    for seq in candidates:
        if seq < 1 or seq == record.seq:
            continue
        if chain_hash(record.prev_hash, record.model_copy(update={"seq": seq})) == record.hash:
            return seq
    return None


def _span(first: int, last: int) -> str:
    return f"#{first}" if first == last else f"#{first}–#{last}"


def _moved(stream_id: str, run: list[tuple[int, int]], shifted_before: int) -> ChainFinding:
    """One finding for a run of events that were each written ``shift`` numbers away from where they
    are stored: a lone one was swapped, a longer run renumbered around an insertion or deletion (of as
    many events as the shift changed by since the run before)."""
    (first, written), (last, _) = run[0], run[-1]
    if len(run) == 1:
        return _finding(stream_id, first, "reordered", f"the event stored as #{first} was written as #{written}")
    shift = written - first
    moved = abs(shift - shifted_before)
    what = "an event" if moved == 1 else f"{moved} events"
    was = "was" if moved == 1 else "were"
    cause = (f"{what} {was} inserted at {_span(first - moved, first - 1)}" if shift < shifted_before
             else f"{what} originally at {_span(first + shifted_before, first + shift - 1)} {was} deleted and "
                  "the rest renumbered")
    return _finding(stream_id, first, "renumbered",
                    f"events {_span(first, last)} were written as {_span(first + shift, last + shift)}; {cause}")


Progress = Callable[[int], None]
PROGRESS_EVERY = 10_000


def chain_findings(stream_id: str, records: Sequence[AuditRecord],
                   progress: Progress | None = None) -> list[ChainFinding]:
    """Gaps, duplicates, reordering, broken links and edited content within one stream;
    ``progress`` is told how many more records were checked, every PROGRESS_EVERY records."""
    findings: list[ChainFinding] = []
    run: list[tuple[int, int]] = []  # (stored as, written as) of consecutive moved events
    shifted_before, far_searches = 0, FAR_SEARCHES if len(records) <= FAR_SEARCH_STREAM else 0
    last_seq = max((r.seq for r in records), default=0) + MOVE_REACH

    def close_run() -> None:
        nonlocal shifted_before
        if run:
            findings.append(_moved(stream_id, run, shifted_before))
            if len(run) > 1:
                shifted_before = run[-1][1] - run[-1][0]
            run.clear()

    expected, prev_hash = 1, GENESIS_HASH
    for checked, record in enumerate(records, start=1):
        if progress is not None and checked % PROGRESS_EVERY == 0:
            progress(PROGRESS_EVERY)
        if record.seq > expected:
            close_run()
            missing = f"#{expected}" if record.seq == expected + 1 else f"#{expected}–#{record.seq - 1}"
            findings.append(_finding(stream_id, expected, "deleted", f"event {missing} is missing from the log"))
        if chain_hash(record.prev_hash, record) == record.hash:
            close_run()
            if record.prev_hash != prev_hash:
                findings.append(_finding(stream_id, record.seq, "broken link",
                                         "its previous hash is not the hash of the event before it"))
        else:
            shift = run[-1][1] - run[-1][0] if run else None
            near = _near(record.seq, shift)
            written = _written_as(record, near)
            if written is None and far_searches > 0:
                far_searches -= 1
                tried = set(near)
                written = _written_as(record, (n for n in range(1, last_seq + 1) if n not in tried))
            if run and (written is None or written - record.seq != shift or record.seq != run[-1][0] + 1):
                close_run()
            if written is None:
                findings.append(_finding(stream_id, record.seq, "edited", "its content no longer matches its hash"))
            else:
                run.append((record.seq, written))
        expected, prev_hash = record.seq + 1, record.hash
    close_run()
    if progress is not None:
        progress(len(records) % PROGRESS_EVERY)
    return findings


def witness_findings(stream_id: str, records: Sequence[AuditRecord], witnesses: Sequence[ChainHead],
                     pending: Sequence[ChainHead] = ()) -> list[ChainFinding]:
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
    elif stored_top > top.seq and not _all_pending(records, top.seq, pending):
        findings.append(_finding(stream_id, top.seq + 1, "inserted",
                                 f"events #{top.seq + 1}–#{stored_top} are in the log but the workflow never "
                                 f"appended them (its last head is #{top.seq})"))
    return findings


def _all_pending(records: Sequence[AuditRecord], after: int, pending: Sequence[ChainHead]) -> bool:
    """Whether every stored record past the last witnessed head belongs to an append still under way."""
    expected = {(p.seq, p.hash) for p in pending}
    return bool(expected) and all((r.seq, r.hash) in expected for r in records if r.seq > after)


def verify_stream(stream_id: str, records: Sequence[AuditRecord], witnesses: Sequence[ChainHead] = (),
                  progress: Progress | None = None, pending: Sequence[ChainHead] = ()) -> list[ChainFinding]:
    return chain_findings(stream_id, records, progress) + witness_findings(stream_id, records, witnesses, pending)
