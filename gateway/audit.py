"""The auditor's replay and verification, built on the same decider state the workflow uses."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from domain.audit import AuditRecord, ChainFinding, ChainHead, event_of, verify_chain
from domain.describe import describe
from domain.state import OperationState, evolve
from store.audit_log import AuditLog


class TimelineEntry(BaseModel):
    seq: int
    at: datetime
    type: str
    actor: str
    role: str
    member_state: str | None
    justification: str
    summary: str


def timeline(records: list[AuditRecord]) -> list[TimelineEntry]:
    return [TimelineEntry(seq=r.seq, at=r.occurred_at, type=r.type, actor=r.actor_id, role=r.actor_role,
                          member_state=r.member_state, justification=r.justification, summary=describe(event_of(r)))
            for r in records]


def replay(records: list[AuditRecord]) -> OperationState:
    state = OperationState()
    for record in records:
        state = evolve(state, event_of(record))
    return state


class Verification(BaseModel):
    operation_id: str
    events: int
    store_head: ChainHead
    witness_head: ChainHead | None
    findings: list[ChainFinding]

    @property
    def intact(self) -> bool:
        return not self.findings


def verify(audit_log: AuditLog, operation_id: str, witness: ChainHead | None) -> Verification:
    records = audit_log.read(operation_id)
    findings = verify_chain(records, witness)
    if not records and witness is not None and witness.seq > 0:
        findings.append(ChainFinding(stream_id=operation_id, seq=0,
                                     problem=f"the log holds no events; the workflow recorded #{witness.seq}"))
    head = ChainHead(seq=records[-1].seq, hash=records[-1].hash) if records else ChainHead()
    return Verification(operation_id=operation_id, events=len(records), store_head=head,
                        witness_head=witness, findings=findings)
