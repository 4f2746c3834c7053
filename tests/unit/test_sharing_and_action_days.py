"""Intelligence sharing (handling codes, releases), operational partners, and operations with several
action days: who sees what, who may answer what, and how results add up per day, per state and in total."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from domain import commands as cmd
from domain import events as ev
from domain.actors import SYSTEM, Actor, Role
from domain.errors import DomainError, InvalidInput, NotAuthorised
from domain.model import (
    ActionDayStatus,
    HandlingCode,
    Intelligence,
    OperationSpec,
    Phase,
    Place,
    Results,
    SourceReliability,
    TaskKind,
    TaskStatus,
)
from domain.rules import RulesVersion
from domain.state import OperationState, fold
from domain.visibility import can_see, require_visible, visible_items
from tests.unit.builders import (
    AUDITOR,
    COORDINATOR,
    HIGH,
    OPERATION_ID,
    SOFIA,
    TIMING,
    Driver,
    approver,
    officer,
    refused,
    spec,
)

THESSALONIKI = Place(name="Thessaloniki", country="GR", latitude=40.64, longitude=22.94)
SUBOTICA = Place(name="Subotica", country="RS", latitude=46.10, longitude=19.67)
RS_OFFICER = officer("RS")
RS_APPROVER = approver("RS")

# one item of EL per handling code: IN1 H0, IN2 H1, IN3 H2, IN4 H3
ITEM_OF = {"H0": "IN1", "H1": "IN2", "H2": "IN3", "H3": "IN4"}


def shared_spec(**changes: Any) -> OperationSpec:
    items = [{"summary": f"{code} item of EL", "contributed_by": "EL", "handling_code": code,
              "handling_restriction": "not before the action day" if code == "H3" else None,
              "source_reliability": "B", "information_accuracy": 2} for code in ITEM_OF]
    return spec(**{"partners": ["RS"], "intelligence": items, **changes})


def shared() -> Driver:
    return Driver().open(shared_spec())


def release(d: Driver, item_id: str, to_state: str, requester: Actor | None = None) -> str:
    """Request a release and return the release task's id."""
    [planned] = d.run(cmd.RequestRelease(actor=requester or officer(to_state), item_id=item_id, to_state=to_state))
    assert isinstance(planned, ev.TaskPlanned)
    return planned.task.task_id


def visible_ids(viewer: Actor, state: OperationState) -> list[str]:
    return [item.item_id for item in visible_items(viewer, state)]


# --- the visibility matrix ------------------------------------------------------------------------

VIEWERS: dict[str, tuple[Actor, set[str]]] = {
    # viewer: (actor, the handling codes of EL's items it sees)
    "coordinator": (COORDINATOR, {"H0", "H1", "H2", "H3"}),
    "auditor": (AUDITOR, {"H0", "H1", "H2", "H3"}),
    "provider officer": (officer("EL"), {"H0", "H1", "H2", "H3"}),
    "provider approver": (approver("EL"), {"H0", "H1", "H2", "H3"}),
    "other state officer": (officer("DE"), {"H0", "H1"}),
    "other state approver": (approver("BG"), {"H0", "H1"}),
    "partner officer": (RS_OFFICER, set()),
    "partner approver": (RS_APPROVER, set()),
    "non-participant officer": (officer("FR"), set()),
}


@pytest.mark.parametrize("code", list(ITEM_OF))
@pytest.mark.parametrize("viewer", list(VIEWERS))
def test_visibility_matrix(viewer: str, code: str) -> None:
    d = shared()
    actor, sees = VIEWERS[viewer]
    item = d.state.item(ITEM_OF[code])
    assert item is not None and item.handling_code.value == code
    expected = code in sees
    assert can_see(item, actor, d.state) is expected
    assert (item.item_id in visible_ids(actor, d.state)) is expected
    if expected:
        assert require_visible(item, actor, d.state) is item
    else:
        with pytest.raises(NotAuthorised, match=f"may not read {item.item_id}: it is {code} from EL"):
            require_visible(item, actor, d.state)


