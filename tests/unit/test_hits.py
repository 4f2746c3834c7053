"""Deconfliction hits in the decider: who may resolve them, and how they hold action days back,
before execution and once it runs."""

from __future__ import annotations

from datetime import timedelta

from domain import commands as cmd
from domain import events as ev
from domain.actors import SYSTEM
from domain.deconfliction.entries import entries_for_item
from domain.errors import DomainError, InvalidInput, NotAuthorised
from domain.model import (
    ActionDayStatus,
    DeconflictionHit,
    HandlingCode,
    HitResolution,
    Identifier,
    IdentifierKind,
    Intelligence,
    Phase,
    Results,
)
from domain.schedule import due_commands, next_deadline
from domain.visibility import HIDDEN_MATCH, as_seen_by
from tests.unit.builders import COORDINATOR, Driver, driven_to, officer, refused


def a_hit(own_ref: str, hit_id: str = "HIT1", other_state: str = "RO") -> DeconflictionHit:
    return DeconflictionHit(hit_id=hit_id, kind="identifier", matched="phone +40 721 000 111", own_ref=own_ref,
                            other_state=other_state, other_contact="lo-ro-1", other_handling_code=HandlingCode.H0)


def raise_hit(d: Driver, hit: DeconflictionHit) -> None:
    d.run(cmd.RecordHit(actor=SYSTEM, hit=hit, justification="found by deconfliction"))


def resolve(d: Driver, code: str, hit_id: str = "HIT1") -> list[ev.Event]:
    return d.run(cmd.ResolveHit(actor=officer(code), hit_id=hit_id, resolution=HitResolution.COORDINATED,
                                justification="agreed by phone"))


def run_due(d: Driver) -> list[ev.Event]:
    """What the workflow's timer does: run whatever has come due at the next deadline."""
    when = next_deadline(d.state)
    assert when is not None
    emitted = []
    for command in due_commands(d.state, max(when, d.now)):
        emitted += d.run(command, at=max(when, d.now))
    return emitted


def test_only_an_involved_state_resolves_a_hit_once_and_with_a_reason() -> None:
    d = driven_to("ready")
    raise_hit(d, a_hit(own_ref="AD1"))
    refused(d, cmd.ResolveHit(actor=officer("FR"), hit_id="HIT1", resolution=HitResolution.PROCEED,
                              justification="x"), NotAuthorised,
            "may not resolve hit HIT1: only liaison officers of BG, EL, DE, RO may")
    refused(d, cmd.ResolveHit(actor=officer("BG"), hit_id="HIT1", resolution=HitResolution.PROCEED),
            DomainError, "resolving a deconfliction hit needs a justification")
    refused(d, cmd.ResolveHit(actor=officer("BG"), hit_id="HIT9", resolution=HitResolution.PROCEED,
                              justification="x"), DomainError, "hit_id: 'HIT9' is not a deconfliction hit", "HIT1")
    [resolved] = resolve(d, "RO")
    assert isinstance(resolved, ev.DeconflictionHitResolved) and resolved.resolved_by == "lo-ro (RO)"
    refused(d, cmd.ResolveHit(actor=officer("BG"), hit_id="HIT1", resolution=HitResolution.PROCEED,
                              justification="x"), DomainError, "hit HIT1 was already resolved (coordinated)")


def test_an_open_hit_blocks_the_first_day_and_its_resolution_starts_it() -> None:
    d = driven_to("ready")
    raise_hit(d, a_hit(own_ref="AD1"))
    [blocked] = d.start_day("AD1")
    assert isinstance(blocked, ev.ExecutionBlocked)
    assert blocked.reasons == ("deconfliction hit HIT1 with RO (phone +40 721 000 111) is unresolved",)
    assert d.state.phase is Phase.PREPARE
    resolve(d, "BG")
    assert [e.type for e in run_due(d)] == ["phase_advanced", "execution_started"]


