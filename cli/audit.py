"""Auditors: replay to any point, verify integrity (live or offline), export bundles, replay
Temporal histories, and read the consultation log."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from cli import render
from cli.support import Context, console, ctx_of, fail, handle_errors, parse_when, run
from domain.actors import Role
from domain.signing import key_id, load_public_key
from gateway.audit import Verification, records_until, replay, timeline, verify_records
from gateway.bundle import BundleUnreadable, export_bundle, verify_bundle
from gateway.checkpoints import prove_inclusion, public_key_of, signing_key, take_checkpoint, verify_checkpoints
from gateway.history import histories_from_server, histories_of_workflow, load_histories
from gateway.history import replay as replay_histories
from gateway.recovery import recover
from gateway.witness import histories, operation_ids_in_temporal, witnessed
from store.audit_log import AuditLog
from store.checkpoints import Checkpoints
from store.consultations import Consultations

audit_app = typer.Typer(help="Auditors: replay, verify, export, consultation log.", no_args_is_help=True)
history_app = typer.Typer(help="Replay Temporal histories against the current workflow code.",
                          no_args_is_help=True)
AUDITOR = (Role.AUDITOR, Role.COORDINATOR)


@audit_app.command("replay")
@handle_errors
def audit_replay(ctx: typer.Context, operation_id: str,
                 at: Annotated[str | None, typer.Option(help="State as of this time (ISO 8601).")] = None,
                 seq: Annotated[int | None, typer.Option(help="State as of this sequence number.")] = None,
                 output: Annotated[str, typer.Option("--format", help="table or json.")] = "table") -> None:
    """Rebuild an operation's state from the audit log, at any point, with the workflow's own decider."""
    c = ctx_of(ctx)
    c.consult("audit replay", operation_id, *AUDITOR)
    records = AuditLog(c.engine).read(operation_id)
    if not records:
        fail(f"operation {operation_id} has no events in the audit log")
    moment = parse_when(at, "--at") if at else None
    prefix = records_until(records, at=moment, seq=seq)
    if not prefix:
        fail(f"operation {operation_id} had no events yet at that point (first: #1 at {records[0].occurred_at})")
    state, entries = replay(prefix), timeline(prefix)
    if output == "json":
        document = {"operation_id": operation_id, "as_of_seq": prefix[-1].seq,
                    "state": state.model_dump(mode="json"), "timeline": [e.model_dump(mode="json") for e in entries]}
        typer.echo(json.dumps(document, indent=1, ensure_ascii=False))
        return
    if output != "table":
        fail(f"--format: {output!r} is not one of table, json")
    console.print(render.timeline_table(entries, f"Timeline of {operation_id} up to #{prefix[-1].seq}"))
    console.print(render.operation_panel(state))


def _print_verification(result: Verification) -> None:
    if result.intact:
        head = f"{result.events} events, head #{result.store_head.seq} {result.store_head.hash[:16]}…"
        witnessed = (f"{result.witnesses} witnessed heads agree" if result.witnesses else
                     "chain only: Temporal holds no history of it (never started there, or past retention), "
                     "so no witnessed head was compared")
        console.print(f"[green]intact[/] {result.operation_id}: {head}, {witnessed}", highlight=False)
    for finding in result.findings:
        console.print(f"[red]finding[/] {finding}", highlight=False)


async def _verify_streams(c: Context, operation_ids: list[str] | None) -> list[Verification]:
    """Each stream read and checked with a progress bar counting events (each is read, then checked);
    None means every stream in the log and every operation Temporal knows of."""
    gateway = await c.gateway()
    log = AuditLog(c.engine)
    if operation_ids is None:
        operation_ids = sorted(set(log.streams()) | set(await operation_ids_in_temporal(gateway.client)))
    results = []
    total = sum(log.head(operation_id).seq for operation_id in operation_ids)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("reading and checking events", total=2 * total)

        def advance(count: int) -> None:
            progress.advance(task, count)

        for operation_id in operation_ids:
            progress.update(task, description=f"reading {operation_id}")
            records = []
            for batch in log.read_in_batches(operation_id):
                records.extend(batch)
                advance(len(batch))
            witness = await witnessed(gateway.client, operation_id)
            progress.update(task, description=f"checking {operation_id}")
            results.append(verify_records(operation_id, records, witness.heads, advance, witness.states,
                                          witness.pending))
    return results


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
    """Check sequence and chain, and cross-check them against the heads in the Temporal history."""
    c = ctx_of(ctx)
    if bundle is not None:
        try:
            report = verify_bundle(bundle)
        except BundleUnreadable as error:
            fail(str(error))
        console.print(f"bundle {bundle}: manifest sha256 {report.manifest_sha256}, "
                      f"{report.histories} Temporal histories", highlight=False)
        _print_verification(report.verification)
        forged = expect_sha256 is not None and expect_sha256.strip().lower() != report.manifest_sha256
        if forged:
            console.print(f"[red]finding[/] the manifest digest is {report.manifest_sha256}, not the "
                          f"{expect_sha256} the exporter gave: this is not the bundle that was exported",
                          highlight=False)
        raise typer.Exit(0 if report.intact and not forged else 1)
    if not operation_id and not all_streams:
        fail("name an operation, or pass --all (or --bundle FILE)")
    c.consult_each("audit verify", [] if all_streams else [operation_id], *AUDITOR)
    results = run(_verify_streams(c, [operation_id or ""] if not all_streams else None))
    if all_streams:
        c.consult_each("audit verify --all", [r.operation_id for r in results] or [None], *AUDITOR)
    if operation_id and not all_streams and not results[0].events and not results[0].witnesses:
        fail(f"operation {operation_id} is unknown: it has no events in the audit log and no Temporal history")
    for result in results:
        _print_verification(result)
    broken = [r for r in results if not r.intact]
    console.print(f"{len(results)} streams verified, {len(broken)} with findings", highlight=False)
    raise typer.Exit(1 if broken else 0)


@audit_app.command("export")
@handle_errors
def audit_export(ctx: typer.Context, operation_id: str, file: Path) -> None:
    """Write a self-contained bundle that `audit verify --bundle` checks offline."""
    c = ctx_of(ctx)
    c.consult("audit export", operation_id, *AUDITOR)
    records = AuditLog(c.engine).read(operation_id)
    if not records:
        fail(f"operation {operation_id} has no events in the audit log")

    async def go():  # type: ignore[no-untyped-def]
        return await histories((await c.gateway()).client, operation_id)

    digest = export_bundle(file, operation_id, records, run(go()))
    console.print(f"[green]exported[/] {operation_id}: {len(records)} events to {file}\n"
                  f"manifest sha256 {digest} (give it to the recipient by another channel)", highlight=False)


@audit_app.command("consultations")
@handle_errors
def audit_consultations(ctx: typer.Context,
                        operation: Annotated[str | None, typer.Option(help="Only reads of this operation.")] = None,
                        reader: Annotated[str | None, typer.Option(help="Only reads by this principal.")] = None,
                        since: Annotated[str | None, typer.Option(help="Only from this time on.")] = None) -> None:
    """Who read which operation's data, when, and why."""
    c = ctx_of(ctx)
    c.actor(*AUDITOR)
    since_at: datetime | None = parse_when(since, "--since") if since else None
    table = Table(title="Consultation log", title_justify="left")
    for column in ("when (UTC)", "who", "role", "state", "operation", "action", "purpose"):
        table.add_column(column, overflow="fold")
    for entry in Consultations(c.engine).search(operation, reader, since_at):
        table.add_row(f"{entry.at:%Y-%m-%d %H:%M:%S}", entry.actor_id, entry.actor_role, entry.member_state or "",
                      entry.operation_id or "", entry.action, entry.justification)
    console.print(table)