@pytest.mark.parametrize("viewer", list(VIEWERS))
def test_visible_items_in_order(viewer: str) -> None:
    d = shared()
    actor, sees = VIEWERS[viewer]
    assert visible_ids(actor, d.state) == [ITEM_OF[code] for code in ITEM_OF if code in sees]


@pytest.mark.parametrize("code", list(ITEM_OF))
def test_partner_sees_exactly_what_was_released_to_it(code: str) -> None:
    d = shared()
    item_id = ITEM_OF[code]
    d.approve(release(d, item_id, "RS"), approver("EL"))
    assert visible_ids(RS_OFFICER, d.state) == [item_id]
    assert visible_ids(RS_APPROVER, d.state) == [item_id]
    # the release is to RS only: other states see what they saw before
    assert visible_ids(officer("DE"), d.state) == ["IN1", "IN2"]
    assert d.state.item(item_id).released_to == ("RS",)  # type: ignore[union-attr]


@pytest.mark.parametrize("code", ["H2", "H3"])
def test_other_member_state_sees_a_restricted_item_after_release(code: str) -> None:
    d = shared()
    d.approve(release(d, ITEM_OF[code], "DE"), approver("EL"))
    assert visible_ids(officer("DE"), d.state) == ["IN1", "IN2", ITEM_OF[code]]
    assert visible_ids(officer("BG"), d.state) == ["IN1", "IN2"]


def test_partner_sees_its_own_items_whatever_the_code_and_member_states_its_open_ones() -> None:
    d = shared()
    d.run(cmd.AddIntelligence(actor=RS_OFFICER, item=Intelligence(summary="safe house in Subotica",
                                                                  handling_code=HandlingCode.H2)))
    d.run(cmd.AddIntelligence(actor=RS_OFFICER, item=Intelligence(summary="route via Horgos")))
    assert [(i.item_id, i.contributed_by) for i in d.state.intelligence[4:]] == [("IN5", "RS"), ("IN6", "RS")]
    assert visible_ids(RS_OFFICER, d.state) == ["IN5", "IN6"]
    assert visible_ids(officer("BG"), d.state) == ["IN1", "IN2", "IN6"]
    assert visible_ids(officer("EL"), d.state) == ["IN1", "IN2", "IN3", "IN4", "IN6"]
    assert "UA" not in d.state.participants
    d.run(cmd.InvitePartner(actor=COORDINATOR, partner="UA"))
    assert visible_ids(officer("UA"), d.state) == []  # another partner does not see RS's H0 item


# --- the 4x4 evaluation and H3 ----------------------------------------------------------------------

def test_intelligence_carries_its_evaluation() -> None:
    item = Intelligence(summary="s", source_reliability=SourceReliability.A, information_accuracy=1)
    assert item.evaluation == "A1"
    assert Intelligence(summary="s").evaluation == "X4"
    with pytest.raises(ValidationError, match="information_accuracy"):
        Intelligence(summary="s", information_accuracy=5)
    with pytest.raises(ValidationError, match="source_reliability"):
        Intelligence.model_validate({"summary": "s", "source_reliability": "D"})


def test_h3_needs_its_restriction_stated() -> None:
    with pytest.raises(ValidationError, match="handling_code H3 needs handling_restriction"):
        Intelligence(summary="s", handling_code=HandlingCode.H3)
    with pytest.raises(ValidationError, match="handling_code H3 needs handling_restriction"):
        shared_spec(intelligence=[{"summary": "s", "handling_code": "H3"}])
    with pytest.raises(ValidationError, match="handling_code H3 needs handling_restriction"):
        spec(handling_code="H3")
    assert spec(handling_code="H3", handling_restriction="no use in court").handling_restriction


# --- release requests -----------------------------------------------------------------------------

