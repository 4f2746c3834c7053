"""Audit-log verification and rebuild throughput, each figure beside its baseline.

    python -m bench.audit_verify [--events 1000000] [--quick] [--profile]

(a) domain.verification.verify_stream (what `liaison audit verify` runs: the chain and the witnessed
    heads) and domain.audit.verify_chain over N chained records of one operation's stream, beside the same
    SHA-256 work done with raw hashlib over the same bytes (prev hash + canonical bytes) in this run,
    and beside the cost of the canonical encoding alone.
(b) RFC 6962 Merkle work over the same N records: audit leaves, the root over N leaf hashes, one
    inclusion and one consistency proof built and verified, a checkpoint signed and verified.
(c) Rebuilding the operation's state from its N events in a temporary, migrated SQLite store:
    read the rows, convert them to AuditRecords (as store.audit_log does), domain.audit.event_of,
    domain.state.evolve; beside the stated reference of 35-43 thousand events/s (the
    `eventsourcing` library reading from SQLite on this kind of machine).

The stream is realistic rather than uniform: OperationOpened, two PhaseAdvanced, 64 TaskPlanned,
then cycles over the 64 tasks of TaskReplanned, ApprovalReminded, two TaskApprovalGiven (four
eyes) and TaskApproved, so the state stays the size of a real operation however long the stream.
Self-contained: no Temporal server is needed.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import hashlib
import io
import pstats
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import yaml
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from domain import events as ev
from domain.actors import Actor, Role
from domain.audit import (
    GENESIS_HASH,
    AuditRecord,
    ChainHead,
    canonical_bytes,
    chained,
    event_of,
    record_of,
    verify_chain,
)
from domain.merkle import (
    audit_leaf,
    consistency_proof,
    inclusion_proof,
    root,
    verify_consistency,
    verify_inclusion,
)
from domain.model import OperationSpec, Phase, Task, TaskKind
from domain.prioritisation import ScoringPolicy
from domain.signing import sign_checkpoint, verify_checkpoint
from domain.state import OperationState, evolve
from domain.timing import Timing
from domain.utc import as_utc
from domain.verification import verify_stream
from gateway.checkpoints import generate_key
from store.audit_log import RECORD_COLUMNS, record_from_row
from store.db import gc_paused, make_engine, upgrade
from store.tables import audit_events

console = Console(width=None if sys.stdout.isatty() else 150)
ROOT_DIR = Path(__file__).resolve().parent.parent
STREAM = "op-bench-0001"
TASKS = 64
T0 = datetime(2030, 3, 1, 8, 0, tzinfo=UTC)
REFERENCE = "35-43k events/s"
REFERENCE_LOW, REFERENCE_HIGH = 35_000, 43_000
INSERT_BATCH = 50_000
READ_BATCH = 10_000
R = TypeVar("R")

COORDINATOR = Actor(id="coord-1", role=Role.COORDINATOR)
STATES = ("BG", "EL", "DE")


def approver(state: str, n: int) -> Actor:
    return Actor(id=f"ap-{state.lower()}-{n}", role=Role.APPROVER, member_state=state)


def officer(state: str) -> Actor:
    return Actor(id=f"lo-{state.lower()}", role=Role.LIAISON_OFFICER, member_state=state)


# --- the synthetic stream ------------------------------------------------------------------------

def _templates() -> tuple[list[ev.Event], list[list[ev.Event]]]:
    """The stream's head, and for each task slot the cycle of events repeated over it."""
    spec = OperationSpec.model_validate(yaml.safe_load((ROOT_DIR / "examples" / "operation.yaml").read_text("utf-8")))
    head: list[ev.Event] = [
        ev.OperationOpened(actor=COORDINATOR, at=T0, operation_id=STREAM, spec=spec, scoring=ScoringPolicy(),
                           timing=Timing()),
        ev.PhaseAdvanced(actor=COORDINATOR, at=T0, from_phase=Phase.IDENTIFY, to_phase=Phase.PRIORITISE),
        ev.PhaseAdvanced(actor=COORDINATOR, at=T0, from_phase=Phase.PRIORITISE, to_phase=Phase.PREPARE),
    ]
    cycles: list[list[ev.Event]] = []
    kinds = list(TaskKind)
    for slot in range(TASKS):
        state = STATES[slot % len(STATES)]
        task = Task(task_id=f"T{slot + 1:03d}", member_state=state, kind=kinds[slot % len(kinds)],
                    description=f"Task {slot + 1}: {kinds[slot % len(kinds)].value} in {state}",
                    due=T0 + timedelta(days=14), four_eyes=True)
        head.append(ev.TaskPlanned(actor=officer(state), at=T0, task=task, justification="planning"))
        cycles.append([
            ev.TaskReplanned(actor=officer(state), at=T0, task=task, justification="new intelligence"),
            ev.ApprovalReminded(actor=COORDINATOR, at=T0, task_id=task.task_id, member_state=state,
                                due=task.due),
            ev.TaskApprovalGiven(actor=approver(state, 1), at=T0, task_id=task.task_id,
                                 approver=approver(state, 1).id),
            ev.TaskApprovalGiven(actor=approver(state, 2), at=T0, task_id=task.task_id,
                                 approver=approver(state, 2).id),
            ev.TaskApproved(actor=COORDINATOR, at=T0, task_id=task.task_id),
        ])
    return head, cycles


