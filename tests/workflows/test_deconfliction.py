"""Deconfliction end to end: two member states' operations collide on one phone, both are blocked at
execute, a liaison officer resolves the hit, both proceed; closing releases the entries."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine
from temporalio.client import Client

from domain import commands as cmd
from domain.errors import DomainError
from domain.model import (
    HandlingCode,
    HitResolution,
    Identifier,
    IdentifierKind,
    Intelligence,
    OperationSpec,
    Phase,
    TaskKind,
)
from domain.state import OperationState
from gateway.operations import OperationsGateway
from gateway.witness import histories
from store.audit_log import AuditLog
from tests.workflows.scenario import (
    ASSESSMENT,
    COORDINATOR,
    SHORT_TIMING,
    approver,
    distinct_place,
    later,
    officer,
    wait_for,
)
from tests.workflows.test_lifecycle import record_history

# A number no other operation of the session files; BG writes it nationally, DE internationally.
BG_SPEC = OperationSpec.model_validate({
    "code_name": "BLACKSEA", "lead_state": "BG", "participating_states": ["RO"], "handling_code": "H1",
    "crime_areas": ["migrant_smuggling"],
    "point_of_contact": "BG duty desk, +359 2 982 2222",
    "targets": [{"name": "Stoyan Kolev", "identifiers": [{"kind": "phone", "value": "0899 765 432"}]}],
})
DE_SPEC = OperationSpec.model_validate({
    "code_name": "ELBE", "lead_state": "DE", "participating_states": ["NL"], "handling_code": "H2",
    "crime_areas": ["drug_trafficking"],
    "point_of_contact": "BKA SO-14, +49 611 55 0",
    "targets": [{"name": "S. Kolev", "identifiers": [{"kind": "phone", "value": "+359 899 765 432"}]}],
})


async def open_and_prepare(gateway: OperationsGateway, operation_id: str, spec: OperationSpec) -> OperationState:
    opened = await gateway.open(cmd.OpenOperation(actor=COORDINATOR, operation_id=operation_id, spec=spec,
                                                  timing=SHORT_TIMING, justification="referral"))
    await gateway.send(operation_id, cmd.SubmitForPrioritisation(actor=COORDINATOR, assessment=ASSESSMENT))
    await gateway.send(operation_id, cmd.DecidePriority(actor=COORDINATOR))
    await gateway.send(operation_id, cmd.PlanTask(actor=COORDINATOR, member_state=spec.lead_state,
                                                  task_kind=TaskKind.ARREST, description="arrest", due=later(3600)))
    await gateway.send(operation_id, cmd.ApproveTask(actor=approver(spec.lead_state), task_id="TK1"))
    await gateway.send(operation_id, cmd.ScheduleActionDay(
        actor=COORDINATOR, start=later(1.0), end=later(3600), places=(distinct_place(),)))
    return opened


async def test_colliding_phones_block_both_until_resolved(gateway: OperationsGateway, session_engine: Engine,
                                                          operation_id: str) -> None:
    bg_op, de_op = f"{operation_id}-bg", f"{operation_id}-de"
    bg_opened = await open_and_prepare(gateway, bg_op, BG_SPEC)
    assert bg_opened.hits == {}
    de_opened = await open_and_prepare(gateway, de_op, DE_SPEC)

    # The later operation learns of the hit when it opens, the earlier one by a signal.
    [de_hit] = de_opened.hits.values()
    assert (de_hit.kind, de_hit.matched, de_hit.own_ref) == ("identifier", "phone:+359899765432", "TG1")
    assert (de_hit.other_state, de_hit.other_contact, de_hit.other_handling_code.value) == (
        "BG", "BG duty desk, +359 2 982 2222", "H1")
    bg_state = await wait_for(gateway, bg_op, lambda s: bool(s.hits))
    [bg_hit] = bg_state.hits.values()
    assert bg_hit.hit_id == de_hit.hit_id
    assert (bg_hit.other_state, bg_hit.other_contact, bg_hit.other_handling_code.value) == (
        "DE", "BKA SO-14, +49 611 55 0", "H2")
    assert "ELBE" not in bg_hit.model_dump_json() and "BLACKSEA" not in de_hit.model_dump_json()
    # Nothing of the other operation, its id included, reaches the state or the audit log.
    assert de_op not in bg_state.model_dump_json() and bg_op not in de_opened.model_dump_json()
    assert de_op not in json.dumps([r.payload for r in AuditLog(session_engine).read(bg_op)])

    # Both are blocked at execute by the unresolved hit.
    for op in (bg_op, de_op):
        blocked = await wait_for(gateway, op, lambda s: bool(s.execution_blocked_reasons))
        assert blocked.phase is Phase.PREPARE
        assert any(f"deconfliction hit {de_hit.hit_id} with" in r for r in blocked.execution_blocked_reasons)

    # Only liaison officers of the states involved resolve, with a justification, once.
    resolve = cmd.ResolveHit(actor=officer("DE"), hit_id=de_hit.hit_id, resolution=HitResolution.COORDINATED,
                             justification="joint arrest agreed with BG desk")
    with pytest.raises(DomainError, match="only liaison officers of DE, BG may"):
        await gateway.send(de_op, resolve.model_copy(update={"actor": officer("FR")}))
    with pytest.raises(DomainError, match="may not resolve hit: only a liaison officer may"):
        await gateway.send(de_op, resolve.model_copy(update={"actor": approver("DE")}))
    with pytest.raises(DomainError, match="justification"):
        await gateway.send(de_op, resolve.model_copy(update={"justification": ""}))
    with pytest.raises(DomainError, match="'H0' is not a deconfliction hit"):
        await gateway.send(de_op, resolve.model_copy(update={"hit_id": "H0"}))
    await gateway.send(de_op, resolve)
    with pytest.raises(DomainError, match="already resolved"):
        await gateway.send(bg_op, resolve.model_copy(update={"actor": officer("BG")}))

    # Both proceed to execution by themselves; both audit logs hold the hit and its resolution.
    for op in (bg_op, de_op):
        state = await wait_for(gateway, op, lambda s: s.phase is Phase.EXECUTE)
        assert state.hits[de_hit.hit_id].resolution is HitResolution.COORDINATED
        assert state.hits[de_hit.hit_id].resolved_by == "lo-de (DE)"
        types = [r.type for r in AuditLog(session_engine).read(op)]
        assert types.count("deconfliction_hit_raised") == 1 and types.count("deconfliction_hit_resolved") == 1
    await record_history(gateway.client, bg_op, "hit_signalled_then_resolved_by_the_other_side")


async def test_a_cancelled_operation_withdraws_its_hits_and_releases_its_entries(
        gateway: OperationsGateway, operation_id: str, session_engine: Engine) -> None:
    spec = BG_SPEC.model_copy(update={"targets": (BG_SPEC.targets[0].model_copy(update={"identifiers": (
        BG_SPEC.targets[0].identifiers[0].model_copy(update={"value": "0899 111 222"}),)}),)})
    first_op, second_op = f"{operation_id}-1", f"{operation_id}-2"
    first = await gateway.open(cmd.OpenOperation(actor=COORDINATOR, operation_id=first_op, spec=spec,
                                                 timing=SHORT_TIMING))
    assert first.hits == {}
    second = await gateway.open(cmd.OpenOperation(actor=COORDINATOR, operation_id=second_op, spec=spec,
                                                  timing=SHORT_TIMING))
    assert [h.matched for h in second.hits.values()] == ["phone:+359899111222"]
    await wait_for(gateway, first_op, lambda s: bool(s.hits))

    # The first is cancelled with the hit open: the second is no longer held back by it.
    await gateway.send(first_op, cmd.CancelOperation(actor=COORDINATOR, justification="duplicate referral"))
    second_now = await wait_for(gateway, second_op, lambda s: not s.open_hits())
    [withdrawn] = second_now.hits.values()
    assert withdrawn.resolution is HitResolution.TARGET_WITHDRAWN
    assert withdrawn.resolved_by == f"{COORDINATOR.id} (BG)"
    first_log = [(r.type, r.justification) for r in AuditLog(session_engine).read(first_op)][-2:]
    assert first_log == [("deconfliction_hit_resolved", "the operation was cancelled"),
                         ("operation_cancelled", "duplicate referral")]

    await gateway.send(second_op, cmd.CancelOperation(actor=COORDINATOR, justification="duplicate referral"))
    await wait_for(gateway, second_op, lambda s: s.phase is Phase.CANCELLED)
    await record_history(gateway.client, first_op, "cancelled_with_an_open_hit")
    await record_history(gateway.client, second_op, "hit_withdrawn_by_the_other_side")
    third = await gateway.open(cmd.OpenOperation(actor=COORDINATOR, operation_id=f"{operation_id}-3", spec=spec,
                                                 timing=SHORT_TIMING))
    assert third.hits == {}


async def test_unreadable_phone_is_refused_and_nothing_starts(gateway: OperationsGateway,
                                                              operation_id: str) -> None:
    spec = BG_SPEC.model_copy(update={"targets": (BG_SPEC.targets[0].model_copy(update={"identifiers": (
        BG_SPEC.targets[0].identifiers[0].model_copy(update={"value": "0899 12"}),)}),)})
    with pytest.raises(DomainError, match="phone '0899 12' is not a valid number"):
        await gateway.open(cmd.OpenOperation(actor=COORDINATOR, operation_id=operation_id, spec=spec,
                                             timing=SHORT_TIMING))
    with pytest.raises(DomainError, match="does not exist"):
        await gateway.state(operation_id)



async def test_an_identifier_named_by_intelligence_collides_with_another_states_target(
        gateway: OperationsGateway, operation_id: str, session_engine: Engine, temporal_client: Client) -> None:
    # BG's operation is H1, but this target was given H2: the other side is told the stricter code.
    bg_spec = BG_SPEC.model_copy(update={"targets": (BG_SPEC.targets[0].model_copy(update={"identifiers": (
        Identifier(kind=IdentifierKind.IBAN, value="BG40 BNBG 9661 1020 9991 11"),),
        "handling_code": HandlingCode.H2}),)})
    de_spec = DE_SPEC.model_copy(update={"targets": ()})
    bg_op, de_op = f"{operation_id}-bg", f"{operation_id}-de"
    # BG's workflow continues as new after every two events: where to send its resolution must survive that.
    restless = OperationsGateway(temporal_client, "liaison-tests", AuditLog(session_engine),
                                 continue_as_new_after_events=2)
    await restless.open(cmd.OpenOperation(actor=COORDINATOR, operation_id=bg_op, spec=bg_spec, timing=SHORT_TIMING))
    await gateway.open(cmd.OpenOperation(actor=COORDINATOR, operation_id=de_op, spec=de_spec, timing=SHORT_TIMING))
    item = Intelligence(summary="Rent for the safe house paid from this account", handling_code=HandlingCode.H2,
                        identifiers=(Identifier(kind=IdentifierKind.IBAN, value="bg40bnbg96611020999111"),))
    await gateway.send(de_op, cmd.AddIntelligence(actor=officer("NL"), item=item, justification="NL informant"))

    de_state = await wait_for(gateway, de_op, lambda s: bool(s.hits))
    [de_hit] = de_state.hits.values()
    assert (de_hit.own_ref, de_hit.matched, de_hit.other_state) == ("IN1", "iban:BG40BNBG96611020999111", "BG")
    assert de_hit.other_handling_code is HandlingCode.H2
    bg_state = await wait_for(gateway, bg_op, lambda s: bool(s.hits))
    [bg_hit] = bg_state.hits.values()
    assert (bg_hit.hit_id, bg_hit.own_ref, bg_hit.other_state) == (de_hit.hit_id, "TG1", "NL")
    await restless.send(bg_op, cmd.ResolveHit(actor=officer("NL"), hit_id=bg_hit.hit_id,
                                              resolution=HitResolution.PROCEED, justification="different case"))
    assert len(await histories(temporal_client, bg_op)) >= 2, "BG's workflow should have continued as new"
    await wait_for(gateway, de_op, lambda s: not s.open_hits())
    for op in (bg_op, de_op):
        await gateway.send(op, cmd.CancelOperation(actor=COORDINATOR, justification="test over"))


async def test_a_hit_with_an_operation_that_has_already_ended_is_withdrawn_at_once(
        gateway: OperationsGateway, operation_id: str, temporal_client: Client) -> None:
    spec = BG_SPEC.model_copy(update={"targets": (BG_SPEC.targets[0].model_copy(update={"identifiers": (
        BG_SPEC.targets[0].identifiers[0].model_copy(update={"value": "0899 555 321"}),)}),)})
    gone, live = f"{operation_id}-gone", f"{operation_id}-live"
    await gateway.open(cmd.OpenOperation(actor=COORDINATOR, operation_id=gone, spec=spec, timing=SHORT_TIMING))
    # Ended without its own close (an administrator terminated it): its entries are still in the index.
    await temporal_client.get_workflow_handle(gone).terminate(reason="test: ended outside Liaison")
    opened = await gateway.open(cmd.OpenOperation(actor=COORDINATOR, operation_id=live, spec=spec,
                                                  timing=SHORT_TIMING))
    [hit] = opened.hits.values()
    assert hit.matched == "phone:+359899555321"
    assert (hit.resolution, hit.resolved_by) == (HitResolution.TARGET_WITHDRAWN, "liaison (BG)")
    assert not opened.open_hits(), "an operation that has ended cannot hold this one back"
    await gateway.send(live, cmd.CancelOperation(actor=COORDINATOR, justification="test over"))
