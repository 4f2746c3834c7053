"""Signing in and out: API tokens for the CLI and integrations, browser sessions, one-time codes."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, Field

from api.auth import CSRF_HEADER, SESSION_COOKIE, ActorDep, CallerDep, address_of, system_of
from services.identity import Enrolment, IssuedToken, actor_of
from store.principals import Principal
from store.tokens import ApiToken

router = APIRouter(tags=["sign-in"])


class SignIn(BaseModel):
    principal_id: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1024)
    one_time_code: str | None = Field(default=None, max_length=16)
    token_name: str = Field(default="cli", min_length=1, max_length=100)
    expires_in_hours: float | None = Field(default=None, gt=0, le=24 * 90)


class NewToken(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    expires_in_hours: float | None = Field(default=None, gt=0, le=24 * 90)


class SessionStarted(BaseModel):
    principal: Principal
    csrf_token: str
    expires_at: datetime


class PasswordChange(BaseModel):
    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


class CodeConfirmation(BaseModel):
    code: str = Field(min_length=6, max_length=16)


def _hours(value: float | None) -> timedelta | None:
    return timedelta(hours=value) if value is not None else None


@router.post("/auth/token", status_code=status.HTTP_201_CREATED, response_model=IssuedToken)
async def sign_in_for_token(body: SignIn, request: Request) -> IssuedToken:
    """Sign in with password (and one-time code when enrolled); the token is shown once."""
    system = system_of(request)
    principal = await system.identity.sign_in(body.principal_id, body.password, body.one_time_code,
                                              address_of(request))
    return await asyncio.to_thread(system.identity.issue_token, principal, body.token_name,
                                   _hours(body.expires_in_hours), actor_of(principal))


@router.delete("/auth/token", status_code=status.HTTP_204_NO_CONTENT)
async def sign_out_token(found: CallerDep, request: Request) -> Response:
    """Revoke the token this request carries (`liaison logout`)."""
    if found.token_id:
        await asyncio.to_thread(system_of(request).identity.revoke_token, found.actor, found.token_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/auth/session", response_model=SessionStarted)
async def sign_in_for_session(body: SignIn, request: Request, response: Response) -> SessionStarted:
    """A browser session: an HttpOnly, SameSite=Strict cookie; send csrf_token in X-CSRF-Token on writes."""
    system = system_of(request)
    principal = await system.identity.sign_in(body.principal_id, body.password, body.one_time_code,
                                              address_of(request))
    session_id, session = await asyncio.to_thread(system.identity.start_session, principal, address_of(request))
    response.set_cookie(SESSION_COOKIE, session_id, httponly=True, samesite="strict",
                        secure=system.settings.secure_cookies, path="/",
                        max_age=int(system.settings.session_lifetime.total_seconds()))
    response.headers[CSRF_HEADER] = session.csrf_token
    return SessionStarted(principal=principal, csrf_token=session.csrf_token, expires_at=session.expires_at)


@router.delete("/auth/session", status_code=status.HTTP_204_NO_CONTENT)
async def sign_out_session(found: CallerDep, request: Request) -> Response:
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        await asyncio.to_thread(system_of(request).identity.end_session, session_id)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", response_model=Principal)
async def me(found: CallerDep) -> Principal:
    return found.principal


@router.put("/me/password", status_code=status.HTTP_204_NO_CONTENT)
async def change_password(body: PasswordChange, found: CallerDep, request: Request) -> Response:
    """Every other token and session of the principal ends; the one this request carries stays."""
    await asyncio.to_thread(system_of(request).principals.set_own_password, found.actor, body.current_password,
                            body.new_password, found.token_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me/tokens", response_model=list[ApiToken])
async def my_tokens(actor: ActorDep, request: Request) -> list[ApiToken]:
    return await asyncio.to_thread(system_of(request).identity.tokens, actor)


@router.post("/me/tokens", status_code=status.HTTP_201_CREATED, response_model=IssuedToken)
async def new_token(body: NewToken, found: CallerDep, request: Request) -> IssuedToken:
    """Another token for an integration, named, with its own expiry; shown once."""
    return await asyncio.to_thread(system_of(request).identity.issue_token, found.principal, body.name,
                                   _hours(body.expires_in_hours), found.actor)


@router.delete("/tokens/{token_id}", response_model=ApiToken)
async def revoke_token(token_id: str, actor: ActorDep, request: Request) -> ApiToken:
    return await asyncio.to_thread(system_of(request).identity.revoke_token, actor, token_id)


class Reauthentication(BaseModel):
    password: str = Field(max_length=1024)


@router.post("/me/one-time-code", response_model=Enrolment)
async def enrol_one_time_code(body: Reauthentication, actor: ActorDep, request: Request) -> Enrolment:
    """A secret for an authenticator app, given the password again; confirm it with a code to make it count."""
    return await asyncio.to_thread(system_of(request).identity.enrol, actor, body.password)


@router.post("/me/one-time-code/confirm", response_model=Principal)
async def confirm_one_time_code(body: CodeConfirmation, actor: ActorDep, request: Request) -> Principal:
    return await asyncio.to_thread(system_of(request).identity.confirm_enrolment, actor, body.code)