def stream_events(count: int) -> Iterator[ev.Event]:
    head, cycles = _templates()
    emitted = 0
    for event in head:
        if emitted == count:
            return
        yield event
        emitted += 1
    while True:
        for cycle in cycles:
            for event in cycle:
                if emitted == count:
                    return
                yield event
                emitted += 1


def build_records(count: int) -> list[AuditRecord]:
    """count chained records of one stream (domain.audit.chained), each with its own id and time."""
    unchained: dict[int, AuditRecord] = {}  # one template record per distinct event object
    records: list[AuditRecord] = []
    prev = GENESIS_HASH
    for seq, event in enumerate(stream_events(count), start=1):
        template = unchained.get(id(event))
        if template is None:
            template = unchained[id(event)] = record_of(STREAM, 0, "", event)
        record = template.model_copy(update={
            "seq": seq, "event_id": f"{STREAM}-{seq:08d}", "occurred_at": T0 + timedelta(seconds=seq)})
        link = chained(record, prev)
        records.append(link)
        prev = link.hash
    return records


# --- measurement ---------------------------------------------------------------------------------

@contextmanager
def stage(label: str) -> Iterator[None]:
    started = time.perf_counter()
    with console.status(f"[dim]{label}…[/]"):
        yield
    console.print(f"[dim]{label}: {time.perf_counter() - started:.1f} s[/]")


def timed(action: Callable[[], R]) -> tuple[R, float]:
    gc.collect()
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def rate(count: int, seconds: float) -> str:
    per_second = count / seconds if seconds > 0 else float("inf")
    if per_second >= 1e6:
        return f"{per_second / 1e6:,.2f} M/s"
    return f"{per_second / 1e3:,.1f} k/s"


def per_item(count: int, seconds: float) -> str:
    micros = seconds / count * 1e6
    return f"{micros:,.2f} µs" if micros < 1000 else f"{micros / 1000:,.2f} ms"


def table(title: str) -> Table:
    out = Table(title=title, title_justify="left")
    out.add_column("measure")
    out.add_column("items", justify="right")
    out.add_column("seconds", justify="right")
    out.add_column("throughput", justify="right")
    out.add_column("per item", justify="right")
    out.add_column("note")
    return out


def row(out: Table, label: str, count: int, seconds: float, note: str = "") -> None:
    throughput = rate(count, seconds) if count > 1 else ""
    out.add_row(label, f"{count:,}", f"{seconds:.4f}", throughput, per_item(count, seconds), note)


# --- (a) the hash chain --------------------------------------------------------------------------