def test_release_request_is_a_task_of_the_provider_and_approval_releases() -> None:
    d = shared()
    assert not can_see(d.state.item("IN3"), officer("DE"), d.state)  # type: ignore[arg-type]
    [planned] = d.run(cmd.RequestRelease(actor=officer("DE"), item_id="IN3", to_state="de"))
    assert isinstance(planned, ev.TaskPlanned)
    task = d.state.tasks["TK1"]
    assert task == planned.task
    assert (task.kind, task.member_state, task.item_id, task.release_to) == (TaskKind.RELEASE, "EL", "IN3", "DE")
    assert task.due == d.now + TIMING.release_answer_within
    assert task.description == "Release IN3 (H2) to DE"
    assert task.status is TaskStatus.PENDING and task.is_release
    assert d.state.phase is Phase.IDENTIFY  # a release may be asked before any planning
    emitted = d.approve("TK1", approver("EL"))
    assert [type(e) for e in emitted] == [ev.TaskApprovalGiven, ev.TaskApproved, ev.ItemReleased]
    released = emitted[2]
    assert isinstance(released, ev.ItemReleased) and (released.item_id, released.to_state) == ("IN3", "DE")
    assert d.state.tasks["TK1"].status is TaskStatus.APPROVED
    assert d.state.item("IN3").released_to == ("DE",)  # type: ignore[union-attr]
    assert require_visible(d.state.item("IN3"), officer("DE"), d.state).item_id == "IN3"  # type: ignore[arg-type]
    assert any(isinstance(e, ev.ItemReleased) for e in d.events)
    assert fold(d.events) == d.state


def test_an_approved_release_cannot_be_dropped_but_a_pending_one_can() -> None:
    d = shared()
    d.run(cmd.RequestRelease(actor=officer("DE"), item_id="IN3", to_state="DE"))
    d.approve("TK1", approver("EL"))
    refused(d, cmd.DropTask(actor=COORDINATOR, task_id="TK1", justification="no longer needed"), DomainError,
            "TK1 released IN3 to DE", "cannot be taken back")
    d.run(cmd.RequestRelease(actor=officer("BG"), item_id="IN3", to_state="BG"))
    [dropped] = d.run(cmd.DropTask(actor=COORDINATOR, task_id="TK2", justification="asked by mistake"))
    assert isinstance(dropped, ev.TaskDropped) and d.state.item("IN3").released_to == ("DE",)  # type: ignore[union-attr]


def test_release_refused_with_reason_keeps_the_item_hidden() -> None:
    d = shared()
    task_id = release(d, "IN3", "RS")
    refused(d, cmd.RejectTask(actor=approver("EL"), task_id=task_id), InvalidInput,
            "justification: a rejection needs a reason")
    [rejected] = d.run(cmd.RejectTask(actor=approver("EL"), task_id=task_id, justification="source protection"))
    assert isinstance(rejected, ev.TaskRejected)
    task = d.state.tasks[task_id]
    assert task.status is TaskStatus.REJECTED and task.rejection_reason == "source protection"
    assert d.state.item("IN3").released_to == ()  # type: ignore[union-attr]
    assert not any(isinstance(e, ev.ItemReleased) for e in d.events)
    with pytest.raises(NotAuthorised) as caught:
        require_visible(d.state.item("IN3"), RS_OFFICER, d.state)  # type: ignore[arg-type]
    assert caught.value.message == ("lo-rs (liaison_officer of RS) may not read IN3: it is H2 from EL and not "
                                    "released to RS; request its release")
    # a refused release may be asked again
    assert release(d, "IN3", "RS") == "TK2"


def test_release_answered_by_another_states_approver_is_refused() -> None:
    d = shared()
    task_id = release(d, "IN4", "DE")
    for outsider in (approver("DE"), approver("BG")):
        refused(d, cmd.ApproveTask(actor=outsider, task_id=task_id), NotAuthorised,
                f"{outsider.describe()} may not approve task {task_id}: it belongs to EL",
                "only EL's own officers may act on it")
    refused(d, cmd.ApproveTask(actor=RS_APPROVER, task_id=task_id), NotAuthorised,
            f"ap-rs-1 (approver of RS) may not approve task {task_id}: RS is an operational partner, "
            "and partners never approve")
    refused(d, cmd.RejectTask(actor=approver("DE"), task_id=task_id, justification="mine"), NotAuthorised,
            f"may not reject task {task_id}: it belongs to EL")
    refused(d, cmd.ApproveTask(actor=officer("EL"), task_id=task_id), NotAuthorised, "only an approver may")


