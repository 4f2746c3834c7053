"""Views that carry the record itself: an operation's state, the audit chain's heads and findings, signed
checkpoints and inclusion proofs.

Like services/views.py a leaf of pydantic and domain modules only, but apart from it: domain.state,
domain.audit and domain.signing (Ed25519) cost tens of milliseconds to import, which only the commands
that show these should pay, never `liaison operation list`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import computed_field

from domain.audit import ChainFinding, ChainHead
from domain.signing import Checkpoint
from domain.state import OperationState
from services.views import TimelineEntry, View


class Opening(View):
    """An opening is either recorded (the state as the opener sees it) or still pending: the workflow
    has it and records it as soon as a worker runs it; it is never reported as refused."""

    operation_id: str
    key: str
    status: Literal["opened", "pending"]
    state: OperationState | None = None


class AuditReplay(View):
    operation_id: str
    as_of_seq: int
    state: OperationState
    timeline: list[TimelineEntry]


class Verification(View):
    operation_id: str
    events: int
    store_head: ChainHead
    witnesses: int
    findings: list[ChainFinding]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def intact(self) -> bool:
        return not self.findings


class InclusionProof(View):
    operation_id: str
    seq: int
    leaf_index: int
    checkpoint: Checkpoint
    proof: list[str]
    verified: bool


class Proof(View):
    checkpoint: Checkpoint
    proof: InclusionProof


class CheckpointTaken(View):
    checkpoint: Checkpoint
    new: bool