def test_a_hit_found_during_execution_holds_back_the_next_day_but_not_the_running_one() -> None:
    d = driven_to("execute")
    d.schedule(start_in=timedelta(hours=2), length=timedelta(hours=20), member_states=("EL",))
    raise_hit(d, a_hit(own_ref="AD2"))
    [blocked] = d.start_day("AD2")
    assert isinstance(blocked, ev.ExecutionBlocked) and blocked.action_day_id == "AD2"
    assert d.day("AD1").status is ActionDayStatus.RUNNING
    for code in ("BG", "EL", "DE"):
        d.report(code, Results(arrests=1), action_day_id="AD1")
    assert d.day("AD1").status is ActionDayStatus.FINISHED
    assert d.state.phase is Phase.EXECUTE, "a blocked day with its window open keeps the operation open"
    resolve(d, "EL")
    assert [e.type for e in run_due(d)] == ["execution_started"]
    assert d.day("AD2").status is ActionDayStatus.RUNNING
    d.report("EL", Results(seizures=2), action_day_id="AD2")
    assert d.state.phase is Phase.CLOSED and d.state.totals == Results(arrests=3, seizures=2)


def test_a_day_still_blocked_when_its_window_ends_is_cancelled_and_the_operation_closes() -> None:
    d = driven_to("execute")
    d.schedule(start_in=timedelta(hours=2), length=timedelta(hours=4), member_states=("EL",))
    raise_hit(d, a_hit(own_ref="AD2"))
    d.start_day("AD2")
    for code in ("BG", "EL", "DE"):
        d.report(code, Results(arrests=1), action_day_id="AD1")
    assert next_deadline(d.state) == d.day("AD2").end
    emitted = run_due(d)
    assert [e.type for e in emitted] == ["action_day_cancelled", "deconfliction_hit_resolved", "operation_closed"]
    assert d.state.hits["HIT1"].resolution is HitResolution.TARGET_WITHDRAWN
    assert (d.day("AD2").cancelled_reason or "").startswith(
        f"its window ended {d.day('AD2').end.isoformat()} while execution was blocked")
    assert d.state.phase is Phase.CLOSED


def test_cancelling_a_day_withdraws_its_hits_and_no_others() -> None:
    d = driven_to("ready")
    target_id = d.state.targets[0].target_id
    raise_hit(d, a_hit(own_ref="AD1"))
    raise_hit(d, a_hit(own_ref=target_id, hit_id="HIT2", other_state="HU"))
    d.start_day("AD1")
    emitted = d.run(cmd.CancelActionDay(actor=COORDINATOR, action_day_id="AD1", justification="target moved"))
    assert [e.type for e in emitted] == ["action_day_cancelled", "deconfliction_hit_resolved"]
    [withdrawn] = emitted[1:]
    assert isinstance(withdrawn, ev.DeconflictionHitResolved)
    assert (withdrawn.hit_id, withdrawn.resolution, withdrawn.justification) == (
        "HIT1", HitResolution.TARGET_WITHDRAWN, "action day AD1 was cancelled")
    assert withdrawn.resolved_by == f"{COORDINATOR.id} (BG)"
    assert d.day("AD1").status is ActionDayStatus.CANCELLED and d.state.phase is Phase.PREPARE
    assert [h.hit_id for h in d.state.open_hits()] == ["HIT2"]
    assert next_deadline(d.state) is None, "nothing is left for the timer to start"


def test_cancelling_the_operation_withdraws_every_open_hit_first() -> None:
    d = driven_to("ready")
    raise_hit(d, a_hit(own_ref="AD1"))
    raise_hit(d, a_hit(own_ref=d.state.targets[0].target_id, hit_id="HIT2", other_state="HU"))
    resolve(d, "BG", "HIT2")
    emitted = d.run(cmd.CancelOperation(actor=COORDINATOR, justification="merged into another case"))
    assert [e.type for e in emitted] == ["deconfliction_hit_resolved", "operation_cancelled"]
    assert d.state.hits["HIT1"].resolution is HitResolution.TARGET_WITHDRAWN
    assert d.state.hits["HIT2"].resolution is HitResolution.COORDINATED