def test_release_of_an_already_visible_item_is_refused() -> None:
    d = shared()
    error = refused(d, cmd.RequestRelease(actor=officer("DE"), item_id="IN1", to_state="DE"), DomainError,
                    "IN1 (H0) is already available to DE; no release is needed")
    assert (error.code, error.field, error.value) == ("already_visible", "to_state", "DE")
    refused(d, cmd.RequestRelease(actor=COORDINATOR, item_id="IN2", to_state="BG"), DomainError,
            "IN2 (H1) is already available to BG")
    refused(d, cmd.RequestRelease(actor=COORDINATOR, item_id="IN3", to_state="EL"), DomainError,
            "IN3 (H2) is already available to EL")  # the provider itself
    d.approve(release(d, "IN3", "DE"), approver("EL"))
    refused(d, cmd.RequestRelease(actor=officer("DE"), item_id="IN3", to_state="DE"), DomainError,
            "IN3 (H2) is already available to DE")


def test_duplicate_pending_release_request_is_refused() -> None:
    d = shared()
    release(d, "IN3", "DE")
    error = refused(d, cmd.RequestRelease(actor=COORDINATOR, item_id="IN3", to_state="DE"), DomainError,
                    "a release of IN3 to DE already awaits EL's answer")
    assert (error.code, error.field) == ("already_requested", "item_id")
    assert release(d, "IN3", "BG") == "TK2"  # another state's request is another task


def test_release_request_checks_item_state_and_requester() -> None:
    d = shared()
    error = refused(d, cmd.RequestRelease(actor=COORDINATOR, item_id="IN9", to_state="DE"), DomainError,
                    f"item_id: 'IN9' is not an intelligence item of operation {OPERATION_ID} "
                    "(items: IN1, IN2, IN3, IN4)")
    assert (error.code, error.field) == ("not_found", "item_id")
    refused(d, cmd.RequestRelease(actor=COORDINATOR, item_id="IN3", to_state="FR"), InvalidInput,
            f"to_state: FR does not take part in operation {OPERATION_ID}")
    refused(d, cmd.RequestRelease(actor=COORDINATOR, item_id="IN3", to_state="Serbia"), InvalidInput,
            "to_state: 'Serbia' is neither an EU member state nor an operational partner.", "RS (Serbia)")
    refused(d, cmd.RequestRelease(actor=officer("BG"), item_id="IN3", to_state="DE"), NotAuthorised,
            "lo-bg (liaison_officer of BG) may not request release of IN3 to DE: it belongs to DE")
    refused(d, cmd.RequestRelease(actor=RS_OFFICER, item_id="IN3", to_state="DE"), NotAuthorised,
            "may not request release of IN3 to DE")


@pytest.mark.parametrize("point", ["prioritise", "prepare", "execute"])
def test_release_is_asked_and_answered_in_any_open_phase(point: str) -> None:
    d = Driver().open(shared_spec()).submit(HIGH)
    if point in ("prepare", "execute"):
        d.confirm()
    if point == "execute":
        d.approve(d.plan("BG"), approver("BG"))
        d.schedule()
        d.start_day()
    assert d.state.phase is Phase(point)
    task_id = release(d, "IN4", "RS", requester=COORDINATOR)
    assert [e.type for e in d.approve(task_id, approver("EL"))] == [
        "task_approval_given", "task_approved", "item_released"]
    assert visible_ids(RS_OFFICER, d.state) == ["IN4"]


def test_pending_release_does_not_hold_up_the_action_day() -> None:
    d = Driver().open(shared_spec()).submit(HIGH).confirm()
    d.approve(d.plan("BG"), approver("BG"))
    release(d, "IN3", "DE")
    d.schedule()
    emitted = d.start_day()
    assert [e.type for e in emitted] == ["phase_advanced", "execution_started"]
    assert d.state.tasks["TK2"].status is TaskStatus.PENDING  # still awaiting EL's answer


