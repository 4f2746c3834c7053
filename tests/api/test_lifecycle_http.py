"""The whole lifecycle driven only through the HTTP API, with a token for each principal."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.api.conftest import Api
from tests.workflows.scenario import ASSESSMENT, distinct_place


def _later(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def new_operation(tag: str | None = None) -> dict[str, Any]:
    tag = tag or uuid.uuid4().hex[:8]
    return {"operation_id": f"op-http-{tag}", "justification": "HTTP lifecycle", "spec": {
        "code_name": f"HTTP-{tag}", "lead_state": "BG", "participating_states": ["EL"],
        "crime_areas": ["migrant_smuggling"], "handling_code": "H1", "networks": [{"name": "Net"}],
        "targets": [{"name": f"Target {uuid.uuid4().hex[:8]}", "date_of_birth": "1980-01-01", "network": "Net"}]}}


async def ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json() if answer.content else None


async def open_operation(api: Api, body: dict[str, Any] | None = None) -> str:
    body = body or new_operation()
    async with await api.as_("coord-1") as coord:
        opened = await ok(await coord.post("/operations", json=body), 201)
    assert opened["status"] == "opened" and opened["state"]["phase"] == "identify"
    return str(body["operation_id"])


async def to_prepare(api: Api, operation_id: str) -> None:
    async with await api.as_("coord-1") as coord:
        await ok(await coord.post(f"/operations/{operation_id}/submit-for-prioritisation",
                                  json={"assessment": ASSESSMENT.model_dump()}))
        decided = await ok(await coord.post(f"/operations/{operation_id}/decide-priority", json={}))
    assert decided["phase"] == "prepare"


async def test_the_whole_lifecycle_through_the_api(api: Api) -> None:
    operation_id = await open_operation(api)
    await to_prepare(api, operation_id)
    async with await api.as_("coord-1") as coord:
        await ok(await coord.post(f"/operations/{operation_id}/plan-task", json={
            "member_state": "BG", "task_kind": "arrest", "description": "arrest the target", "due": _later(3600),
            "four_eyes": True}))
        await ok(await coord.post(f"/operations/{operation_id}/plan-task", json={
            "member_state": "EL", "task_kind": "search", "description": "search the flat", "due": _later(3600)}))
    async with await api.as_("ap-bg-1") as first, await api.as_("ap-bg-2") as second, \
            await api.as_("ap-el-1") as greek:
        inbox = await ok(await first.get("/tasks/pending", params={"operation_id": operation_id}))
        assert [(t["task_id"], t["member_state"]) for t in inbox] == [("TK1", "BG")]
        given = await ok(await first.post(f"/operations/{operation_id}/approve-task", json={"task_id": "TK1"}))
        assert given["events"] == ["task_approval_given"]
        twice = await first.post(f"/operations/{operation_id}/approve-task", json={"task_id": "TK1"})
        assert twice.status_code == 409 and twice.headers["content-type"] == "application/problem+json"
        assert "two different approvers" in twice.json()["detail"]
        approved = await ok(await second.post(f"/operations/{operation_id}/approve-task", json={"task_id": "TK1"}))
        assert approved["events"] == ["task_approval_given", "task_approved"]
        await ok(await greek.post(f"/operations/{operation_id}/approve-task", json={"task_id": "TK2"}))
    async with await api.as_("coord-1") as coord:
        place = distinct_place().model_dump()
        await ok(await coord.post(f"/operations/{operation_id}/schedule-action-day", json={
            "start": _later(1.5), "end": _later(3600), "places": [place]}))
        state = await _wait_for_phase(coord, operation_id, "execute")
        assert state["action_days"]["AD1"]["status"] == "running"
    async with await api.as_("lo-bg") as bulgarian, await api.as_("lo-el") as greek_officer:
        await ok(await bulgarian.post(f"/operations/{operation_id}/report-results",
                                      json={"results": {"arrests": 3}}))
        closing = await ok(await greek_officer.post(f"/operations/{operation_id}/report-results",
                                                    json={"results": {"arrests": 1, "victims_safeguarded": 5}}))
    assert closing["events"][-1] == "operation_closed"
    async with await api.as_("aud-1", purpose="audit of the closed operation") as auditor:
        verified = await ok(await auditor.post("/audit/verify", json={"operation_ids": [operation_id]}))
        assert verified[0]["intact"] and verified[0]["events"] == closing["seq"]
        replayed = await ok(await auditor.get(f"/audit/operations/{operation_id}/replay"))
        assert replayed["state"]["phase"] == "closed" and replayed["state"]["totals"]["arrests"] == 4
        timeline = await ok(await auditor.get(f"/operations/{operation_id}/timeline"))
        assert [e["type"] for e in timeline][-1] == "operation_closed"
        assert all(e["actor"] != "" for e in timeline)


async def _wait_for_phase(client: httpx.AsyncClient, operation_id: str, phase: str) -> dict[str, Any]:
    for _ in range(200):
        state = await ok(await client.get(f"/operations/{operation_id}"))
        if state["phase"] == phase:
            return dict(state)
        await asyncio.sleep(0.05)
    raise AssertionError(f"{operation_id} never reached {phase}")
