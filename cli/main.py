"""`liaison`: operations, tasks, results, audit, principals, and running the system."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import structlog
import typer

from cli import render
from cli.audit import audit_app, history_app
from cli.deconfliction import deconfliction_app
from cli.support import Context, console, ctx_of, fail, handle_errors, load_model, parse_when, run
from domain import commands as cmd
from domain.actors import Role
from domain.model import Intelligence, OperationSpec, Phase, Place, Results, Target, Task, TaskKind
from domain.prioritisation import Assessment
from domain.reference import participant
from domain.visibility import as_seen_by, hidden_matches, redact, require_reader
from gateway.audit import replay, timeline
from store.audit_log import AuditLog
from store.principals import Principal, PrincipalConflict, Principals

app = typer.Typer(help="Liaison: cross-border operations, event-sourced on Temporal.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
operation_app = typer.Typer(help="Coordinators: open and steer operations.", no_args_is_help=True)
task_app = typer.Typer(help="Approvers: pending tasks, approve, reject.", no_args_is_help=True)
results_app = typer.Typer(help="Liaison officers: report action-day results.", no_args_is_help=True)
principal_app = typer.Typer(help="Register the people who act.", no_args_is_help=True)
app.add_typer(operation_app, name="operation")
app.add_typer(task_app, name="task")
app.add_typer(results_app, name="results")
app.add_typer(audit_app, name="audit")
app.add_typer(history_app, name="history")
app.add_typer(deconfliction_app, name="deconfliction")
app.add_typer(principal_app, name="principal")

Justification = Annotated[str, typer.Option("--justification", "-j", help="Why (recorded in the audit log).")]
OperationId = Annotated[str, typer.Argument(help="Operation id (the workflow id).")]


@app.callback()
def main(ctx: typer.Context,
         actor: Annotated[str | None, typer.Option("--as", help="Acting principal id (or LIAISON_ACTOR).")] = None,
         purpose: Annotated[str | None, typer.Option(
             "--purpose", help="Why you read operation data; logged (or LIAISON_PURPOSE).")] = None,
         key: Annotated[str | None, typer.Option(
             "--key", help="Idempotency key of the command (default: a new one). Sending the same command again "
                           "with the key an earlier try printed applies it at most once and reports what happened.")
         ] = None,
         ) -> None:
    from logging_setup import configure_logging

    ctx.obj = Context(actor, purpose, key)
    configure_logging(ctx.obj.settings.log_format, "WARNING")


def _send(ctx: Context, operation_id: str, command: cmd.Command) -> None:
    result = run(_call_send(ctx, operation_id, command))
    console.print(f"[green]ok[/] {operation_id}: {', '.join(result.events)} "
                  f"(phase {result.phase.value.upper()}, audit #{result.head.seq})", highlight=False)


async def _call_send(ctx: Context, operation_id: str, command: cmd.Command):  # type: ignore[no-untyped-def]
    structlog.contextvars.bind_contextvars(operation_id=operation_id, workflow_id=operation_id)
    gateway = await ctx.gateway()
    return await gateway.send(operation_id, command, key=ctx.key)


def _slug(name: str) -> str:
    return "op-" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


# --- operation -----------------------------------------------------------------------------------

@operation_app.command("open")
@handle_errors
def open_operation(ctx: typer.Context, spec_file: Annotated[Path, typer.Argument(help="YAML or JSON spec.")],
                   operation_id: Annotated[str | None, typer.Option("--id", help="Defaults to op-<code name>.")] = None,
                   justification: Justification = "") -> None:
    """Open an operation from a YAML or JSON spec file."""
    c = ctx_of(ctx)
    spec = load_model(spec_file, OperationSpec)
    command = cmd.OpenOperation(actor=c.actor(Role.COORDINATOR), operation_id=operation_id or _slug(spec.code_name),
                                spec=spec, scoring=c.settings.scoring, timing=c.settings.timing(),
                                justification=justification)

    async def go():  # type: ignore[no-untyped-def]
        return await (await c.gateway()).open(command, key=c.key)

    state = run(go())
    console.print(f"[green]opened[/] {state.operation_id}")
    console.print(render.operation_panel(state))


@operation_app.command("add-target")
@handle_errors
def add_target(ctx: typer.Context, operation_id: OperationId,
               target_file: Annotated[Path, typer.Argument(help="YAML or JSON of one target.")],
               justification: Justification = "") -> None:
    """Add a target (person, company, vehicle ...) contributed by a state."""
    c = ctx_of(ctx)
    target = load_model(target_file, Target)
    _send(c, operation_id, cmd.AddTarget(actor=c.actor(), target=target, justification=justification))


@operation_app.command("add-intel")
@handle_errors
def add_intelligence(ctx: typer.Context, operation_id: OperationId,
                     summary: Annotated[str, typer.Option(help="The intelligence item.")],
                     handling_code: Annotated[str, typer.Option(help="H0, H1, H2 or H3.")] = "H0",
                     contributed_by: Annotated[str, typer.Option(help="Contributing state.")] = "",
                     link: Annotated[list[str] | None, typer.Option(help="Linked target id or name.")] = None,
                     reliability: Annotated[str, typer.Option(help="Source reliability A, B, C or X.")] = "X",
                     accuracy: Annotated[int, typer.Option(help="Information accuracy 1-4.")] = 4,
                     restriction: Annotated[str | None, typer.Option(help="The restriction of an H3 item.")] = None,
                     identifier: Annotated[list[str] | None, typer.Option(
                         help="KIND:VALUE[:COUNTRY] the item names (phone, email, iban, vehicle, "
                              "identity_document, company); deconflicted like targets'.")] = None,
                     justification: Justification = "") -> None:
    """Add an intelligence item under a handling code, with its 4x4 evaluation."""
    c = ctx_of(ctx)
    item = Intelligence.model_validate({
        "summary": summary, "handling_code": handling_code.upper(), "contributed_by": contributed_by,
        "linked_targets": link or [], "source_reliability": reliability.upper(), "information_accuracy": accuracy,
        "handling_restriction": restriction, "identifiers": [_identifier(text) for text in identifier or []]})
    _send(c, operation_id, cmd.AddIntelligence(actor=c.actor(), item=item, justification=justification))


@operation_app.command("submit")
@handle_errors
def submit(ctx: typer.Context, operation_id: OperationId,
           assessment_file: Annotated[Path, typer.Argument(help="YAML/JSON of criterion grades 1-5.")],
           justification: Justification = "") -> None:
    """Submit for prioritisation with the coordinator's assessment; shows the computed score."""
    c = ctx_of(ctx)
    assessment = load_model(assessment_file, Assessment)
    _send(c, operation_id, cmd.SubmitForPrioritisation(actor=c.actor(Role.COORDINATOR), assessment=assessment,
                                                       justification=justification))
    state = run(_state(c, operation_id))
    console.print(render.priority_table(state))
    console.print(render.operation_panel(state))


