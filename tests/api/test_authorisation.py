"""The authorisation matrix: every kind of caller against every endpoint. The allowed pass authorisation;
the refused get 401 or 403 with the rule named, change nothing (audit log, read models and Temporal
history compared before and after), and appear in the security log."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from temporalio.client import Client

from bootstrap import System
from domain.actors import Role
from store.security_log import SecurityLog
from store.tables import audit_events, operation_summaries, pending_tasks
from store.tokens import Tokens
from tests.api.conftest import Api
from tests.api.test_lifecycle_http import new_operation, ok
from tests.identities import ADMIN
from tests.workflows.scenario import ASSESSMENT, distinct_place

OPERATIONAL = ["coord-1", "aud-1", "lo-bg", "ap-bg-1", "ap-bg-2", "lo-el", "ap-el-1", "lo-fr", "ap-fr-1", "lo-rs"]
AUTHENTICATED = [ADMIN, *OPERATIONAL]
UNAUTHENTICATED = ["anonymous", "expired", "revoked", "forged"]
EVERYONE = AUTHENTICATED + UNAUTHENTICATED
READERS_OF_THE_OPERATION = ["coord-1", "aud-1", "lo-bg", "ap-bg-1", "ap-bg-2", "lo-el", "ap-el-1", "lo-rs"]
AUDITORS = ["coord-1", "aud-1"]


def _later(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


@dataclass
class Endpoint:
    name: str
    method: str
    path: str  # {op} is the operation's id
    allowed: list[str]
    body: Callable[[], Any] | None = None
    phase: str = "prepare"  # where a fresh operation is brought before the calls
    params: dict[str, str] = field(default_factory=dict)


def _target() -> dict[str, Any]:
    return {"target": {"name": f"Person {uuid.uuid4().hex[:6]}", "date_of_birth": "1971-02-03"}}


COMMANDS = [
    Endpoint("add target", "POST", "/operations/{op}/add-target", ["coord-1", "lo-bg", "lo-el", "lo-rs"], _target,
             "identify"),
    Endpoint("add intelligence", "POST", "/operations/{op}/add-intelligence", ["coord-1", "lo-bg", "lo-el", "lo-rs"],
             lambda: {"item": {"summary": "a courier route"}}, "identify"),
    Endpoint("invite partner", "POST", "/operations/{op}/invite-partner", ["coord-1"],
             lambda: {"partner": "NO", "justification": "they hold the boat"}, "identify"),
    Endpoint("submit", "POST", "/operations/{op}/submit-for-prioritisation", ["coord-1"],
             lambda: {"assessment": ASSESSMENT.model_dump()}, "identify"),
    Endpoint("decide priority", "POST", "/operations/{op}/decide-priority", ["coord-1"], lambda: {}, "prioritise"),
    Endpoint("plan task", "POST", "/operations/{op}/plan-task", ["coord-1"], lambda: {
        "member_state": "EL", "task_kind": "surveillance", "description": "watch the port", "due": _later(3600)}),
    Endpoint("approve task", "POST", "/operations/{op}/approve-task", ["ap-bg-1", "ap-bg-2"],
             lambda: {"task_id": "TK1"}),
    Endpoint("reject task", "POST", "/operations/{op}/reject-task", ["ap-el-1"],
             lambda: {"task_id": "TK2", "justification": "the warrant covers another address"}),
    Endpoint("replan task", "POST", "/operations/{op}/replan-task", ["coord-1"],
             lambda: {"task_id": "TK2", "description": "search the warehouse"}),
    Endpoint("drop task", "POST", "/operations/{op}/drop-task", ["coord-1"],
             lambda: {"task_id": "TK2", "justification": "not needed"}),
    Endpoint("schedule action day", "POST", "/operations/{op}/schedule-action-day", ["coord-1"],
             lambda: {"start": _later(7200), "end": _later(9000), "places": [distinct_place().model_dump()]}),
    Endpoint("cancel action day", "POST", "/operations/{op}/cancel-action-day", ["coord-1"],
             lambda: {"action_day_id": "AD1", "justification": "weather"}, "scheduled"),
    Endpoint("report results", "POST", "/operations/{op}/report-results", ["lo-bg", "lo-el"],
             lambda: {"results": {"arrests": 1}}, "execute"),
    Endpoint("request release", "POST", "/operations/{op}/request-release", ["coord-1", "lo-el"],
             lambda: {"item_id": "IN1", "to_state": "EL"}),
    Endpoint("cancel operation", "POST", "/operations/{op}/cancel-operation", ["coord-1"],
             lambda: {"justification": "the network moved"}),
]

READS = [
    Endpoint("list operations", "GET", "/operations", OPERATIONAL),
    Endpoint("show", "GET", "/operations/{op}", READERS_OF_THE_OPERATION),
    Endpoint("timeline", "GET", "/operations/{op}/timeline", READERS_OF_THE_OPERATION),
    Endpoint("intelligence", "GET", "/operations/{op}/intelligence", READERS_OF_THE_OPERATION),
    Endpoint("pending tasks", "GET", "/tasks/pending", ["coord-1", "ap-bg-1", "ap-bg-2", "ap-el-1"],
             params={"operation_id": "{op}"}),
    Endpoint("notifications", "GET", "/notifications", OPERATIONAL),
    Endpoint("deconfliction check", "POST", "/deconfliction/checks", ["coord-1", "lo-bg"],
             lambda: {"targets": [{"name": "Somebody Else", "date_of_birth": "1960-01-01"}], "member_state": "BG"}),
    Endpoint("audit replay", "GET", "/audit/operations/{op}/replay", AUDITORS),
    Endpoint("audit verify", "POST", "/audit/verify", AUDITORS, lambda: {"operation_ids": ["{op}"]}),
    Endpoint("audit export", "GET", "/audit/operations/{op}/export", AUDITORS),
    Endpoint("consultations", "GET", "/audit/consultations", AUDITORS, params={"operation_id": "{op}"}),
    Endpoint("checkpoint", "POST", "/audit/checkpoints", AUDITORS),
    Endpoint("verify checkpoints", "GET", "/audit/checkpoints", AUDITORS),
    Endpoint("history replay", "POST", "/audit/histories/replay", AUDITORS, lambda: {"workflow_id": "{op}"}),
    Endpoint("register principal", "POST", "/principals", [ADMIN], lambda: {
        "principal_id": f"lo-de-{uuid.uuid4().hex[:6]}", "role": "liaison_officer", "member_state": "DE",
        "justification": "new liaison officer of DE"}),
    Endpoint("list principals", "GET", "/principals", [ADMIN, "aud-1"]),
    Endpoint("change principal", "PATCH", "/principals/lo-fr", [ADMIN],
             lambda: {"display_name": "Officer of France", "justification": "name as in the register"}),
    Endpoint("someone's tokens", "GET", "/tokens", [ADMIN, "lo-bg"], params={"principal_id": "lo-bg"}),
    Endpoint("security log", "GET", "/security-log", [ADMIN, "aud-1"]),
    Endpoint("me", "GET", "/me", AUTHENTICATED),
    Endpoint("own tokens", "GET", "/me/tokens", AUTHENTICATED),
]


class Callers:
    def __init__(self, api: Api, system: System) -> None:
        self.api = api
        self.system = system
        self.special: dict[str, str] = {}

    async def prepare(self) -> None:
        for pid in AUTHENTICATED:
            await self.api.token(pid)
        _, self.special["expired"] = Tokens(self.system.engine).issue("coord-1", "short", timedelta(microseconds=1),
                                                                      "coord-1")
        token = await self.api.token("coord-1")
        async with self.api.anonymous(Authorization=f"Bearer {token}") as coord:
            revocable = await ok(await coord.post("/me/tokens", json={"name": "to revoke"}), 201)
            await ok(await coord.delete(f"/tokens/{revocable['token_id']}"))
        self.special["revoked"] = revocable["token"]
        self.special["forged"] = "lsn_000000000000_" + "A" * 43

    def client(self, caller: str) -> httpx.AsyncClient:
        headers = {"X-Purpose": "authorisation matrix"}
        if caller in self.api.tokens:
            headers["Authorization"] = f"Bearer {self.api.tokens[caller]}"
        elif caller in self.special:
            headers["Authorization"] = f"Bearer {self.special[caller]}"
        return self.api.anonymous(**headers)


@pytest.fixture(scope="module")
async def callers(api: Api, api_system: System) -> Callers:
    found = Callers(api, api_system)
    await found.prepare()
    return found


async def operation_in(api: Api, phase: str) -> str:
    """A fresh operation (BG leads, EL takes part, RS is a partner; BG's item IN1 under H2) in a phase."""
    body = new_operation()
    body["spec"]["partners"] = ["RS"]
    operation_id = str(body["operation_id"])
    async with await api.as_("coord-1") as coord:
        await ok(await coord.post("/operations", json=body), 201)
        await ok(await coord.post(f"/operations/{operation_id}/add-intelligence", json={
            "item": {"summary": "the money man's phone", "contributed_by": "BG", "handling_code": "H2"}}))
        if phase == "identify":
            return operation_id
        await ok(await coord.post(f"/operations/{operation_id}/submit-for-prioritisation",
                                  json={"assessment": ASSESSMENT.model_dump()}))
        if phase == "prioritise":
            return operation_id
        await ok(await coord.post(f"/operations/{operation_id}/decide-priority", json={}))
        await ok(await coord.post(f"/operations/{operation_id}/plan-task", json={
            "member_state": "BG", "task_kind": "arrest", "description": "arrest", "due": _later(3600),
            "four_eyes": True}))
        await ok(await coord.post(f"/operations/{operation_id}/plan-task", json={
            "member_state": "EL", "task_kind": "search", "description": "search", "due": _later(3600)}))
        if phase == "execute":  # an action day starts once every task of its states is approved
            for approver, task in (("ap-bg-1", "TK1"), ("ap-bg-2", "TK1"), ("ap-el-1", "TK2")):
                async with await api.as_(approver) as signer:
                    await ok(await signer.post(f"/operations/{operation_id}/approve-task", json={"task_id": task}))
        if phase in ("scheduled", "execute"):
            start = 1.0 if phase == "execute" else 7200
            await ok(await coord.post(f"/operations/{operation_id}/schedule-action-day", json={
                "start": _later(start), "end": _later(start + 3600), "places": [distinct_place().model_dump()]}))
        if phase == "execute":
            for _ in range(200):
                if (await ok(await coord.get(f"/operations/{operation_id}")))["phase"] == "execute":
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError(f"{operation_id} did not reach EXECUTE")
    return operation_id


async def snapshot(system: System, temporal: Client, operation_id: str) -> tuple[Any, ...]:
    with system.engine.connect() as conn:
        events = conn.scalar(select(func.count()).select_from(audit_events)
                             .where(audit_events.c.stream_id.in_([operation_id, "@principals"])))
        summary = conn.execute(select(operation_summaries).where(
            operation_summaries.c.operation_id == operation_id)).first()
        tasks = conn.execute(select(pending_tasks).where(pending_tasks.c.operation_id == operation_id)
                             .order_by(pending_tasks.c.task_id)).all()
    history = await temporal.get_workflow_handle(operation_id).fetch_history()
    return events, tuple(summary or ()), tuple(map(tuple, tasks)), len(history.events)


def _fill(value: Any, operation_id: str) -> Any:
    if isinstance(value, str):
        return value.replace("{op}", operation_id)
    if isinstance(value, list):
        return [_fill(v, operation_id) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, operation_id) for k, v in value.items()}
    return value


