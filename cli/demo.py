"""`liaison demo`: one realistic operation through its whole lifecycle, against the running system.

A server-side script in two parts. On the server (it needs the store): it registers nine principals
through the principal service, as an administrator it bootstraps or finds, and issues each a token that
lives an hour. Through the API (as `make run` serves it): every command and read, each as the principal
whose token it sends, exactly as their own CLIs would; the tokens are revoked at the end. The timing
(reminders, escalation) is the server's policy.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bootstrap import System
from cli import render
from cli.client import LiaisonClient
from cli.http import Api
from cli.support import Context, console, new_idempotency_key
from domain import commands as cmd
from domain.actors import Actor, Role
from domain.model import (
    ActionDayStatus,
    HandlingCode,
    HitResolution,
    Intelligence,
    OperationSpec,
    Place,
    Results,
    SourceReliability,
    TaskKind,
)
from domain.prioritisation import Assessment
from domain.state import OperationState
from services.principals import Registration

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
DEMO_ADMINISTRATOR = "demo-admin"
PURPOSE = "liaison demo: a walk through one operation's lifecycle"
TOKEN_LIFETIME = timedelta(hours=1)
PRINCIPALS = [
    ("coord-1", "Task-force coordinator", Role.COORDINATOR, None),
    ("lo-bg", "Liaison officer Bulgaria", Role.LIAISON_OFFICER, "BG"),
    ("lo-el", "Liaison officer Greece", Role.LIAISON_OFFICER, "EL"),
    ("lo-de", "Liaison officer Germany", Role.LIAISON_OFFICER, "DE"),
    ("ap-bg-1", "Approver Bulgaria 1", Role.APPROVER, "BG"),
    ("ap-bg-2", "Approver Bulgaria 2", Role.APPROVER, "BG"),
    ("ap-el-1", "Approver Greece", Role.APPROVER, "EL"),
    ("ap-de-1", "Approver Germany", Role.APPROVER, "DE"),
    ("auditor-1", "Auditor", Role.AUDITOR, None),
]
OFFICER_OF = {"BG": "lo-bg", "EL": "lo-el", "DE": "lo-de"}


# --- on the server ----------------------------------------------------------------------------------

def _administrator(system: System) -> Actor:
    """The first active administrator in the store; bootstrapped as demo-admin when there is none."""
    from store.principals import Principals

    found = [p for p in Principals(system.engine).list() if p.role == Role.ADMINISTRATOR.value and not p.disabled]
    if found:
        console.print(f"[bold]server-side[/] acting as the administrator {render.text(found[0].id)} (found in the "
                      "store) to register the demo's principals", highlight=False)
        return Actor(id=found[0].id, role=Role.ADMINISTRATOR)
    done: Registration = system.principals.bootstrap_administrator(DEMO_ADMINISTRATOR, "Demo administrator")
    console.print(f"[bold]server-side[/] bootstrapped the first administrator {DEMO_ADMINISTRATOR} (its one-time "
                  f"password: {render.text(done.one_time_password or '')}) to register the demo's principals",
                  highlight=False)
    return Actor(id=DEMO_ADMINISTRATOR, role=Role.ADMINISTRATOR)


def _tokens(system: System) -> dict[str, str]:
    """Register the demo's principals (an existing one is kept as it is) and issue each a token."""
    admin = _administrator(system)
    tokens = {}
    for pid, name, role, state in PRINCIPALS:
        # A password nobody is shown (the demo acts with tokens it issues): not a one-time password, which
        # would open nothing until replaced; an administrator's reset hands one over when a person needs it.
        done = system.principals.register(admin, pid, role, state, name, "liaison demo: a principal it acts as",
                                          secrets.token_urlsafe(24))
        principal = system.principals.get(admin, pid)
        tokens[pid] = system.identity.issue_token(principal, "liaison demo", TOKEN_LIFETIME, admin).token
        console.print(f"  {'registered' if done.created else 'found'} {render.text(render.who(principal))}",
                      highlight=False)
    console.print(f"[bold]server-side[/] issued each a token for {TOKEN_LIFETIME}; they are revoked at the end",
                  highlight=False)
    return tokens


# --- through the API ---------------------------------------------------------------------------------

class Cast:
    """One API client per principal, each with its own token."""

    def __init__(self, server: str, tokens: dict[str, str]) -> None:
        self.server = server
        self.clients = {pid: LiaisonClient(Api(server, token, PURPOSE)) for pid, token in tokens.items()}

    def __getitem__(self, principal_id: str) -> LiaisonClient:
        return self.clients[principal_id]

    def close(self) -> None:
        for client in self.clients.values():
            client.sign_out()
            client.close()


