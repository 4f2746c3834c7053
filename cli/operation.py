"""`liaison operation`: coordinators open and steer operations; participants read them."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli import render
from cli.support import Context, console, ctx_of, fail, handle_errors, load_model, parse_when
from domain.model import Intelligence, OperationSpec, Phase, Place, Target, TaskKind
from services.views import OperationFilter

if TYPE_CHECKING:
    from domain import commands as cmd

# The command models (domain/commands.py) are imported by the commands that send one: a read never pays.

operation_app = typer.Typer(help="Coordinators: open and steer operations.", no_args_is_help=True)

Justification = Annotated[str, typer.Option("--justification", "-j", help="Why (recorded in the audit log).")]
OperationId = Annotated[str, typer.Argument(help="Operation id (the workflow id).")]


def send(c: Context, operation_id: str, request: cmd.Request, one_time_code: str | None = None) -> None:
    """One command through the API, with this invocation's idempotency key; prints what it recorded."""
    outcome = c.client.send(operation_id, request, c.key, one_time_code)
    console.print(f"[green]ok[/] {render.text(operation_id)}: {', '.join(outcome.events)} "
                  f"(phase {outcome.phase.value.upper()}, audit #{outcome.seq}){render.created(outcome.created)}",
                  highlight=False)


def _slug(name: str) -> str:
    return "op-" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


@operation_app.command("open")
@handle_errors
def open_operation(ctx: typer.Context, spec_file: Annotated[Path, typer.Argument(help="YAML or JSON spec.")],
                   operation_id: Annotated[str | None, typer.Option("--id", help="Defaults to op-<code name>.")] = None,
                   justification: Justification = "") -> None:
    """Open an operation from a YAML or JSON spec file."""
    from domain import commands as cmd

    c = ctx_of(ctx)
    spec = load_model(spec_file, OperationSpec)
    request = cmd.OpenOperationRequest(operation_id=operation_id or _slug(spec.code_name), spec=spec,
                                       justification=justification)
    opening = c.client.open_operation(request, c.key)
    if opening.state is None:
        console.print(f"[yellow]pending[/] {render.text(opening.operation_id)}: Temporal has the opening and it "
                      f"is recorded as soon as a worker runs it (no worker answered within the server's "
                      f"patience); `liaison operation show "
                      f"{render.text(opening.operation_id)}` shows it then. Sending it again as `liaison --key "
                      f"{opening.key} operation open ...` opens it at most once.", highlight=False)
        return
    console.print(f"[green]opened[/] {render.text(opening.operation_id)}", highlight=False)
    console.print(render.operation_panel(opening.state))


@operation_app.command("add-target")
@handle_errors
def add_target(ctx: typer.Context, operation_id: OperationId,
               target_file: Annotated[Path, typer.Argument(help="YAML or JSON of one target.")],
               justification: Justification = "") -> None:
    """Add a target (person, company, vehicle ...) contributed by a state."""
    from domain import commands as cmd

    c = ctx_of(ctx)
    send(c, operation_id, cmd.AddTargetRequest(target=load_model(target_file, Target), justification=justification))


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
    from domain import commands as cmd

    c = ctx_of(ctx)
    item = Intelligence.model_validate({
        "summary": summary, "handling_code": handling_code.upper(), "contributed_by": contributed_by,
        "linked_targets": link or [], "source_reliability": reliability.upper(), "information_accuracy": accuracy,
        "handling_restriction": restriction, "identifiers": [_identifier(text) for text in identifier or []]})
    send(c, operation_id, cmd.AddIntelligenceRequest(item=item, justification=justification))


@operation_app.command("submit")
@handle_errors
def submit(ctx: typer.Context, operation_id: OperationId,
           assessment_file: Annotated[Path, typer.Argument(help="YAML/JSON of criterion grades 1-5.")],
           justification: Justification = "") -> None:
    """Submit for prioritisation with the coordinator's assessment; shows the computed score."""
    from domain import commands as cmd
    from domain.prioritisation import Assessment

    c = ctx_of(ctx)
    assessment = load_model(assessment_file, Assessment)
    send(c, operation_id, cmd.SubmitForPrioritisationRequest(assessment=assessment, justification=justification))
    state = c.client.show(operation_id)
    console.print(render.priority_table(state))
    console.print(render.operation_panel(state))


@operation_app.command("prioritise")
@handle_errors
def prioritise(ctx: typer.Context, operation_id: OperationId,
               override: Annotated[float | None, typer.Option(help="Override score 0-100 (needs -j).")] = None,
               justification: Justification = "") -> None:
    """Confirm the computed priority, or override it with a justification."""
    from domain import commands as cmd

    send(ctx_of(ctx), operation_id, cmd.DecidePriorityRequest(override_score=override, justification=justification))


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
    from domain import commands as cmd

    send(ctx_of(ctx), operation_id, cmd.PlanTaskRequest(
        member_state=state, task_kind=kind, description=description, due=parse_when(due, "due"),
        four_eyes=four_eyes, justification=justification))