@operation_app.command("prioritise")
@handle_errors
def prioritise(ctx: typer.Context, operation_id: OperationId,
               override: Annotated[float | None, typer.Option(help="Override score 0-100 (needs -j).")] = None,
               justification: Justification = "") -> None:
    """Confirm the computed priority, or override it with a justification."""
    c = ctx_of(ctx)
    _send(c, operation_id, cmd.DecidePriority(actor=c.actor(Role.COORDINATOR), override_score=override,
                                              justification=justification))


@operation_app.command("plan-task")
@handle_errors
def plan_task(ctx: typer.Context, operation_id: OperationId,
              state: Annotated[str, typer.Option("--state", help="Member state that carries it out.")],
              kind: Annotated[TaskKind, typer.Option(help="Task kind.")],
              description: Annotated[str, typer.Option(help="What is to be done.")],
              due: Annotated[str, typer.Option(help="Approval due: ISO 8601 or +2d.")],
              four_eyes: Annotated[bool, typer.Option("--four-eyes", help="Needs two approvers.")] = False,
              justification: Justification = "") -> None:
    """Plan a task for a member state; its approvers must sign it off."""
    c = ctx_of(ctx)
    _send(c, operation_id, cmd.PlanTask(actor=c.actor(Role.COORDINATOR), member_state=state, task_kind=kind,
                                        description=description, due=parse_when(due, "due"),
                                        four_eyes=four_eyes, justification=justification))


@operation_app.command("replan-task")
@handle_errors
def replan_task(ctx: typer.Context, operation_id: OperationId, task_id: str,
                due: Annotated[str | None, typer.Option(help="New due time.")] = None,
                description: Annotated[str | None, typer.Option(help="New description.")] = None,
                four_eyes: Annotated[bool | None, typer.Option("--four-eyes/--one-approver")] = None,
                justification: Justification = "") -> None:
    """Re-plan a rejected (or pending) task; approvals start again."""
    c = ctx_of(ctx)
    _send(c, operation_id, cmd.ReplanTask(
        actor=c.actor(Role.COORDINATOR), task_id=task_id, description=description,
        due=parse_when(due, "due") if due else None, four_eyes=four_eyes, justification=justification))


