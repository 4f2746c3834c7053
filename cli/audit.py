"""Auditors: replay to any point, verify integrity (through the API, or a bundle offline), export bundles,
replay Temporal histories (from the server, or a file offline), and read the consultation log."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from cli import render
from cli.support import console, ctx_of, fail, handle_errors, parse_when, run
from services.views import ReplayOutcome

if TYPE_CHECKING:
    from services.record_views import Verification


audit_app = typer.Typer(help="Auditors: replay, verify, export, consultation log.", no_args_is_help=True)
history_app = typer.Typer(help="Replay Temporal histories against the current workflow code.",
                          no_args_is_help=True)


@audit_app.command("replay")
@handle_errors
def audit_replay(ctx: typer.Context, operation_id: str,
                 at: Annotated[str | None, typer.Option(help="State as of this time (ISO 8601).")] = None,
                 seq: Annotated[int | None, typer.Option(help="State as of this sequence number.")] = None,
                 output: Annotated[str, typer.Option("--format", help="table or json.")] = "table") -> None:
    """Rebuild an operation's state from the audit log, at any point, with the workflow's own decider."""
    if output not in ("table", "json"):
        fail(f"--format: {output!r} is not one of table, json")
    c = ctx_of(ctx)
    moment = parse_when(at, "--at") if at else None
    result = c.client.replay(operation_id, moment, seq)
    if output == "json":
        document = {"operation_id": operation_id, "as_of_seq": result.as_of_seq,
                    "state": result.state.model_dump(mode="json"),
                    "timeline": [e.model_dump(mode="json") for e in result.timeline]}
        typer.echo(json.dumps(document, indent=1, ensure_ascii=False))
        return
    console.print(render.timeline_table(result.timeline, f"Timeline of {operation_id} up to #{result.as_of_seq}"))
    console.print(render.operation_panel(result.state))


def _print_verification(result: Verification, witness: str | None = None) -> None:
    """The verdict; `witness` says what a bundle's histories allowed to compare (encrypted or not)."""
    if result.intact:
        head = f"{result.events} events, head #{result.store_head.seq} {result.store_head.hash[:16]}…"
        witnessed = (f"{result.witnesses} witnessed heads agree" if result.witnesses else
                     "chain only: Temporal holds no history of it (never started there, or past retention), "
                     "so no witnessed head was compared")
        if witness is not None:
            witnessed = f"{witnessed}; {witness}" if result.witnesses else witness
        console.print(f"[green]intact[/] {result.operation_id}: {head}, {witnessed}", highlight=False)
    for finding in result.findings:
        console.print(f"[red]finding[/] {finding}", highlight=False)


@audit_app.command("verify")
@handle_errors
def audit_verify(ctx: typer.Context,
                 operation_id: Annotated[str | None, typer.Argument(help="One operation.")] = None,
                 all_streams: Annotated[bool, typer.Option("--all", help="Every operation in the log.")] = False,
                 bundle: Annotated[Path | None, typer.Option(help="Verify an exported bundle offline.")] = None,
                 expect_sha256: Annotated[str | None, typer.Option(
                     "--expect-sha256", help="With --bundle: the manifest digest the exporter gave you by "
                                             "another channel; a bundle forged whole has another.")] = None,
                 ) -> None:
    """Check sequence and chain, and cross-check them against the heads in the Temporal history, through the
    API. With --bundle FILE it checks an exported bundle offline: it reads only the file, needs no server
    and no store."""
    if bundle is not None:
        _verify_bundle(bundle, expect_sha256)
    if not operation_id and not all_streams:
        fail("name an operation, or pass --all (or --bundle FILE)")
    with console.status("verifying on the server …"):
        results = ctx_of(ctx).client.verify(None if all_streams else [operation_id or ""])
    for result in results:
        _print_verification(result)
    broken = [r for r in results if not r.intact]
    console.print(f"{len(results)} streams verified, {len(broken)} with findings", highlight=False)
    raise typer.Exit(1 if broken else 0)


def _verify_bundle(bundle: Path, expect_sha256: str | None) -> None:
    from gateway.bundle import BundleUnreadable, verify_bundle

    try:
        report = verify_bundle(bundle)
    except BundleUnreadable as error:
        fail(str(error))
    console.print(f"bundle {render.text(bundle)}: manifest sha256 {report.manifest_sha256}, "
                  f"{report.histories} Temporal {'history' if report.histories == 1 else 'histories'}",
                  highlight=False)
    forged = expect_sha256 is not None and expect_sha256.strip().lower() != report.manifest_sha256
    if forged:  # first: whatever the chain says, this is not the bundle that was exported
        console.print(f"[red]finding[/] the manifest digest is {report.manifest_sha256}, not the "
                      f"{render.text(expect_sha256)} the exporter gave: this is not the bundle that was "
                      "exported (its own chain is checked below)", highlight=False)
    _print_verification(report.verification, witness=report.witness_note)
    raise typer.Exit(0 if report.intact and not forged else 1)


@audit_app.command("export")
@handle_errors
def audit_export(ctx: typer.Context, operation_id: str, file: Path) -> None:
    """Write a self-contained bundle that `audit verify --bundle` checks offline."""
    done = ctx_of(ctx).client.export(operation_id, file)
    console.print(f"[green]exported[/] {render.text(operation_id)}: {done.events} events to {render.text(file)}\n"
                  f"manifest sha256 {done.manifest_sha256} (give it to the recipient by another channel)",
                  highlight=False)


