"""The auditor's desk: replay, verify, export, proofs, checkpoints, consultations, recovery, histories."""

from __future__ import annotations

import asyncio
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from api.auth import ActorDep, PurposeDep, system_of
from gateway.audit import Verification
from gateway.checkpoints import CheckpointReport
from gateway.history import ReplayOutcome
from gateway.recovery import Recovery
from services.audit import AuditReplay, Proof
from services.record_views import CheckpointTaken
from store.consultations import Consultation

router = APIRouter(prefix="/audit", tags=["audit"])


class VerifyRequest(BaseModel):
    operation_ids: list[Annotated[str, Field(max_length=120)]] | None = Field(
        default=None, max_length=10_000, description="none: every stream the log or Temporal knows of")


class RecoveryRequest(BaseModel):
    justification: str = Field(max_length=2000)


class HistoryReplayRequest(BaseModel):
    workflow_id: str | None = Field(default=None, max_length=120)
    query: str | None = Field(default=None, max_length=1000)


@router.get("/operations/{operation_id}/replay", response_model=AuditReplay)
async def replay(operation_id: str, actor: ActorDep, request: Request, purpose: PurposeDep = None,
                 at: datetime | None = None, seq: Annotated[int | None, Query(ge=0)] = None) -> AuditReplay:
    return await system_of(request).audit.replay(actor, purpose, operation_id, at, seq)


@router.post("/verify", response_model=list[Verification])
async def verify(body: VerifyRequest, actor: ActorDep, request: Request, purpose: PurposeDep = None
                 ) -> list[Verification]:
    """Sequence, chain and Temporal's witnessed heads of each stream; `intact` when nothing was found."""
    return await system_of(request).audit.verify(actor, purpose, body.operation_ids)


@router.get("/operations/{operation_id}/export", response_class=FileResponse,
            responses={200: {"content": {"application/zip": {}}, "description": "the bundle"}})
async def export(operation_id: str, actor: ActorDep, request: Request, purpose: PurposeDep = None) -> FileResponse:
    """A self-contained bundle that `liaison audit verify --bundle` checks offline."""
    handle, name = tempfile.mkstemp(prefix="liaison-export-", suffix=".zip")
    os.close(handle)
    file = Path(name)
    try:
        done = await system_of(request).audit.export(actor, purpose, operation_id, file)
    except BaseException:
        file.unlink(missing_ok=True)
        raise
    return FileResponse(file, media_type="application/zip", filename=f"{operation_id}.zip",
                        headers={"X-Manifest-SHA256": done.manifest_sha256, "X-Events": str(done.events)},
                        background=BackgroundTask(file.unlink, missing_ok=True))


@router.get("/operations/{operation_id}/proof", response_model=Proof)
async def prove(operation_id: str, seq: Annotated[int, Query(ge=1)], actor: ActorDep, request: Request,
                purpose: PurposeDep = None) -> Proof:
    return await system_of(request).audit.prove(actor, purpose, operation_id, seq)


@router.post("/operations/{operation_id}/recover", response_model=Recovery)
async def recover(operation_id: str, body: RecoveryRequest, actor: ActorDep, request: Request) -> Recovery:
    return await system_of(request).audit.recover(actor, operation_id, body.justification)


@router.get("/consultations", response_model=list[Consultation])
async def consultations(actor: ActorDep, request: Request,
                        operation_id: Annotated[str | None, Query(max_length=120)] = None,
                        reader: Annotated[str | None, Query(max_length=200)] = None,
                        since: datetime | None = None) -> list[Consultation]:
    return await asyncio.to_thread(system_of(request).audit.consultations, actor, operation_id, reader, since)


@router.post("/checkpoints", response_model=CheckpointTaken)
async def take_checkpoint(actor: ActorDep, request: Request) -> CheckpointTaken:
    checkpoint, new = await asyncio.to_thread(system_of(request).audit.checkpoint, actor)
    return CheckpointTaken(checkpoint=checkpoint, new=new)


@router.get("/checkpoints", response_model=CheckpointReport)
async def verify_checkpoints(actor: ActorDep, request: Request) -> CheckpointReport:
    return await asyncio.to_thread(system_of(request).audit.checkpoints, actor)


@router.post("/histories/replay", response_model=list[ReplayOutcome])
async def replay_histories(body: HistoryReplayRequest, actor: ActorDep, request: Request,
                           purpose: PurposeDep = None) -> list[ReplayOutcome]:
    return await system_of(request).audit.server_histories(actor, purpose, body.workflow_id, body.query)
