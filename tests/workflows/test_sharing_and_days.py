"""The clearing house end to end: handling codes decide who sees what, releases are tasks of the
provider, partners take part with narrower rights, and one operation runs several action days."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from temporalio.client import Client

from domain import commands as cmd
from domain.actors import Actor, Role
from domain.errors import DomainError
from domain.model import Intelligence, OperationSpec, Phase, Results, TaskKind
from gateway.operations import OperationsGateway
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
from workflows.operation import OperationWorkflow

SPEC = OperationSpec.model_validate({
    "code_name": "CLEARWATER", "lead_state": "BG", "participating_states": ["EL", "DE"], "partners": ["RS"],
    "crime_areas": ["trafficking_in_human_beings"],
    "targets": [{"name": "Dragan Jovanović", "contributed_by": "RS"}],
    "intelligence": [
        {"summary": "Route via Kulata", "contributed_by": "BG", "handling_code": "H0",
         "source_reliability": "B", "information_accuracy": 2},
        {"summary": "Informant in the port authority", "contributed_by": "EL", "handling_code": "H2",
         "source_reliability": "A", "information_accuracy": 1},
        {"summary": "Wiretap summary", "contributed_by": "BG", "handling_code": "H3",
         "handling_restriction": "not to be used before 2027", "source_reliability": "C",
         "information_accuracy": 3},
    ],
})
RS_OFFICER = Actor(id="lo-rs", role=Role.LIAISON_OFFICER, member_state="RS")
RS_APPROVER = Actor(id="ap-rs-1", role=Role.APPROVER, member_state="RS")
SOFIA = distinct_place("Sofia", "BG")
THESSALONIKI = distinct_place("Thessaloniki", "GR")


async def _visible(gateway: OperationsGateway, operation_id: str, viewer: Actor) -> list[str]:
    return [i.item_id for i in await gateway.intelligence(operation_id, viewer)]


async def test_handling_codes_releases_and_partners(gateway: OperationsGateway, operation_id: str,
                                                    session_engine: Engine) -> None:
    await gateway.open(cmd.OpenOperation(actor=COORDINATOR, operation_id=operation_id, spec=SPEC, timing=SHORT_TIMING))
    send = gateway.send
    assert await _visible(gateway, operation_id, COORDINATOR) == ["IN1", "IN2", "IN3"]
    assert await _visible(gateway, operation_id, officer("DE")) == ["IN1"]
    assert await _visible(gateway, operation_id, officer("EL")) == ["IN1", "IN2"]
    assert await _visible(gateway, operation_id, RS_OFFICER) == []

    # The partner contributes; its H2 item is its own to release.
    await send(operation_id, cmd.AddIntelligence(actor=RS_OFFICER, item=Intelligence(
        summary="Safe house in Subotica", handling_code="H2", source_reliability="B", information_accuracy=2)))
    assert await _visible(gateway, operation_id, RS_OFFICER) == ["IN4"]

    # DE asks EL for IN2: a task of EL's approvers; approved, DE sees it.
    assert (await send(operation_id, cmd.RequestRelease(actor=officer("DE"), item_id="IN2", to_state="DE"))).events == [
        "task_planned"]
    state = await gateway.state(operation_id)
    release = state.tasks["TK1"]
    assert (release.kind, release.member_state, release.release_to) == (TaskKind.RELEASE, "EL", "DE")
    assert (await send(operation_id, cmd.ApproveTask(actor=approver("EL"), task_id="TK1"))).events == [
        "task_approval_given", "task_approved", "item_released"]
    assert await _visible(gateway, operation_id, officer("DE")) == ["IN1", "IN2"]

    # RS asks for IN2 too; EL refuses; RS still cannot read it, and is told why.
    await send(operation_id, cmd.RequestRelease(actor=RS_OFFICER, item_id="IN2", to_state="RS"))
    await send(operation_id, cmd.RejectTask(actor=approver("EL"), task_id="TK2", justification="source protection"))
    with pytest.raises(DomainError, match="may not read IN2: it is H2 from EL and not released to RS"):
        await gateway.intelligence(operation_id, RS_OFFICER, "IN2")

    # A partner approving another state's task is refused (partners never approve) and changes nothing.
    await send(operation_id, cmd.SubmitForPrioritisation(actor=COORDINATOR, assessment=ASSESSMENT))
    await send(operation_id, cmd.DecidePriority(actor=COORDINATOR))
    await send(operation_id, cmd.PlanTask(actor=COORDINATOR, member_state="BG", task_kind=TaskKind.ARREST,
                                          description="arrest", due=later(3600)))
    history = await gateway.history_length(operation_id)
    logged = len(AuditLog(session_engine).read(operation_id))
    with pytest.raises(DomainError, match=r"ap-rs-1 \(approver of RS\) may not approve task TK3: RS is an "
                                          "operational partner, and partners never approve"):
        await send(operation_id, cmd.ApproveTask(actor=RS_APPROVER, task_id="TK3"))
    assert await gateway.history_length(operation_id) == history
    assert len(AuditLog(session_engine).read(operation_id)) == logged
    types = [r.type for r in AuditLog(session_engine).read(operation_id)]
    assert types.count("item_released") == 1 and "task_rejected" in types


async def test_three_action_days_in_two_countries(gateway: OperationsGateway, operation_id: str,
                                                  session_engine: Engine, temporal_client: Client) -> None:
    await gateway.open(cmd.OpenOperation(actor=COORDINATOR, operation_id=operation_id, spec=SPEC, timing=SHORT_TIMING))
    send = gateway.send
    await send(operation_id, cmd.SubmitForPrioritisation(actor=COORDINATOR, assessment=ASSESSMENT))
    await send(operation_id, cmd.DecidePriority(actor=COORDINATOR))
    await send(operation_id, cmd.PlanTask(actor=COORDINATOR, member_state="BG", task_kind=TaskKind.ARREST,
                                          description="arrest", due=later(3600)))
    await send(operation_id, cmd.ApproveTask(actor=approver("BG"), task_id="TK1"))
    day = 3600.0
    for start, place, states in ((1.5, SOFIA, ("BG", "EL")), (1.5, THESSALONIKI, ("EL", "RS")),
                                 (day, SOFIA, ("BG",))):
        await send(operation_id, cmd.ScheduleActionDay(actor=COORDINATOR, start=later(start), end=later(start + day),
                                                       places=(place,), member_states=states))
    await send(operation_id, cmd.CancelActionDay(actor=COORDINATOR, action_day_id="AD3",
                                                 justification="suspect left Bulgaria"))
    state = await wait_for(gateway, operation_id, lambda s: all(
        s.action_days[d].status.value == "running" for d in ("AD1", "AD2")))
    assert state.phase is Phase.EXECUTE and state.action_days["AD2"].places[0].country == "EL"

    with pytest.raises(DomainError, match="action_day_id: name the action day"):
        await send(operation_id, cmd.ReportResults(actor=officer("EL"), member_state="EL", results=Results()))
    with pytest.raises(DomainError, match="action day AD3 is cancelled"):
        await send(operation_id, cmd.ReportResults(actor=officer("BG"), member_state="BG", results=Results(),
                                                   action_day_id="AD3"))
    reports = [("AD1", officer("BG"), Results(arrests=3, searches=2)),
               ("AD1", officer("EL"), Results(arrests=1, victims_safeguarded=4)),
               ("AD2", officer("EL"), Results(searches=1, seizures=2)),
               ("AD2", RS_OFFICER, Results(arrests=2, assets_frozen_eur=50000))]
    for day_id, actor, results in reports:
        await send(operation_id, cmd.ReportResults(actor=actor, member_state=actor.member_state or "",
                                                   results=results, action_day_id=day_id))

    final = await temporal_client.get_workflow_handle_for(OperationWorkflow.run, operation_id).result()
    assert final.phase is Phase.CLOSED
    assert final.action_days["AD3"].cancelled_reason == "suspect left Bulgaria"
    assert final.totals_by_day == {"AD1": Results(arrests=4, searches=2, victims_safeguarded=4),
                                   "AD2": Results(arrests=2, searches=1, seizures=2, assets_frozen_eur=50000)}
    assert final.totals_by_state == {"BG": Results(arrests=3, searches=2),
                                     "EL": Results(arrests=1, searches=1, seizures=2, victims_safeguarded=4),
                                     "RS": Results(arrests=2, assets_frozen_eur=50000)}
    assert final.totals == Results(arrests=6, searches=3, seizures=2, assets_frozen_eur=50000, victims_safeguarded=4)
    types = [r.type for r in AuditLog(session_engine).read(operation_id)]
    assert types.count("action_day_scheduled") == 3 and types.count("action_day_finished") == 2
    assert "action_day_cancelled" in types and types[-1] == "operation_closed"


MATRIX_SPEC = OperationSpec.model_validate({
    "code_name": "MATRIX", "lead_state": "BG", "participating_states": ["EL"], "partners": ["RS"],
    "crime_areas": ["migrant_smuggling"],
    "intelligence": [{"summary": f"{code} item", "contributed_by": "BG", "handling_code": code,
                      "source_reliability": "B", "information_accuracy": 2,
                      **({"handling_restriction": "stated"} if code == "H3" else {})}
                     for code in ("H0", "H1", "H2", "H3")],
})
AUDITOR = Actor(id="aud-1", role=Role.AUDITOR)
ALL = ["IN1", "IN2", "IN3", "IN4"]
# viewer -> the items (H0, H1, H2, H3 from BG) it sees, or None when it may not read the operation at all
VISIBILITY = [
    (COORDINATOR, ALL), (AUDITOR, ALL),
    (officer("BG"), ALL), (approver("BG"), ALL),  # the provider sees its own whatever the code
    (officer("EL"), ["IN1", "IN2"]), (approver("EL"), ["IN1", "IN2"]),  # H2 and H3 need a release
    (RS_OFFICER, []), (RS_APPROVER, []),  # a partner: only its own and what is released to it
    (officer("FR"), None), (approver("FR"), None),  # takes no part
]


async def test_visibility_of_each_handling_code_for_each_role_and_state(gateway: OperationsGateway,
                                                                        operation_id: str) -> None:
    await gateway.open(cmd.OpenOperation(actor=COORDINATOR, operation_id=operation_id, spec=MATRIX_SPEC,
                                         timing=SHORT_TIMING))
    seen: dict[str, list[str] | None] = {}
    for viewer, _ in VISIBILITY:
        try:
            seen[viewer.describe()] = await _visible(gateway, operation_id, viewer)
        except DomainError as refusal:
            assert refusal.code == "not_authorised" and "takes no part in it" in refusal.message
            seen[viewer.describe()] = None
    assert seen == {viewer.describe(): expected for viewer, expected in VISIBILITY}

    # A release to EL of the H3 item opens it to EL's officers and approvers, and to nobody else.
    await gateway.send(operation_id, cmd.RequestRelease(actor=officer("EL"), item_id="IN4", to_state="EL"))
    await gateway.send(operation_id, cmd.ApproveTask(actor=approver("BG"), task_id="TK1"))
    assert await _visible(gateway, operation_id, approver("EL")) == ["IN1", "IN2", "IN4"]
    assert await _visible(gateway, operation_id, RS_OFFICER) == []
