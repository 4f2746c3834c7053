"""Principals under an administrator's authority, every token, and the security log."""

from __future__ import annotations

import asyncio
from datetime import datetime

from fastapi import APIRouter, Query, Request, status
from pydantic import BaseModel, Field

from api.auth import ActorDep, system_of
from domain.actors import Role
from services.principals import PrincipalChange, Registration
from store.principals import Principal
from store.security_log import SecurityEntry
from store.tokens import ApiToken

router = APIRouter(tags=["principals"])


class NewPrincipal(BaseModel):
    principal_id: str = Field(max_length=200)
    role: Role
    member_state: str | None = Field(default=None, max_length=40)
    display_name: str = Field(default="", max_length=400)
    justification: str = Field(max_length=2000)


class ChangeOfPrincipal(PrincipalChange):
    justification: str = Field(max_length=2000)


@router.post("/principals", status_code=status.HTTP_201_CREATED, response_model=Registration)
async def register(body: NewPrincipal, actor: ActorDep, request: Request) -> Registration:
    """Administrators only; recorded in the audit log's principal stream."""
    # No password from the API: the principal gets a one-time password, so no administrator chooses one.
    return await asyncio.to_thread(system_of(request).principals.register, actor, body.principal_id, body.role,
                                   body.member_state, body.display_name, body.justification)


@router.get("/principals", response_model=list[Principal])
async def list_principals(actor: ActorDep, request: Request) -> list[Principal]:
    return await asyncio.to_thread(system_of(request).principals.list, actor)


@router.get("/principals/{principal_id}", response_model=Principal)
async def get_principal(principal_id: str, actor: ActorDep, request: Request) -> Principal:
    return await asyncio.to_thread(system_of(request).principals.get, actor, principal_id)


@router.patch("/principals/{principal_id}", response_model=Registration)
async def change_principal(principal_id: str, body: ChangeOfPrincipal, actor: ActorDep,
                           request: Request) -> Registration:
    """Rename, disable (its tokens and sessions end), enable, reset the password (shown once), or remove a
    lost authenticator's one-time code."""
    change = PrincipalChange(display_name=body.display_name, disabled=body.disabled,
                             reset_password=body.reset_password, remove_one_time_code=body.remove_one_time_code)
    return await asyncio.to_thread(system_of(request).principals.change, actor, principal_id, change,
                                   body.justification)


@router.get("/tokens", response_model=list[ApiToken])
async def all_tokens(actor: ActorDep, request: Request,
                     principal_id: str | None = Query(default=None, max_length=200)) -> list[ApiToken]:
    """An administrator's view of every token (or one principal's); others see their own."""
    return await asyncio.to_thread(system_of(request).identity.tokens, actor, principal_id)


@router.get("/security-log", response_model=list[SecurityEntry])
async def security_log(actor: ActorDep, request: Request, kind: str | None = Query(default=None, max_length=40),
                       principal_id: str | None = Query(default=None, max_length=200),
                       since: datetime | None = None) -> list[SecurityEntry]:
    """Auditors and administrators."""
    return await asyncio.to_thread(system_of(request).security.search, actor, kind, principal_id, since)