def bench_chain(records: list[AuditRecord]) -> None:
    n = len(records)
    findings, verify_s = timed(lambda: verify_chain(records))
    assert findings == [], findings[:3]
    # What `liaison audit verify` runs: the chain checks plus a witnessed head per append (the workflow
    # appends one command's events at a time; every second event is a boundary here).
    witnesses = [ChainHead(seq=r.seq, hash=r.hash) for r in records[1::2]]
    stream_findings, stream_s = timed(lambda: verify_stream(STREAM, records, witnesses))
    assert stream_findings == [], stream_findings[:3]
    encoded, encode_s = timed(lambda: [r.prev_hash.encode("ascii") + canonical_bytes(r) for r in records])
    sha256 = hashlib.sha256

    def raw_hashes() -> list[str]:
        return [sha256(b).hexdigest() for b in encoded]

    digests, hash_s = timed(raw_hashes)
    assert digests[-1] == records[-1].hash
    mean_bytes = sum(map(len, encoded)) / n
    out = table(f"(a) hash-chain verification, one stream of {n:,} events")
    row(out, "domain.verification.verify_stream", n, stream_s,
        f"what `audit verify` runs: chain + {len(witnesses):,} witnessed heads")
    row(out, "domain.audit.verify_chain", n, verify_s, "seq + prev link + re-hash, per record")
    row(out, "canonical encoding only", n, encode_s, "prev hash + canonical_bytes(record)")
    row(out, "baseline: raw hashlib.sha256", n, hash_s, f"same bytes, pre-encoded (mean {mean_bytes:,.0f} B)")
    console.print(out)
    console.print(f"`audit verify` (verify_stream) runs at {hash_s / stream_s:.1%} of raw SHA-256 speed, "
                  f"verify_chain at {hash_s / verify_s:.1%}; the canonical JSON "
                  f"encoding is {encode_s / verify_s:.0%} of its time.\n")


# --- (b) Merkle trees and checkpoints ------------------------------------------------------------

def bench_merkle(records: list[AuditRecord]) -> None:
    n = len(records)
    leaves, leaf_s = timed(lambda: [audit_leaf(r) for r in records])
    tree_root, root_s = timed(lambda: root(leaves))
    index, old = n // 3, min(n, n // 2 + 7)
    path, path_s = timed(lambda: inclusion_proof(index, leaves))
    ok, path_verify_s = timed(lambda: verify_inclusion(index, n, leaves[index], path, tree_root))
    assert ok
    old_root = root(leaves[:old])
    proof, cons_s = timed(lambda: consistency_proof(old, leaves))
    ok, cons_verify_s = timed(lambda: verify_consistency(old, n, old_root, tree_root, proof))
    assert ok
    private_pem, public_pem = generate_key()
    checkpoint, sign_s = timed(lambda: sign_checkpoint(private_pem, n, tree_root, datetime.now(UTC)))
    ok, check_s = timed(lambda: verify_checkpoint(public_pem, checkpoint))
    assert ok
    out = table(f"(b) RFC 6962 Merkle tree over the same {n:,} events")
    row(out, "audit_leaf (canonical bytes + SHA-256)", n, leaf_s, "once per event; cacheable")
    row(out, "root over leaf hashes", n, root_s, f"{n - 1:,} node hashes")
    row(out, f"inclusion proof of leaf {index:,}", 1, path_s, f"{len(path)} hashes; O(n) without a node cache")
    row(out, "verify_inclusion", 1, path_verify_s)
    row(out, f"consistency proof {old:,} → {n:,}", 1, cons_s, f"{len(proof)} hashes")
    row(out, "verify_consistency", 1, cons_verify_s)
    row(out, "sign checkpoint (Ed25519)", 1, sign_s)
    row(out, "verify checkpoint (Ed25519)", 1, check_s)
    console.print(out)
    console.print(f"root {tree_root.hex()}\n")


# --- (c) rebuilding state from SQLite ------------------------------------------------------------

def write_store(url: str, records: list[AuditRecord]) -> None:
    upgrade(url)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for start in range(0, len(records), INSERT_BATCH):
                conn.execute(audit_events.insert(), [
                    {**r.model_dump(exclude={"position"}), "occurred_at": as_utc(r.occurred_at)}
                    for r in records[start:start + INSERT_BATCH]])
    finally:
        engine.dispose()


