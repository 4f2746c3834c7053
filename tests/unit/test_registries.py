"""Tables written by hand beside the unions they cover agree with them: the command union, the deciders
of every rules version and the role table; the event union, the evolvers and the descriptions; the
identifier kinds and their normalisers. A table that still misses an entry fails with an error naming
the type and the table, not a bare KeyError."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import BaseModel

from domain import commands as cmd
from domain import events as ev
from domain.actors import SYSTEM
from domain.decider import RULEBOOK, decide
from domain.deconfliction.normalise import NORMALISERS, identifier_key
from domain.describe import describe
from domain.errors import DomainError, NotAuthorised
from domain.lookup import found
from domain.model import (
    DeconflictionHit,
    HandlingCode,
    HitResolution,
    Identifier,
    IdentifierKind,
    Intelligence,
    Target,
)
from domain.reference import EU_MEMBER_STATES, EU_TO_ISO, canonical_code, iso_code
from domain.registry import Unregistered, union_members
from domain.rules import LATEST_RULES, ROLES, RulesVersion, roles_for
from domain.state import _EVOLVERS, OperationState, evolve
from domain.utc import as_utc
from tests.unit.builders import (
    COORDINATOR,
    HIGH,
    RULES,
    Driver,
    approver,
    driven_to,
    officer,
    spec,
)

COMMAND_TYPES = set(union_members(cmd.Command))
EVENT_TYPES = set(union_members(ev.Event))


def _names(types: set[type]) -> list[str]:
    return sorted(t.__name__ for t in types)


# --- commands -------------------------------------------------------------------------------------

def test_the_command_union_is_read_whole() -> None:
    assert cmd.OpenOperation in COMMAND_TYPES and cmd.RecordHitResolution in COMMAND_TYPES


@pytest.mark.parametrize("rules", list(RulesVersion))
def test_every_rules_version_has_a_decider_for_exactly_the_commands_of_the_union(rules: RulesVersion) -> None:
    deciders = set(RULEBOOK[rules])
    assert _names(COMMAND_TYPES - deciders) == [], "commands without a decider"
    assert _names(deciders - COMMAND_TYPES) == [], "deciders of no command in the union"


def test_the_role_table_has_exactly_the_commands_of_the_union() -> None:
    assert _names(COMMAND_TYPES - set(ROLES)) == [], "commands no role may issue"
    assert _names(set(ROLES) - COMMAND_TYPES) == [], "roles for no command in the union"
    assert all(ROLES.values()), "a command with an empty tuple of roles"


def test_every_rules_version_is_in_the_rulebook() -> None:
    assert set(RULEBOOK) == set(RulesVersion)
    assert LATEST_RULES in RULEBOOK


@pytest.mark.parametrize("rules", list(RulesVersion))
def test_a_missing_decider_is_named(monkeypatch: pytest.MonkeyPatch, rules: RulesVersion) -> None:
    d = driven_to("identify")
    invite: type[cmd.CommandBase] = cmd.InvitePartner
    monkeypatch.delitem(RULEBOOK[rules], invite)
    with pytest.raises(Unregistered, match=rf"InvitePartner has no entry in the deciders of rules {rules.value}") \
            as caught:
        decide(d.state, cmd.InvitePartner(actor=COORDINATOR, partner="RS"), d.now, rules)
    assert not isinstance(caught.value, KeyError)


def test_a_command_missing_from_the_role_table_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unlisted means nobody may: never allowed by default."""
    d = driven_to("identify")
    invite: type[cmd.CommandBase] = cmd.InvitePartner
    monkeypatch.delitem(ROLES, invite)
    with pytest.raises(Unregistered, match="InvitePartner has no entry in ROLES"):
        roles_for(cmd.InvitePartner)
    with pytest.raises(NotAuthorised, match="unknown command 'invite_partner'"):
        decide(d.state, cmd.InvitePartner(actor=COORDINATOR, partner="RS"), d.now, RULES)


# --- events ---------------------------------------------------------------------------------------

def test_every_event_of_the_union_has_an_evolver_and_nothing_else_does() -> None:
    assert _names(EVENT_TYPES - set(_EVOLVERS)) == [], "events without an evolver"
    assert _names(set(_EVOLVERS) - EVENT_TYPES) == [], "evolvers of no event in the union"


def test_a_missing_evolver_is_named_and_refuses_the_command_before_anything_is_recorded(
        monkeypatch: pytest.MonkeyPatch) -> None:
    d = driven_to("identify")
    invite = cmd.InvitePartner(actor=COORDINATOR, partner="RS")
    [invited] = decide(d.state, invite, d.now, RULES)
    invited_type: type[BaseModel] = ev.PartnerInvited
    monkeypatch.delitem(_EVOLVERS, invited_type)
    with pytest.raises(Unregistered, match=r"PartnerInvited has no entry in _EVOLVERS \(domain/state.py\)"):
        evolve(d.state, invited)
    # decide checks its events can be evolved: the workflow's validator refuses, nothing is appended
    with pytest.raises(Unregistered, match="PartnerInvited"):
        decide(d.state, invite, d.now, RULES)


def _a_hit(own_ref: str) -> DeconflictionHit:
    return DeconflictionHit(hit_id=f"HIT-{own_ref}", kind="identifier", matched="phone +40 721 000 111",
                            own_ref=own_ref, other_state="RO", other_contact="lo-ro-1",
                            other_handling_code=HandlingCode.H0)


