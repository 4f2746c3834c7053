"""What crosses the workflow boundary: inputs, results, activity requests, search attributes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator
from temporalio.common import SearchAttributeKey

from domain.audit import AuditRecord, ChainHead
from domain.commands import OpenOperation
from domain.model import ActionDay, DeconflictionHit, HandlingCode, HitResolution, Intelligence, Phase, Target
from domain.prioritisation import ScoringPolicy
from domain.rules import RulesVersion
from domain.state import OperationState
from domain.timing import Timing

WORKFLOW_NAME = "OperationWorkflow"

PHASE = SearchAttributeKey.for_keyword("LiaisonPhase")
CODE_NAME = SearchAttributeKey.for_keyword("LiaisonCodeName")
LEAD_STATE = SearchAttributeKey.for_keyword("LiaisonLeadState")
MEMBER_STATES = SearchAttributeKey.for_keyword_list("LiaisonStates")
PRIORITY = SearchAttributeKey.for_float("LiaisonPriority")
PARKED = SearchAttributeKey.for_bool("LiaisonParked")

SEARCH_ATTRIBUTES = {
    "LiaisonPhase": "Keyword", "LiaisonCodeName": "Keyword", "LiaisonLeadState": "Keyword",
    "LiaisonStates": "KeywordList", "LiaisonPriority": "Double", "LiaisonParked": "Bool",
}


class ServerPolicy(BaseModel):
    """The rules the server applies to an operation it opens: from the worker's settings, never a client's."""

    scoring: ScoringPolicy
    timing: Timing


class CommandResult(BaseModel):
    operation_id: str
    events: list[str]
    phase: Phase
    version: int
    head: ChainHead


class OperationInput(BaseModel):
    """Start input; after continue-as-new it carries the state and the audit chain head instead."""

    model_config = ConfigDict(frozen=True)

    operation_id: str
    open_command: OpenOperation | None = None
    open_key: str | None = None  # the idempotency key of the opening; its events carry it
    state: OperationState | None = None
    head: ChainHead = ChainHead()
    append_as_local_activity: bool = True  # read only by runs recorded before the durable chained append
    continue_as_new_after_events: int | None = None
    # hit id -> the other operation's workflow id: kept by the workflow alone, never in the state or the log
    routes: dict[str, str] = {}
    # idempotency key -> result of the latest commands applied, so a retry in the next run is not applied twice
    applied: dict[str, CommandResult] = {}
    # the rules the operation decides by, chosen by its first run (behind a patch) and carried across
    # continue-as-new; None in a new operation's input and in runs continued before it was carried
    rules: RulesVersion | None = None

    @model_validator(mode="before")
    @classmethod
    def _routes_of_legacy_hits(cls, data: Any) -> Any:
        """A run continued before routes were kept carried them inside its hits: lift them out."""
        if not isinstance(data, dict) or not isinstance(data.get("state"), dict):
            return data
        hits = data["state"].get("hits") or {}
        legacy = {hit_id: hit["other_operation_id"] for hit_id, hit in hits.items()
                  if isinstance(hit, dict) and hit.get("other_operation_id")}
        return {**data, "routes": {**legacy, **(data.get("routes") or {})}} if legacy else data


class AppendRequest(BaseModel):
    stream_id: str
    records: list[AuditRecord]
    expected_head: ChainHead


class DeconflictRequest(BaseModel):
    """New targets and action windows of an operation, to file in the index and check against it."""

    operation_id: str
    point_of_contact: str
    handling_code: HandlingCode
    targets: list[Target] = []
    action_days: list[ActionDay] = []
    items: list[Intelligence] = []  # only those naming identifiers


class ReleaseEntriesRequest(BaseModel):
    operation_id: str
    refs: list[str] | None = None  # None: every entry of the operation


class FoundHit(BaseModel):
    """A match found in the index, with both sides' details so each operation gets its own view."""

    hit_id: str
    kind: str
    matched: str
    own_ref: str
    other_ref: str
    other_operation_id: str
    other_state: str
    other_contact: str
    other_handling_code: HandlingCode


class HitNotice(BaseModel):
    """Our side of a hit the other operation found, and where to send our resolution of it."""

    hit: DeconflictionHit
    from_operation_id: str

    @model_validator(mode="before")
    @classmethod
    def _from_legacy_signal(cls, data: Any) -> Any:
        """Signals sent before notices existed were the bare hit, with the sender's id inside it."""
        if isinstance(data, dict) and "hit" not in data and "other_operation_id" in data:
            return {"hit": data, "from_operation_id": data["other_operation_id"]}
        return data


class HitResolutionMessage(BaseModel):
    hit_id: str
    resolution: HitResolution
    resolved_by: str


class NotificationRequest(BaseModel):
    notification_id: str
    operation_id: str
    kind: str
    recipient_role: str
    recipient_state: str | None
    message: str
