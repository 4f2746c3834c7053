"""Rules v2: operational partners take no operational task and never approve; the release of a partner's
item is answered by a member state. Rules v1 (recorded runs) decide as they always did."""

from __future__ import annotations

from typing import Any

import pytest

from domain import commands as cmd
from domain import events as ev
from domain.errors import DomainError, InvalidInput, NotAuthorised
from domain.model import HandlingCode, Intelligence, TaskKind, TaskStatus
from domain.notices import notices_for
from domain.rules import LATEST_RULES, RulesVersion
from domain.visibility import can_see
from tests.unit.builders import COORDINATOR, HIGH, OPERATION_ID, Driver, approver, officer, refused, spec

V1, V2 = RulesVersion.V1, RulesVersion.V2
OPERATIONAL_KINDS = [kind for kind in TaskKind if kind is not TaskKind.RELEASE]
PARTNER_RULE = (f"member_state: RS is an operational partner of operation {OPERATION_ID}, and partners take no "
                "operational tasks: plan it for a member state (BG, EL, DE)")


def with_partners(rules: RulesVersion = V2, **changes: Any) -> Driver:
    """BG leads EL and DE, with the partners RS and UA; RS contributed IN1 under H2. In PREPARE."""
    the_spec = spec(partners=["RS", "UA"], intelligence=[
        {"summary": "safe house in Subotica", "contributed_by": "RS", "handling_code": "H2"}], **changes)
    return Driver(rules=rules).open(the_spec).submit(HIGH).confirm()


def plan(kind: TaskKind = TaskKind.ARREST, state: str = "RS") -> cmd.PlanTask:
    return cmd.PlanTask(actor=COORDINATOR, member_state=state, task_kind=kind, description=f"{kind.value} there",
                        due=Driver().due(30))


def test_new_runs_decide_by_rules_v2() -> None:
    assert LATEST_RULES is V2


@pytest.mark.parametrize("kind", OPERATIONAL_KINDS)
@pytest.mark.parametrize("given", ["RS", "rs", "UA", "EUROPOL"])
def test_no_operational_task_is_planned_for_a_partner(kind: TaskKind, given: str) -> None:
    d = with_partners()
    d.run(cmd.InvitePartner(actor=COORDINATOR, partner="Europol"))
    error = refused(d, plan(kind, given), InvalidInput, "and partners take no operational tasks: plan it for a "
                    "member state (BG, EL, DE)", f"member_state: {given.upper()} is an operational partner")
    assert (error.field, error.value) == ("member_state", given)


def test_the_refusal_names_field_value_and_rule() -> None:
    error = refused(with_partners(), plan(state="rs"), InvalidInput)
    assert error.as_dict() == {"code": "invalid_input", "message": PARTNER_RULE, "field": "member_state",
                               "value": "rs"}


def test_the_checks_of_rules_v1_come_first() -> None:
    d = with_partners()
    refused(d, plan(TaskKind.RELEASE), InvalidInput, "task_kind: release tasks come from a release request")
    refused(d, plan(state="FR"), InvalidInput, f"member_state: FR does not take part in operation {OPERATION_ID}")
    refused(Driver().open(spec(partners=["RS"])), plan(), DomainError, "allowed in phase PREPARE only")


def test_member_states_are_planned_tasks_as_before() -> None:
    d = with_partners()
    [planned] = d.run(plan(state="de"))
    assert isinstance(planned, ev.TaskPlanned) and planned.task.member_state == "DE"


def test_rules_v1_still_plan_a_partners_task_and_let_its_approver_approve() -> None:
    d = with_partners(V1)
    [planned] = d.run(plan())
    assert isinstance(planned, ev.TaskPlanned) and planned.task.member_state == "RS"
    assert [e.type for e in d.approve(planned.task.task_id, approver("RS"))] == [
        "task_approval_given", "task_approved"]


def _partner_task_left_from_v1() -> tuple[Driver, str]:
    """A run that moved to rules v2 with a partner's task planned under v1 (an operation continued by a
    worker of the earlier code while the new one was deployed)."""
    d = with_partners(V1)
    task_id = d.plan("RS")
    d.rules = V2
    return d, task_id


