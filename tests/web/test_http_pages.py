"""The pages over plain HTTP: sign-in first, no-store everywhere, the CSRF token of a form, static files."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from tests.identities import PASSWORD
from tests.web.conftest import WebApi

PAGES = ["/web/inbox", "/web/operations", "/web/notifications"]


@asynccontextmanager
async def _signed_in(server: str, principal_id: str) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    async with httpx.AsyncClient(base_url=server, timeout=30) as http:
        answer = await http.post("/web/sign-in", data={"principal_id": principal_id, "password": PASSWORD})
        assert answer.status_code == 303 and answer.headers["location"] == "/web/inbox"
        inbox = await http.get("/web/inbox")
        token = re.search(r'name="csrf_token" value="([^"]+)"', inbox.text)
        assert token is not None
        yield http, token.group(1)


async def test_a_page_sends_a_visitor_who_is_not_signed_in_to_the_sign_in_form(server: str) -> None:
    async with httpx.AsyncClient(base_url=server) as http:
        for path in PAGES:
            answer = await http.get(path)
            assert (answer.status_code, answer.headers["location"]) == (303, "/web/sign-in"), path
        polled = await http.get("/web/operations/op-x/version", headers={"HX-Request": "true"})
        assert polled.headers["HX-Redirect"] == "/web/sign-in"
        form = await http.get("/web/sign-in")
        assert form.headers["cache-control"] == "no-store"
        assert '<label for="one_time_code">' in form.text


async def test_a_wrong_password_is_said_on_the_form(server: str) -> None:
    async with httpx.AsyncClient(base_url=server) as http:
        answer = await http.post("/web/sign-in", data={"principal_id": "ap-bg-1", "password": "wrong"})
    assert answer.status_code == 401 and 'role="alert"' in answer.text and "liaison_session" not in answer.headers.get(
        "set-cookie", "")


async def test_every_page_is_kept_out_of_the_cache_and_shows_the_unread_count(server: str, web_api: WebApi) -> None:
    async with _signed_in(server, "ap-bg-1") as (http, _):
        for path in PAGES:
            answer = await http.get(path)
            assert answer.status_code == 200, (path, answer.text[:500])
            assert answer.headers["cache-control"] == "no-store", path
            assert "script-src 'self'" in answer.headers["content-security-policy"], path
            assert 'id="unread-count"' in answer.text, path
        static = await http.get("/web/static/liaison.css")
        assert static.status_code == 200


async def test_a_form_without_its_csrf_token_is_refused(server: str) -> None:
    async with _signed_in(server, "ap-bg-1") as (http, token):
        fields = {"operation_id": "op-none", "task_id": "TK1", "decision": "approve", "reason": "r"}
        refused = await http.post("/web/inbox/sign-off", data=fields)
        assert refused.status_code == 403
        accepted = await http.post("/web/inbox/sign-off", data={**fields, "csrf_token": token})
        assert accepted.status_code == 409 and "op-none" in accepted.text  # refused by the service, on the page
        signed_out = await http.post("/web/sign-out", data={"csrf_token": token})
        assert signed_out.status_code == 303
        assert (await http.get("/web/inbox")).status_code == 303


async def test_a_refusal_is_a_page_with_the_apis_status(server: str) -> None:
    async with _signed_in(server, "aud-1") as (http, _):
        inbox = await http.get("/web/inbox")  # an auditor has no inbox
        assert inbox.status_code == 403 and 'role="alert"' in inbox.text
        assert inbox.headers["content-type"].startswith("text/html")
    async with _signed_in(server, "ap-el-1") as (http, _):
        missing = await http.get("/web/operations/op-that-does-not-exist")
        assert missing.status_code == 404 and "op-that-does-not-exist" in missing.text


async def test_the_board_filters(server: str) -> None:
    async with _signed_in(server, "coord-1") as (http, _):
        everything = await http.get("/web/operations", params={"min_priority": "", "parked": "", "blocked": ""})
        assert everything.status_code == 200
        nothing = await http.get("/web/operations", params={"min_priority": "100", "q": "no-such-code-name"})
        assert nothing.status_code == 200 and "No operations match." in nothing.text
        assert 'value="100"' in nothing.text  # the form keeps what was asked