@history_app.command("recover")
@handle_errors
def history_recover(ctx: typer.Context, operation_id: Annotated[str, typer.Argument(help="The stuck operation.")],
                    justification: Annotated[str, typer.Option("--justification", "-j",
                                                               help="Why (kept with the reset).")] = "",
                    ) -> None:
    """Recover an operation whose history no longer replays: reset it to the last good workflow task,
    then have it adopt what the audit log holds past that point."""
    c = ctx_of(ctx)
    c.actor(*AUDITOR)
    if not justification.strip():
        fail("a recovery needs a justification: pass -j \"...\"")

    async def go():  # type: ignore[no-untyped-def]
        return await recover((await c.gateway()).client, operation_id, justification.strip())

    done = run(go())
    console.print(f"[green]recovered[/] {operation_id}: replay diverged at event {done.diverged_at_event}; reset to "
                  f"workflow task {done.reset_to_event} (new run {done.new_run_id}); the stored log is adopted",
                  highlight=False)


@history_app.command("replay")
@handle_errors
def history_replay(ctx: typer.Context,
                   file: Annotated[Path | None, typer.Argument(help="JSON from `temporal workflow show "
                                                                "--output json`, or an audit bundle.")] = None,
                   workflow_id: Annotated[str | None, typer.Option("--workflow-id", help="From the server.")] = None,
                   query: Annotated[str | None, typer.Option(help="Visibility query, from the server.")] = None,
                   ) -> None:
    """Replay histories against the current workflow code; non-zero exit on non-determinism."""
    c = ctx_of(ctx)
    if sum(x is not None for x in (file, workflow_id, query)) != 1:
        fail("give exactly one of FILE, --workflow-id or --query")

    async def go():  # type: ignore[no-untyped-def]
        if file is not None:
            if not file.is_file():
                fail(f"{file}: no such file")
            try:
                found = load_histories(file)
            except ValueError as error:
                fail(str(error))
        else:  # a history holds the operation's data: reading it from the server is a logged consultation
            c.consult_each("history replay", [], *AUDITOR)
            client = (await c.gateway()).client
            found = (await histories_from_server(client, query) if query
                     else await histories_of_workflow(client, workflow_id or ""))
            read = sorted({history.workflow_id for _, history in found}) if found else [workflow_id]
            c.consult_each("history replay" + (f" --query {query}" if query else ""), list(read), *AUDITOR)
        if not found:
            fail("no workflow history found")
        return await replay_histories(found)

    outcomes = run(go())
    for outcome in outcomes:
        status = "[green]replays[/]" if outcome.ok else "[red]NON-DETERMINISTIC[/]"
        console.print(f"{status} {outcome.source} ({outcome.events} events)"
                      + (f"\n  {outcome.failure}" if outcome.failure else ""), highlight=False)
    failed = [o for o in outcomes if not o.ok]
    console.print(f"{len(outcomes)} histories replayed, {len(failed)} non-deterministic", highlight=False)
    raise typer.Exit(1 if failed else 0)