@operation_app.command("replan-task")
@handle_errors
def replan_task(ctx: typer.Context, operation_id: OperationId, task_id: str,
                due: Annotated[str | None, typer.Option(help="New due time.")] = None,
                description: Annotated[str | None, typer.Option(help="New description.")] = None,
                four_eyes: Annotated[bool | None, typer.Option("--four-eyes/--one-approver")] = None,
                justification: Justification = "") -> None:
    """Re-plan a rejected (or pending) task; approvals start again."""
    from domain import commands as cmd

    send(ctx_of(ctx), operation_id, cmd.ReplanTaskRequest(
        task_id=task_id, description=description, due=parse_when(due, "due") if due else None,
        four_eyes=four_eyes, justification=justification))


@operation_app.command("drop-task")
@handle_errors
def drop_task(ctx: typer.Context, operation_id: OperationId, task_id: str, justification: Justification = "") -> None:
    """Drop a rejected or pending task (needs a justification)."""
    from domain import commands as cmd

    send(ctx_of(ctx), operation_id, cmd.DropTaskRequest(task_id=task_id, justification=justification))


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
    from domain import commands as cmd

    send(ctx_of(ctx), operation_id, cmd.ScheduleActionDayRequest(
        start=parse_when(start, "start"), end=parse_when(end, "end"), places=tuple(_place(p) for p in place),
        member_states=tuple(state or ()), action_day_id=day, justification=justification))


@operation_app.command("cancel-day")
@handle_errors
def cancel_day(ctx: typer.Context, operation_id: OperationId, day: str,
               reason: Annotated[str, typer.Option("--reason", "-j", help="Why it is cancelled.")] = "") -> None:
    """Cancel one action day, with a reason."""
    from domain import commands as cmd

    send(ctx_of(ctx), operation_id, cmd.CancelActionDayRequest(action_day_id=day, justification=reason))


@operation_app.command("invite-partner")
@handle_errors
def invite_partner(ctx: typer.Context, operation_id: OperationId, partner: str,
                   justification: Justification = "") -> None:
    """Invite an operational partner (a non-EU state or a body such as EUROPOL)."""
    from domain import commands as cmd

    send(ctx_of(ctx), operation_id, cmd.InvitePartnerRequest(partner=partner, justification=justification))


@operation_app.command("request-release")
@handle_errors
def request_release(ctx: typer.Context, operation_id: OperationId, item: str,
                    to: Annotated[str, typer.Option("--to", help="The state that should receive it.")],
                    justification: Justification = "") -> None:
    """Ask an item's provider for permission to pass it to another state (a task of the provider)."""
    from domain import commands as cmd

    send(ctx_of(ctx), operation_id, cmd.RequestReleaseRequest(item_id=item, to_state=to,
                                                              justification=justification))


@operation_app.command("cancel")
@handle_errors
def cancel(ctx: typer.Context, operation_id: OperationId,
           reason: Annotated[str, typer.Option("--reason", "-j", help="Why it is cancelled.")] = "") -> None:
    """Cancel an operation in any phase, with a reason."""
    from domain import commands as cmd

    send(ctx_of(ctx), operation_id, cmd.CancelOperationRequest(justification=reason))


@operation_app.command("intel")
@handle_errors
def intelligence(ctx: typer.Context, operation_id: OperationId,
                 item: Annotated[str | None, typer.Argument(help="One item; all you may see when omitted.")] = None,
                 ) -> None:
    """Intelligence items you may see, by handling code and your state."""
    c = ctx_of(ctx)
    items = c.client.intelligence(operation_id, item)
    console.print(render.intelligence_table(items, f"Intelligence of {operation_id} visible to "
                                                   f"{render.who(c.client.me())}"))


@operation_app.command("show")
@handle_errors
def show(ctx: typer.Context, operation_id: OperationId) -> None:
    """Show an operation's current state (what you may see of it)."""
    console.print(render.operation_panel(ctx_of(ctx).client.show(operation_id)))


@operation_app.command("timeline")
@handle_errors
def show_timeline(ctx: typer.Context, operation_id: OperationId) -> None:
    """Show an operation's timeline from the audit log (what you may see of it)."""
    entries = ctx_of(ctx).client.timeline(operation_id)
    console.print(render.timeline_table(entries, f"Timeline of {operation_id}"))


@operation_app.command("list")
@handle_errors
def list_operations(ctx: typer.Context,
                    phase: Annotated[Phase | None, typer.Option(help="Only this phase.")] = None,
                    state: Annotated[str | None, typer.Option("--state", help="Only with this member state.")] = None,
                    min_priority: Annotated[float | None, typer.Option(help="Only at or above.")] = None,
                    parked: Annotated[bool | None, typer.Option("--parked/--not-parked")] = None) -> None:
    """List the operations you may read, by phase, member state or priority."""
    where = OperationFilter(phase=phase, member_state=state, min_priority=min_priority, parked=parked)
    console.print(render.operations_table(ctx_of(ctx).client.operations(where), datetime.now(UTC)))
