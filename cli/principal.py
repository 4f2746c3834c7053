"""`liaison principal` (administrators register and change the people who act) and `liaison security-log`
(auditors and administrators), through the API. The first administrator is made on the server:
`liaison admin bootstrap`."""

from __future__ import annotations

from typing import Annotated

import typer

from cli import render
from cli.support import console, ctx_of, handle_errors, parse_when
from domain.actors import Role
from services.views import PrincipalChange, Registration

principal_app = typer.Typer(help="Administrators: register, list and change principals.", no_args_is_help=True)

Justification = Annotated[str, typer.Option("--justification", "-j",
                                            help="Why (who asked for it); recorded in the principal stream.")]
PrincipalId = Annotated[str, typer.Argument(help="The principal's id.")]


def _show_registration(done: Registration, verb: str) -> None:
    console.print(f"{verb} {render.text(render.who(done.principal))}", highlight=False)
    if done.one_time_password:
        console.print("one-time password, shown this once (hand it over by another channel; it is replaced at the "
                      "next reset):", highlight=False)
        typer.echo(done.one_time_password)
        console.print(f"next: `liaison login --user {render.text(done.principal.id)}`", highlight=False)


@principal_app.command("add")
@handle_errors
def principal_add(ctx: typer.Context, principal_id: PrincipalId,
                  role: Annotated[Role, typer.Option(
                      help="coordinator, liaison_officer, approver, auditor or administrator.")],
                  name: Annotated[str, typer.Option(help="Display name.")] = "",
                  state: Annotated[str | None, typer.Option(
                      "--state", help="Member state (not for coordinators, auditors, administrators).")] = None,
                  justification: Justification = "") -> None:
    """Register a principal (id, role, member state); prints its one-time password once."""
    done = ctx_of(ctx).client.register(principal_id, role.value, state, name, justification)
    _show_registration(done, "[green]registered[/]" if done.created else "[yellow]already registered[/]")


@principal_app.command("list")
@handle_errors
def principal_list(ctx: typer.Context) -> None:
    """List registered principals (administrators and auditors)."""
    console.print(render.principals_table(ctx_of(ctx).client.principals()))


@principal_app.command("show")
@handle_errors
def principal_show(ctx: typer.Context, principal_id: PrincipalId) -> None:
    """One principal (yourself, or anyone for administrators and auditors)."""
    console.print(render.principals_table([ctx_of(ctx).client.principal(principal_id)]))


def _change(ctx: typer.Context, principal_id: str, change: PrincipalChange, justification: str, verb: str) -> None:
    done = ctx_of(ctx).client.change_principal(principal_id, change, justification)
    _show_registration(done, verb)


@principal_app.command("disable")
@handle_errors
def principal_disable(ctx: typer.Context, principal_id: PrincipalId, justification: Justification = "") -> None:
    """Disable a principal: its tokens and sessions end at once."""
    _change(ctx, principal_id, PrincipalChange(disabled=True), justification, "[green]disabled[/]")


@principal_app.command("enable")
@handle_errors
def principal_enable(ctx: typer.Context, principal_id: PrincipalId, justification: Justification = "") -> None:
    """Enable a disabled principal again (it signs in with its password)."""
    _change(ctx, principal_id, PrincipalChange(disabled=False), justification, "[green]enabled[/]")


@principal_app.command("rename")
@handle_errors
def principal_rename(ctx: typer.Context, principal_id: PrincipalId,
                     name: Annotated[str, typer.Argument(help="The new display name.")],
                     justification: Justification = "") -> None:
    """Change a principal's display name."""
    _change(ctx, principal_id, PrincipalChange(display_name=name), justification, "[green]renamed[/]")


@principal_app.command("reset-password")
@handle_errors
def principal_reset_password(ctx: typer.Context, principal_id: PrincipalId, justification: Justification = "") -> None:
    """Give a principal a new one-time password (printed once); its tokens and sessions end."""
    _change(ctx, principal_id, PrincipalChange(reset_password=True), justification,
            "[green]password reset[/] for")


@handle_errors
def security_log(ctx: typer.Context,
                 kind: Annotated[str | None, typer.Option(
                     help="Only this kind: sign_in, sign_in_failed, refused, token_new_address, principal_changed, "
                          "...")] = None,
                 principal: Annotated[str | None, typer.Option(help="Only entries about this principal.")] = None,
                 since: Annotated[str | None, typer.Option(help="Only from this time on (ISO 8601 or -2d).")] = None,
                 ) -> None:
    """Sign-ins and their failures, refused commands and calls, odd token use, principal changes
    (auditors and administrators)."""
    since_at = parse_when(since, "--since") if since else None
    console.print(render.security_table(ctx_of(ctx).client.security_log(kind, principal, since_at)))
