"""Signing in and out, and what a principal manages of its own: password, API tokens, one-time code."""

from __future__ import annotations

import contextlib
import os
from datetime import UTC, datetime
from typing import Annotated

import typer

from cli import credentials, render
from cli.support import Context, console, ctx_of, errors, handle_errors
from domain.errors import LiaisonError, Unavailable

token_app = typer.Typer(help="Your API tokens (for integrations): list, new, revoke.", no_args_is_help=True)
otp_app = typer.Typer(help="Your one-time code (TOTP) for coercive sign-offs: enrol, confirm.", no_args_is_help=True)


def session_commands(app: typer.Typer) -> None:
    for name, command in (("login", login), ("logout", logout), ("whoami", whoami), ("password", password)):
        app.command(name)(command)


@handle_errors
def login(ctx: typer.Context,
          server: Annotated[str | None, typer.Option(
              help="The Liaison API (default: LIAISON_SERVER_URL, else http://127.0.0.1:8400).")] = None,
          user: Annotated[str | None, typer.Option("--user", "-u", help="Your principal id.")] = None,
          otp: Annotated[str | None, typer.Option("--otp", help="A current one-time code, if you enrolled one.")]
          = None) -> None:
    """Sign in (the password is asked for, hidden; or LIAISON_PASSWORD) and keep the token for the next commands."""
    c = ctx_of(ctx)
    url = credentials.server_url(server)
    principal_id = user or typer.prompt("principal id")
    secret = os.environ.get("LIAISON_PASSWORD") or typer.prompt("password", hide_input=True)
    issued = c.anonymous(url).sign_in(principal_id, secret, otp)
    earlier = _stored_quietly()
    path = credentials.save(credentials.Credentials(server=url, token=issued.token, principal_id=issued.principal_id,
                                                    expires_at=issued.expires_at))
    if earlier is not None and earlier.token != issued.token:
        _revoke_quietly(c, earlier)  # the sign-in it replaces should not stay usable in a file nobody reads
    state = f" of {issued.member_state}" if issued.member_state else ""
    console.print(f"[green]signed in[/] to {render.text(url)} as {render.text(issued.principal_id)} "
                  f"({issued.role}{state}) until {issued.expires_at:%Y-%m-%d %H:%M} UTC; the token is in "
                  f"{render.text(path)} (readable by you only)", highlight=False)
    if issued.must_change_password:
        _replace_one_time_password(url, issued.token, secret)


def _replace_one_time_password(url: str, token: str, one_time: str) -> None:
    """A one-time password an administrator handed over opens nothing until its holder replaces it."""
    from cli.client import LiaisonClient
    from cli.http import Api

    console.print("that was a one-time password: choose your own now (at least 12 characters)", highlight=False)
    new = os.environ.get("LIAISON_NEW_PASSWORD") or typer.prompt("new password", hide_input=True,
                                                                 confirmation_prompt=True)
    client = LiaisonClient(Api(url, token, None))
    try:
        client.change_password(one_time, new)
    finally:
        client.close()
    console.print("[green]password changed[/]; you may go on", highlight=False)


def _stored_quietly() -> credentials.Credentials | None:
    try:
        return credentials.load()
    except LiaisonError:
        return None


def _revoke_quietly(c: Context, earlier: credentials.Credentials) -> None:
    from cli.client import LiaisonClient
    from cli.http import Api

    client = LiaisonClient(Api(earlier.server, earlier.token, None))
    with contextlib.suppress(LiaisonError):  # expired, revoked, or another server that is down: nothing to undo
        client.sign_out()
    client.close()


@handle_errors
def logout(ctx: typer.Context) -> None:
    """Revoke the stored token on the server and delete it here."""
    stored = credentials.load()
    if stored is None:
        console.print(f"not signed in: {render.text(credentials.credentials_file())} holds no sign-in",
                      highlight=False)
        return
    from cli.client import LiaisonClient
    from cli.http import Api

    client = LiaisonClient(Api(stored.server, stored.token, None))
    try:
        client.sign_out()
    except Unavailable as error:
        credentials.forget()
        errors.print(f"[yellow]signed out here[/], but the server was not told: {render.text(error.message)}; the "
                     f"token stays valid until {_until(stored)}: revoke it with `liaison token revoke` from another "
                     "sign-in", highlight=False)
        raise typer.Exit(75) from None
    except LiaisonError as error:
        if error.kind.value != "not_authenticated":
            raise
    finally:
        client.close()
    credentials.forget()
    console.print(f"[green]signed out[/] {render.text(stored.principal_id or '')} from {render.text(stored.server)}",
                  highlight=False)