async def call(callers: Callers, caller: str, endpoint: Endpoint, operation_id: str) -> httpx.Response:
    async with callers.client(caller) as client:
        body = _fill(endpoint.body(), operation_id) if endpoint.body else None
        return await client.request(endpoint.method, _fill(endpoint.path, operation_id),
                                    params=_fill(endpoint.params, operation_id), json=body)


def _security_entries(system: System) -> int:
    return len(SecurityLog(system.engine).search(limit=100_000))


async def settled(system: System, temporal: Client, operation_id: str) -> None:
    """Wait until the workflow has finished what it does on its own (an action day starting)."""
    last = await snapshot(system, temporal, operation_id)
    for _ in range(50):
        await asyncio.sleep(0.2)
        now = await snapshot(system, temporal, operation_id)
        if now == last:
            return
        last = now
    raise AssertionError(f"{operation_id} never settled")


async def _check_matrix(endpoint: Endpoint, operation_id: str, callers: Callers, system: System,
                        temporal: Client) -> None:
    await settled(system, temporal, operation_id)
    for caller in EVERYONE:
        if caller in endpoint.allowed:
            continue
        before, logged = await snapshot(system, temporal, operation_id), _security_entries(system)
        answer = await call(callers, caller, endpoint, operation_id)
        expected = 401 if caller in UNAUTHENTICATED else 403
        assert answer.status_code == expected, f"{caller} → {endpoint.name}: {answer.status_code} {answer.text}"
        problem = answer.json()
        assert answer.headers["content-type"] == "application/problem+json"
        assert ("may not" in problem["detail"] or "only" in problem["detail"]) if expected == 403 else \
            "not signed in" in problem["detail"], problem
        assert await snapshot(system, temporal, operation_id) == before, f"{caller} → {endpoint.name} changed state"
        assert _security_entries(system) == logged + 1, f"{caller} → {endpoint.name} not in the security log once"
    for number, caller in enumerate(endpoint.allowed):
        answer = await call(callers, caller, endpoint, operation_id)
        # The first allowed caller succeeds; a later one may find the first one's work done (a conflict).
        passed = answer.status_code < 300 if number == 0 else answer.status_code not in (401, 403, 422, 500)
        assert passed, f"{caller} → {endpoint.name}: {answer.status_code} {answer.text}"