@operation_app.command("drop-task")
@handle_errors
def drop_task(ctx: typer.Context, operation_id: OperationId, task_id: str, justification: Justification = "") -> None:
    """Drop a rejected or pending task (needs a justification)."""
    c = ctx_of(ctx)
    _send(c, operation_id, cmd.DropTask(actor=c.actor(Role.COORDINATOR), task_id=task_id,
                                        justification=justification))


def _identifier(text: str) -> dict[str, str]:
    """KIND:VALUE[:COUNTRY]; the value may hold colons itself (identity_document:passport:381234567:BG),
    so only a last part of two letters after at least three is taken as the country."""
    kind, _, rest = (part.strip() for part in text.partition(":"))
    value, _, country = rest.rpartition(":")
    if not (value and re.fullmatch(r"[A-Za-z]{2}", country.strip())):
        value, country = rest, ""
    if not kind or not value.strip():
        fail(f"--identifier: {text!r} must be KIND:VALUE or KIND:VALUE:COUNTRY, e.g. phone:+359899765432 "
             "or identity_document:passport:381234567:BG")
    return {"kind": kind.lower(), "value": value.strip(), **({"country": country.strip()} if country else {})}


def _place(text: str) -> Place:
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 4:
        fail(f"--place: {text!r} must be NAME,COUNTRY,LATITUDE,LONGITUDE (action windows are deconflicted "
             "by distance, so every place needs its coordinates)")
    try:
        latitude, longitude = float(parts[2]), float(parts[3])
    except ValueError:
        fail(f"--place: {text!r} has coordinates that are not numbers")
    return Place.model_validate({"name": parts[0], "country": parts[1], "latitude": latitude, "longitude": longitude})


@operation_app.command("schedule")
@handle_errors
def schedule(ctx: typer.Context, operation_id: OperationId,
             start: Annotated[str, typer.Option(help="Start: ISO 8601 or +2d.")],
             end: Annotated[str, typer.Option(help="End: ISO 8601 or +3d.")],
             place: Annotated[list[str], typer.Option(help="NAME,COUNTRY,LAT,LON; repeat for several.")],
             state: Annotated[list[str] | None, typer.Option(
                 "--state", help="A state taking part; repeat. Default: every member state.")] = None,
             day: Annotated[str | None, typer.Option(help="Re-schedule this action day (e.g. AD2).")] = None,
             justification: Justification = "") -> None:
    """Add an action day (or re-schedule one with --day)."""
    c = ctx_of(ctx)
    _send(c, operation_id, cmd.ScheduleActionDay(
        actor=c.actor(Role.COORDINATOR), start=parse_when(start, "start"), end=parse_when(end, "end"),
        places=tuple(_place(p) for p in place), member_states=tuple(state or ()), action_day_id=day,
        justification=justification))


@operation_app.command("cancel-day")
@handle_errors
def cancel_day(ctx: typer.Context, operation_id: OperationId, day: str,
               reason: Annotated[str, typer.Option("--reason", "-j", help="Why it is cancelled.")] = "") -> None:
    """Cancel one action day, with a reason."""
    c = ctx_of(ctx)
    _send(c, operation_id, cmd.CancelActionDay(actor=c.actor(Role.COORDINATOR), action_day_id=day,
                                               justification=reason))


@operation_app.command("invite-partner")
@handle_errors
def invite_partner(ctx: typer.Context, operation_id: OperationId, partner: str,
                   justification: Justification = "") -> None:
    """Invite an operational partner (a non-EU state or a body such as EUROPOL)."""
    c = ctx_of(ctx)
    _send(c, operation_id, cmd.InvitePartner(actor=c.actor(Role.COORDINATOR), partner=partner,
                                             justification=justification))


@operation_app.command("request-release")
@handle_errors
def request_release(ctx: typer.Context, operation_id: OperationId, item: str,
                    to: Annotated[str, typer.Option("--to", help="The state that should receive it.")],
                    justification: Justification = "") -> None:
    """Ask an item's provider for permission to pass it to another state (a task of the provider)."""
    c = ctx_of(ctx)
    _send(c, operation_id, cmd.RequestRelease(actor=c.actor(), item_id=item, to_state=to,
                                              justification=justification))


