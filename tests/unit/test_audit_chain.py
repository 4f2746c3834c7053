"""The audit hash chain: verify_chain finds altered, removed, reordered and truncated events, and the
workflow's witnessed chain head catches an attacker who recomputed the chain."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain import commands as cmd
from domain.audit import (
    GENESIS_HASH,
    AuditRecord,
    ChainHead,
    canonical_bytes,
    chain_hash,
    chained,
    event_of,
    record_of,
    utc_text,
    verify_chain,
)
from domain.model import Results
from domain.state import fold
from domain.verification import chain_findings
from tests.unit.builders import COORDINATOR, HIGH, OPERATION_ID, Driver, approver, driven_to, officer, spec

STREAM = OPERATION_ID


def chain(records: list[AuditRecord], renumber: bool = False) -> list[AuditRecord]:
    """Chain (or re-chain, as an attacker would) records from the genesis hash."""
    out, prev = [], GENESIS_HASH
    for i, record in enumerate(records, start=1):
        if renumber:
            record = record.model_copy(update={"seq": i})
        record = chained(record.model_copy(update={"prev_hash": "", "hash": ""}), prev)
        prev = record.hash
        out.append(record)
    return out


def head(records: list[AuditRecord]) -> ChainHead:
    return ChainHead(seq=records[-1].seq, hash=records[-1].hash)


@pytest.fixture(scope="module")
def log() -> list[AuditRecord]:
    d = driven_to("closed")
    return chain([record_of(STREAM, seq, f"evt-{seq:03d}", e) for seq, e in enumerate(d.events, start=1)])


def problems(findings: list) -> list[tuple[int, str]]:  # type: ignore[type-arg]
    return [(f.seq, f.problem) for f in findings]


def test_intact_log_verifies_and_replays(log: list[AuditRecord]) -> None:
    assert len(log) > 10
    assert log[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(log))
    assert verify_chain(log) == []
    assert verify_chain(log, head(log)) == []
    # A witness that saw no events while the log holds some: events were inserted.
    assert [f.problem[:10] for f in verify_chain(log, ChainHead())] == ["chain head"]
    assert fold(event_of(r) for r in log).phase.value == "closed"  # type: ignore[union-attr]


def test_hash_is_deterministic_and_covers_every_field(log: list[AuditRecord]) -> None:
    record = log[3]
    assert chain_hash(record.prev_hash, record) == record.hash
    assert chain_hash(record.prev_hash, record.model_copy()) == record.hash
    assert len(record.hash) == 64
    for change in ({"stream_id": "other"}, {"seq": 99}, {"event_id": "x"}, {"type": "task_dropped"},
                   {"actor_id": "mallory"}, {"actor_role": "auditor"}, {"member_state": "FR"},
                   {"justification": "changed"},
                   {"occurred_at": record.occurred_at.replace(year=2031)}):
        assert chain_hash(record.prev_hash, record.model_copy(update=change)) != record.hash, change
    assert chain_hash("f" * 64, record) != record.hash
    # position (assigned by the store) is not part of the hash
    assert chain_hash(record.prev_hash, record.model_copy(update={"position": 7})) == record.hash
    # canonical encoding: sorted keys, no spaces, UTC times
    encoded = canonical_bytes(record).decode()
    assert ", " not in encoded and '"occurred_at":"' + utc_text(record.occurred_at) + '"' in encoded
    assert utc_text(record.occurred_at.replace(tzinfo=None)) == utc_text(record.occurred_at)
    assert utc_text(record.occurred_at).endswith("Z")
    assert record.occurred_at.tzinfo is not None and record.occurred_at.utcoffset() == UTC.utcoffset(None)


def test_edited_payload_is_detected(log: list[AuditRecord]) -> None:
    target = next(i for i, r in enumerate(log) if r.type == "results_reported")
    edited = list(log)
    payload = {**log[target].payload, "results": {**log[target].payload["results"], "arrests": 99}}
    edited[target] = log[target].model_copy(update={"payload": payload})
    assert problems(verify_chain(edited, head(log))) == [
        (target + 1, "hash does not match the event's content")]


def test_edited_envelope_is_detected(log: list[AuditRecord]) -> None:
    edited = list(log)
    edited[2] = log[2].model_copy(update={"actor_id": "someone-else", "justification": "forged"})
    assert problems(verify_chain(edited)) == [(3, "hash does not match the event's content")]


@pytest.mark.parametrize("index", [0, 4, -1])
def test_deleted_event_is_detected(log: list[AuditRecord], index: int) -> None:
    shortened = list(log)
    removed = shortened.pop(index)
    findings = verify_chain(shortened, head(log))
    assert findings, "a deleted event went unnoticed"
    if index == -1:
        assert [f.problem.startswith(f"chain head #{removed.seq - 1}") for f in findings] == [True]
    else:
        assert (removed.seq + 1, f"sequence gap: expected #{removed.seq}") in problems(findings)
        assert (removed.seq + 1, "previous hash does not match the preceding event") in problems(findings)


def test_swapped_events_are_detected(log: list[AuditRecord]) -> None:
    swapped = list(log)
    swapped[5], swapped[6] = swapped[6], swapped[5]
    found = problems(verify_chain(swapped, head(log)))
    assert (7, "sequence gap: expected #6") in found
    assert (7, "previous hash does not match the preceding event") in found
    assert (6, "sequence gap: expected #8") in found
    assert (6, "previous hash does not match the preceding event") in found
    assert not any("hash does not match the event's content" in p for _, p in found)


def test_truncated_tail_is_caught_only_by_the_witness_head(log: list[AuditRecord]) -> None:
    truncated = log[:-3]
    assert verify_chain(truncated) == [], "a prefix of a valid chain is itself valid"
    findings = verify_chain(truncated, head(log))
    assert len(findings) == 1
    finding = findings[0]
    assert finding.seq == len(log) - 3 and finding.stream_id == STREAM
    assert finding.problem.startswith(f"chain head #{len(log) - 3} {truncated[-1].hash[:12]}")
    assert f"differs from the head the workflow recorded (#{len(log)} {log[-1].hash[:12]}" in finding.problem
    assert str(finding) == f"{STREAM} #{finding.seq}: {finding.problem}"


def test_everything_deleted_is_caught_by_the_witness_head(log: list[AuditRecord]) -> None:
    assert verify_chain([]) == []
    assert len(verify_chain([], head(log))) == 1


def test_edit_with_recomputed_chain_is_caught_only_by_the_witness_head(log: list[AuditRecord]) -> None:
    target = next(i for i, r in enumerate(log) if r.type == "operation_closed")
    edited = list(log)
    totals = {**log[target].payload["totals"], "assets_frozen_eur": 1.0e9}
    edited[target] = log[target].model_copy(update={"payload": {**log[target].payload, "totals": totals}})
    forged = chain(edited)
    assert verify_chain(forged) == [], "a recomputed chain is self-consistent"
    findings = verify_chain(forged, head(log))
    assert len(findings) == 1 and "differs from the head the workflow recorded" in findings[0].problem
    # the forged record still decodes: only the witness tells it apart
    assert event_of(forged[target]).totals.assets_frozen_eur == 1.0e9  # type: ignore[union-attr]


def test_reordered_renumbered_and_rechained_is_caught_only_by_the_witness_head(
        log: list[AuditRecord]) -> None:
    reordered = list(log)
    reordered[3], reordered[4] = reordered[4], reordered[3]
    forged = chain(reordered, renumber=True)
    assert verify_chain(forged) == []
    assert len(verify_chain(forged, head(log))) == 1


def test_record_round_trip(log: list[AuditRecord]) -> None:
    d = driven_to("closed")
    for record, event in zip(log, d.events, strict=True):
        assert event_of(record) == event
        naive = record.model_copy(update={"occurred_at": record.occurred_at.replace(tzinfo=None)})
        assert event_of(naive) == event  # SQLite hands back naive UTC times
        assert chain_hash(record.prev_hash, naive) == record.hash


def test_sharing_and_several_days_chain_verifies_and_replays() -> None:
    """A log with releases, a partner and several action days (one cancelled) chains, verifies and replays."""
    d = Driver().open(spec(intelligence=[{"summary": "informant", "contributed_by": "EL", "handling_code": "H2"}]))
    d.run(cmd.InvitePartner(actor=COORDINATOR, partner="RS"))
    d.run(cmd.RequestRelease(actor=officer("RS"), item_id="IN1", to_state="RS"))
    d.approve("TK1", approver("EL"))
    d.submit(HIGH).confirm()
    d.approve(d.plan("BG"), approver("BG"))
    d.schedule(member_states=("BG", "RS"))
    d.schedule(member_states=("EL",))
    d.run(cmd.CancelActionDay(actor=COORDINATOR, action_day_id="AD2", justification="compromised"))
    d.start_day("AD1")
    d.report("RS", Results(arrests=2))
    d.report("BG", Results(arrests=1, assets_frozen_eur=99.5))
    records = chain([record_of(STREAM, seq, f"evt-{seq:03d}", e) for seq, e in enumerate(d.events, start=1)])
    types = [r.type for r in records]
    assert {"partner_invited", "item_released", "action_day_cancelled", "action_day_finished"} <= set(types)
    assert types[-1] == "operation_closed"
    assert verify_chain(records, head(records)) == []
    assert [event_of(r) for r in records] == d.events
    assert fold(event_of(r) for r in records) == d.state
    released = types.index("item_released")
    edited = list(records)
    edited[released] = records[released].model_copy(
        update={"payload": {**records[released].payload, "to_state": "DE"}})
    assert problems(verify_chain(edited, head(records))) == [
        (released + 1, "hash does not match the event's content")]


def test_checking_a_long_stream_reports_progress_for_every_record() -> None:
    events = driven_to("closed").events
    many = chain([record_of(STREAM, n, f"evt-{n}", events[n % len(events)]) for n in range(1, 25_001)])
    told: list[int] = []
    assert chain_findings(STREAM, many, told.append) == []
    assert told == [10_000, 10_000, 5_000]


def test_a_long_stream_renumbered_around_a_deletion_is_one_finding_not_one_per_event() -> None:
    events = driven_to("closed").events
    many = chain([record_of(STREAM, n, f"evt-{n}", events[n % len(events)]) for n in range(1, 20_001)])
    renumbered = many[:99] + [r.model_copy(update={"seq": r.seq - 1}) for r in many[100:]]
    assert problems(chain_findings(STREAM, renumbered)) == [
        (100, "renumbered: events #100–#19999 were written as #101–#20000; "
              "an event originally at #100 was deleted and the rest renumbered")]


def test_two_deletions_and_two_insertions_are_each_named_where_they_happened() -> None:
    events = driven_to("closed").events
    many = chain([record_of(STREAM, n, f"evt-{n}", events[n % len(events)]) for n in range(1, 61)])
    kept = [r for r in many if r.seq not in (10, 30)]
    renumbered = [r.model_copy(update={"seq": n}) for n, r in enumerate(kept, start=1)]
    assert problems(chain_findings(STREAM, renumbered)) == [
        (10, "renumbered: events #10–#28 were written as #11–#29; "
             "an event originally at #10 was deleted and the rest renumbered"),
        (29, "renumbered: events #29–#58 were written as #31–#60; "
             "an event originally at #30 was deleted and the rest renumbered")]
    def forged(seq: int, before: AuditRecord) -> AuditRecord:  # written properly, linked to its predecessor
        return chained(many[0].model_copy(update={"seq": seq, "event_id": f"forged-{seq}"}), before.hash)

    inserted = [*many[:9], forged(10, many[8])]
    inserted += [r.model_copy(update={"seq": r.seq + 1}) for r in many[9:28]]
    inserted += [forged(30, inserted[-1])] + [r.model_copy(update={"seq": r.seq + 2}) for r in many[28:]]
    assert problems(chain_findings(STREAM, inserted)) == [
        (11, "renumbered: events #11–#29 were written as #10–#28; an event was inserted at #10"),
        (31, "renumbered: events #31–#62 were written as #29–#60; an event was inserted at #30")]


def test_a_far_swap_is_named_as_reordered_not_edited(log: list[AuditRecord]) -> None:
    swapped = list(log)
    first, last = swapped[1], swapped[-1]
    swapped[1], swapped[-1] = last.model_copy(update={"seq": first.seq}), first.model_copy(update={"seq": last.seq})
    found = problems(chain_findings(STREAM, swapped))
    assert (2, f"reordered: the event stored as #2 was written as #{last.seq}") in found
    assert (last.seq, f"reordered: the event stored as #{last.seq} was written as #2") in found


@given(moment=st.datetimes(timezones=st.one_of(st.none(), st.timezones())))
def test_utc_text_is_the_fixed_width_form_every_stored_hash_was_computed_with(moment: datetime) -> None:
    try:
        utc = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except OverflowError:  # the far edges of the calendar have no UTC equivalent
        return
    assert utc_text(moment) == utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