def rebuild(url: str, limit: int | None = None,
            pause_gc: bool = True) -> tuple[OperationState, dict[str, float], int]:
    """Fold the stream into its state, streaming it in batches of READ_BATCH rows (keyset on seq), so
    that at most one batch of rows, records and events is alive at a time; each stage is timed.
    As store.audit_log and gateway.audit.replay do, the cycle collector is paused (pause_gc)."""
    engine = make_engine(url)
    t = audit_events
    seconds = dict.fromkeys(("fetch", "convert", "event_of", "evolve"), 0.0)
    state, after, count = OperationState(), 0, 0
    clock = time.perf_counter
    gc.collect()
    try:
        with engine.connect() as conn, (gc_paused() if pause_gc else contextlib.nullcontext()):
            while limit is None or count < limit:
                batch = READ_BATCH if limit is None else min(READ_BATCH, limit - count)
                started = clock()
                rows = conn.execute(select(*RECORD_COLUMNS).where(t.c.stream_id == STREAM, t.c.seq > after)
                                    .order_by(t.c.seq).limit(batch)).all()
                fetched = clock()
                records = [record_from_row(r) for r in rows]
                converted = clock()
                events = [event_of(r) for r in records]
                decoded = clock()
                for event in events:
                    state = evolve(state, event)
                folded = clock()
                for name, spent in zip(seconds, (fetched - started, converted - fetched, decoded - converted,
                                                 folded - decoded), strict=True):
                    seconds[name] += spent
                count += len(rows)
                if len(rows) < batch:
                    break
                after = rows[-1].seq
    finally:
        engine.dispose()
    return state, seconds, count


def bench_rebuild(url: str, n: int, profile: bool) -> None:
    size_mb = Path(url.removeprefix("sqlite:///")).stat().st_size / 1e6
    with stage("rebuilding the operation's state"):
        state, seconds, count = rebuild(url)
    assert count == n and state.version == n, (count, state.version)
    sample = min(n, 100_000)
    with stage(f"the first {sample:,} events again with the cycle collector running"):
        _, with_gc, _ = rebuild(url, sample, pause_gc=False)
    total = sum(seconds.values())
    out = table(f"(c) rebuild one operation from {n:,} events in SQLite ({size_mb:,.0f} MB), "
                f"streamed {READ_BATCH:,} rows at a time")
    row(out, "SELECT rows (SQLAlchemy Core)", n, seconds["fetch"], "JSON payload decoded by the driver")
    row(out, "rows → AuditRecord (store.audit_log)", n, seconds["convert"], "pydantic validation")
    row(out, "domain.audit.event_of", n, seconds["event_of"], "discriminated-union validation")
    row(out, "domain.state.evolve", n, seconds["evolve"], f"final version {state.version:,}, "
                                                          f"{len(state.tasks)} tasks")
    row(out, "total: read + event_of + evolve", n, total, "end to end")
    row(out, "the same, cycle collector running", sample, sum(with_gc.values()),
        f"first {sample:,} events; what gc_paused saves")
    out.add_row("reference: eventsourcing from SQLite", "", "", REFERENCE, "", "stated, not measured here")
    console.print(out)
    per_s = n / total
    verdict = ("within" if REFERENCE_LOW <= per_s <= REFERENCE_HIGH
               else "above" if per_s > REFERENCE_HIGH else "below")
    shares = ", ".join(f"{name} {s / total:.0%}" for name, s in seconds.items())
    console.print(f"Rebuild: {per_s / 1e3:,.1f}k events/s, {verdict} the reference {REFERENCE}; "
                  f"time shares: {shares}.\n")
    if profile:
        profile_rebuild(url, min(n, 100_000))


def profile_rebuild(url: str, limit: int) -> None:
    """cProfile over the same streamed rebuild, for the first events of the stream."""
    profiler = cProfile.Profile()
    profiler.enable()
    rebuild(url, limit)
    profiler.disable()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(18)
    console.print(f"[bold]cProfile, the rebuild of the first {limit:,} events (by own time)[/]")
    print(text.getvalue().replace(str(Path(sys.prefix)), "<venv>"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the stream (default 1,000,000)")
    parser.add_argument("--quick", action="store_true", help="20,000 events, for a smoke run")
    parser.add_argument("--profile", action="store_true", help="cProfile event_of + evolve after (c)")
    args = parser.parse_args(argv)
    n = 20_000 if args.quick else args.events
    if n < 1:
        parser.error("--events must be at least 1")
    console.print(f"[bold]Audit-log verification benchmark[/] — {n:,} events, Python {sys.version.split()[0]}")
    with stage(f"building {n:,} chained records"):
        records = build_records(n)
    bench_chain(records)
    bench_merkle(records)
    with tempfile.TemporaryDirectory(prefix="liaison-audit-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'liaison.db'}"
        with stage(f"writing {n:,} events to a migrated SQLite store"):
            write_store(url, records)
        del records  # the rebuild starts from the store alone, with a small heap
        bench_rebuild(url, n, args.profile)


if __name__ == "__main__":
    main()