@operation_app.command("intel")
@handle_errors
def intelligence(ctx: typer.Context, operation_id: OperationId,
                 item: Annotated[str | None, typer.Argument(help="One item; all you may see when omitted.")] = None,
                 ) -> None:
    """Intelligence items you may see, by handling code and your state."""
    c = ctx_of(ctx)
    actor = c.consult("operation intel" + (f" {item}" if item else ""), operation_id)

    async def go() -> list[Intelligence]:
        return await (await c.gateway()).intelligence(operation_id, actor, item)

    console.print(render.intelligence_table(run(go()), f"Intelligence of {operation_id} visible to {actor.describe()}"))


@operation_app.command("cancel")
@handle_errors
def cancel(ctx: typer.Context, operation_id: OperationId,
           reason: Annotated[str, typer.Option("--reason", "-j", help="Why it is cancelled.")] = "") -> None:
    """Cancel an operation in any phase, with a reason."""
    c = ctx_of(ctx)
    _send(c, operation_id, cmd.CancelOperation(actor=c.actor(Role.COORDINATOR), justification=reason))


async def _state(c: Context, operation_id: str):  # type: ignore[no-untyped-def]
    return await (await c.gateway()).state(operation_id)


@operation_app.command("show")
@handle_errors
def show(ctx: typer.Context, operation_id: OperationId) -> None:
    """Show an operation's current state."""
    c = ctx_of(ctx)
    viewer = c.consult("operation show", operation_id)
    state = require_reader(viewer, run(_state(c, operation_id)))
    console.print(render.operation_panel(as_seen_by(viewer, state)))


@operation_app.command("timeline")
@handle_errors
def show_timeline(ctx: typer.Context, operation_id: OperationId) -> None:
    """Show an operation's timeline from the audit log."""
    c = ctx_of(ctx)
    viewer = c.consult("operation timeline", operation_id)
    records = AuditLog(c.engine).read(operation_id)
    if not records:
        fail(f"operation {operation_id} has no events in the audit log")
    matches = hidden_matches(viewer, require_reader(viewer, replay(records)))
    entries = [e.model_copy(update={"summary": redact(e.summary, matches)}) for e in timeline(records)]
    console.print(render.timeline_table(entries, f"Timeline of {operation_id}"))


@operation_app.command("list")
@handle_errors
def list_operations(ctx: typer.Context,
                    phase: Annotated[Phase | None, typer.Option(help="Only this phase.")] = None,
                    state: Annotated[str | None, typer.Option("--state", help="Only with this member state.")] = None,
                    min_priority: Annotated[float | None, typer.Option(help="Only at or above.")] = None,
                    parked: Annotated[bool | None, typer.Option("--parked/--not-parked")] = None) -> None:
    """List operations by phase, member state or priority (Temporal visibility)."""
    c = ctx_of(ctx)
    viewer = c.consult_each("operation list", [])  # who and why now; each operation listed once known

    async def go():  # type: ignore[no-untyped-def]
        gateway = await c.gateway()  # a state lists only the operations it takes part in
        return await gateway.readable(viewer, await gateway.list(phase, state, min_priority, parked))

    rows = run(go())
    c.consult_each("operation list", [row.operation_id for row in rows] or [None])
    console.print(render.operations_table(rows))


# --- tasks and results ---------------------------------------------------------------------------

@task_app.command("pending")
@handle_errors
def pending(ctx: typer.Context,
            operation_id: Annotated[str | None, typer.Argument(help="One operation; all when omitted.")] = None,
            ) -> None:
    """Tasks that await approval: an approver sees its own member state's, a coordinator all."""
    c = ctx_of(ctx)
    actor = c.consult_each("task pending", [operation_id] if operation_id else [], Role.APPROVER, Role.COORDINATOR)
    member_state = actor.member_state if actor.role is Role.APPROVER else None

    async def go() -> list[tuple[str, Task]]:
        gateway = await c.gateway()
        if operation_id is None:
            return await gateway.inbox(member_state)
        return [(operation_id, t) for t in await gateway.pending_tasks(operation_id, member_state)]

    inbox = run(go())
    if operation_id is None:  # the inbox read every operation it lists
        c.consult_each("task pending", sorted({op for op, _ in inbox}) or [None], Role.APPROVER, Role.COORDINATOR)
    console.print(render.inbox_table(inbox, f"Pending tasks{' of ' + member_state if member_state else ''}"))


