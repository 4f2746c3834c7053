"""Step-up: an approval or rejection done with a one-time code says so in its events, and nothing else
changes: records written before step-up existed read, encode and hash as they always did."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from temporalio.contrib.pydantic import pydantic_data_converter

from domain import commands as cmd
from domain import events as ev
from domain.actors import Actor, Role
from domain.audit import (
    GENESIS_HASH,
    AuditRecord,
    ChainHead,
    chain_hash,
    event_of,
    extend_chain,
    record_of,
    verify_chain,
)
from domain.commands import command_from, server_set_fields
from domain.describe import describe
from domain.errors import DomainError
from domain.model import COERCIVE_TASK_KINDS, TaskKind
from domain.prioritisation import ScoringPolicy
from domain.rules import RulesVersion
from domain.timing import Timing
from tests.unit.builders import COORDINATOR, OPERATION_ID, Driver, approver, spec

NOT_COERCIVE = {TaskKind.WITNESS_PROTECTION, TaskKind.VICTIM_SUPPORT, TaskKind.RELEASE, TaskKind.OTHER}
AP_BG = Actor(id="ap-bg-1", role=Role.APPROVER, member_state="BG")
AT = datetime(2030, 3, 1, 9, 30, tzinfo=UTC)

# Records and their hashes as the code before step-up wrote them (computed with that code, commit 9c4f1c5).
OLD_RECORDS = [
    ({"type": "task_approval_given", "task_id": "TK1", "approver": "ap-bg-1"}, "lawful",
     "4a29250482f11a4842d862657a5430b48a5b7b10345b9b43bd78f1e965ed6374"),
    ({"type": "task_approved", "task_id": "TK1"}, "lawful",
     "59c0d21c88542ef7561c49f8b8355eb9925a38d4298c92c25ed6b4811f547ea9"),
    ({"type": "task_rejected", "task_id": "TK1", "approver": "ap-bg-1"}, "no grounds",
     "99924d97f5d2a509c040571d090411593c7a98694ea98d3f8c471d60faf83dca"),
]
# The same commands as that code encoded them (the gateway's update id digests this encoding).
OLD_COMMANDS = {
    "approve_task": '{"justification":"lawful","task_id":"TK1","actor":{"id":"ap-bg-1","role":"approver",'
                    '"member_state":"BG"},"kind":"approve_task"}',
    "reject_task": '{"justification":"no","task_id":"TK1","actor":{"id":"ap-bg-1","role":"approver",'
                   '"member_state":"BG"},"kind":"reject_task"}',
}


def old_record(payload: dict[str, str], justification: str) -> AuditRecord:
    return AuditRecord(stream_id="op-northwind", seq=7, event_id="e" * 64, type=payload["type"], payload=payload,
                       actor_id="ap-bg-1", actor_role="approver", member_state="BG", justification=justification,
                       occurred_at=AT)


# --- which tasks are coercive ---------------------------------------------------------------------

def test_every_task_kind_is_classified() -> None:
    assert set(TaskKind) == COERCIVE_TASK_KINDS | NOT_COERCIVE and not COERCIVE_TASK_KINDS & NOT_COERCIVE
    assert {TaskKind.ARREST, TaskKind.SEARCH, TaskKind.FINANCIAL_ENQUIRY} <= COERCIVE_TASK_KINDS


def test_a_task_knows_whether_it_is_coercive() -> None:
    d = Driver().to_prepare()
    arrest, support = d.plan("BG", kind=TaskKind.ARREST), d.plan("EL", kind=TaskKind.VICTIM_SUPPORT)
    assert d.state.tasks[arrest].is_coercive and not d.state.tasks[support].is_coercive


# --- the decider carries it -----------------------------------------------------------------------

@pytest.mark.parametrize("rules", list(RulesVersion))
@pytest.mark.parametrize("step_up", [True, False])
def test_an_approval_records_its_step_up(rules: RulesVersion, step_up: bool) -> None:
    d = Driver(rules=rules).to_prepare()
    task_id = d.plan("BG")
    given, approved = d.run(cmd.ApproveTask(actor=approver("BG"), task_id=task_id, step_up=step_up))
    assert isinstance(given, ev.TaskApprovalGiven) and isinstance(approved, ev.TaskApproved)
    assert (given.step_up, approved.step_up) == (step_up, step_up)


def test_each_approval_of_four_eyes_records_its_own_step_up() -> None:
    d = Driver().to_prepare()
    task_id = d.plan("BG", four_eyes=True)
    [first] = d.run(cmd.ApproveTask(actor=approver("BG", 1), task_id=task_id, step_up=True))
    second, approved = d.run(cmd.ApproveTask(actor=approver("BG", 2), task_id=task_id))
    assert isinstance(first, ev.TaskApprovalGiven) and first.step_up
    assert isinstance(second, ev.TaskApprovalGiven) and not second.step_up
    assert isinstance(approved, ev.TaskApproved) and not approved.step_up


@pytest.mark.parametrize("rules", list(RulesVersion))
def test_a_rejection_records_its_step_up(rules: RulesVersion) -> None:
    d = Driver(rules=rules).to_prepare()
    [rejected] = d.run(cmd.RejectTask(actor=approver("BG"), task_id=d.plan("BG"), justification="no grounds",
                                      step_up=True))
    assert isinstance(rejected, ev.TaskRejected) and rejected.step_up


def test_the_timeline_says_with_step_up() -> None:
    given = ev.TaskApprovalGiven(task_id="TK1", approver="ap-bg-1", step_up=True, actor=AP_BG, at=AT)
    assert describe(given) == "TK1 approved by ap-bg-1 (with step-up)"
    assert describe(given.model_copy(update={"step_up": False})) == "TK1 approved by ap-bg-1"
    assert describe(ev.TaskApproved(task_id="TK1", step_up=True, actor=AP_BG, at=AT)) == \
        "TK1 fully approved (with step-up)"
    assert describe(ev.TaskRejected(task_id="TK1", approver="ap-bg-1", step_up=True, actor=AP_BG, at=AT)) == \
        "TK1 rejected by ap-bg-1 (with step-up)"


# --- encodings and hashes -------------------------------------------------------------------------

@pytest.mark.parametrize(("payload", "justification", "old_hash"), OLD_RECORDS)
def test_a_record_written_before_step_up_reads_and_hashes_as_it_did(
        payload: dict[str, str], justification: str, old_hash: str) -> None:
    record = old_record(payload, justification)
    assert chain_hash(GENESIS_HASH, record) == old_hash
    event = event_of(record)
    assert getattr(event, "step_up") is False  # noqa: B009 (every one of these types has it)
    again = record_of(record.stream_id, record.seq, record.event_id, event)
    assert again == record and chain_hash(GENESIS_HASH, again) == old_hash


@pytest.mark.parametrize(("payload", "justification", "old_hash"), OLD_RECORDS)
def test_a_new_event_without_step_up_encodes_exactly_as_before(
        payload: dict[str, str], justification: str, old_hash: str) -> None:
    fields = {k: v for k, v in payload.items() if k != "type"}
    event = ev.event_from_dict({**payload, "actor": AP_BG, "at": AT, "justification": justification})
    assert event == ev.event_from_dict({**payload, **fields, "step_up": False, "actor": AP_BG, "at": AT,
                                        "justification": justification})
    record = record_of("op-northwind", 7, "e" * 64, event)
    assert record.payload == payload and chain_hash(GENESIS_HASH, record) == old_hash


def test_with_step_up_the_payload_says_so_and_the_hash_differs() -> None:
    payload, justification, old_hash = OLD_RECORDS[0]
    event = ev.TaskApprovalGiven(task_id="TK1", approver="ap-bg-1", step_up=True, actor=AP_BG, at=AT,
                                 justification=justification)
    record = record_of("op-northwind", 7, "e" * 64, event)
    assert record.payload == {**payload, "step_up": True}
    assert chain_hash(GENESIS_HASH, record) != old_hash
    assert event_of(record) == event


def test_a_chain_of_records_with_and_without_step_up_verifies_and_reads_back() -> None:
    d = Driver().to_prepare()
    d.run(cmd.ApproveTask(actor=approver("BG"), task_id=d.plan("BG"), step_up=True))
    d.approve(d.plan("EL"), approver("EL"))
    records = extend_chain(ChainHead(), [record_of(OPERATION_ID, 0, f"{i:064x}", e) for i, e in enumerate(d.events)])
    assert verify_chain(records) == []
    assert [event_of(r) for r in records] == d.events
    assert sum("step_up" in r.payload for r in records) == 2  # the stepped-up approval and its full approval


@pytest.mark.parametrize("kind", list(OLD_COMMANDS))
def test_commands_without_step_up_encode_as_before(kind: str) -> None:
    command_type = cmd.ApproveTask if kind == "approve_task" else cmd.RejectTask
    old = json.loads(OLD_COMMANDS[kind])
    command = command_type.model_validate(old)
    assert command.step_up is False
    assert command.model_dump_json(exclude={"issued_at"}) == OLD_COMMANDS[kind]
    [payload] = pydantic_data_converter.payload_converter.to_payloads([command])
    assert "step_up" not in json.loads(payload.data)  # what the workflow's history holds: unchanged too
    stepped_up = command.model_copy(update={"step_up": True})
    assert json.loads(stepped_up.model_dump_json())["step_up"] is True


# --- only the server sets it ----------------------------------------------------------------------

def test_a_client_request_cannot_carry_step_up() -> None:
    with pytest.raises(ValidationError, match="step_up"):
        cmd.ApproveTaskRequest.model_validate({"task_id": "TK1", "step_up": True})
    with pytest.raises(ValidationError, match="step_up"):
        cmd.RejectTaskRequest.model_validate({"task_id": "TK1", "justification": "no", "step_up": True})


def test_the_service_sets_step_up_through_command_from() -> None:
    request = cmd.ApproveTaskRequest(task_id="TK1", justification="lawful")
    assert command_from(request, AP_BG) == cmd.ApproveTask(task_id="TK1", justification="lawful", actor=AP_BG)
    stepped = command_from(request, AP_BG, step_up=True)
    assert isinstance(stepped, cmd.ApproveTask) and stepped.step_up and stepped.actor == AP_BG
    rejected = command_from(cmd.RejectTaskRequest(task_id="TK1", justification="no"), AP_BG, step_up=True)
    assert isinstance(rejected, cmd.RejectTask) and rejected.step_up


def test_command_from_refuses_fields_the_server_does_not_set() -> None:
    approve = cmd.ApproveTaskRequest(task_id="TK1")
    with pytest.raises(TypeError,
                       match=r"ApproveTask has no server-set field stepup \(it has: step_up, step_up_required\)"):
        command_from(approve, AP_BG, stepup=True)
    with pytest.raises(TypeError, match="has no server-set field task_id"):
        command_from(approve, AP_BG, task_id="TK2")  # what the request says stays what it says
    with pytest.raises(TypeError, match="has no server-set field actor, issued_at"):
        command_from(approve, AP_BG, actor=COORDINATOR, issued_at=AT)
    with pytest.raises(TypeError, match=r"PlanTask has no server-set field step_up \(it has: none\)"):
        command_from(cmd.PlanTaskRequest(member_state="BG", task_kind=TaskKind.ARREST, description="x", due=AT),
                     COORDINATOR, step_up=True)


def test_the_server_set_fields_are_the_commands_own() -> None:
    assert server_set_fields(cmd.ApproveTask) == server_set_fields(cmd.RejectTask) == {"step_up", "step_up_required"}
    assert server_set_fields(cmd.OpenOperation) == {"scoring", "timing"}
    assert server_set_fields(cmd.ReportResults) == frozenset()
    opening = command_from(cmd.OpenOperationRequest(operation_id="op-x", spec=spec()), COORDINATOR,
                           scoring=ScoringPolicy(), timing=Timing())
    assert isinstance(opening, cmd.OpenOperation) and opening.timing == Timing()


@pytest.mark.parametrize("kind", sorted(COERCIVE_TASK_KINDS))
def test_a_coercive_sign_off_that_required_a_code_is_refused_without_one(kind: TaskKind) -> None:
    d = Driver().to_prepare()
    task = d.plan("BG", kind=kind)
    for command in (cmd.ApproveTask(actor=AP_BG, task_id=task, step_up_required=True),
                    cmd.RejectTask(actor=AP_BG, task_id=task, step_up_required=True, justification="no")):
        with pytest.raises(DomainError, match="must confirm with a one-time code") as refused:
            d.run(command)
        assert refused.value.code == "step_up_required" and refused.value.field == "one_time_code"
    approved = d.run(cmd.ApproveTask(actor=AP_BG, task_id=task, step_up_required=True, step_up=True))
    assert all(getattr(e, "step_up", True) for e in approved)


def test_a_non_coercive_sign_off_needs_no_code() -> None:
    d = Driver().to_prepare()
    kind = next(k for k in TaskKind if k not in COERCIVE_TASK_KINDS and k is not TaskKind.RELEASE)
    task = d.plan("BG", kind=kind)
    assert d.run(cmd.ApproveTask(actor=AP_BG, task_id=task, step_up_required=True))
