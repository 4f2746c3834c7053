"""`liaison task` (approvers sign off) and `liaison results` (liaison officers report action days)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from cli import render
from cli.operation import Justification, OperationId, send
from cli.support import console, ctx_of, handle_errors, run
from domain import commands as cmd
from domain.actors import Role
from domain.model import Results

task_app = typer.Typer(help="Approvers: pending tasks, approve, reject.", no_args_is_help=True)
results_app = typer.Typer(help="Liaison officers: report action-day results.", no_args_is_help=True)


@task_app.command("pending")
@handle_errors
def pending(ctx: typer.Context,
            operation_id: Annotated[str | None, typer.Argument(help="One operation; all when omitted.")] = None,
            ) -> None:
    """Tasks that await approval: an approver sees its own member state's, a coordinator all."""
    client = ctx_of(ctx).client
    tasks = run(client.pending_tasks(operation_id))
    actor = client.actor
    state = actor.member_state if actor.role is Role.APPROVER else None
    console.print(render.inbox_table(tasks, f"Pending tasks{' of ' + state if state else ''}"))


@task_app.command("notifications")
@handle_errors
def notifications(ctx: typer.Context) -> None:
    """What you were told (approval requests, reminders, escalations, hits ...), newest first."""
    table = Table(title="Notifications", title_justify="left")
    for column in ("when (UTC)", "operation", "kind", "message"):
        table.add_column(column, overflow="fold")
    for n in run(ctx_of(ctx).client.notifications()):
        table.add_row(*render.texts(f"{n.created_at:%Y-%m-%d %H:%M:%S}", n.operation_id, n.kind, n.message))
    if not table.rows:
        table.caption = "nothing yet"
    console.print(table)


@task_app.command("approve")
@handle_errors
def approve(ctx: typer.Context, operation_id: OperationId, task_id: str, justification: Justification = "") -> None:
    """Approve a task of your member state."""
    send(ctx_of(ctx), operation_id, cmd.ApproveTaskRequest(task_id=task_id, justification=justification))


@task_app.command("reject")
@handle_errors
def reject(ctx: typer.Context, operation_id: OperationId, task_id: str,
           reason: Annotated[str, typer.Option("--reason", "-j", help="Why it is rejected.")] = "") -> None:
    """Reject a task of your member state, with a reason; it goes back to the coordinator."""
    send(ctx_of(ctx), operation_id, cmd.RejectTaskRequest(task_id=task_id, justification=reason))


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
    results = Results(arrests=arrests, searches=searches, seizures=seizures,
                      assets_frozen_eur=assets_frozen_eur, victims_safeguarded=victims_safeguarded)
    send(ctx_of(ctx), operation_id, cmd.ReportResultsRequest(member_state=state, results=results, action_day_id=day,
                                                             justification=justification))