class Script:
    """The demo's steps on one operation, each printed as it is done."""

    def __init__(self, cast: Cast, operation_id: str) -> None:
        self.cast = cast
        self.operation_id = operation_id

    def send(self, who: str, label: str, request: cmd.Request, operation_id: str | None = None) -> None:
        outcome = self.cast[who].send(operation_id or self.operation_id, request, new_idempotency_key())
        console.print(f"[green]✓[/] {render.text(who)}: {label}: {', '.join(outcome.events)}", highlight=False)

    def until(self, what: str, condition: Callable[[OperationState], bool], timeout: float = 60) -> OperationState:
        console.print(f"  … waiting until {what}", highlight=False)
        deadline = time.monotonic() + timeout
        while True:
            state = self.cast["coord-1"].show(self.operation_id)
            if condition(state):
                return state
            if time.monotonic() > deadline:
                raise TimeoutError(f"the demo waited {timeout:.0f} s for: {what}")
            time.sleep(0.5)


def _example(name: str) -> dict[str, object]:
    import yaml

    loaded: dict[str, object] = yaml.safe_load((EXAMPLES / name).read_text("utf-8"))
    return loaded


def _prepare(s: Script) -> None:
    s.send("lo-el", "EL contributes intelligence (H1, B2)", cmd.AddIntelligenceRequest(item=Intelligence(
        summary="Safe house in Thessaloniki used as staging point", handling_code=HandlingCode.H1,
        source_reliability=SourceReliability.B, information_accuracy=2, linked_targets=("TG2",))))
    s.send("lo-de", "DE asks EL to release its H2 item IN1", cmd.RequestReleaseRequest(item_id="IN1", to_state="DE"))
    s.send("ap-el-1", "EL approves the release", cmd.ApproveTaskRequest(
        task_id="TK1", justification="needed for the German financial enquiry"))
    s.send("coord-1", "submit for prioritisation", cmd.SubmitForPrioritisationRequest(
        assessment=Assessment.model_validate(_example("assessment.yaml")),
        justification="Assessment of 2026-11 threat picture"))
    s.send("coord-1", "confirm the priority", cmd.DecidePriorityRequest())
    due_soon, due_later = datetime.now(UTC) + timedelta(seconds=6), datetime.now(UTC) + timedelta(hours=2)
    s.send("coord-1", "plan BG arrest (four-eyes)", cmd.PlanTaskRequest(
        member_state="BG", task_kind=TaskKind.ARREST, four_eyes=True,
        description="Arrest Ivan Petrov at his Sofia address", due=due_later))
    s.send("coord-1", "plan EL search", cmd.PlanTaskRequest(
        member_state="EL", task_kind=TaskKind.SEARCH, description="Search the Thessaloniki safe house", due=due_later))
    s.send("coord-1", "plan DE financial enquiry (due in 6 s)", cmd.PlanTaskRequest(
        member_state="DE", task_kind=TaskKind.FINANCIAL_ENQUIRY, description="Trace transfers to German accounts",
        due=due_soon))
    s.send("ap-el-1", "EL rejects the search", cmd.RejectTaskRequest(
        task_id="TK3", justification="Warrant covers the warehouse, not the flat"))
    s.send("coord-1", "re-plan it", cmd.ReplanTaskRequest(
        task_id="TK3", description="Search the Thessaloniki warehouse", justification="Scope aligned with the warrant"))
    s.send("ap-bg-1", "BG approver 1", cmd.ApproveTaskRequest(task_id="TK2"))
    s.send("ap-bg-2", "BG approver 2 (four eyes)", cmd.ApproveTaskRequest(task_id="TK2"))
    s.send("ap-el-1", "EL approves the re-planned search", cmd.ApproveTaskRequest(task_id="TK3"))
    s.until("DE's overdue approval is reminded and escalated", lambda state: state.tasks["TK4"].escalated)
    s.send("ap-de-1", "DE approves late", cmd.ApproveTaskRequest(task_id="TK4",
                                                                justification="Approved after escalation"))


