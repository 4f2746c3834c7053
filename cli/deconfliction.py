"""`liaison deconfliction`: pre-check targets against the index; resolve a hit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import TypeAdapter, ValidationError
from rich.table import Table

from cli import render
from cli.support import console, ctx_of, errors, fail, handle_errors, load_document
from domain.errors import ErrorKind
from domain.model import HitResolution, Intelligence, Target
from services.errors import exit_code_of, invalid_input
from services.views import Precheck

deconfliction_app = typer.Typer(help="Deconfliction: pre-check targets, resolve hits.", no_args_is_help=True)



def _targets(path: Path) -> list[Target]:
    """A list of targets, a mapping with a `targets` list (an operation spec, whose intelligence items'
    identifiers are checked too, as opening it would), or one target."""
    data: Any = load_document(path)
    items: Any = []
    if isinstance(data, dict):
        is_spec = "targets" in data or "intelligence" in data
        items = (data.get("intelligence") or []) if is_spec else []
        data = data.get("targets") or [] if is_spec else [data]
    if not isinstance(data, list) or not isinstance(items, list) or not (data or items):
        fail(f"{path}: expected a list of targets, a spec with `targets:`, or one target")
    try:
        return TypeAdapter(list[Target]).validate_python(data) + [
            _as_target(item) for item in TypeAdapter(list[Intelligence]).validate_python(items) if item.identifiers]
    except ValidationError as error:
        raise invalid_input(error, str(path)) from None


def _as_target(item: Intelligence) -> Target:
    return Target(name=f"intelligence: {item.summary[:60]}", identifiers=item.identifiers,
                  contributed_by=item.contributed_by)


def _report(result: Precheck) -> Table:
    table = Table(title=f"Deconfliction pre-check: {result.checked} targets checked, {len(result.hits)} hits",
                  title_justify="left")
    for column in ("#", "target", "matched", "other state", "point of contact", "handling"):
        table.add_column(column, overflow="fold")
    for hit in result.hits:
        table.add_row(*render.texts(hit.target, hit.name, f"{hit.kind}: {hit.matched}", hit.other_state,
                                    hit.other_contact, hit.other_handling_code.value))
    return table


@deconfliction_app.command("check")
@handle_errors
def check(ctx: typer.Context, targets_file: Annotated[Path, typer.Argument(help="YAML or JSON: targets or a spec.")],
          state: Annotated[str | None, typer.Option(
              "--state", help="Contributing state of targets that name none (default: yours).")] = None) -> None:
    """Check a batch of targets against every live operation's entries, storing nothing."""
    result = ctx_of(ctx).client.check_targets(_targets(targets_file), state)
    console.print(_report(result))
    if result.hits:
        console.print("Call the point of contact before acting; execution of an operation with these targets "
                      "stays blocked until the hit is resolved.")
    for refusal in result.refused:
        errors.print(f"[bold red]refused:[/] target {refusal.target} ({render.text(refusal.name)}): "
                     f"{render.text(refusal.reason)}", highlight=False)
    if result.refused:
        raise typer.Exit(exit_code_of(ErrorKind.INVALID_INPUT))


@deconfliction_app.command("resolve")
@handle_errors
def resolve(ctx: typer.Context, operation_id: Annotated[str, typer.Argument(help="Operation id.")],
            hit_ids: Annotated[list[str], typer.Argument(
                help="Hit ids, as `operation show` lists them: one or more, each resolved the same way.",
                metavar="HIT_ID...")],
            resolution: Annotated[HitResolution, typer.Option(help="How the states settled it.")],
            justification: Annotated[str, typer.Option("--justification", "-j", help="Why (audit log).")] = "",
            ) -> None:
    """Liaison officers of a state involved: resolve hits, for both operations (one command per hit, in
    order; a refused one stops the rest)."""
    c = ctx_of(ctx)
    for hit_id in hit_ids:  # one key for all: each command's update id is the key and the command's digest
        outcome = c.client.resolve_hit(operation_id, hit_id, resolution, justification, c.key)
        console.print(f"[green]ok[/] {render.text(operation_id)}: hit {render.text(hit_id)} {resolution.value} "
                      f"(phase {outcome.phase.value.upper()}, audit #{outcome.seq}); the other operation is told",
                      highlight=False)
