"""Signing in: passwords, lockout, tokens (expiry, revocation, a new address), browser sessions with CSRF,
principal changes under an administrator, the security log, and the request-size limit."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pyotp
import pytest
from sqlalchemy import select

from bootstrap import System
from domain.actors import Role
from domain.principal_events import PRINCIPAL_STREAM
from gateway.audit import verify_records
from store.audit_log import AuditLog
from store.security_log import SecurityLog
from store.tables import audit_events
from tests.api.conftest import Api
from tests.api.test_lifecycle_http import new_operation, ok
from tests.identities import ADMIN, PASSWORD, register


def _security(system: System, principal_id: str, kind: str | None = None) -> list[str]:
    return [e.kind if kind is None else e.detail for e in SecurityLog(system.engine).search(kind, principal_id)]


async def test_a_wrong_password_is_refused_logged_and_repeated_failures_lock(api: Api, api_system: System) -> None:
    pid = f"lo-de-{uuid.uuid4().hex[:6]}"
    register(api_system, pid, Role.LIAISON_OFFICER, "DE")
    async with api.anonymous() as anonymous:
        for _ in range(api_system.settings.sign_in_lock_after):
            failed = await anonymous.post("/auth/token", json={"principal_id": pid, "password": "not it at all"})
            assert failed.status_code == 401 and failed.json()["code"] == "sign_in_failed"
            assert failed.json()["detail"] == "sign-in failed: unknown principal or wrong password"
        locked = await anonymous.post("/auth/token", json={"principal_id": pid, "password": PASSWORD})
        assert locked.status_code == 401 and locked.json()["code"] == "locked_out"
        assert "locked after repeated failed sign-ins" in locked.json()["detail"]
        unknown = await anonymous.post("/auth/token", json={"principal_id": "nobody-at-all", "password": "x"})
        assert unknown.json()["detail"] == failed.json()["detail"]  # an unknown id looks like a wrong password
    kinds = _security(api_system, pid)
    assert kinds.count("sign_in_failed") == api_system.settings.sign_in_lock_after and "sign_in_refused" in kinds
    assert _security(api_system, pid, "sign_in_failed")[-1] == "wrong password (attempt 5)"
    assert "locked until" in _security(api_system, pid, "sign_in_refused")[-1]
    assert _security(api_system, "nobody-at-all") == ["sign_in_failed"]
    # An administrator's reset unlocks, and the one-time password it returns signs in.
    async with await api.as_(ADMIN) as admin:
        reset = await ok(await admin.patch(f"/principals/{pid}", json={"reset_password": True,
                                                                       "justification": "locked out"}))
    assert reset["one_time_password"]
    await api.token(pid, reset["one_time_password"])


async def test_parallel_guesses_check_no_more_passwords_than_the_limit(api: Api, api_system: System) -> None:
    """Forty wrong guesses and the right password sent at once: at most the limit are checked, and the
    right one does not get through once the principal is locked."""
    pid = f"lo-cz-{uuid.uuid4().hex[:6]}"
    register(api_system, pid, Role.LIAISON_OFFICER, "CZ")
    async with api.anonymous() as anonymous:
        guesses = [anonymous.post("/auth/token", json={"principal_id": pid, "password": f"guess {n}"})
                   for n in range(40)]
        answers = await asyncio.gather(*guesses, anonymous.post("/auth/token", json={
            "principal_id": pid, "password": PASSWORD}))
    checked = [e for e in _security(api_system, pid, "sign_in_failed")]
    assert len(checked) <= api_system.settings.sign_in_lock_after
    assert answers[-1].status_code in (201, 401)
    if answers[-1].status_code == 401:
        assert answers[-1].json()["code"] == "locked_out"


async def test_tokens_expire_are_revoked_and_are_never_stored_in_clear(api: Api, api_system: System) -> None:
    token = await api.token("lo-bg")
    with api_system.engine.connect() as conn:
        stored = conn.execute(select(audit_events.c.payload)).all()
    assert all(token not in str(row) for row in stored)
    async with api.anonymous(Authorization=f"Bearer {token}") as officer:
        issued = await ok(await officer.post("/me/tokens", json={"name": "integration", "expires_in_hours": 1}), 201)
        mine = await ok(await officer.get("/me/tokens"))
        assert {"cli", "integration"} <= {t["name"] for t in mine}
        assert all("secret" not in str(t) and issued["token"] not in str(t) for t in mine)
    async with api.anonymous(Authorization=f"Bearer {issued['token']}") as integration:
        await ok(await integration.get("/me"))
        await ok(await integration.delete("/auth/token"), 204)  # sign out: this token ends
        after = await integration.get("/me")
    assert after.status_code == 401 and "revoked" in after.json()["detail"]
    assert after.headers["www-authenticate"] == "Bearer"


async def test_a_token_used_from_a_new_address_is_in_the_security_log(api: Api, api_system: System) -> None:
    pid = f"lo-it-{uuid.uuid4().hex[:6]}"
    register(api_system, pid, Role.LIAISON_OFFICER, "IT")
    token = await api.token(pid)
    for host in ("10.0.0.1", "10.0.0.2"):
        transport = httpx.ASGITransport(app=api.app, client=(host, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://liaison.test",
                                     headers={"Authorization": f"Bearer {token}"}) as client:
            await ok(await client.get("/me"))
    moved = _security(api_system, pid, "token_new_address")
    assert moved == [moved[0]] and "used from 10.0.0.2, last from 10.0.0.1" in moved[0]


async def test_disabling_a_principal_ends_its_tokens_and_is_an_event_of_the_principal_stream(
        api: Api, api_system: System) -> None:
    pid = f"ap-fr-{uuid.uuid4().hex[:6]}"
    async with await api.as_(ADMIN) as admin:
        created = await ok(await admin.post("/principals", json={
            "principal_id": pid, "role": "approver", "member_state": "fr", "display_name": "Approver  of France",
            "justification": "ticket 4711"}), 201)
        assert created["principal"]["member_state"] == "FR" and created["one_time_password"]
        token = await api.token(pid, created["one_time_password"])
        await ok(await admin.patch(f"/principals/{pid}", json={"disabled": True, "justification": "left the unit"}))
    async with api.anonymous(Authorization=f"Bearer {token}") as gone:
        refused = await gone.get("/me")
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    records = AuditLog(api_system.engine).read(PRINCIPAL_STREAM)
    mine = [r for r in records if r.payload["principal_id"] == pid]
    assert [(r.type, r.actor_id, r.justification) for r in mine] == [
        ("principal_registered", ADMIN, "ticket 4711"), ("principal_disabled", ADMIN, "left the unit")]
    assert verify_records(PRINCIPAL_STREAM, records, []).intact
    async with await api.as_("aud-1") as auditor:
        verified = await ok(await auditor.post("/audit/verify", json={"operation_ids": [PRINCIPAL_STREAM]}))
    assert verified[0]["intact"] and verified[0]["events"] == len(records)


async def test_an_altered_principal_change_is_found_by_verify(api: Api, api_system: System) -> None:
    """Making lo-bg a coordinator in the log, without recomputing the chain, breaks it at that event."""
    records = AuditLog(api_system.engine).read(PRINCIPAL_STREAM)
    target = next(r for r in records if r.type == "principal_registered" and r.payload["principal_id"] == "lo-bg")
    forged = [r.model_copy(update={"payload": {**r.payload, "role": "coordinator"}}) if r is target else r
              for r in records]
    findings = verify_records(PRINCIPAL_STREAM, forged, []).findings
    assert findings and findings[0].seq == target.seq


async def test_principal_ids_and_names_are_refused_by_rule(api: Api) -> None:
    async with await api.as_(ADMIN) as admin:
        for bad in ("", "x" * 10_000, "evil\x1b[31m", "two words"):
            refused = await admin.post("/principals", json={"principal_id": bad, "role": "auditor",
                                                            "justification": "test"})
            assert refused.status_code == 422, (bad[:20], refused.text)
            assert refused.json()["field"] == "principal_id"
        coordinator_with_a_state = await admin.post("/principals", json={
            "principal_id": "coord-bg", "role": "coordinator", "member_state": "BG", "justification": "test"})
        assert coordinator_with_a_state.status_code == 422
        same_id_other_case = await admin.post("/principals", json={
            "principal_id": "COORD-1", "role": "auditor", "justification": "test"})
        assert same_id_other_case.status_code == 409


async def test_a_browser_session_needs_its_csrf_token_for_writes(api: Api) -> None:
    async with api.anonymous() as browser:
        started = await ok(await browser.post("/auth/session", json={"principal_id": "coord-1",
                                                                      "password": PASSWORD}))
        cookie = browser.cookies.get("liaison_session")
        assert cookie and started["csrf_token"]
        await ok(await browser.get("/operations", headers={"X-Purpose": "board"}))
        body = new_operation()
        forged = await browser.post("/operations", json=body)
        assert forged.status_code == 403 and forged.json()["field"] == "X-CSRF-Token"
        opened = await browser.post("/operations", json=body, headers={"X-CSRF-Token": started["csrf_token"]})
        assert opened.status_code == 201, opened.text
        await ok(await browser.delete("/auth/session", headers={"X-CSRF-Token": started["csrf_token"]}), 204)
        browser.cookies.set("liaison_session", cookie)
        ended = await browser.get("/me")
    assert ended.status_code == 401


async def test_the_session_cookie_is_http_only_and_same_site_strict(api: Api) -> None:
    async with api.anonymous() as browser:
        answer = await browser.post("/auth/session", json={"principal_id": "aud-1", "password": PASSWORD})
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie


async def test_a_request_over_the_limit_is_refused_with_413_naming_it(api: Api, api_system: System) -> None:
    limit = api_system.settings.max_request_bytes
    body = new_operation()
    body["spec"]["description"] = "x" * (limit + 1)
    async with await api.as_("coord-1") as coord:
        refused = await coord.post("/operations", json=body)
        streamed = await coord.post("/operations", content=_chunks(limit // 1000 + 2),
                                    headers={"content-type": "application/json"})
    assert refused.status_code == 413 and f"limit of {limit} bytes" in refused.json()["detail"]
    assert streamed.status_code == 413
    async with await api.as_("coord-1") as coord:
        assert (await coord.get(f"/operations/{body['operation_id']}")).status_code == 404


async def _chunks(count: int) -> AsyncIterator[bytes]:
    """A body without a declared length: the limit counts what arrives."""
    for _ in range(count):
        yield b"x" * 1000


async def test_step_up_for_a_coercive_sign_off(api: Api, api_system: System) -> None:
    """An approver who enrolled a one-time code needs one to approve an arrest; the event records it."""
    pid = f"ap-bg-{uuid.uuid4().hex[:6]}"
    register(api_system, pid, Role.APPROVER, "BG")
    async with await api.as_(pid) as approver:
        stolen = await approver.post("/me/one-time-code", json={"password": "a guess at it"})
        assert stolen.status_code == 422 and stolen.json()["field"] == "password"  # a token alone is not enough
        enrolment = await ok(await approver.post("/me/one-time-code", json={"password": PASSWORD}))
        totp = pyotp.TOTP(enrolment["secret"])
        assert enrolment["uri"].startswith("otpauth://totp/")
        await ok(await approver.post("/me/one-time-code/confirm", json={"code": totp.now()}))
    from tests.api.test_authorisation import operation_in

    operation_id = await operation_in(api, "prepare")
    async with await api.as_(pid) as approver:
        without = await approver.post(f"/operations/{operation_id}/approve-task", json={"task_id": "TK1"})
        assert without.status_code == 403 and without.json()["code"] == "step_up_required", without.text
        wrong = await approver.post(f"/operations/{operation_id}/approve-task", json={"task_id": "TK1"},
                                    headers={"X-One-Time-Code": "000000" if totp.now() != "000000" else "111111"})
        assert wrong.status_code == 403 and wrong.json()["code"] == "step_up_required"
        # The confirming code's step is used up: the next one (within the drift window) signs off.
        following = totp.at(datetime.now(UTC) + timedelta(seconds=30))
        done = await approver.post(f"/operations/{operation_id}/approve-task", json={"task_id": "TK1"},
                                   headers={"X-One-Time-Code": following})
        assert done.status_code == 200, done.text
        # A search task of EL is not BG's; a non-coercive kind would need no code (see the decider tests).
    given = [r for r in AuditLog(api_system.engine).read(operation_id) if r.type == "task_approval_given"]
    assert given[-1].payload.get("step_up") is True


@pytest.mark.parametrize("path", ["/operations", "/me", "/audit/checkpoints"])
async def test_without_credentials_every_endpoint_says_how_to_sign_in(api: Api, path: str) -> None:
    async with api.anonymous() as anonymous:
        answer = await anonymous.get(path)
    assert answer.status_code == 401 and "liaison login" in answer.json()["detail"]


def test_a_setting_makes_one_time_codes_mandatory_for_approvers(api_system: System) -> None:
    from services.identity import IdentityService
    from store.principals import Principals
    from store.tokens import Tokens, WebSessions

    strict = IdentityService(Principals(api_system.engine), Tokens(api_system.engine),
                             WebSessions(api_system.engine), api_system.security,
                             api_system.settings.model_copy(update={"require_one_time_code_for_approvers": True}))
    approver = register(api_system, f"ap-lv-{uuid.uuid4().hex[:6]}", Role.APPROVER, "LV")
    assert strict.fields(approver, None) == {"step_up": False, "step_up_required": True}
    assert api_system.identity.fields(approver, None) == {"step_up": False, "step_up_required": False}
    with pytest.raises(Exception, match="has no one-time code enrolled"):
        strict.fields(approver, "123456")
