"""Reference lists (member states, partners), the priority score, and the workflow's own deadlines."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import commands as cmd
from domain import events as ev
from domain.actors import SYSTEM
from domain.errors import InvalidInput
from domain.model import HandlingCode, Intelligence, Phase, TaskStatus
from domain.prioritisation import (
    CAPABILITY,
    CRITERIA,
    IMPACT,
    Confidence,
    ScoringPolicy,
    score,
    states_affected_grade,
)
from domain.reference import EU_MEMBER_STATES, PARTNER_BODIES, country_name, member_state, participant, partner
from domain.schedule import due_commands, next_deadline
from domain.state import fold
from tests.unit.builders import COORDINATOR, TIMING, approver, assessment, decided, driven_to, officer

# --- reference ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("given_code", "canonical"), [
    ("gr", "EL"), ("GR", "EL"), ("el", "EL"), (" de ", "DE"), ("BG", "BG"), ("fr", "FR"),
])
def test_member_state_canonical(given_code: str, canonical: str) -> None:
    assert member_state(given_code) == canonical


def test_there_are_27_member_states_and_greece_is_el() -> None:
    assert len(EU_MEMBER_STATES) == 27
    assert "EL" in EU_MEMBER_STATES and "GR" not in EU_MEMBER_STATES
    assert country_name("EL") == "Greece" and country_name("DE") == "Germany"


def test_unknown_member_state_names_the_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        member_state("XX", "lead_state")
    error = caught.value
    assert error.field == "lead_state" and error.value == "XX"
    assert error.message.startswith("lead_state: 'XX' is not an EU member-state code.")
    assert "operational partner" not in error.message


def test_non_eu_country_as_member_state_suggests_partnership_and_close_matches() -> None:
    with pytest.raises(InvalidInput) as caught:
        member_state("GE")
    message = caught.value.message
    assert "member_state: 'GE' is not an EU member-state code." in message
    assert "Georgia may take part as an operational partner." in message
    assert "Close matches:" in message and "DE (Germany)" in message


def test_country_name_finds_its_code() -> None:
    with pytest.raises(InvalidInput, match=r"Close matches: DE \(Germany\)"):
        member_state("Germany")
    with pytest.raises(InvalidInput, match=r"Close matches: RS \(Serbia\)"):
        partner("Serbia")


@pytest.mark.parametrize("code", ["RS", "rs", " UA", "GE", "CH", "NO"])
def test_partner_ok(code: str) -> None:
    assert partner(code) == code.strip().upper()


@pytest.mark.parametrize("code", ["DE", "de", "GR", "EL"])
def test_eu_member_state_is_not_a_partner(code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        partner(code)
    assert caught.value.message == f"partners: {code!r} is an EU member state, not an operational partner."
    assert caught.value.field == "partners"


def test_unknown_partner_code_suggests_close_matches() -> None:
    with pytest.raises(InvalidInput) as caught:
        partner("ZZ", "places.country")
    message = caught.value.message
    assert message.startswith("places.country: 'ZZ' is neither an ISO 3166-1 alpha-2 country code nor a partner "
                              "body (EUROPOL, EUROJUST, FRONTEX, INTERPOL, UNODC).")
    assert "Close matches:" in message and "ZW (Zimbabwe)" in message
    assert not any(f"{eu} (" in message for eu in EU_MEMBER_STATES), "suggested an EU state as partner"


def test_partner_suggestions_never_name_an_eu_member_state() -> None:
    with pytest.raises(InvalidInput) as caught:
        partner("Greece")
    assert "GR (Greece)" not in caught.value.message


@pytest.mark.parametrize(("code", "canonical"), [
    ("BG", "BG"), ("gr", "EL"), (" el ", "EL"), ("RS", "RS"), ("ua", "UA"), ("EUROPOL", "EUROPOL"),
    ("europol", "EUROPOL"), ("Frontex", "FRONTEX"),
])
def test_participant_accepts_member_states_partner_countries_and_bodies(code: str, canonical: str) -> None:
    assert participant(code) == canonical


@pytest.mark.parametrize("body", sorted(PARTNER_BODIES))
def test_partner_bodies_are_partners(body: str) -> None:
    assert partner(body) == body
    assert country_name(body) == PARTNER_BODIES[body]


def test_unknown_participant_is_refused_with_close_matches() -> None:
    with pytest.raises(InvalidInput) as caught:
        participant("Serbia", "to_state")
    error = caught.value
    assert error.field == "to_state" and error.value == "Serbia"
    assert error.message.startswith("to_state: 'Serbia' is neither an EU member state nor an operational partner.")
    assert "RS (Serbia)" in error.message
    with pytest.raises(InvalidInput, match=r"Close matches: .*EUROPOL \(Europol\)"):
        participant("EUROPLO")
    with pytest.raises(InvalidInput, match="'XX' is neither an EU member state nor an operational partner"):
        participant("XX")


def test_unknown_partner_body_lists_the_bodies() -> None:
    with pytest.raises(InvalidInput) as caught:
        partner("NATO")
    assert "partner body (EUROPOL, EUROJUST, FRONTEX, INTERPOL, UNODC)" in caught.value.message


# --- prioritisation -------------------------------------------------------------------------------

def test_all_grades_one_score_zero() -> None:
    result = score(assessment(1), 1, ScoringPolicy())
    assert result.score == 0 and result.impact == 1 and result.capability == 1
    assert not result.above_threshold


def test_all_grades_five_with_six_states_score_hundred() -> None:
    result = score(assessment(5), 6, ScoringPolicy())
    assert result.score == 100 and result.impact == 5 and result.capability == 5
    assert result.above_threshold
    assert score(assessment(5), 5, ScoringPolicy()).score < 100


@pytest.mark.parametrize(("states", "grade"), [(0, 1), (1, 1), (2, 2), (3, 3), (4, 4), (5, 4), (6, 5),
                                               (27, 5)])
def test_states_affected_grade(states: int, grade: int) -> None:
    assert states_affected_grade(states) == grade


def test_breakdown_lists_the_ten_criteria_with_their_weights() -> None:
    policy = ScoringPolicy()
    graded = assessment(2, harm_to_lives=5, years_active=4)
    result = score(graded, 3, policy)
    assert len(result.breakdown) == 10
    assert [row.criterion for row in result.breakdown] == list(CRITERIA)
    for row in result.breakdown:
        group, label = CRITERIA[row.criterion]
        assert (row.group, row.label) == (group, label)
        assert row.weight == policy.weights[row.criterion]
        expected = 3 if row.criterion == "states_affected" else getattr(graded, row.criterion)
        assert row.grade == expected
    assert {row.group for row in result.breakdown} == {IMPACT, CAPABILITY}
    assert result.threshold == policy.threshold and result.confidence is Confidence.MEDIUM
    # the documented formula
    impact = sum(r.grade * r.weight for r in result.breakdown if r.group == IMPACT) / \
        sum(r.weight for r in result.breakdown if r.group == IMPACT)
    capability = sum(r.grade * r.weight for r in result.breakdown if r.group == CAPABILITY) / \
        sum(r.weight for r in result.breakdown if r.group == CAPABILITY)
    assert result.score == round(100 * (impact * capability - 1) / 24, 1)


def test_custom_weights_change_the_score() -> None:
    graded = assessment(1, harm_to_lives=5, corruption=5)
    default = score(graded, 2, ScoringPolicy())
    heavy = ScoringPolicy(weights={**ScoringPolicy().weights, "harm_to_lives": 10.0, "corruption": 10.0},
                          threshold=55)
    custom = score(graded, 2, heavy)
    assert custom.score > default.score
    assert custom.threshold == 55
    assert next(r for r in custom.breakdown if r.criterion == "harm_to_lives").weight == 10.0
    light = ScoringPolicy(weights={**ScoringPolicy().weights, "harm_to_lives": 0.5})
    assert score(graded, 2, light).score < default.score


def test_confidence_is_shown_but_does_not_change_the_score() -> None:
    high = score(assessment(3, confidence=Confidence.HIGH), 3, ScoringPolicy())  # type: ignore[arg-type]
    low = score(assessment(3, confidence=Confidence.LOW), 3, ScoringPolicy())  # type: ignore[arg-type]
    assert high.score == low.score and high.confidence is Confidence.HIGH and low.confidence is Confidence.LOW


def test_operation_scoring_policy_threshold_decides_parking() -> None:
    d = driven_to("identify")
    assert d.state.scoring == ScoringPolicy()
    from tests.unit.builders import Driver
    strict = Driver().open(scoring=ScoringPolicy(threshold=99))
    strict.submit(assessment(5)).confirm()
    assert strict.state.parked and strict.state.phase is Phase.PRIORITISE
    lenient = Driver().open(scoring=ScoringPolicy(threshold=0))
    lenient.submit(assessment(1)).confirm()
    assert lenient.state.phase is Phase.PREPARE


GRADE_NAMES = [name for name in CRITERIA if name != "states_affected"]


@settings(max_examples=100, deadline=None)
@given(st.fixed_dictionaries({name: st.integers(1, 5) for name in GRADE_NAMES}),
       st.integers(0, 30), st.sampled_from(GRADE_NAMES))
def test_score_is_bounded_and_monotone(grades: dict[str, int], states: int, raised: str) -> None:
    base = score(assessment(**grades), states, ScoringPolicy())  # type: ignore[arg-type]
    assert 0 <= base.score <= 100
    if grades[raised] < 5:
        higher = score(assessment(**{**grades, raised: grades[raised] + 1}), states,  # type: ignore[arg-type]
                       ScoringPolicy())
        assert higher.score >= base.score
    assert score(assessment(**grades), states + 1, ScoringPolicy()).score >= base.score  # type: ignore[arg-type]


# --- schedule -------------------------------------------------------------------------------------

def apply_all(d, commands) -> list[ev.Event]:  # type: ignore[no-untyped-def]
    emitted = []
    for command in commands:
        produced = decided(d.state, command)
        d.state = fold(produced, d.state)
        d.events.extend(produced)
        emitted.extend(produced)
    return emitted


def test_nothing_scheduled_outside_prepare_and_execute() -> None:
    for point in ("identify", "prioritise", "parked", "prepare", "closed", "cancelled"):
        d = driven_to(point)
        assert next_deadline(d.state) is None, point
        assert due_commands(d.state, d.now + timedelta(days=365)) == [], point


def test_reminder_then_escalation_of_a_pending_task() -> None:
    d = driven_to("prepare")
    task_id = d.plan("EL", days=3)
    due = d.state.tasks[task_id].due
    remind_at = due - TIMING.reminder_before_due
    assert next_deadline(d.state) == remind_at
    assert due_commands(d.state, remind_at - timedelta(seconds=1)) == []
    [reminder] = due_commands(d.state, remind_at)
    assert isinstance(reminder, cmd.RemindApproval)
    assert reminder.task_id == task_id and reminder.actor == SYSTEM and reminder.issued_at == remind_at
    [reminded] = apply_all(d, [reminder])
    assert isinstance(reminded, ev.ApprovalReminded) and reminded.due == due

    escalate_at = due + TIMING.escalate_after_due
    assert next_deadline(d.state) == escalate_at
    assert due_commands(d.state, escalate_at - timedelta(seconds=1)) == []
    [escalation] = due_commands(d.state, escalate_at)
    assert isinstance(escalation, cmd.EscalateApproval) and escalation.issued_at == escalate_at
    apply_all(d, [escalation])
    assert d.state.tasks[task_id].escalated
    assert next_deadline(d.state) is None


def test_overdue_reminder_and_escalation_come_together_earliest_first() -> None:
    d = driven_to("prepare")
    task_id = d.plan("BG", days=1)
    late = d.state.tasks[task_id].due + timedelta(days=1)
    commands = due_commands(d.state, late)
    assert [type(c) for c in commands] == [cmd.RemindApproval, cmd.EscalateApproval]
    assert all(c.issued_at == late for c in commands)
    assert [type(e) for e in apply_all(d, commands)] == [ev.ApprovalReminded, ev.ApprovalEscalated]


def test_decided_tasks_are_not_reminded() -> None:
    d = driven_to("prepare")
    approved = d.plan("BG")
    d.approve(approved, approver("BG"))
    rejected = d.plan("EL")
    d.run(cmd.RejectTask(actor=approver("EL"), task_id=rejected, justification="no"))
    assert d.state.tasks[rejected].status is TaskStatus.REJECTED
    assert next_deadline(d.state) is None


def test_action_day_start_and_results_deadline() -> None:
    d = driven_to("ready")
    day = d.day("AD1")
    assert next_deadline(d.state) == day.start
    assert due_commands(d.state, day.start - timedelta(seconds=1)) == []
    [start] = due_commands(d.state, day.start)
    assert isinstance(start, cmd.StartActionDay) and start.actor == SYSTEM and start.action_day_id == "AD1"
    apply_all(d, [start])
    assert d.state.phase is Phase.EXECUTE

    deadline = day.end + TIMING.results_grace_after_action_day
    assert next_deadline(d.state) == deadline
    assert due_commands(d.state, deadline - timedelta(seconds=1)) == []
    [finish] = due_commands(d.state, deadline)
    assert isinstance(finish, cmd.FinishActionDay) and finish.issued_at == deadline
    assert finish.action_day_id == "AD1"
    finished, closed = apply_all(d, [finish])
    assert isinstance(finished, ev.ActionDayFinished) and finished.missing_states == ("BG", "EL", "DE")
    assert isinstance(closed, ev.OperationClosed) and closed.missing_states == ("BG", "EL", "DE")
    assert next_deadline(d.state) is None


def test_each_action_day_has_its_own_timers() -> None:
    d = driven_to("ready")
    d.schedule(start_in=timedelta(days=2), length=timedelta(hours=4), member_states=("EL",))
    d.schedule(start_in=timedelta(days=7), member_states=("DE",))
    d.run(cmd.CancelActionDay(actor=COORDINATOR, action_day_id="AD3", justification="called off"))
    ad1, ad2 = d.day("AD1"), d.day("AD2")
    assert next_deadline(d.state) == ad2.start  # AD2 starts first; the cancelled AD3 has no timer
    [start_ad2] = due_commands(d.state, ad2.start)
    assert isinstance(start_ad2, cmd.StartActionDay) and start_ad2.action_day_id == "AD2"
    apply_all(d, [start_ad2])
    # AD1's start and AD2's results deadline, earliest first
    ad2_deadline = ad2.end + TIMING.results_grace_after_action_day
    assert ad2_deadline < ad1.start
    late = ad1.start + timedelta(hours=1)
    commands = due_commands(d.state, late)
    assert [(c.kind, c.action_day_id) for c in commands] == [  # type: ignore[union-attr]
        ("finish_action_day", "AD2"), ("start_action_day", "AD1")]
    apply_all(d, commands)
    assert d.state.phase is Phase.EXECUTE and d.day("AD2").missing_states == ("EL",)
    assert next_deadline(d.state) == ad1.end + TIMING.results_grace_after_action_day


def test_pending_release_request_is_reminded_in_any_open_phase() -> None:
    d = driven_to("identify")
    d.run(cmd.AddIntelligence(actor=officer("EL"), item=Intelligence(summary="informant",
                                                                      handling_code=HandlingCode.H2)))
    d.run(cmd.RequestRelease(actor=officer("DE"), item_id="IN1", to_state="DE"))
    task = d.state.tasks["TK1"]
    assert task.due == d.now + TIMING.release_answer_within
    remind_at = task.due - TIMING.reminder_before_due
    assert next_deadline(d.state) == remind_at
    late = task.due + TIMING.escalate_after_due
    commands = due_commands(d.state, late)
    assert [type(c) for c in commands] == [cmd.RemindApproval, cmd.EscalateApproval]
    assert [type(e) for e in apply_all(d, commands)] == [ev.ApprovalReminded, ev.ApprovalEscalated]
    assert d.state.phase is Phase.IDENTIFY and next_deadline(d.state) is None


def test_workflow_timer_loop_runs_the_operation_to_its_end() -> None:
    """What the workflow does: sleep until next_deadline, apply due_commands, repeat."""
    d = driven_to("prepare")
    d.plan("BG", days=2)
    d.approve(d.plan("EL", days=2), approver("EL"))
    d.schedule(start_in=timedelta(days=4))
    kinds = []
    for _ in range(10):
        when = next_deadline(d.state)
        if when is None:
            break
        commands = due_commands(d.state, when)
        assert commands, "next_deadline promised work that due_commands does not give"
        kinds += [c.kind for c in commands]
        apply_all(d, commands)
        if d.day().status.value == "blocked":
            d.now = when
            d.run(cmd.DropTask(actor=COORDINATOR, task_id="TK1", justification="not approved in time"))
            d.schedule(start_in=timedelta(days=1), action_day_id="AD1")
    assert kinds == ["remind_approval", "escalate_approval", "start_action_day", "start_action_day",
                     "finish_action_day"]
    assert d.state.phase is Phase.CLOSED
    assert list(d.state.action_days) == ["AD1"]