def _until(stored: credentials.Credentials) -> str:
    return f"{stored.expires_at:%Y-%m-%d %H:%M} UTC" if stored.expires_at else "it expires"


@handle_errors
def whoami(ctx: typer.Context) -> None:
    """Who the server says you are, and until when you are signed in."""
    c = ctx_of(ctx)
    me = c.client.me()
    signed_in = credentials.current()
    until = (f" until {signed_in.expires_at:%Y-%m-%d %H:%M} UTC" if signed_in.expires_at
             else " with the token in LIAISON_TOKEN")
    code = "; one-time code enrolled" if me.one_time_code else ""
    console.print(f"{render.text(render.who(me))}, {render.text(me.display_name)}, at {render.text(c.client.server)}"
                  f"{until}{code}", highlight=False)


@handle_errors
def password(ctx: typer.Context) -> None:
    """Change your own password (asked for, hidden; or LIAISON_PASSWORD and LIAISON_NEW_PASSWORD)."""
    current = os.environ.get("LIAISON_PASSWORD") or typer.prompt("current password", hide_input=True)
    new = os.environ.get("LIAISON_NEW_PASSWORD") or typer.prompt("new password", hide_input=True,
                                                                 confirmation_prompt=True)
    client = ctx_of(ctx).client
    client.change_password(current, new)
    console.print(f"[green]password changed[/] for {render.text(client.me().id)}", highlight=False)


@token_app.command("list")
@handle_errors
def token_list(ctx: typer.Context) -> None:
    """Your tokens: name, expiry, last use, and whether they are still usable."""
    console.print(render.tokens_table(ctx_of(ctx).client.tokens(), datetime.now(UTC)))


@token_app.command("new")
@handle_errors
def token_new(ctx: typer.Context, name: Annotated[str, typer.Argument(help="What it is for, e.g. the integration.")],
              expires_in_hours: Annotated[float | None, typer.Option(
                  help="Lifetime in hours (default: the server's).")] = None) -> None:
    """A new token for an integration; shown once (give it as LIAISON_TOKEN, or Authorization: Bearer)."""
    issued = ctx_of(ctx).client.new_token(name, expires_in_hours)
    console.print(f"[green]issued[/] token {render.text(issued.token_id)} ({render.text(issued.name)}) until "
                  f"{issued.expires_at:%Y-%m-%d %H:%M} UTC; shown this once:", highlight=False)
    typer.echo(issued.token)


@token_app.command("revoke")
@handle_errors
def token_revoke(ctx: typer.Context, token_id: Annotated[str, typer.Argument(help="As `liaison token list` shows.")]
                 ) -> None:
    """Revoke one of your tokens (an administrator: anyone's)."""
    revoked = ctx_of(ctx).client.revoke_token(token_id)
    console.print(f"[green]revoked[/] token {render.text(revoked.id)} ({render.text(revoked.name)}) of "
                  f"{render.text(revoked.principal_id)}", highlight=False)


@otp_app.command("enrol")
@handle_errors
def otp_enrol(ctx: typer.Context) -> None:
    """Start enrolling an authenticator app (your password is asked for again, or LIAISON_PASSWORD): prints
    its secret and otpauth:// URI."""
    secret = os.environ.get("LIAISON_PASSWORD") or typer.prompt("password", hide_input=True)
    enrolment = ctx_of(ctx).client.enrol_one_time_code(secret)
    console.print("Add this to your authenticator app (the secret, or the URI as a QR code):", highlight=False)
    console.print(f"  secret  {render.text(enrolment.secret)}\n  uri     {render.text(enrolment.uri)}",
                  highlight=False, soft_wrap=True)
    console.print("then confirm it with a code it shows: `liaison otp confirm CODE`", highlight=False)


@otp_app.command("confirm")
@handle_errors
def otp_confirm(ctx: typer.Context, code: Annotated[str, typer.Argument(help="A code your app shows now.")]) -> None:
    """Confirm the enrolment with a current code; from then on coercive sign-offs ask for one."""
    principal = ctx_of(ctx).client.confirm_one_time_code(code)
    console.print(f"[green]enrolled[/] a one-time code for {render.text(principal.id)}: approving or rejecting "
                  "an arrest, search or asset freeze asks for a code (`--otp CODE`)", highlight=False)