def _public_key(c: Context) -> bytes:
    settings = c.settings
    if settings.checkpoint_public_key_file is not None:
        return load_public_key(settings.checkpoint_public_key_file.read_bytes()).public_bytes_raw()
    try:
        return public_key_of(signing_key(settings.signing_key_file))
    except FileNotFoundError:
        fail(f"no checkpoint key: neither LIAISON_CHECKPOINT_PUBLIC_KEY_FILE nor {settings.signing_key_file} exists")


@audit_app.command("checkpoint")
@handle_errors
def audit_checkpoint(ctx: typer.Context) -> None:
    """Sign an RFC 6962 Merkle root over the global log (the schedule also takes these periodically)."""
    c = ctx_of(ctx)
    c.actor(*AUDITOR)
    checkpoint, stored = take_checkpoint(c.engine, signing_key(c.settings.signing_key_file, create=True))
    state = "[green]signed[/]" if stored else "[yellow]unchanged[/] (this size was already signed)"
    console.print(f"{state} checkpoint: {checkpoint.log_size} events, root {checkpoint.root_hex}, "
                  f"key {checkpoint.key_id}, {checkpoint.issued_at:%Y-%m-%d %H:%M:%S} UTC", highlight=False)


@audit_app.command("checkpoints")
@handle_errors
def audit_checkpoints(ctx: typer.Context) -> None:
    """Check every checkpoint's signature and prove each a prefix of the current log."""
    c = ctx_of(ctx)
    c.actor(*AUDITOR)
    report = verify_checkpoints(c.engine, _public_key(c))
    for finding in report.findings:
        console.print(f"[red]finding[/] {finding}", highlight=False)
    if not report.findings:
        console.print(f"[green]consistent[/] {report.checkpoints} checkpoints are signed and are prefixes of the "
                      f"current log of {report.log_size} events", highlight=False)
    raise typer.Exit(1 if report.findings else 0)


@audit_app.command("prove")
@handle_errors
def audit_prove(ctx: typer.Context, operation_id: str, seq: int) -> None:
    """Prove that an event is included in the latest checkpoint (RFC 6962 audit path)."""
    c = ctx_of(ctx)
    c.consult("audit prove", operation_id, *AUDITOR)
    latest = Checkpoints(c.engine).latest(key_id(_public_key(c)))
    if latest is None:
        fail("no checkpoint yet: take one with `liaison audit checkpoint`")
    try:
        proof = prove_inclusion(c.engine, operation_id, seq, latest)
    except LookupError as error:
        fail(str(error))
    verdict = "[green]included[/]" if proof.verified else "[red]NOT included[/]"
    console.print(f"{verdict} {operation_id} #{seq} is leaf {proof.leaf_index} of the checkpoint of size "
                  f"{latest.log_size} (root {latest.root_hex[:16]}…); audit path:", highlight=False)
    for node in proof.proof:
        console.print(f"  {node}", highlight=False)
    raise typer.Exit(0 if proof.verified else 1)
