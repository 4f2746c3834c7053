"""`liaison task` (approvers sign off) and `liaison results` (liaison officers report action days)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from cli import render
from cli.operation import Justification, OperationId, send
from cli.support import Context, console, ctx_of, handle_errors
from domain.actors import Role
from domain.errors import LiaisonError
from domain.model import Results

if TYPE_CHECKING:
    from domain import commands as cmd

task_app = typer.Typer(help="Approvers: pending tasks, approve, reject.", no_args_is_help=True)
results_app = typer.Typer(help="Liaison officers: report action-day results.", no_args_is_help=True)

OneTimeCode = Annotated[str | None, typer.Option(
    "--otp", help="A current one-time code: approving or rejecting an arrest, search or asset freeze asks for one "
                  "once you enrolled (asked for when omitted at a terminal).")]


@task_app.command("pending")
@handle_errors
def pending(ctx: typer.Context,
            operation_id: Annotated[str | None, typer.Argument(help="One operation; all when omitted.")] = None,
            ) -> None:
    """Tasks that await approval: an approver sees its own member state's, a coordinator all."""
    client = ctx_of(ctx).client
    tasks = client.pending_tasks(operation_id)
    me = client.me()
    state = me.member_state if me.role == Role.APPROVER.value else None
    console.print(render.inbox_table(tasks, f"Pending tasks{' of ' + state if state else ''}"))


@task_app.command("notifications")
@handle_errors
def notifications(ctx: typer.Context) -> None:
    """What you were told (approval requests, reminders, escalations, hits ...), newest first."""
    table = Table(title="Notifications", title_justify="left")
    for column in ("when (UTC)", "operation", "kind", "message"):
        table.add_column(column, overflow="fold")
    for n in ctx_of(ctx).client.notifications():
        table.add_row(*render.texts(f"{n.created_at:%Y-%m-%d %H:%M:%S}", n.operation_id, n.kind, n.message))
    if not table.rows:
        table.caption = "nothing yet"
    console.print(table)


def at_a_terminal() -> bool:
    """Someone can type a code (a script gets the refusal, and its exit code, instead)."""
    return sys.stdin.isatty()


def sign_off(c: Context, operation_id: str, request: cmd.Request, one_time_code: str | None) -> None:
    """A sign-off, asking for a one-time code at a terminal when the server says the task needs one; the
    code goes with the same idempotency key, so the sign-off is applied at most once."""
    try:
        send(c, operation_id, request, one_time_code)
    except LiaisonError as refusal:
        if refusal.code != "step_up_required" or one_time_code or not at_a_terminal():
            raise
        console.print(f"[yellow]{render.text(refusal.message)}[/]", highlight=False)
        send(c, operation_id, request, typer.prompt("one-time code"))


@task_app.command("approve")
@handle_errors
def approve(ctx: typer.Context, operation_id: OperationId, task_id: str, justification: Justification = "",
            otp: OneTimeCode = None) -> None:
    """Approve a task of your member state."""
    from domain import commands as cmd

    sign_off(ctx_of(ctx), operation_id, cmd.ApproveTaskRequest(task_id=task_id, justification=justification), otp)


@task_app.command("reject")
@handle_errors
def reject(ctx: typer.Context, operation_id: OperationId, task_id: str,
           reason: Annotated[str, typer.Option("--reason", "-j", help="Why it is rejected.")] = "",
           otp: OneTimeCode = None) -> None:
    """Reject a task of your member state, with a reason; it goes back to the coordinator."""
    from domain import commands as cmd

    sign_off(ctx_of(ctx), operation_id, cmd.RejectTaskRequest(task_id=task_id, justification=reason), otp)


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
    from domain import commands as cmd

    results = Results(arrests=arrests, searches=searches, seizures=seizures,
                      assets_frozen_eur=assets_frozen_eur, victims_safeguarded=victims_safeguarded)
    send(ctx_of(ctx), operation_id, cmd.ReportResultsRequest(member_state=state, results=results, action_day_id=day,
                                                             justification=justification))
