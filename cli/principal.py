"""`liaison principal`: register the people who act (a server-side command until sign-in exists)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from cli import render
from cli.support import console, ctx_of, handle_errors
from domain.actors import Role

principal_app = typer.Typer(help="Register the people who act.", no_args_is_help=True)


@principal_app.command("add")
@handle_errors
def principal_add(ctx: typer.Context, principal_id: str,
                  role: Annotated[Role, typer.Option(help="coordinator, liaison_officer, approver or auditor.")],
                  name: Annotated[str, typer.Option(help="Display name.")] = "",
                  state: Annotated[str | None, typer.Option(
                      "--state", help="Member state (not for coordinators/auditors).")] = None) -> None:
    """Register a principal (id, role, member state)."""
    added, created = ctx_of(ctx).system.principals.add(principal_id, role, name, state)
    label = "[green]registered[/]" if created else "[yellow]already registered[/]"
    console.print(f"{label} {render.text(added.id)} ({role.value}"
                  f"{' of ' + added.member_state if added.member_state else ''})", highlight=False)


@principal_app.command("list")
@handle_errors
def principal_list(ctx: typer.Context) -> None:
    """List registered principals."""
    table = Table(title="Principals", title_justify="left")
    for column in ("id", "name", "role", "state"):
        table.add_column(column)
    for p in ctx_of(ctx).system.principals.list():
        table.add_row(*render.texts(p.id, p.display_name, p.role, p.member_state or ""))
    console.print(table)
