"""What the application layer returns and every client renders: the API's response bodies, the CLI's tables.

A leaf on purpose: pydantic and the light domain modules only (no store, no Temporal, no web framework), so
the CLI, an HTTP client of the API, imports these in a few milliseconds. The modules that produce them
(store/, gateway/, services/) import them from here under their old names. Views that carry an
operation's state, the audit chain or signed checkpoints are in services/record_views.py: those domain
modules cost more to import, and only the commands that show them pay for it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

from domain.model import HandlingCode, Phase
from domain.utc import as_utc

# SQLite gives the stored UTC times back naive
UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]


class View(BaseModel):
    """A view's validator is built when it is first used, not when this module is imported: a CLI command
    validates one or two of these, and building all of them would cost each command ~10 ms."""

    model_config = ConfigDict(defer_build=True)


class FrozenView(View):
    model_config = ConfigDict(defer_build=True, frozen=True)


# --- operations -----------------------------------------------------------------------------------

class Created(View):
    """What a command made, for the next command to name: a target, an intelligence item, a task (a
    release request is one too) or an action day (scheduled again with --day, it keeps its id)."""

    kind: str  # target, intelligence_item, task, action_day
    id: str


class CommandOutcome(View):
    operation_id: str
    key: str
    events: list[str]
    phase: Phase
    seq: int
    created: list[Created] = []


class OperationFilter(View):
    phase: Phase | None = None
    member_state: str | None = None
    min_priority: float | None = None
    parked: bool | None = None


class OperationSummary(FrozenView):
    operation_id: str
    code_name: str
    phase: Phase
    lead_state: str
    member_states: list[str]
    partners: list[str]
    priority: float | None
    parked: bool
    blocked: bool
    blocked_reasons: list[str]
    open_hits: int
    pending_tasks: int
    escalated_tasks: int
    earliest_due: UtcDatetime | None
    opened_at: UtcDatetime | None
    last_event_at: UtcDatetime | None
    handling_code: str
    version: int

    def overdue(self, now: datetime) -> bool:
        return self.earliest_due is not None and self.earliest_due < now


class PendingTaskView(FrozenView):
    operation_id: str
    task_id: str
    code_name: str
    phase: Phase
    member_state: str
    kind: str
    description: str
    due: UtcDatetime
    four_eyes: bool
    approvals: list[str]
    approvals_needed: int
    reminded: bool
    escalated: bool
    item_id: str | None
    release_to: str | None


class OpenHitView(FrozenView):
    operation_id: str
    hit_id: str
    code_name: str
    our_states: list[str]
    kind: str
    matched: str
    own_ref: str
    own_ref_handling_code: str
    other_state: str
    other_contact: str
    other_handling_code: str
    raised_at: UtcDatetime | None


class TimelineEntry(View):
    seq: int
    at: datetime
    type: str
    actor: str
    role: str
    member_state: str | None
    justification: str
    summary: str


class NotificationView(View):
    operation_id: str
    kind: str
    message: str
    created_at: datetime


# --- deconfliction --------------------------------------------------------------------------------

class PrecheckHit(View):
    target: int  # position in the batch, from 1
    name: str
    kind: str
    matched: str
    other_state: str
    other_contact: str
    other_handling_code: HandlingCode


class PrecheckRefusal(View):
    target: int
    name: str
    reason: str


class Precheck(View):
    checked: int
    hits: list[PrecheckHit] = []
    refused: list[PrecheckRefusal] = []


# --- audit ----------------------------------------------------------------------------------------

class Export(View):
    operation_id: str
    events: int
    manifest_sha256: str


class ReplayOutcome(View):
    workflow_id: str
    source: str
    events: int
    failure: str | None

    @property
    def ok(self) -> bool:
        return self.failure is None


class Recovery(View):
    operation_id: str
    diverged_at_event: int
    reset_to_event: int
    new_run_id: str


class CheckpointReport(View):
    log_size: int
    checkpoints: int
    findings: list[str]


class Consultation(FrozenView):
    at: datetime
    actor_id: str
    actor_role: str
    member_state: str | None
    operation_id: str | None
    action: str
    justification: str
    outcome: str = "served"  # served, refused or not_found
    detail: str | None = None  # the rule that refused the read, or what was not found


# --- principals, sign-in, the security log --------------------------------------------------------

class Principal(FrozenView):
    id: str
    display_name: str
    role: str
    member_state: str | None = None
    disabled: bool = False
    one_time_code: bool = False  # enrolled: coercive sign-offs ask for a code
    must_change_password: bool = False  # signed in with a one-time password: only a password change is allowed


class Registration(View):
    principal: Principal
    created: bool
    one_time_password: str | None = None  # shown once, to hand to the new principal


class PrincipalChange(View):
    display_name: str | None = None
    disabled: bool | None = None
    reset_password: bool = False
    remove_one_time_code: bool = False  # a lost or compromised authenticator: the principal enrols again


class ApiToken(FrozenView):
    id: str
    principal_id: str
    name: str
    created_at: datetime
    created_by: str
    expires_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None
    last_address: str | None = None

    def usable(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at


class IssuedToken(View):
    """Shown once: the secret is not stored anywhere."""

    token: str
    token_id: str
    name: str
    principal_id: str
    role: str
    member_state: str | None
    expires_at: datetime
    must_change_password: bool = False  # a one-time password: replace it (PUT /me/password) before anything


class Enrolment(View):
    secret: str
    uri: str  # otpauth:// for an authenticator app


class SecurityEntry(FrozenView):
    at: datetime
    kind: str
    principal_id: str | None = None
    role: str | None = None
    member_state: str | None = None
    address: str | None = None
    operation_id: str | None = None
    action: str | None = None
    detail: str