def test_release_tasks_are_not_planned_or_replanned() -> None:
    d = Driver().open(shared_spec()).submit(HIGH).confirm()
    task_id = release(d, "IN3", "DE")
    refused(d, cmd.ReplanTask(actor=COORDINATOR, task_id=task_id, description="x"), InvalidInput,
            f"task_id: {task_id} is a release request; drop it and request again")
    [dropped] = d.run(cmd.DropTask(actor=COORDINATOR, task_id=task_id, justification="no longer needed"))
    assert isinstance(dropped, ev.TaskDropped)
    assert release(d, "IN3", "DE") == "TK2"


# --- operational partners -------------------------------------------------------------------------

def test_invite_partner() -> None:
    d = Driver().open()
    [invited] = d.run(cmd.InvitePartner(actor=COORDINATOR, partner="rs"))
    assert isinstance(invited, ev.PartnerInvited) and invited.partner == "RS"
    assert d.state.partners == ("RS",) and d.state.participants == ("BG", "EL", "DE", "RS")
    d.run(cmd.InvitePartner(actor=COORDINATOR, partner="Europol"))
    assert d.state.partners == ("RS", "EUROPOL")
    error = refused(d, cmd.InvitePartner(actor=COORDINATOR, partner="RS"), DomainError,
                    f"RS already takes part in operation {OPERATION_ID}")
    assert error.code == "already_partner"
    refused(d, cmd.InvitePartner(actor=COORDINATOR, partner="DE"), InvalidInput,
            "partner: 'DE' is an EU member state, not an operational partner.")
    refused(d, cmd.InvitePartner(actor=COORDINATOR, partner="ZZ"), InvalidInput,
            "partner: 'ZZ' is neither an ISO 3166-1 alpha-2 country code nor a partner body")
    refused(d, cmd.InvitePartner(actor=officer("BG"), partner="UA"), NotAuthorised, "only a coordinator may")
    # the invited partner takes part: its officer contributes, a task may be planned for it
    d.run(cmd.AddIntelligence(actor=RS_OFFICER, item=Intelligence(summary="s")))
    assert d.state.intelligence[-1].contributed_by == "RS"


def test_partner_approving_another_states_task_is_refused_and_changes_nothing_under_rules_v1() -> None:
    """Rules v1 (runs recorded before v2): a task could be planned for a partner, and its approver approved
    it; tests/unit/test_partners.py has the rules of v2."""
    d = Driver(rules=RulesVersion.V1).open(shared_spec()).submit(HIGH).confirm()
    task_id = d.plan("BG")
    refused(d, cmd.ApproveTask(actor=RS_APPROVER, task_id=task_id), NotAuthorised,
            f"ap-rs-1 (approver of RS) may not approve task {task_id}: it belongs to BG",
            "only BG's own officers may act on it")
    refused(d, cmd.RejectTask(actor=RS_APPROVER, task_id=task_id, justification="no"), NotAuthorised,
            "it belongs to BG")
    assert d.state.tasks[task_id].status is TaskStatus.PENDING
    # its own task, it may approve
    own = d.plan("RS")
    assert d.state.tasks[own].member_state == "RS"
    assert [type(e) for e in d.approve(own, RS_APPROVER)] == [ev.TaskApprovalGiven, ev.TaskApproved]


def test_partner_reading_an_unreleased_item_is_refused() -> None:
    d = shared()
    for item_id in ITEM_OF.values():
        item = d.state.item(item_id)
        assert item is not None
        with pytest.raises(NotAuthorised) as caught:
            require_visible(item, RS_OFFICER, d.state)
        assert caught.value.message == (
            f"lo-rs (liaison_officer of RS) may not read {item_id}: it is {item.handling_code.value} from EL "
            "and not released to RS; request its release")


@pytest.mark.parametrize("lead", ["RS", "rs", "EUROPOL"])
def test_partner_cannot_lead(lead: str) -> None:
    error = refused(Driver(), cmd.OpenOperation(actor=COORDINATOR, operation_id=OPERATION_ID,
                                                spec=shared_spec(lead_state=lead)),
                    InvalidInput, f"lead_state: {lead!r} is not an EU member-state code.")
    assert error.field == "lead_state" and error.value == lead
    if lead != "EUROPOL":
        assert "Serbia may take part as an operational partner" in error.message


