"""The auditor's replay and verification, built on the same decider state the workflow uses."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from domain.audit import AuditRecord, ChainFinding, ChainHead, event_of
from domain.describe import describe
from domain.principal_events import PRINCIPAL_EVENTS, is_operation_stream
from domain.state import OperationState, fold
from domain.verification import Progress, verify_stream
from services.record_views import Verification
from services.views import TimelineEntry
from store.audit_log import AuditLog
from store.db import gc_paused


def timeline(records: Sequence[AuditRecord]) -> list[TimelineEntry]:
    return [TimelineEntry(seq=r.seq, at=r.occurred_at, type=r.type, actor=r.actor_id, role=r.actor_role,
                          member_state=r.member_state, justification=r.justification, summary=describe(event_of(r)))
            for r in records]


def replay(records: Sequence[AuditRecord]) -> OperationState:
    with gc_paused():
        return fold(event_of(record) for record in records)


def records_until(records: Sequence[AuditRecord], at: datetime | None = None,
                  seq: int | None = None) -> list[AuditRecord]:
    """The prefix of a stream up to a moment (inclusive) or a sequence number (inclusive)."""
    return [r for r in records if (seq is None or r.seq <= seq) and (at is None or r.occurred_at <= at)]


def state_findings(operation_id: str, records: Sequence[AuditRecord],
                   states: Sequence[dict[str, Any]]) -> list[ChainFinding]:
    """Compare the state rebuilt from the log with each state the workflow itself held (carried into a
    continued run, or returned at the end): a log that holds other events than the workflow applied
    differs here even when its chain was recomputed and every hash agrees with itself."""
    findings: list[ChainFinding] = []
    by_version = {state["version"]: state for state in states}
    for version in sorted(by_version):
        prefix = [r for r in records if r.seq <= version]
        if len(prefix) < version:
            continue  # a truncated log: the chain check reports it
        try:
            rebuilt = replay(prefix).model_dump(mode="json")
        except Exception as error:  # an event that no longer decodes is itself a finding
            findings.append(ChainFinding(stream_id=operation_id, seq=version,
                                         problem=f"unreadable: the log up to #{version} cannot be replayed ({error})"))
            break
        if OperationState.model_validate(rebuilt) != OperationState.model_validate(by_version[version]):
            findings.append(ChainFinding(
                stream_id=operation_id, seq=version,
                problem=f"diverged: the state rebuilt from the log up to #{version} differs from the state the "
                        "workflow recorded in its Temporal history"))
            break
    return findings


def principal_findings(stream_id: str, records: Sequence[AuditRecord]) -> list[ChainFinding]:
    """Every event of the principal stream decodes to its type: an undecodable change is a finding."""
    findings = []
    for record in records:
        try:
            PRINCIPAL_EVENTS.validate_python({**record.payload, "type": record.type, "justification":
                                              record.justification, "at": record.occurred_at, "actor": {
                                                  "id": record.actor_id, "role": record.actor_role,
                                                  "member_state": record.member_state}})
        except ValidationError as error:
            findings.append(ChainFinding(stream_id=stream_id, seq=record.seq, problem=f"unreadable: #{record.seq} "
                                         f"is not a valid {record.type} event ({error.error_count()} problems)"))
    return findings


def verify_records(operation_id: str, records: Sequence[AuditRecord],
                   witnesses: Sequence[ChainHead], progress: Progress | None = None,
                   states: Sequence[dict[str, Any]] = (), pending: Sequence[ChainHead] = ()) -> Verification:
    findings = verify_stream(operation_id, records, witnesses, progress, pending)
    if is_operation_stream(operation_id):
        findings += state_findings(operation_id, records, states)
    else:
        findings += principal_findings(operation_id, records)
    head = ChainHead(seq=records[-1].seq, hash=records[-1].hash) if records else ChainHead()
    return Verification(operation_id=operation_id, events=len(records), store_head=head,
                        witnesses=len(witnesses), findings=findings)


def verify(audit_log: AuditLog, operation_id: str, witnesses: Sequence[ChainHead] | ChainHead | None) -> Verification:
    """Check a stream's chain and cross-check it against the heads the workflow recorded."""
    if isinstance(witnesses, ChainHead):
        witnesses = [witnesses]
    return verify_records(operation_id, audit_log.read(operation_id), witnesses or [])
