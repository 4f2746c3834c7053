"""`liaison demo`: one realistic operation through its whole lifecycle, against the running system.

A server-side script that acts for nine principals at once, so it drives the gateway directly; its
short reminders and results deadline are the demo's own (scoring is the server's)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from cli import render
from cli.support import Context, console
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
from domain.timing import Timing
from gateway.audit import timeline, verify
from gateway.operations import OperationsGateway
from store.audit_log import AuditLog
from store.principals import Principal, Principals

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
DEMO_TIMING = Timing(reminder_before_due=timedelta(seconds=3), escalate_after_due=timedelta(0),
                     results_grace_after_action_day=timedelta(seconds=60))
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


def _actors(ctx: Context) -> dict[str, Actor]:
    principals = Principals(ctx.engine)
    for pid, name, role, state in PRINCIPALS:
        if principals.get(pid) is None:
            principals.add(Principal(id=pid, display_name=name, role=role.value, member_state=state))
    return {pid: Actor(id=pid, role=role, member_state=state) for pid, _, role, state in PRINCIPALS}


async def _until(gateway: OperationsGateway, operation_id: str, what: str,
                 condition: Callable[[OperationState], bool], timeout: float = 60) -> OperationState:
    console.print(f"  … waiting until {what}", highlight=False)
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        state = await gateway.state(operation_id)
        if condition(state):
            return state
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"the demo waited {timeout:.0f} s for: {what}")
        await asyncio.sleep(0.3)


async def _collide_and_resolve(ctx: Context, gateway: OperationsGateway, a: dict[str, Actor], operation_id: str,
                               send: Callable[[str, cmd.Command], Awaitable[None]]) -> str:
    """A German operation on the same phone and person: both are blocked until the officers resolve it."""
    other_id = operation_id.replace("korab", "rhein")
    other = OperationSpec.model_validate({
        "code_name": "RHEIN", "lead_state": "DE", "participating_states": ["DE", "AT"],
        "crime_areas": ["migrant_smuggling"], "point_of_contact": "LKA Bayern desk, +49 89 1212 0",
        "targets": [{"name": "PETROV Ivan", "date_of_birth": "1985-03-07", "contributed_by": "DE",
                     "identifiers": [{"kind": "phone", "value": "+359 888 123 456"}]}]})
    console.print(f"[bold]Opening {other_id}[/] (DE leads): the same phone and person as KORAB's TG1")
    await gateway.open(cmd.OpenOperation(actor=a["coord-1"], operation_id=other_id, spec=other,
                                         timing=DEMO_TIMING))
    state = await _until(gateway, operation_id, "KORAB is told of the collision", 
                   lambda s: any(h.other_state == "DE" for h in s.open_hits()))
    console.print(render.hits_table(state))
    for hit in state.open_hits():  # hits with operations left over from earlier runs are resolved too
        officer = OFFICER_OF.get(hit.other_state, "lo-bg")
        await send(f"{officer} resolves {hit.hit_id} ({hit.kind} with {hit.other_state})", cmd.ResolveHit(
            actor=a[officer], hit_id=hit.hit_id, resolution=HitResolution.COORDINATED,
            justification=f"Joint action agreed with the {hit.other_state} point of contact by phone"))
    return other_id


async def run_demo(ctx: Context) -> None:
    gateway = await ctx.system.temporal.gateway()
    a = _actors(ctx)
    now = datetime.now(UTC)
    operation_id = f"demo-korab-{now:%Y%m%d-%H%M%S}"
    spec = OperationSpec.model_validate(yaml.safe_load((EXAMPLES / "operation.yaml").read_text("utf-8")))
    assessment = Assessment.model_validate(yaml.safe_load((EXAMPLES / "assessment.yaml").read_text("utf-8")))

    async def send(label: str, command: cmd.Command) -> None:
        result = await gateway.send(operation_id, command)
        console.print(f"[green]✓[/] {label}: {', '.join(result.events)}", highlight=False)

    console.print(f"[bold]Opening {operation_id}[/] (BG leads, with EL and DE; partner RS)")
    await gateway.open(cmd.OpenOperation(actor=a["coord-1"], operation_id=operation_id, spec=spec,
                                         timing=DEMO_TIMING,
                                         justification="Joint referral by BG and EL liaison desks"))
    await send("EL contributes intelligence (H1, B2)", cmd.AddIntelligence(actor=a["lo-el"], item=Intelligence(
        summary="Safe house in Thessaloniki used as staging point", handling_code=HandlingCode.H1,
        source_reliability=SourceReliability.B, information_accuracy=2, linked_targets=("TG2",))))
    await send("DE asks EL to release its H2 item IN1", cmd.RequestRelease(actor=a["lo-de"], item_id="IN1",
                                                                            to_state="DE"))
    await send("EL approves the release", cmd.ApproveTask(actor=a["ap-el-1"], task_id="TK1",
                                                          justification="needed for the German financial enquiry"))
    await send("coordinator submits for prioritisation", cmd.SubmitForPrioritisation(
        actor=a["coord-1"], assessment=assessment, justification="Assessment of 2026-11 threat picture"))
    await send("coordinator confirms the priority", cmd.DecidePriority(actor=a["coord-1"]))
    due_soon, due_later = datetime.now(UTC) + timedelta(seconds=6), datetime.now(UTC) + timedelta(hours=2)
    await send("plan BG arrest (four-eyes)", cmd.PlanTask(
        actor=a["coord-1"], member_state="BG", task_kind=TaskKind.ARREST, four_eyes=True,
        description="Arrest Ivan Petrov at his Sofia address", due=due_later))
    await send("plan EL search", cmd.PlanTask(actor=a["coord-1"], member_state="EL", task_kind=TaskKind.SEARCH,
                                              description="Search the Thessaloniki safe house", due=due_later))
    await send("plan DE financial enquiry", cmd.PlanTask(
        actor=a["coord-1"], member_state="DE", task_kind=TaskKind.FINANCIAL_ENQUIRY,
        description="Trace transfers to German accounts", due=due_soon))
    await send("EL rejects the search", cmd.RejectTask(actor=a["ap-el-1"], task_id="TK3",
                                                       justification="Warrant covers the warehouse, not the flat"))
    await send("coordinator re-plans it", cmd.ReplanTask(
        actor=a["coord-1"], task_id="TK3", description="Search the Thessaloniki warehouse",
        justification="Scope aligned with the warrant"))
    await send("BG approver 1", cmd.ApproveTask(actor=a["ap-bg-1"], task_id="TK2"))
    await send("BG approver 2 (four eyes)", cmd.ApproveTask(actor=a["ap-bg-2"], task_id="TK2"))
    await send("EL approves the re-planned search", cmd.ApproveTask(actor=a["ap-el-1"], task_id="TK3"))
    await _until(gateway, operation_id, "DE's overdue approval is reminded and escalated",
                 lambda s: s.tasks["TK4"].escalated)
    await send("DE approves late", cmd.ApproveTask(actor=a["ap-de-1"], task_id="TK4",
                                                   justification="Approved after escalation"))
    colliding = await _collide_and_resolve(ctx, gateway, a, operation_id, send)
    start = datetime.now(UTC) + timedelta(seconds=3)
    await send("schedule AD1 in Sofia and Thessaloniki (BG, EL)", cmd.ScheduleActionDay(
        actor=a["coord-1"], start=start, end=start + timedelta(hours=8), member_states=("BG", "EL"),
        places=(Place(name="Sofia", country="BG", latitude=42.6977, longitude=23.3219),
                Place(name="Thessaloniki", country="EL", latitude=40.6401, longitude=22.9444))))
    await send("schedule AD2 in Munich (DE), same window", cmd.ScheduleActionDay(
        actor=a["coord-1"], start=start, end=start + timedelta(hours=8), member_states=("DE",),
        places=(Place(name="Munich", country="DE", latitude=48.1351, longitude=11.5820),)))
    await send("schedule AD3 in Sofia (BG), next week", cmd.ScheduleActionDay(
        actor=a["coord-1"], start=start + timedelta(days=7), end=start + timedelta(days=7, hours=8),
        member_states=("BG",), places=(Place(name="Sofia", country="BG", latitude=42.6977, longitude=23.3219),)))
    await send("cancel AD3", cmd.CancelActionDay(actor=a["coord-1"], action_day_id="AD3",
                                                 justification="Main suspect arrested on AD1"))
    await _until(gateway, operation_id, "both action days start", lambda s: s.phase is not None
                 and s.phase.value == "execute" and len(s.days(ActionDayStatus.RUNNING)) == 2)
    for day, officer, results in (
            ("AD1", "lo-bg", Results(arrests=4, searches=3, seizures=2, assets_frozen_eur=180000)),
            ("AD1", "lo-el", Results(arrests=2, searches=2, victims_safeguarded=17)),
            ("AD2", "lo-de", Results(searches=1, assets_frozen_eur=420000.5))):
        await send(f"{officer} reports {day}", cmd.ReportResults(
            actor=a[officer], member_state=a[officer].member_state or "", results=results, action_day_id=day))
    state = await _until(gateway, operation_id, "the operation closes", lambda s: s.phase is not None
                         and s.phase.is_terminal)
    await gateway.send(colliding, cmd.CancelOperation(actor=a["coord-1"],
                                                      justification="Demo over: releases its deconfliction entries"))
    records = AuditLog(ctx.engine).read(operation_id)
    console.print(render.timeline_table(timeline(records), f"Timeline of {operation_id}"))
    console.print(render.operation_panel(state))
    check = verify(AuditLog(ctx.engine), operation_id, await gateway.chain_head(operation_id))
    console.print(f"audit chain: {'[green]intact[/]' if check.intact else '[red]BROKEN[/]'} "
                  f"({check.events} events)")