def test_partner_contributes_and_reports_results_on_its_day() -> None:
    d = Driver().open(shared_spec())
    [added] = d.run(cmd.AddIntelligence(actor=RS_OFFICER, item=Intelligence(
        summary="safe house in Subotica", handling_code=HandlingCode.H2, source_reliability=SourceReliability.B,
        information_accuracy=2)))
    assert isinstance(added, ev.IntelligenceAdded) and added.item.contributed_by == "RS"
    refused(d, cmd.AddIntelligence(actor=RS_OFFICER, item=Intelligence(summary="s", contributed_by="BG")),
            NotAuthorised, "lo-rs (liaison_officer of RS) may contribute only for RS, not for BG")
    d.submit(HIGH).confirm()
    d.approve(d.plan("BG"), approver("BG"))  # a partner takes no task, but takes part in an action day
    d.schedule(member_states=("BG", "RS"), places=(SOFIA, SUBOTICA))
    assert d.day().member_states == ("BG", "RS")
    [_, started] = d.start_day()
    assert isinstance(started, ev.ExecutionStarted) and started.member_states == ("BG", "RS")
    refused(d, cmd.ReportResults(actor=officer("EL"), member_state="EL", results=Results()), NotAuthorised,
            "lo-el (liaison_officer of EL) may not report results for EL: EL does not take part in action day "
            "AD1 (BG, RS)")
    refused(d, cmd.ReportResults(actor=RS_OFFICER, member_state="BG", results=Results()), NotAuthorised,
            "lo-rs (liaison_officer of RS) may not report results for BG")
    assert [type(e) for e in d.report("RS", Results(arrests=2, assets_frozen_eur=50000))] == [ev.ResultsReported]
    emitted = d.report("BG", Results(arrests=1))
    assert [type(e) for e in emitted] == [ev.ResultsReported, ev.ActionDayFinished, ev.OperationClosed]
    assert d.state.totals_by_state == {"RS": Results(arrests=2, assets_frozen_eur=50000), "BG": Results(arrests=1)}
    assert d.state.totals == Results(arrests=3, assets_frozen_eur=50000)


# --- several action days --------------------------------------------------------------------------

def three_days() -> Driver:
    """AD1 Sofia (BG, EL) and AD2 Thessaloniki (EL) overlap; AD3 Sofia (BG) comes later."""
    d = Driver().open(shared_spec()).submit(HIGH).confirm()
    for code in ("BG", "EL"):
        d.approve(d.plan(code), approver(code))
    d.schedule(start_in=timedelta(days=5), length=timedelta(hours=10), member_states=("BG", "EL"), places=(SOFIA,))
    d.schedule(start_in=timedelta(days=5, hours=2), length=timedelta(hours=6), member_states=("GR",),
               places=(THESSALONIKI,))
    d.schedule(start_in=timedelta(days=12), length=timedelta(hours=8), member_states=("BG",), places=(SOFIA,))
    return d