def _identify_and_prepare() -> list[ev.Event]:
    """Contributions, a release, a task through every answer, a hit raised and resolved, a day cancelled."""
    d = Driver().open(spec(partners=["RS"], intelligence=[{"summary": "cash at Kulata", "contributed_by": "EL",
                                                           "handling_code": "H2"}]))
    d.run(cmd.AddTarget(actor=COORDINATOR, target=Target(name="Maria Popescu")))
    d.run(cmd.AddIntelligence(actor=officer("BG"), item=Intelligence(summary="a second vehicle")))
    d.run(cmd.InvitePartner(actor=COORDINATOR, partner="UA"))
    d.submit(HIGH).confirm()
    [release] = d.run(cmd.RequestRelease(actor=COORDINATOR, item_id="IN1", to_state="RS"))
    assert isinstance(release, ev.TaskPlanned)
    d.approve(release.task.task_id, approver("EL"))
    task_id = d.plan("BG")
    for command in (cmd.RemindApproval(actor=SYSTEM, task_id=task_id),
                    cmd.EscalateApproval(actor=SYSTEM, task_id=task_id),
                    cmd.RejectTask(actor=approver("BG"), task_id=task_id, justification="no grounds"),
                    cmd.ReplanTask(actor=COORDINATOR, task_id=task_id, description="with grounds"),
                    cmd.DropTask(actor=COORDINATOR, task_id=task_id, justification="not needed"),
                    cmd.RecordHit(actor=SYSTEM, hit=_a_hit("TG1"), justification="deconfliction check"),
                    cmd.ResolveHit(actor=officer("BG"), hit_id="HIT-TG1", resolution=HitResolution.COORDINATED,
                                   justification="agreed with RO")):
        d.run(command)
    d.schedule()
    d.run(cmd.CancelActionDay(actor=COORDINATOR, action_day_id="AD1", justification="border closed"))
    return d.events


def _blocked() -> list[ev.Event]:
    d = driven_to("ready")
    d.run(cmd.RecordHit(actor=SYSTEM, hit=_a_hit("AD1"), justification="deconfliction check"))
    d.start_day()
    return d.events


def every_kind_of_event() -> list[ev.Event]:
    """Events of real runs of the decider, between them of every type of the union."""
    return [*driven_to("parked").events, *_identify_and_prepare(), *_blocked(), *driven_to("closed").events,
            *driven_to("cancelled").events]


def test_the_runs_emit_every_type_of_event() -> None:
    """A guard on the sample below: a new event type needs a run here that emits it."""
    assert _names(EVENT_TYPES - {type(e) for e in every_kind_of_event()}) == []


def test_every_event_has_its_own_description() -> None:
    for event in every_kind_of_event():
        text = describe(event)
        assert text and text != event.type, f"{type(event).__name__} is described only by its type"


# --- identifiers, countries, times, lookups --------------------------------------------------------

SAMPLE_IDENTIFIERS = {
    IdentifierKind.PHONE: "0888 123 456", IdentifierKind.EMAIL: "Ivan.Petrov@Example.EU",
    IdentifierKind.IBAN: "BG80 BNBG 9661 1020 3456 78", IdentifierKind.VEHICLE: "СА 1234 АВ",
    IdentifierKind.IDENTITY_DOCUMENT: "passport:381234567", IdentifierKind.COMPANY: "201234567",
    IdentifierKind.ADDRESS: "1 Vitosha Blvd, Sofia",
}


def test_every_identifier_kind_has_a_normaliser() -> None:
    assert sorted(set(IdentifierKind) - set(NORMALISERS)) == []
    assert set(SAMPLE_IDENTIFIERS) == set(IdentifierKind)


@pytest.mark.parametrize("kind", list(IdentifierKind))
def test_every_key_starts_with_its_kind(kind: IdentifierKind) -> None:
    key = identifier_key(Identifier(kind=kind, value=SAMPLE_IDENTIFIERS[kind]), "BG")
    assert key.startswith(f"{kind.value}:") and len(key) > len(kind.value) + 1


@pytest.mark.parametrize(("eu", "iso"), list(EU_TO_ISO.items()))
def test_one_alias_table_serves_both_spellings(eu: str, iso: str) -> None:
    assert iso_code(eu) == iso_code(iso) == iso
    assert canonical_code(eu) == canonical_code(iso)
    assert canonical_code(iso) == (eu if eu in EU_MEMBER_STATES else iso)
    assert canonical_code(f" {eu.lower()} ") == canonical_code(iso)


def test_as_utc() -> None:
    moment = datetime(2030, 3, 1, 8, 0, tzinfo=UTC)
    assert as_utc(moment) is moment
    assert as_utc(moment.replace(tzinfo=None)) == moment and as_utc(moment.replace(tzinfo=None)).tzinfo is UTC
    shifted = as_utc(moment.astimezone(timezone(timedelta(hours=2))))
    assert shifted == moment and shifted.tzinfo is UTC and shifted.hour == 8


def test_found_refuses_with_not_found_naming_field_and_value() -> None:
    things = {"TK1": "a", "TK2": "b"}
    assert found(things, "TK2", field="task_id", what="a task", where="operation X") == "b"
    with pytest.raises(DomainError) as listed:
        found(things, "TK9", field="task_id", what="a task", where="operation X", listed_as="tasks")
    assert listed.value.message == "task_id: 'TK9' is not a task of operation X (tasks: TK1, TK2)"
    assert (listed.value.code, listed.value.field, listed.value.value) == ("not_found", "task_id", "TK9")
    with pytest.raises(DomainError) as unlisted:
        found({}, "IN9", field="item_id", what="an intelligence item", where="op-x")
    assert unlisted.value.message == "item_id: 'IN9' is not an intelligence item of op-x"


def test_opening_is_in_the_table_like_any_command_and_the_others_need_an_operation() -> None:
    with pytest.raises(DomainError, match="the operation does not exist"):
        decide(OperationState(), cmd.InvitePartner(actor=COORDINATOR, partner="RS"),
               datetime(2030, 1, 1, tzinfo=UTC), RULES)