@pytest.mark.parametrize("endpoint", COMMANDS, ids=lambda e: e.name)
async def test_commands(endpoint: Endpoint, api: Api, callers: Callers, api_system: System,
                        temporal_client: Client) -> None:
    operation_id = await operation_in(api, endpoint.phase)
    await _check_matrix(endpoint, operation_id, callers, api_system, temporal_client)


@pytest.fixture(scope="module")
async def read_operation(api: Api) -> str:
    return await operation_in(api, "prepare")


@pytest.mark.parametrize("endpoint", READS, ids=lambda e: e.name)
async def test_reads_and_administration(endpoint: Endpoint, read_operation: str, callers: Callers,
                                        api_system: System, temporal_client: Client) -> None:
    await _check_matrix(endpoint, read_operation, callers, api_system, temporal_client)


async def test_four_eyes_cannot_be_met_by_self_registered_principals(api: Api, api_system: System) -> None:
    """Nobody but an administrator registers a principal, and the server-side bootstrap makes only the first."""
    async with await api.as_("ap-bg-1") as approver:
        second_self = await approver.post("/principals", json={
            "principal_id": "ap-bg-1-again", "role": "approver", "member_state": "BG", "justification": "me again"})
    assert second_self.status_code == 403 and "only an administrator" in second_self.json()["detail"]
    with pytest.raises(Exception, match="an administrator exists already"):
        api_system.principals.bootstrap_administrator("another-admin")


async def test_a_partner_never_approves(api: Api) -> None:
    async with await api.as_(ADMIN) as admin:
        refused = await admin.post("/principals", json={
            "principal_id": "ap-rs-1", "role": "approver", "member_state": "RS", "justification": "RS approver"})
    assert refused.status_code == 422 and refused.json()["field"] == "member_state"
    assert "partner" in refused.json()["detail"]


def test_roles_cover_every_role() -> None:
    """The matrix names a principal of every role there is (a new role must be added to it)."""
    from tests.api.conftest import PRINCIPALS

    assert {role for _, role, _ in PRINCIPALS} | {Role.ADMINISTRATOR} == set(Role) - {Role.SYSTEM}
