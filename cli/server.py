"""Server-side commands: they run where the store is (its URL and credentials in LIAISON_DATABASE_URL) and
act there directly, never through the API. Each imports what it needs when it runs, so that role
commands never load the store or Temporal."""

from __future__ import annotations

from typing import Annotated

import typer

from cli import render
from cli.support import SERVER_SIDE, console, ctx_of, handle_errors
from domain.errors import LiaisonError

admin_app = typer.Typer(help=f"The first administrator. {SERVER_SIDE}", no_args_is_help=True)


def server_commands(app: typer.Typer) -> None:
    for name, command in (("up", up), ("demo", demo), ("migrate", migrate),
                          ("rebuild-read-models", rebuild_read_models)):
        app.command(name, help=f"{' '.join((command.__doc__ or '').split())} {SERVER_SIDE}")(command)


@handle_errors
def up(ctx: typer.Context) -> None:
    """Run everything on the embedded defaults: Temporal dev server, migrations, worker and the HTTP API."""
    from cli.up import run_system

    run_system(ctx_of(ctx).settings)


@handle_errors
def demo(ctx: typer.Context) -> None:
    """Drive one realistic operation through its whole lifecycle through the running API, as nine principals
    this registers (with an administrator it bootstraps or finds) and gives short-lived tokens."""
    from cli.demo import run_demo

    run_demo(ctx_of(ctx))


@handle_errors
def migrate(ctx: typer.Context) -> None:
    """Apply the store's migrations (Alembic upgrade head)."""
    from store.db import upgrade

    c = ctx_of(ctx)
    upgrade(c.settings.store_url)
    console.print(f"[green]migrated[/] {render.text(c.settings.store_url)}", highlight=False)


@handle_errors
def rebuild_read_models(ctx: typer.Context) -> None:
    """Rebuild the read models (operation lists, inboxes, open hits) from the audit log; safe to run while
    the worker runs: each stream is projected under its own lock, once."""
    from store.projections import Projector

    projector = Projector(ctx_of(ctx).system.engine)
    events = projector.rebuild()
    behind = projector.behind()
    if behind:  # each failure is in the log with its traceback
        raise LiaisonError("internal", f"{len(behind)} operations could not be projected (see the log): "
                                       + ", ".join(behind[:20]))
    console.print(f"[green]rebuilt[/] the read models from {events} events of the audit log", highlight=False)


@admin_app.command("bootstrap", help=f"Make the first administrator and print its one-time password once. "
                                     f"Refused once an active administrator exists. {SERVER_SIDE}")
@handle_errors
def bootstrap_administrator(ctx: typer.Context,
                            principal_id: Annotated[str, typer.Argument(help="The administrator's id.")],
                            name: Annotated[str, typer.Option(help="Display name.")] = "") -> None:
    done = ctx_of(ctx).system.principals.bootstrap_administrator(principal_id, name)
    console.print(f"[green]bootstrapped[/] the first administrator {render.text(render.who(done.principal))}",
                  highlight=False)
    if done.one_time_password:
        console.print("one-time password, shown this once:", highlight=False)
        typer.echo(done.one_time_password)
    console.print(f"next: `liaison login --user {render.text(done.principal.id)}`, then `liaison principal add "
                  "...` for everyone else", highlight=False)


keys_app = typer.Typer(help=f"The keys that encrypt every payload sent through Temporal. {SERVER_SIDE}",
                       no_args_is_help=True)


@keys_app.command("rotate", help=f"Add a payload key and make it current: new payloads are encrypted under "
                                 f"it, old ones stay readable under theirs. {SERVER_SIDE}")
@handle_errors
def rotate_keys(ctx: typer.Context) -> None:
    from gateway.payload_keys import rotate_payload_key

    settings = ctx_of(ctx).settings
    key_id = rotate_payload_key(settings)
    console.print(f"[green]rotated[/] payload keys: {render.text(key_id)} is current in "
                  f"{render.text(str(settings.payload_keys_directory))}; workers and clients pick it up on their "
                  "next payload (copy it to every machine that holds the others)", highlight=False)
