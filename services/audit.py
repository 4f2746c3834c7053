"""Auditors (and coordinators): replay to any point, verify integrity, export bundles, checkpoints,
inclusion proofs, recovery of a stuck operation, and replay of Temporal histories from the server."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy import Engine
from temporalio.client import Client

from domain.actors import Actor
from domain.audit import ChainFinding
from domain.errors import InvalidInput, NotFound
from domain.rules import require_role
from domain.signing import Checkpoint, key_id, load_public_key
from gateway.audit import Verification, records_until, replay, timeline, verify_records
from gateway.bundle import export_bundle
from gateway.checkpoints import (
    CheckpointReport,
    prove_inclusion,
    public_key_of,
    signing_key,
    take_checkpoint,
    verify_checkpoints,
)
from gateway.codec import PayloadKeyMissing, PayloadUndecryptable, codec_of, replay_converter_of
from gateway.history import ReplayOutcome, histories_from_server, histories_of_workflow
from gateway.history import replay as replay_histories
from gateway.recovery import Recovery, recover
from gateway.witness import histories, operation_ids_in_temporal, witnessed
from services.consultations import AUDITORS, ConsultationService
from services.ports import Temporal
from services.record_views import AuditReplay, Proof
from services.views import Export
from settings import Settings
from store.audit_log import AuditLog
from store.checkpoints import Checkpoints
from store.consultations import Consultation


class Progress(Protocol):
    """Where long work reports how far it is: a progress bar in the CLI, nothing in a test."""

    def total(self, events: int) -> None: ...
    def stage(self, description: str) -> None: ...
    def advance(self, events: int) -> None: ...


class NoProgress:
    def total(self, events: int) -> None: ...
    def stage(self, description: str) -> None: ...
    def advance(self, events: int) -> None: ...


class AuditService:
    def __init__(self, temporal: Temporal, engine: Engine, settings: Settings,
                 consultations: ConsultationService) -> None:
        self._temporal = temporal
        self._engine = engine
        self._log = AuditLog(engine)
        self._settings = settings
        self._consultations = consultations

    async def _client(self) -> Client:
        return await self._temporal.client()

    async def replay(self, actor: Actor, purpose: str | None, operation_id: str, at: datetime | None = None,
                     seq: int | None = None) -> AuditReplay:
        """The state and timeline as of a moment or a sequence number, rebuilt by the workflow's decider."""

        async def read() -> AuditReplay:
            require_role(actor, "replay an operation", *AUDITORS)
            records = await asyncio.to_thread(self._log.read, operation_id)
            if not records:
                raise NotFound("operation_id", operation_id, f"operation {operation_id} has no events in the "
                               "audit log")
            prefix = records_until(records, at=at, seq=seq)
            if not prefix:
                raise NotFound("at" if at else "seq", at or seq, f"operation {operation_id} had no events yet at "
                               f"that point (first: #1 at {records[0].occurred_at})")
            return AuditReplay(operation_id=operation_id, as_of_seq=prefix[-1].seq, state=replay(prefix),
                               timeline=timeline(prefix))

        return await self._consultations.reading(actor, purpose, "audit replay", [operation_id], read)

    async def verify(self, actor: Actor, purpose: str | None, operation_ids: list[str] | None,
                     progress: Progress | None = None) -> list[Verification]:
        """Sequence, chain and Temporal's witnessed heads of each stream (None: every stream the log or
        Temporal knows of). One named operation that neither knows is not found."""
        action = "audit verify" + (" --all" if operation_ids is None else "")

        async def read() -> list[Verification]:
            require_role(actor, "verify the audit log", *AUDITORS)
            results = await self._verify(operation_ids, progress or NoProgress())
            if operation_ids and len(results) == 1 and not results[0].events and not results[0].witnesses:
                raise NotFound("operation_id", operation_ids[0], f"operation {operation_ids[0]} is unknown: it has "
                               "no events in the audit log and no Temporal history")
            return results

        return await self._consultations.reading(actor, purpose, action, operation_ids or [], read,
                                                 served=lambda results: [r.operation_id for r in results])

    async def _verify(self, operation_ids: list[str] | None, progress: Progress) -> list[Verification]:
        client = await self._client()
        if operation_ids is None:
            operation_ids = sorted(set(self._log.streams()) | set(await operation_ids_in_temporal(client)))
        progress.total(2 * sum(self._log.head(operation_id).seq for operation_id in operation_ids))
        results = []
        for operation_id in operation_ids:
            progress.stage(f"reading {operation_id}")
            records = []
            for batch in self._log.read_in_batches(operation_id):
                records.extend(batch)
                progress.advance(len(batch))
            try:
                witness = await witnessed(client, operation_id)
            except (PayloadKeyMissing, PayloadUndecryptable) as error:  # checked from the chain alone, and said
                result = verify_records(operation_id, records, [], progress.advance)
                result.findings.append(ChainFinding(stream_id=operation_id, seq=0, problem=(
                    f"unwitnessed: Temporal's history of it cannot be read here, so the chain was checked alone "
                    f"({error})")))
                results.append(result)
                continue
            progress.stage(f"checking {operation_id}")
            results.append(verify_records(operation_id, records, witness.heads, progress.advance, witness.states,
                                          witness.pending))
        return results

    async def export(self, actor: Actor, purpose: str | None, operation_id: str, file: Path) -> Export:
        """A self-contained bundle (log and Temporal histories) that `audit verify --bundle` checks offline."""

        async def read() -> Export:
            require_role(actor, "export an operation", *AUDITORS)
            records = await asyncio.to_thread(self._log.read, operation_id)
            if not records:
                raise NotFound("operation_id", operation_id, f"operation {operation_id} has no events in the "
                               "audit log")
            client = await self._client()
            found = await histories(client, operation_id)  # kept encrypted; witnesses read with its keys
            digest = export_bundle(file, operation_id, records, found, codec_of(client.data_converter))
            return Export(operation_id=operation_id, events=len(records), manifest_sha256=digest)

        return await self._consultations.reading(actor, purpose, "audit export", [operation_id], read)

    def consultations(self, actor: Actor, operation_id: str | None = None, reader: str | None = None,
                      since: datetime | None = None) -> list[Consultation]:
        return self._consultations.search(actor, operation_id, reader, since)

    async def recover(self, actor: Actor, operation_id: str, justification: str) -> Recovery:
        require_role(actor, "recover an operation", *AUDITORS)
        if not justification.strip():
            raise InvalidInput("justification", justification, "a recovery needs a justification: pass -j \"...\"")
        return await recover(await self._client(), operation_id, justification.strip())

    async def server_histories(self, actor: Actor, purpose: str | None, workflow_id: str | None = None,
                               query: str | None = None) -> list[ReplayOutcome]:
        """Replay histories read from the server: they hold the operation's data, so it is a consultation."""

        async def read() -> list[ReplayOutcome]:
            require_role(actor, "replay Temporal histories", *AUDITORS)
            if not (workflow_id or query):
                raise InvalidInput("workflow_id", workflow_id, "workflow_id: name the workflow (an operation id), "
                                   "or give a visibility query")
            client = await self._client()
            found = (await histories_from_server(client, query) if query
                     else await histories_of_workflow(client, workflow_id or ""))
            if not found:
                raise NotFound("workflow_id" if workflow_id else "query", workflow_id or query,
                               "no workflow history found")
            return await replay_histories(found, data_converter=replay_converter_of(client.data_converter))

        action = "history replay" + (f" --query {query}" if query else "")
        return await self._consultations.reading(actor, purpose, action, [workflow_id] if workflow_id else [], read,
                                                 served=lambda outcomes: sorted({o.workflow_id for o in outcomes}))

    def checkpoint(self, actor: Actor) -> tuple[Checkpoint, bool]:
        """Sign a checkpoint of the global log now; False when this size was already signed."""
        require_role(actor, "take a checkpoint", *AUDITORS)
        return take_checkpoint(self._engine, signing_key(self._settings.signing_key_file, create=True))

    def checkpoints(self, actor: Actor) -> CheckpointReport:
        require_role(actor, "verify checkpoints", *AUDITORS)
        return verify_checkpoints(self._engine, self.public_key())

    async def prove(self, actor: Actor, purpose: str | None, operation_id: str, seq: int) -> Proof:

        async def read() -> Proof:
            require_role(actor, "prove an event's inclusion", *AUDITORS)
            latest = Checkpoints(self._engine).latest(key_id(self.public_key()))
            if latest is None:
                raise NotFound("checkpoint", None, "no checkpoint yet: take one with `liaison audit checkpoint`")
            try:
                return Proof(checkpoint=latest, proof=prove_inclusion(self._engine, operation_id, seq, latest))
            except LookupError as error:
                raise NotFound("seq", seq, str(error)) from None

        return await self._consultations.reading(actor, purpose, "audit prove", [operation_id], read)

    def public_key(self) -> bytes:
        settings = self._settings
        if settings.checkpoint_public_key_file is not None:
            return load_public_key(settings.checkpoint_public_key_file.read_bytes()).public_bytes_raw()
        try:
            return public_key_of(signing_key(settings.signing_key_file))
        except FileNotFoundError:
            raise NotFound("checkpoint_key", str(settings.signing_key_file), "no checkpoint key: neither "
                           f"LIAISON_CHECKPOINT_PUBLIC_KEY_FILE nor {settings.signing_key_file} exists") from None