def test_a_partners_task_left_from_v1_is_not_replanned_nor_approved_but_may_be_dropped() -> None:
    d, task_id = _partner_task_left_from_v1()
    error = refused(d, cmd.ReplanTask(actor=COORDINATOR, task_id=task_id, description="again"), InvalidInput,
                    PARTNER_RULE)
    assert (error.field, error.value) == ("member_state", "RS")
    for command in (cmd.ApproveTask(actor=approver("RS"), task_id=task_id),
                    cmd.RejectTask(actor=approver("RS"), task_id=task_id, justification="no")):
        refused(d, command, NotAuthorised, f"ap-rs-1 (approver of RS) may not {command.kind.replace('_', ' ')} "
                f"{task_id}: RS is an operational partner, and partners never approve")
    [dropped] = d.run(cmd.DropTask(actor=COORDINATOR, task_id=task_id, justification="partners take no tasks"))
    assert isinstance(dropped, ev.TaskDropped)


# --- the release of a partner's item ---------------------------------------------------------------

def request(d: Driver, to_state: str, item_id: str = "IN1") -> ev.TaskPlanned:
    [planned] = d.run(cmd.RequestRelease(actor=COORDINATOR, item_id=item_id, to_state=to_state))
    assert isinstance(planned, ev.TaskPlanned)
    return planned


@pytest.mark.parametrize(("to_state", "answered_by"), [("DE", "BG"), ("EL", "BG"), ("UA", "BG"), ("BG", "EL")])
def test_a_partners_item_is_released_by_the_lead_state_or_by_the_next_state_when_released_to_the_lead(
        to_state: str, answered_by: str) -> None:
    d = with_partners()
    task = request(d, to_state).task
    assert (task.kind, task.member_state, task.item_id, task.release_to) == (
        TaskKind.RELEASE, answered_by, "IN1", to_state)
    assert task.description == f"Release IN1 (H2) to {to_state}, on behalf of partner RS, its provider"
    [notice] = notices_for(d.state, ev.TaskPlanned(task=task, actor=COORDINATOR, at=d.now))
    assert (notice.recipient_role.value, notice.recipient_state) == ("approver", answered_by)
    others = [approver(code) for code in ("BG", "EL", "DE") if code != answered_by]
    for outsider in others:
        refused(d, cmd.ApproveTask(actor=outsider, task_id=task.task_id), NotAuthorised,
                f"it belongs to {answered_by}")
    refused(d, cmd.ApproveTask(actor=approver("RS"), task_id=task.task_id), NotAuthorised, "partners never approve")
    # the answering state records RS's permission without reading the item itself
    assert not can_see(d.state.intelligence[0], approver(answered_by), d.state)
    emitted = d.approve(task.task_id, approver(answered_by))
    assert [e.type for e in emitted] == ["task_approval_given", "task_approved", "item_released"]
    assert d.state.intelligence[0].released_to == (to_state,)


def test_a_second_request_names_who_is_to_answer() -> None:
    d = with_partners()
    request(d, "DE")
    refused(d, cmd.RequestRelease(actor=officer("DE"), item_id="IN1", to_state="DE"), DomainError,
            "a release of IN1 to DE already awaits BG's answer")


def test_a_member_states_item_is_still_released_by_its_provider() -> None:
    d = with_partners()
    d.run(cmd.AddIntelligence(actor=officer("EL"), item=Intelligence(summary="ledger", handling_code=HandlingCode.H2)))
    task = request(d, "RS", item_id="IN2").task
    assert (task.member_state, task.description) == ("EL", "Release IN2 (H2) to RS")


def test_rules_v1_still_ask_the_partner() -> None:
    d = with_partners(V1)
    task = request(d, "DE").task
    assert (task.member_state, task.description) == ("RS", "Release IN1 (H2) to DE")
    assert [e.type for e in d.approve(task.task_id, approver("RS"))][-1] == "item_released"


def test_without_partners_both_versions_decide_alike() -> None:
    runs = {rules: Driver(rules=rules).to_closed() for rules in RulesVersion}
    assert runs[V1].events == runs[V2].events
    pending = {rules: Driver(rules=rules).to_prepare() for rules in RulesVersion}
    for d in pending.values():
        d.approve(d.plan("BG", four_eyes=True), approver("BG"))
        d.run(cmd.RejectTask(actor=approver("EL"), task_id=d.plan("EL"), justification="no grounds"))
    assert pending[V1].events == pending[V2].events
    assert pending[V2].state.tasks["TK2"].status is TaskStatus.REJECTED
