"""Value objects of an operation: networks, targets, intelligence, tasks, action days, results."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Phase(StrEnum):
    IDENTIFY = "identify"
    PRIORITISE = "prioritise"
    PREPARE = "prepare"
    EXECUTE = "execute"
    CLOSED = "closed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in (Phase.CLOSED, Phase.CANCELLED)


class HandlingCode(StrEnum):
    """Handling codes of the information exchange (who may use the information, and how)."""

    H0 = "H0"  # use only to prevent or combat crime
    H1 = "H1"  # not for judicial proceedings without the provider's permission
    H2 = "H2"  # not to be passed on without the provider's permission
    H3 = "H3"  # other restrictions, stated

    @staticmethod
    def strictest(*codes: HandlingCode | str | None) -> HandlingCode:
        """The most restrictive of the codes given (H0 < H1 < H2 < H3); H0 when none is."""
        return max((HandlingCode(c) for c in codes if c), default=HandlingCode.H0)


class CrimeArea(StrEnum):
    MIGRANT_SMUGGLING = "migrant_smuggling"
    TRAFFICKING_IN_HUMAN_BEINGS = "trafficking_in_human_beings"
    DOCUMENT_FRAUD = "document_fraud"
    MONEY_LAUNDERING = "money_laundering"
    DRUG_TRAFFICKING = "drug_trafficking"
    FIREARMS_TRAFFICKING = "firearms_trafficking"
    CORRUPTION = "corruption"
    OTHER = "other"


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Network(Frozen):
    name: str = Field(min_length=1)
    description: str = ""


class TargetKind(StrEnum):
    PERSON = "person"
    COMPANY = "company"
    VEHICLE = "vehicle"
    OTHER = "other"


class IdentifierKind(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    IBAN = "iban"
    VEHICLE = "vehicle"
    IDENTITY_DOCUMENT = "identity_document"
    COMPANY = "company"
    ADDRESS = "address"


class Identifier(Frozen):
    kind: IdentifierKind
    value: str = Field(min_length=1)
    country: str | None = None


_DATE_OF_BIRTH = re.compile(r"^\d{4}(-\d{2}-\d{2})?$")


class Target(Frozen):
    """A person, company or object of interest, contributed by one state under a handling code."""

    target_id: str = ""
    kind: TargetKind = TargetKind.PERSON
    name: str = Field(min_length=1)
    aliases: tuple[str, ...] = ()
    date_of_birth: str | None = None
    nationality: str | None = None
    network: str | None = None
    identifiers: tuple[Identifier, ...] = ()
    contributed_by: str = ""
    handling_code: HandlingCode = HandlingCode.H0
    handling_restriction: str | None = None

    @field_validator("date_of_birth")
    @classmethod
    def _date_of_birth_shape(cls, value: str | None) -> str | None:
        if value is not None and not _DATE_OF_BIRTH.match(value):
            raise ValueError(f"date_of_birth {value!r} must be YYYY-MM-DD or YYYY")
        return value


class SourceReliability(StrEnum):
    """4x4 evaluation, source: A reliable, B mostly reliable, C not reliable, X cannot be assessed."""

    A = "A"
    B = "B"
    C = "C"
    X = "X"


class Intelligence(Frozen):
    """An item under a handling code, evaluated by the 4x4 system (source reliability A/B/C/X and
    information accuracy 1 known true, 2 known to the source, 3 not known to the source, 4 cannot be judged)."""

    item_id: str = ""
    summary: str = Field(min_length=1)
    contributed_by: str = ""
    handling_code: HandlingCode = HandlingCode.H0
    handling_restriction: str | None = None
    source_reliability: SourceReliability = SourceReliability.X
    information_accuracy: int = Field(default=4, ge=1, le=4)
    linked_targets: tuple[str, ...] = ()
    identifiers: tuple[Identifier, ...] = ()  # phones, accounts ... the item names; deconflicted like targets'
    released_to: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _h3_states_restriction(self) -> Intelligence:
        if self.handling_code is HandlingCode.H3 and not self.handling_restriction:
            raise ValueError("handling_code H3 needs handling_restriction stating the restriction")
        return self

    @property
    def evaluation(self) -> str:
        return f"{self.source_reliability.value}{self.information_accuracy}"


class TaskKind(StrEnum):
    SURVEILLANCE = "surveillance"
    ARREST = "arrest"
    SEARCH = "search"
    FINANCIAL_ENQUIRY = "financial_enquiry"
    WITNESS_PROTECTION = "witness_protection"
    VICTIM_SUPPORT = "victim_support"
    RELEASE = "release"  # permission to pass an intelligence item on, asked of its provider
    OTHER = "other"


# Tasks whose measure intrudes on a person's liberty, home, private life or property, as an arrest, a
# search, covert surveillance, or the tracing, freezing and seizing of assets (financial enquiries are the
# only kind of those): approving or rejecting one takes a step-up (a one-time code) in the API, and the
# event records it. Protective tasks (witness protection, victim support), releases of information and
# "other" are not coercive; tests/unit/test_step_up.py makes every new kind take a side.
COERCIVE_TASK_KINDS: frozenset[TaskKind] = frozenset({
    TaskKind.ARREST, TaskKind.SEARCH, TaskKind.SURVEILLANCE, TaskKind.FINANCIAL_ENQUIRY})

# Whether the approver confirmed a one-time code (the API's step-up) for an approval or rejection. Left out
# of the encoding when False: commands and events without it digest and hash exactly as before it existed,
# so every stored chain and recorded history holds, and records written before it read as False.
StepUp = Annotated[bool, Field(exclude_if=lambda done: not done)]


class TaskStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    DROPPED = "dropped"


class Task(Frozen):
    task_id: str
    member_state: str
    kind: TaskKind
    description: str
    due: datetime
    four_eyes: bool = False
    status: TaskStatus = TaskStatus.PENDING
    approvals: tuple[str, ...] = ()
    rejected_by: str | None = None
    rejection_reason: str | None = None
    reminded: bool = False
    escalated: bool = False
    item_id: str | None = None
    release_to: str | None = None

    @property
    def is_release(self) -> bool:
        return self.kind is TaskKind.RELEASE

    @property
    def is_coercive(self) -> bool:
        return self.kind in COERCIVE_TASK_KINDS

    @property
    def approvals_needed(self) -> int:
        return 2 if self.four_eyes else 1


class Place(Frozen):
    name: str = Field(min_length=1)
    country: str
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)


class ActionDayStatus(StrEnum):
    SCHEDULED = "scheduled"
    BLOCKED = "blocked"
    RUNNING = "running"
    FINISHED = "finished"
    CANCELLED = "cancelled"

    @property
    def is_over(self) -> bool:
        return self in (ActionDayStatus.FINISHED, ActionDayStatus.CANCELLED)


class ActionDay(Frozen):
    action_day_id: str
    start: datetime
    end: datetime
    places: tuple[Place, ...]
    member_states: tuple[str, ...] = ()
    status: ActionDayStatus = ActionDayStatus.SCHEDULED
    cancelled_reason: str | None = None
    missing_states: tuple[str, ...] = ()


class Results(Frozen):
    arrests: int = Field(default=0, ge=0)
    searches: int = Field(default=0, ge=0)
    seizures: int = Field(default=0, ge=0)
    assets_frozen_eur: float = Field(default=0, ge=0)
    victims_safeguarded: int = Field(default=0, ge=0)

    def __add__(self, other: Results) -> Results:
        return Results(
            arrests=self.arrests + other.arrests,
            searches=self.searches + other.searches,
            seizures=self.seizures + other.seizures,
            assets_frozen_eur=self.assets_frozen_eur + other.assets_frozen_eur,
            victims_safeguarded=self.victims_safeguarded + other.victims_safeguarded,
        )


class HitResolution(StrEnum):
    COORDINATED = "coordinated"  # the states agreed how to proceed together
    PROCEED = "proceed"  # each goes ahead, with a justification
    TARGET_WITHDRAWN = "target_withdrawn"  # one side withdrew the target or window


class DeconflictionHit(Frozen):
    """A match with another live operation, as one side sees it: what matched and whom to call,
    nothing else of the other operation."""

    hit_id: str
    kind: str  # identifier, person or window
    matched: str
    own_ref: str  # our target or action day that matched
    other_state: str
    other_contact: str
    other_handling_code: HandlingCode
    resolution: HitResolution | None = None
    resolved_by: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _without_the_other_operation(cls, data: Any) -> Any:
        # Logs written before the other operation's id was kept out of hits still carry it: drop it on read.
        if isinstance(data, dict) and "other_operation_id" in data:
            return {k: v for k, v in data.items() if k != "other_operation_id"}
        return data

    @property
    def is_open(self) -> bool:
        return self.resolution is None


class OperationSpec(Frozen):
    """What a coordinator writes to open an operation (the YAML/JSON spec file)."""

    code_name: str = Field(min_length=1, max_length=80)
    point_of_contact: str = ""  # named to other states on a deconfliction hit; the opener when empty
    lead_state: str
    participating_states: tuple[str, ...] = Field(min_length=1)
    partners: tuple[str, ...] = ()
    crime_areas: tuple[CrimeArea, ...] = Field(min_length=1)
    handling_code: HandlingCode = HandlingCode.H0
    handling_restriction: str | None = None
    networks: tuple[Network, ...] = ()
    targets: tuple[Target, ...] = ()
    intelligence: tuple[Intelligence, ...] = ()

    @model_validator(mode="after")
    def _h3_states_restriction(self) -> OperationSpec:
        if self.handling_code is HandlingCode.H3 and not self.handling_restriction:
            raise ValueError("handling_code H3 needs handling_restriction stating the restriction")
        return self
