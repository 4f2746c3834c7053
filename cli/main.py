"""`liaison`: operations, tasks, results, audit, principals, and running the system."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.audit import audit_app, history_app
from cli.deconfliction import deconfliction_app
from cli.operation import operation_app
from cli.principal import principal_app
from cli.support import Context, console, ctx_of, handle_errors, run
from cli.task import results_app, task_app
from domain.errors import LiaisonError

app = typer.Typer(help="Liaison: cross-border operations, event-sourced on Temporal.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(operation_app, name="operation")
app.add_typer(task_app, name="task")
app.add_typer(results_app, name="results")
app.add_typer(audit_app, name="audit")
app.add_typer(history_app, name="history")
app.add_typer(deconfliction_app, name="deconfliction")
app.add_typer(principal_app, name="principal")


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


# --- running the system (server-side commands) -------------------------------------------------------

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


@app.command("rebuild-read-models")
@handle_errors
def rebuild_read_models(ctx: typer.Context) -> None:
    """Rebuild the read models (operation lists, inboxes, open hits) from the audit log; safe to run
    while the worker runs: each stream is projected under its own lock, once."""
    from store.projections import Projector

    projector = Projector(ctx_of(ctx).engine)
    events = projector.rebuild()
    behind = projector.behind()
    if behind:  # each failure is in the log with its traceback
        raise LiaisonError("internal", f"{len(behind)} operations could not be projected (see the log): "
                                       + ", ".join(behind[:20]))
    console.print(f"[green]rebuilt[/] the read models from {events} events of the audit log", highlight=False)


if __name__ == "__main__":
    app()
