"""Sign in, sign out, the language switch and the notifications list: the pages every other page links to.

A page authenticates with the same dependency as the API (api/auth.py caller: the session cookie, and the
CSRF token on every unsafe request); a page that is not signed in sends the browser to the sign-in form.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.security import HTTPAuthorizationCredentials

from api.auth import SESSION_COOKIE, address_of, bearer, caller, system_of
from api.web.rendering import LANGUAGE_COOKIE, languages, render
from domain.errors import LiaisonError, NotAuthenticated
from domain.utc import as_utc
from services.errors import PRESENTATION
from services.identity import Caller

router = APIRouter(prefix="/web", include_in_schema=False)
SEEN_COOKIE = "liaison_notifications_seen"  # when this browser last opened the notifications list
NOTIFICATIONS_PURPOSE = "web page header: unread notifications"


class SignInFirst(Exception):
    """Raised by a page whose visitor is not signed in; answered with a redirect to the sign-in form."""


async def viewer(request: Request,
                 credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Caller:
    try:
        return await caller(request, credentials)
    except NotAuthenticated as error:
        raise SignInFirst() from error


ViewerDep = Annotated[Caller, Depends(viewer)]


def sign_in_first(request: Request, error: Exception) -> Response:
    if request.headers.get("HX-Request"):  # a poll of a page whose session ended: the whole page goes
        return Response(status_code=204, headers={"HX-Redirect": "/web/sign-in"})
    return RedirectResponse("/web/sign-in", status_code=303)


def local_path(target: str | None, fallback: str = "/web/inbox") -> str:
    """Only a path of these pages: a redirect never leaves the site (`//host` and `/\\host` are other sites)."""
    if target and target.startswith("/web/") and not target.startswith(("//", "/\\")):
        return target
    return fallback


async def page(request: Request, found: Caller, template: str, context: dict[str, Any],
               status_code: int = 200) -> Response:
    """A signed-in page: the header's unread count and the CSRF token for its forms, beside its context."""
    system = system_of(request)
    try:
        notices = await system.notifications.inbox(found.actor, NOTIFICATIONS_PURPOSE)
    except LiaisonError:  # a role that receives none: no count rather than no page
        notices = []
    seen = _seen_at(request)
    unread = sum(1 for n in notices if seen is None or as_utc(n.created_at) > seen)
    return render(request, template, {**context, "viewer": found.actor, "principal": found.principal,
                                      "csrf_token": found.csrf_token or "", "unread": unread}, status_code)


async def refused(request: Request, found: Caller, error: LiaisonError) -> Response:
    """A page the service refused (a role that has no inbox, an operation the viewer takes no part in):
    the refusal on a page, with the status the API would give, and in the security log like the API's."""
    hook = getattr(request.app.state, "on_refusal", None)
    if hook is not None:
        hook(request, error)
    return await page(request, found, "error.html", {"message": error.message},
                      PRESENTATION[error.kind].http_status)


def _seen_at(request: Request) -> datetime | None:
    try:
        return as_utc(datetime.fromisoformat(request.cookies.get(SEEN_COOKIE, "")))
    except ValueError:
        return None


@router.get("/sign-in")
async def sign_in_form(request: Request) -> Response:
    return render(request, "sign_in.html", {"error": None, "principal_id": ""})


@router.post("/sign-in")
async def sign_in(request: Request, principal_id: Annotated[str, Form(max_length=200)],
                  password: Annotated[str, Form(max_length=1024)],
                  one_time_code: Annotated[str, Form(max_length=16)] = "") -> Response:
    """The API's session (POST /auth/session does the same): its cookie, lifetime and idle expiry."""
    system = system_of(request)
    try:
        principal = await system.identity.sign_in(principal_id, password, one_time_code or None,
                                                  address_of(request))
    except LiaisonError as error:
        return render(request, "sign_in.html", {"error": error.message, "principal_id": principal_id}, 401)
    session_id, _ = await asyncio.to_thread(system.identity.start_session, principal, address_of(request))
    response = RedirectResponse("/web/inbox", status_code=303)
    response.set_cookie(SESSION_COOKIE, session_id, httponly=True, samesite="strict",
                        secure=system.settings.secure_cookies, path="/",
                        max_age=int(system.settings.session_lifetime.total_seconds()))
    return response


@router.post("/sign-out")
async def sign_out(request: Request, found: ViewerDep) -> Response:
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        await asyncio.to_thread(system_of(request).identity.end_session, session_id)
    response = RedirectResponse("/web/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/language")
async def switch_language(request: Request, lang: str, next: str | None = None) -> Response:
    """Remembered in a cookie for a year: the user's choice wins over the browser's Accept-Language."""
    response = RedirectResponse(local_path(next), status_code=303)
    if lang in languages():
        response.set_cookie(LANGUAGE_COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax", path="/")
    return response


@router.get("/notifications")
async def notifications(request: Request, found: ViewerDep) -> Response:
    notices = await system_of(request).notifications.inbox(found.actor, "web page: notifications list")
    response = await page(request, found, "notifications.html", {"notices": notices})
    response.set_cookie(SEEN_COOKIE, datetime.now(UTC).isoformat(), httponly=True, samesite="strict", path="/")
    return response