def test_three_action_days_in_two_countries() -> None:
    d = three_days()
    assert [(day.action_day_id, day.member_states, tuple(p.country for p in day.places)) for day in d.state.days()] \
        == [("AD1", ("BG", "EL"), ("BG",)), ("AD2", ("EL",), ("EL",)), ("AD3", ("BG",), ("BG",))]
    assert d.day("AD2").start < d.day("AD1").end  # they overlap

    assert [e.type for e in d.start_day("AD1")] == ["phase_advanced", "execution_started"]
    [started] = d.start_day("AD2")
    assert isinstance(started, ev.ExecutionStarted) and started.action_day_id == "AD2"
    assert started.member_states == ("EL",)
    assert d.state.phase is Phase.EXECUTE
    assert [day.status for day in d.state.days()] == [ActionDayStatus.RUNNING, ActionDayStatus.RUNNING,
                                                      ActionDayStatus.SCHEDULED]

    # with two days running, a report must name its day
    error = refused(d, cmd.ReportResults(actor=officer("EL"), member_state="EL", results=Results(arrests=1)),
                    InvalidInput, "action_day_id: name the action day (running: AD1, AD2)")
    assert error.field == "action_day_id"
    d.report("EL", Results(arrests=1, victims_safeguarded=4), action_day_id="AD1")

    # AD2 is called off while it runs; its reason is kept; reports for it are refused
    refused(d, cmd.CancelActionDay(actor=COORDINATOR, action_day_id="AD2"), InvalidInput,
            "justification: cancelling an action day needs a reason")
    [cancelled] = d.run(cmd.CancelActionDay(actor=COORDINATOR, action_day_id="AD2",
                                            justification="suspect left Thessaloniki"))
    assert isinstance(cancelled, ev.ActionDayCancelled) and cancelled.justification == "suspect left Thessaloniki"
    assert d.day("AD2").status is ActionDayStatus.CANCELLED
    assert d.day("AD2").cancelled_reason == "suspect left Thessaloniki"
    error = refused(d, cmd.ReportResults(actor=officer("EL"), member_state="EL", results=Results(),
                                         action_day_id="AD2"),
                    DomainError, "action day AD2 is cancelled; results are reported while it runs")
    assert error.code == "wrong_day_status"
    refused(d, cmd.ReportResults(actor=officer("BG"), member_state="BG", results=Results(), action_day_id="AD3"),
            DomainError, "action day AD3 is scheduled")

    # AD1 completes; the operation goes on, AD3 is still to come
    emitted = d.report("BG", Results(arrests=3, searches=2))  # the only running day: no id needed
    assert [e.type for e in emitted] == ["results_reported", "action_day_finished"]
    finished = emitted[1]
    assert isinstance(finished, ev.ActionDayFinished)
    assert finished.totals == Results(arrests=4, searches=2, victims_safeguarded=4) and finished.missing_states == ()
    assert d.state.phase is Phase.EXECUTE
    refused(d, cmd.ReportResults(actor=officer("BG"), member_state="BG", results=Results()), InvalidInput,
            "action_day_id: name the action day (running: none)")

    # AD3 runs and closes the operation
    [started] = d.start_day("AD3")
    assert isinstance(started, ev.ExecutionStarted) and started.member_states == ("BG",)
    emitted = d.report("BG", Results(arrests=2, seizures=1, assets_frozen_eur=12000.5), action_day_id="AD3")
    assert [type(e) for e in emitted] == [ev.ResultsReported, ev.ActionDayFinished, ev.OperationClosed]
    closed = emitted[2]
    assert isinstance(closed, ev.OperationClosed)
    by_day = {"AD1": Results(arrests=4, searches=2, victims_safeguarded=4),
              "AD3": Results(arrests=2, seizures=1, assets_frozen_eur=12000.5)}
    by_state = {"EL": Results(arrests=1, victims_safeguarded=4),
                "BG": Results(arrests=5, searches=2, seizures=1, assets_frozen_eur=12000.5)}
    total = Results(arrests=6, searches=2, seizures=1, assets_frozen_eur=12000.5, victims_safeguarded=4)
    assert closed.totals_by_day == by_day and closed.totals_by_state == by_state and closed.totals == total
    assert closed.reported_states == ("EL", "BG") and closed.missing_states == ()
    s = d.state
    assert s.phase is Phase.CLOSED
    assert (s.totals, s.totals_by_day, s.totals_by_state) == (total, by_day, by_state)
    assert s.results == {"AD1": {"EL": Results(arrests=1, victims_safeguarded=4),
                                 "BG": Results(arrests=3, searches=2)},
                         "AD3": {"BG": Results(arrests=2, seizures=1, assets_frozen_eur=12000.5)}}
    assert [day.status for day in s.days()] == [ActionDayStatus.FINISHED, ActionDayStatus.CANCELLED,
                                                ActionDayStatus.FINISHED]
    assert [e.type for e in d.events].count("execution_started") == 3
    assert fold(d.events) == s