@task_app.command("approve")
@handle_errors
def approve(ctx: typer.Context, operation_id: OperationId, task_id: str, justification: Justification = "") -> None:
    """Approve a task of your member state."""
    c = ctx_of(ctx)
    _send(c, operation_id, cmd.ApproveTask(actor=c.actor(), task_id=task_id, justification=justification))


@task_app.command("reject")
@handle_errors
def reject(ctx: typer.Context, operation_id: OperationId, task_id: str,
           reason: Annotated[str, typer.Option("--reason", "-j", help="Why it is rejected.")] = "") -> None:
    """Reject a task of your member state, with a reason; it goes back to the coordinator."""
    c = ctx_of(ctx)
    _send(c, operation_id, cmd.RejectTask(actor=c.actor(), task_id=task_id, justification=reason))


@results_app.command("report")
@handle_errors
def report(ctx: typer.Context, operation_id: OperationId,
           arrests: int = 0, searches: int = 0, seizures: int = 0,
           assets_frozen_eur: Annotated[float, typer.Option("--assets-frozen-eur")] = 0.0,
           victims_safeguarded: int = 0,
           state: Annotated[str | None, typer.Option("--state", help="Defaults to your state.")] = None,
           day: Annotated[str | None, typer.Option(help="The action day (needed when several run).")] = None,
           justification: Justification = "") -> None:
    """Report your state's results of an action day."""
    c = ctx_of(ctx)
    actor = c.actor()
    results = Results(arrests=arrests, searches=searches, seizures=seizures,
                      assets_frozen_eur=assets_frozen_eur, victims_safeguarded=victims_safeguarded)
    _send(c, operation_id, cmd.ReportResults(actor=actor, member_state=state or actor.member_state or "",
                                             results=results, action_day_id=day, justification=justification))


# --- principals ----------------------------------------------------------------------------------

@principal_app.command("add")
@handle_errors
def principal_add(ctx: typer.Context, principal_id: str,
                  role: Annotated[Role, typer.Option(help="coordinator, liaison_officer, approver or auditor.")],
                  name: Annotated[str, typer.Option(help="Display name.")] = "",
                  state: Annotated[str | None, typer.Option(
                      "--state", help="Member state (not for coordinators/auditors).")] = None) -> None:
    """Register a principal (id, role, member state)."""
    c = ctx_of(ctx)
    if role is Role.SYSTEM:
        fail("role: 'system' is reserved for the workflow itself")
    if role in (Role.LIAISON_OFFICER, Role.APPROVER) and not state:
        fail(f"--state: a {role.value} acts for a member state; name it")
    code = participant(state, "--state") if state else None
    try:
        Principals(c.engine).add(Principal(id=principal_id, display_name=name or principal_id,
                                           role=role.value, member_state=code))
    except PrincipalConflict as conflict:
        fail(str(conflict))
    console.print(f"[green]registered[/] {principal_id} ({role.value}{' of ' + code if code else ''})")


@principal_app.command("list")
@handle_errors
def principal_list(ctx: typer.Context) -> None:
    """List registered principals."""
    from rich.table import Table

    table = Table(title="Principals", title_justify="left")
    for column in ("id", "name", "role", "state"):
        table.add_column(column)
    for p in Principals(ctx_of(ctx).engine).list():
        table.add_row(p.id, p.display_name, p.role, p.member_state or "")
    console.print(table)


# --- running the system ----------------------------------------------------------------------------

@app.command("up")
@handle_errors
def up(ctx: typer.Context) -> None:
    """Run everything on the embedded defaults: Temporal dev server, migrations, worker."""
    from cli.up import run_system

    run_system(ctx_of(ctx).settings)


@app.command("demo")
@handle_errors
def demo(ctx: typer.Context) -> None:
    """Drive one realistic operation through its whole lifecycle against the running system."""
    from cli.demo import run_demo

    run(run_demo(ctx_of(ctx)))


@app.command("migrate")
@handle_errors
def migrate(ctx: typer.Context) -> None:
    """Apply the store's migrations (Alembic upgrade head)."""
    from store.db import upgrade

    c = ctx_of(ctx)
    upgrade(c.settings.store_url)
    console.print(f"[green]migrated[/] {c.settings.store_url}")


if __name__ == "__main__":
    app()