@audit_app.command("consultations")
@handle_errors
def audit_consultations(ctx: typer.Context,
                        operation: Annotated[str | None, typer.Option(help="Only reads of this operation.")] = None,
                        reader: Annotated[str | None, typer.Option(help="Only reads by this principal.")] = None,
                        since: Annotated[str | None, typer.Option(help="Only from this time on.")] = None) -> None:
    """Who read which operation's data, when, why, and whether it was shown."""
    c = ctx_of(ctx)
    since_at: datetime | None = parse_when(since, "--since") if since else None
    table = Table(title="Consultation log", title_justify="left")
    for column in ("when (UTC)", "who", "role", "state", "operation", "action", "purpose", "outcome"):
        table.add_column(column, overflow="fold")
    for entry in c.client.consultations(operation, reader, since_at):
        outcome = entry.outcome + (f": {entry.detail}" if entry.detail else "")
        table.add_row(*render.texts(f"{entry.at:%Y-%m-%d %H:%M:%S}", entry.actor_id, entry.actor_role,
                                    entry.member_state or "", entry.operation_id or "", entry.action,
                                    entry.justification, outcome))
    console.print(table)


@history_app.command("recover")
@handle_errors
def history_recover(ctx: typer.Context, operation_id: Annotated[str, typer.Argument(help="The stuck operation.")],
                    justification: Annotated[str, typer.Option("--justification", "-j",
                                                               help="Why (kept with the reset).")] = "",
                    ) -> None:
    """Recover an operation whose history no longer replays: reset it to the last good workflow task,
    then have it adopt what the audit log holds past that point."""
    done = ctx_of(ctx).client.recover(operation_id, justification)
    console.print(f"[green]recovered[/] {render.text(operation_id)}: replay diverged at event "
                  f"{done.diverged_at_event}; reset to workflow task {done.reset_to_event} (new run "
                  f"{done.new_run_id}); the stored log is adopted", highlight=False)


@history_app.command("replay")
@handle_errors
def history_replay(ctx: typer.Context,
                   file: Annotated[Path | None, typer.Argument(help="JSON from `temporal workflow show "
                                                                "--output json`, or an audit bundle.")] = None,
                   workflow_id: Annotated[str | None, typer.Option("--workflow-id", help="From the server.")] = None,
                   query: Annotated[str | None, typer.Option(help="Visibility query, from the server.")] = None,
                   ) -> None:
    """Replay histories against the current workflow code; non-zero exit on non-determinism. FILE is replayed
    offline, here (it needs no server and no store); --workflow-id and --query on the server, through the API."""
    c = ctx_of(ctx)
    if sum(x is not None for x in (file, workflow_id, query)) != 1:
        fail("give exactly one of FILE, --workflow-id or --query")
    # A file is the caller's own (offline); a history on the server holds the operation's data, so
    # reading it there is a logged consultation.
    outcomes = run(_replay_file(file)) if file is not None else c.client.server_histories(workflow_id, query)
    for outcome in outcomes:
        status = "[green]replays[/]" if outcome.ok else "[red]NON-DETERMINISTIC[/]"
        console.print(f"{status} {render.text(outcome.source)} ({outcome.events} events)"
                      + (f"\n  {render.text(outcome.failure)}" if outcome.failure else ""), highlight=False)
    failed = [o for o in outcomes if not o.ok]
    console.print(f"{len(outcomes)} histories replayed, {len(failed)} non-deterministic", highlight=False)
    raise typer.Exit(1 if failed else 0)


async def _replay_file(file: Path) -> list[ReplayOutcome]:
    from gateway.history import load_histories
    from gateway.history import replay as replay_histories

    if not file.is_file():
        fail(f"{file}: no such file")
    try:
        found = load_histories(file)
    except ValueError as error:
        fail(str(error))
    if not found:
        fail("no workflow history found", "not_found")
    return await replay_histories(found)


@audit_app.command("checkpoint")
@handle_errors
def audit_checkpoint(ctx: typer.Context) -> None:
    """Sign an RFC 6962 Merkle root over the global log (the schedule also takes these periodically)."""
    taken = ctx_of(ctx).client.checkpoint()
    checkpoint = taken.checkpoint
    state = "[green]signed[/]" if taken.new else "[yellow]unchanged[/] (this size was already signed)"
    console.print(f"{state} checkpoint: {checkpoint.log_size} events, root {checkpoint.root_hex}, "
                  f"key {checkpoint.key_id}, {checkpoint.issued_at:%Y-%m-%d %H:%M:%S} UTC", highlight=False)


@audit_app.command("checkpoints")
@handle_errors
def audit_checkpoints(ctx: typer.Context) -> None:
    """Check every checkpoint's signature and prove each a prefix of the current log."""
    report = ctx_of(ctx).client.checkpoints()
    for finding in report.findings:
        console.print(f"[red]finding[/] {render.text(finding)}", highlight=False)
    if not report.findings:
        console.print(f"[green]consistent[/] {report.checkpoints} checkpoints are signed and are prefixes of the "
                      f"current log of {report.log_size} events", highlight=False)
    raise typer.Exit(1 if report.findings else 0)


@audit_app.command("prove")
@handle_errors
def audit_prove(ctx: typer.Context, operation_id: str, seq: int) -> None:
    """Prove that an event is included in the latest checkpoint (RFC 6962 audit path)."""
    done = ctx_of(ctx).client.prove(operation_id, seq)
    proof, latest = done.proof, done.checkpoint
    verdict = "[green]included[/]" if proof.verified else "[red]NOT included[/]"
    console.print(f"{verdict} {render.text(operation_id)} #{seq} is leaf {proof.leaf_index} of the checkpoint of "
                  f"size {latest.log_size} (root {latest.root_hex[:16]}…); audit path:", highlight=False)
    for node in proof.proof:
        console.print(f"  {node}", highlight=False)
    raise typer.Exit(0 if proof.verified else 1)