def test_closing_withdraws_a_hit_still_open_on_the_last_day() -> None:
    d = driven_to("execute")
    raise_hit(d, a_hit(own_ref="AD1"))
    emitted = [e.type for code in ("BG", "EL", "DE") for e in d.report(code, Results(arrests=1))]
    assert emitted[-3:] == ["action_day_finished", "deconfliction_hit_resolved", "operation_closed"]
    assert not d.state.open_hits() and d.state.phase is Phase.CLOSED
    [withdrawn] = [e for e in d.events if isinstance(e, ev.DeconflictionHitResolved)]
    assert withdrawn.actor == SYSTEM, "the last officer to report did not withdraw anything"
    assert (withdrawn.resolved_by, withdrawn.justification) == ("liaison (BG)", "the operation closed")


def test_identifiers_named_by_intelligence_are_read_like_targets_and_filed_under_the_item() -> None:
    d = driven_to("prepare")
    item = Intelligence(summary="Calls to the driver's phone", handling_code=HandlingCode.H2)
    [added] = d.run(cmd.AddIntelligence(actor=officer("EL"), item=item.model_copy(update={
        "identifiers": (Identifier(kind=IdentifierKind.PHONE, value="6912345678"),)})))
    assert isinstance(added, ev.IntelligenceAdded) and added.item.contributed_by == "EL"
    [filed] = entries_for_item(added.item)
    assert (filed.ref, filed.member_state, filed.key) == ("IN1", "EL", "phone:+306912345678")
    refused(d, cmd.AddIntelligence(actor=officer("BG"), item=item.model_copy(update={"identifiers": (
        Identifier(kind=IdentifierKind.PHONE, value="0899 12"),)})), InvalidInput, "phone '0899 12' is not a valid")
    raise_hit(d, a_hit(own_ref="IN1"))
    assert d.state.our_states_in(d.state.hits["HIT1"]) == ("EL",)
    refused(d, cmd.ResolveHit(actor=officer("DE"), hit_id="HIT1", resolution=HitResolution.PROCEED,
                              justification="x"), NotAuthorised, "only liaison officers of EL, RO may")


def test_a_hit_logged_with_the_other_operations_id_still_reads_without_it() -> None:
    legacy = a_hit(own_ref="AD1").model_dump(mode="json") | {"other_operation_id": "op-rhein"}
    read = DeconflictionHit.model_validate(legacy)
    assert read == a_hit(own_ref="AD1") and "op-rhein" not in read.model_dump_json()


def test_a_hit_on_a_day_that_is_already_over_is_recorded_and_withdrawn_at_once() -> None:
    d = driven_to("ready")
    d.run(cmd.CancelActionDay(actor=COORDINATOR, action_day_id="AD1", justification="target moved"))
    emitted = d.run(cmd.RecordHit(actor=SYSTEM, hit=a_hit(own_ref="AD1"), justification="found by the other side"))
    assert [e.type for e in emitted] == ["deconfliction_hit_raised", "deconfliction_hit_resolved"]
    assert emitted[1].justification == "action day AD1 is cancelled"
    assert not d.state.open_hits()


def test_a_hit_on_an_item_is_shown_without_what_matched_to_whom_may_not_see_the_item() -> None:
    d = driven_to("ready")
    item = Intelligence(summary="Rent paid from this account", handling_code=HandlingCode.H2,
                        identifiers=(Identifier(kind=IdentifierKind.IBAN, value="BG80 BNBG 9661 1020 3456 78"),))
    d.run(cmd.AddIntelligence(actor=officer("BG"), item=item))
    item_id = d.state.intelligence[-1].item_id
    raise_hit(d, a_hit(own_ref=item_id).model_copy(update={"matched": "iban:BG80BNBG96611020345678"}))
    d.start_day("AD1")
    assert any("iban:BG80BNBG96611020345678" in r for r in d.state.execution_blocked_reasons)

    seen_by_el = as_seen_by(officer("EL"), d.state)
    assert seen_by_el.hits["HIT1"].matched == HIDDEN_MATCH
    assert item_id not in [i.item_id for i in seen_by_el.intelligence]
    assert "iban:BG80BNBG96611020345678" not in seen_by_el.model_dump_json()
    assert any(HIDDEN_MATCH in r for r in seen_by_el.execution_blocked_reasons)
    for entitled in (officer("BG"), COORDINATOR):
        assert as_seen_by(entitled, d.state).hits["HIT1"].matched == "iban:BG80BNBG96611020345678"