def _collide_and_resolve(s: Script) -> str:
    """A German operation on the same phone and person: both are blocked until the officers resolve it."""
    other_id = s.operation_id.replace("korab", "rhein")
    other = OperationSpec.model_validate({
        "code_name": "RHEIN", "lead_state": "DE", "participating_states": ["DE", "AT"],
        "crime_areas": ["migrant_smuggling"], "point_of_contact": "LKA Bayern desk, +49 89 1212 0",
        "targets": [{"name": "PETROV Ivan", "date_of_birth": "1985-03-07", "contributed_by": "DE",
                     "identifiers": [{"kind": "phone", "value": "+359 888 123 456"}]}]})
    console.print(f"[bold]coord-1 opens {other_id}[/] (DE leads): the same phone and person as KORAB's TG1")
    s.cast["coord-1"].open_operation(cmd.OpenOperationRequest(operation_id=other_id, spec=other),
                                     new_idempotency_key())
    state = s.until("KORAB is told of the collision", lambda st: any(h.other_state == "DE" for h in st.open_hits()))
    console.print(render.hits_table(state))
    for hit in state.open_hits():  # hits with operations left over from earlier runs are resolved too
        officer = OFFICER_OF.get(hit.other_state, "lo-bg")
        s.cast[officer].resolve_hit(s.operation_id, hit.hit_id, HitResolution.COORDINATED,
                                    f"Joint action agreed with the {hit.other_state} point of contact by phone",
                                    new_idempotency_key())
        console.print(f"[green]✓[/] {officer}: resolves {hit.hit_id} ({hit.kind} with {hit.other_state})",
                      highlight=False)
    return other_id


def _execute(s: Script) -> OperationState:
    start = datetime.now(UTC) + timedelta(seconds=3)
    sofia = Place(name="Sofia", country="BG", latitude=42.6977, longitude=23.3219)
    s.send("coord-1", "schedule AD1 in Sofia and Thessaloniki (BG, EL)", cmd.ScheduleActionDayRequest(
        start=start, end=start + timedelta(hours=8), member_states=("BG", "EL"),
        places=(sofia, Place(name="Thessaloniki", country="EL", latitude=40.6401, longitude=22.9444))))
    s.send("coord-1", "schedule AD2 in Munich (DE), same window", cmd.ScheduleActionDayRequest(
        start=start, end=start + timedelta(hours=8), member_states=("DE",),
        places=(Place(name="Munich", country="DE", latitude=48.1351, longitude=11.5820),)))
    s.send("coord-1", "schedule AD3 in Sofia (BG), next week", cmd.ScheduleActionDayRequest(
        start=start + timedelta(days=7), end=start + timedelta(days=7, hours=8), member_states=("BG",),
        places=(sofia,)))
    s.send("coord-1", "cancel AD3", cmd.CancelActionDayRequest(action_day_id="AD3",
                                                               justification="Main suspect arrested on AD1"))
    s.until("both action days start", lambda st: st.phase is not None and st.phase.value == "execute"
            and len(st.days(ActionDayStatus.RUNNING)) == 2)
    for day, officer, results in (
            ("AD1", "lo-bg", Results(arrests=4, searches=3, seizures=2, assets_frozen_eur=180000)),
            ("AD1", "lo-el", Results(arrests=2, searches=2, victims_safeguarded=17)),
            ("AD2", "lo-de", Results(searches=1, assets_frozen_eur=420000.5))):
        s.send(officer, f"reports {day}", cmd.ReportResultsRequest(results=results, action_day_id=day))
    return s.until("the operation closes", lambda st: st.phase is not None and st.phase.is_terminal)


@contextmanager
def _cast(c: Context) -> Iterator[Cast]:
    from cli import credentials

    cast = Cast(credentials.server_url(), _tokens(c.system))
    console.print(f"[bold]through the API[/] at {render.text(cast.server)}, each step as the principal named",
                  highlight=False)
    try:
        yield cast
    finally:
        cast.close()


def run_demo(c: Context) -> None:
    with _cast(c) as cast:
        s = Script(cast, f"demo-korab-{datetime.now(UTC):%Y%m%d-%H%M%S}")
        console.print(f"[bold]coord-1 opens {s.operation_id}[/] (BG leads, with EL and DE; partner RS)")
        spec = OperationSpec.model_validate(_example("operation.yaml"))
        cast["coord-1"].open_operation(cmd.OpenOperationRequest(
            operation_id=s.operation_id, spec=spec, justification="Joint referral by BG and EL liaison desks"),
            new_idempotency_key())
        _prepare(s)
        colliding = _collide_and_resolve(s)
        state = _execute(s)
        s.send("coord-1", f"cancel {colliding}", cmd.CancelOperationRequest(
            justification="Demo over: releases its deconfliction entries"), colliding)
        entries = cast["auditor-1"].timeline(s.operation_id)
        console.print(render.timeline_table(entries, f"Timeline of {s.operation_id}"))
        console.print(render.operation_panel(state))
        check = cast["auditor-1"].verify([s.operation_id])[0]
        console.print(f"audit chain: {'[green]intact[/]' if check.intact else '[red]BROKEN[/]'} ({check.events} "
                      "events, checked by auditor-1 on the server)", highlight=False)
