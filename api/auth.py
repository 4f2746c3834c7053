"""Authentication: the only source of the actor every service call receives. A bearer token (CLI,
integrations) or a session cookie (browser pages, with a CSRF token on every unsafe request)."""

from __future__ import annotations

import asyncio
import hmac
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from bootstrap import System
from domain.actors import Actor
from domain.errors import NotAuthenticated, NotAuthorised
from services.identity import Caller

SESSION_COOKIE = "liaison_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"  # the same token as a form field, for plain HTML forms (htmx sends the header)
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# All a principal may do while it holds a one-time password an administrator handed over: replace it.
WHILE_CHANGING = {("GET", "/me"), ("PUT", "/me/password"), ("DELETE", "/auth/token"), ("DELETE", "/auth/session")}
bearer = HTTPBearer(auto_error=False, description="an API token from POST /auth/token (`liaison login`)")


def system_of(request: Request) -> System:
    system: System = request.app.state.system
    return system


def address_of(request: Request) -> str | None:
    return request.client.host if request.client else None


async def caller(request: Request,
                 credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Caller:
    system = system_of(request)
    address = address_of(request)
    if credentials is not None:
        found = await asyncio.to_thread(system.identity.authenticate_token, credentials.credentials, address)
    elif (session_id := request.cookies.get(SESSION_COOKIE)) is not None:
        found = await asyncio.to_thread(system.identity.authenticate_session, session_id, address)
        if request.method in UNSAFE:
            sent = request.headers.get(CSRF_HEADER) or await _form_csrf_token(request)
            if not (found.csrf_token and hmac.compare_digest(sent.encode(), found.csrf_token.encode())):
                request.state.actor = found.actor
                raise NotAuthorised(f"{request.method} {request.url.path} from a browser session needs its CSRF "
                                    f"token in {CSRF_HEADER} (or a form's {CSRF_FIELD} field)", field=CSRF_HEADER,
                                    value=None)
    else:
        raise NotAuthenticated("not signed in: send an API token (Authorization: Bearer ...; `liaison login` "
                               "gets one) or sign in with a browser session")
    request.state.actor = found.actor
    if found.principal.must_change_password and (request.method, request.url.path) not in WHILE_CHANGING:
        raise NotAuthorised(f"{found.actor.id} signed in with a one-time password: replace it first (`liaison "
                            "password`; API: PUT /me/password), then everything else is open", field="password",
                            value=None)
    return found


async def _form_csrf_token(request: Request) -> str:
    """A form's csrf_token field; Starlette keeps the parsed form, so the route reads the same one."""
    if not request.headers.get("content-type", "").startswith(FORM_TYPES):
        return ""
    sent = (await request.form()).get(CSRF_FIELD)
    return sent if isinstance(sent, str) else ""


async def actor(found: Annotated[Caller, Depends(caller)]) -> Actor:
    return found.actor


CallerDep = Annotated[Caller, Depends(caller)]
ActorDep = Annotated[Actor, Depends(actor)]


def purpose(sent: Annotated[str | None, Header(alias="X-Purpose", max_length=500,
                                               description="why you read (logged with the read), UTF-8")] = None,
            ) -> str | None:
    """Headers are bytes, which Starlette reads as Latin-1; a purpose in any script comes as UTF-8 (the CLI
    sends it so), so it is read back as such (bytes that are not UTF-8 stay as Latin-1 read them)."""
    if sent is None:
        return None
    try:
        return sent.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return sent


PurposeDep = Annotated[str | None, Depends(purpose)]
KeyDep = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200,
                                      description="send again with the same key to learn a command's outcome")]
OneTimeCodeDep = Annotated[str | None, Header(alias="X-One-Time-Code", max_length=16,
                                              description="a current code, for coercive sign-offs")]