def test_days_finished_by_their_deadlines_close_with_the_missing_states_of_each() -> None:
    d = three_days()
    d.run(cmd.CancelActionDay(actor=COORDINATOR, action_day_id="AD2", justification="not needed"))
    d.start_day("AD1")
    d.report("BG", Results(arrests=1), action_day_id="AD1")
    [finished] = d.finish_day("AD1")
    assert isinstance(finished, ev.ActionDayFinished) and finished.missing_states == ("EL",)
    assert d.state.phase is Phase.EXECUTE
    d.start_day("AD3")
    refused(d, cmd.FinishActionDay(actor=SYSTEM, action_day_id="AD3"), DomainError,
            "results of AD3 are awaited until", at=d.day("AD3").end)
    finished, closed = d.finish_day("AD3")
    assert isinstance(finished, ev.ActionDayFinished) and finished.missing_states == ("BG",)
    assert finished.totals == Results()
    assert isinstance(closed, ev.OperationClosed)
    assert closed.missing_states == ("EL", "BG") and closed.reported_states == ("BG",)
    assert closed.totals == Results(arrests=1)
    assert d.day("AD1").missing_states == ("EL",) and d.day("AD3").missing_states == ("BG",)


def test_cancelling_every_day_in_prepare_does_not_close() -> None:
    d = three_days()
    for day_id in ("AD1", "AD2", "AD3"):
        d.run(cmd.CancelActionDay(actor=COORDINATOR, action_day_id=day_id, justification="rethink"))
    assert d.state.phase is Phase.PREPARE
    d.schedule(start_in=timedelta(days=20))
    assert list(d.state.action_days) == ["AD1", "AD2", "AD3", "AD4"]


def test_a_day_blocked_in_prepare_is_left_behind_when_a_later_day_starts() -> None:
    d = Driver().open(shared_spec()).submit(HIGH).confirm()
    pending = d.plan("BG")
    d.schedule(start_in=timedelta(days=2))
    d.schedule(start_in=timedelta(days=4), member_states=("EL",))
    [blocked] = d.start_day("AD1")
    assert isinstance(blocked, ev.ExecutionBlocked) and blocked.action_day_id == "AD1"
    assert blocked.reasons == ("no task is approved", f"task {pending} (BG) is pending")
    d.approve(pending, approver("BG"))
    assert [e.type for e in d.start_day("AD2")] == ["phase_advanced", "execution_started"]
    assert d.day("AD1").status is ActionDayStatus.BLOCKED
    emitted = d.report("EL", Results(searches=1))
    assert [type(e) for e in emitted] == [ev.ResultsReported, ev.ActionDayFinished, ev.OperationClosed]


def test_schedule_and_cancel_in_execute() -> None:
    d = three_days()
    d.start_day("AD1")
    d.schedule(start_in=timedelta(days=1), member_states=("EL",))
    assert d.day("AD4").status is ActionDayStatus.SCHEDULED
    later = d.schedule(start_in=timedelta(days=2), action_day_id="AD3")
    assert d.day("AD3").start == later
    refused(d, cmd.ScheduleActionDay(actor=COORDINATOR, start=d.due(3), end=d.due(4), places=(SOFIA,),
                                     action_day_id="AD1"),
            DomainError, "action day AD1 is running; only a scheduled or blocked action day can be re-scheduled")
    refused(d, cmd.CancelActionDay(actor=COORDINATOR, action_day_id="AD9", justification="x"), DomainError,
            "action_day_id: 'AD9' is not an action day of operation")


def test_added_intelligence_is_released_only_through_the_provider() -> None:
    d = shared()
    d.run(cmd.AddIntelligence(actor=COORDINATOR, item=Intelligence(
        summary="informant", contributed_by="EL", handling_code=HandlingCode.H2, released_to=("RS", "XX"))))
    item = d.state.intelligence[-1]
    assert item.released_to == ()
    assert not can_see(item, RS_OFFICER, d.state)


def test_actor_roles_for_the_new_commands() -> None:
    d = three_days()
    refused(d, cmd.StartActionDay(actor=COORDINATOR, action_day_id="AD1"), NotAuthorised,
            "coord-1 (coordinator) may not start action day: only a system may.", at=d.day("AD1").start)
    refused(d, cmd.CancelActionDay(actor=Actor(id="x", role=Role.AUDITOR), action_day_id="AD1", justification="x"),
            NotAuthorised, "only a coordinator may")
