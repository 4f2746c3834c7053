"""`liaison`: operations, tasks, results, audit and principals through the API as the signed-in principal;
and the server-side commands that run the system (they say so in their help).

Every module this imports is light (Typer, Rich, httpx, pydantic, the domain's models): a role command
starts in a fraction of a second, and never loads the store, Temporal or the web framework
(tests/cli/test_startup.py holds it to that). Each group of commands is imported and built only when it
is used (click's lazy loading of subcommands), so `liaison operation list` builds one group, not ten.
"""

from __future__ import annotations

import functools
import importlib
from typing import Annotated

import typer
import typer.main
from typer.core import TyperGroup

from cli.principal import security_log
from cli.server import server_commands
from cli.session import session_commands
from cli.support import Context

# name: (module, Typer attribute)
GROUPS = {"operation": ("cli.operation", "operation_app"), "task": ("cli.task", "task_app"),
          "results": ("cli.task", "results_app"), "audit": ("cli.audit", "audit_app"),
          "history": ("cli.audit", "history_app"), "deconfliction": ("cli.deconfliction", "deconfliction_app"),
          "principal": ("cli.principal", "principal_app"), "token": ("cli.session", "token_app"),
          "otp": ("cli.session", "otp_app"), "admin": ("cli.server", "admin_app"),
          "keys": ("cli.server", "keys_app")}


@functools.cache
def _group(name: str) -> TyperGroup:
    module, attribute = GROUPS[name]
    group = typer.main.get_group(getattr(importlib.import_module(module), attribute))
    group.name = name
    return group


class CommandGroups(TyperGroup):
    """The root command: its own commands, then the groups, each built when it is asked for."""

    def list_commands(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        return [*super().list_commands(ctx), *GROUPS]

    def get_command(self, ctx: typer.Context, cmd_name: str) -> typer.main._click.Command | None:  # type: ignore[override]
        return _group(cmd_name) if cmd_name in GROUPS else super().get_command(ctx, cmd_name)


app = typer.Typer(cls=CommandGroups, help="Liaison: cross-border operations, event-sourced on Temporal. Sign in "
                                          "first: `liaison login`.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
session_commands(app)
app.command("security-log")(security_log)
server_commands(app)


@app.callback()
def main(ctx: typer.Context,
         purpose: Annotated[str | None, typer.Option(
             "--purpose", help="Why you read operation data; logged (or LIAISON_PURPOSE).")] = None,
         key: Annotated[str | None, typer.Option(
             "--key", help="Idempotency key of the command (default: a new one). Sending the same command again "
                           "with the key an earlier try printed applies it at most once and reports what happened.")
         ] = None,
         ) -> None:
    ctx.obj = Context(purpose, key)
    ctx.call_on_close(ctx.obj.close)


if __name__ == "__main__":
    app()
