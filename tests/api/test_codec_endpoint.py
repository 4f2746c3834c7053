"""The codec endpoint: payloads decoded for a coordinator or auditor holding a decode token issued with
a justification, and every decode logged as a consultation; to anyone else they stay encrypted. CORS
only for the Temporal UI's origin; the official CLI reads a history through it."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import subprocess
from typing import Any

import uvicorn
from fastapi import FastAPI
from google.protobuf import json_format

from bootstrap import System
from domain.actors import Actor, Role
from gateway.codec import ENCODING
from gateway.witness import histories
from tests.api.conftest import Api
from tests.api.test_lifecycle_http import new_operation, ok, open_operation
from tests.conftest import temporal_binary

NAME = "Светослав Драганов"
AUDITOR = Actor(id="aud-1", role=Role.AUDITOR)


async def started_payloads(system: System, operation_id: str) -> list[dict[str, Any]]:
    """The payloads of the operation's history as Temporal holds them, in protobuf JSON, as the UI sends."""
    [history] = await histories(await system.temporal.client(), operation_id)
    return [json_format.MessageToDict(payload)
            for payload in history.events[0].workflow_execution_started_event_attributes.input.payloads]


def clear_text(payloads: list[dict[str, Any]]) -> str:
    return "".join(base64.b64decode(p.get("data", "")).decode("utf-8", "replace") for p in payloads)


def encrypted(payloads: list[dict[str, Any]]) -> bool:
    return all(base64.b64decode(p["metadata"]["encoding"]) == ENCODING for p in payloads)


async def named_operation(api: Api) -> str:
    body = new_operation()
    body["spec"]["targets"][0]["name"] = NAME
    return await open_operation(api, body)


async def test_an_auditor_with_a_token_reads_in_clear_and_is_logged_anyone_else_reads_ciphertext(
        api: Api, api_system: System) -> None:
    operation_id, other = await named_operation(api), await named_operation(api)
    payloads, elsewhere = await started_payloads(api_system, operation_id), await started_payloads(api_system, other)
    assert encrypted(payloads) and NAME not in clear_text(payloads)

    async with api.anonymous() as nobody:  # no token: still encrypted, and nothing was read
        answer = await ok(await nobody.post("/codec/decode", json={"payloads": payloads}))
        assert answer["payloads"] == payloads
        forged = await ok(await nobody.post("/codec/t/lpd1.tests.AAAA/decode", json={"payloads": payloads}))
        assert forged["payloads"] == payloads

    async with await api.as_("lo-bg") as officer:  # takes part, but payloads are unredacted
        refused = await officer.post(f"/operations/{operation_id}/decode-token", json={"justification": "curious"})
        assert refused.status_code == 403 and "only a coordinator or an auditor" in refused.json()["detail"]
    async with await api.as_("aud-1") as auditor:
        assert (await auditor.post(f"/operations/{operation_id}/decode-token", json={})).status_code == 422
        assert (await auditor.post("/operations/op-none/decode-token", json={"justification": "x"})).status_code == 404
        issued = await ok(await auditor.post(f"/operations/{operation_id}/decode-token",
                                             json={"justification": "audit 2030/7, Temporal UI", "minutes": 5}), 201)
    token = issued["token"]
    assert issued["codec_endpoint"].endswith(f"/codec/t/{token}") and "--codec-auth 'Bearer " in issued["temporal_cli"]

    async with api.anonymous(Authorization=f"Bearer {token}", **{"X-Namespace": "default"}) as ui:
        clear = await ok(await ui.post("/codec/decode", json={"payloads": payloads}))
        assert NAME in clear_text(clear["payloads"]) and not encrypted(clear["payloads"])
        mixed = await ok(await ui.post("/codec/decode", json={"payloads": payloads + elsewhere}))
        assert mixed["payloads"][len(payloads):] == elsewhere  # another operation's payloads stay sealed
        wrong_namespace = await ok(await ui.post("/codec/decode", json={"payloads": payloads},
                                                 headers={"X-Namespace": "other"}))
        assert wrong_namespace["payloads"] == payloads
    async with api.anonymous() as ui:
        in_path = await ok(await ui.post(f"/codec/t/{token}/decode", json={"payloads": payloads}))
        assert in_path == clear

    logged = [c for c in api_system.consultations.search(AUDITOR, operation_id)
              if c.actor_id == "aud-1"]
    assert [(c.action, c.outcome, c.justification) for c in logged][:1] == [
        ("decode token", "served", "audit 2030/7, Temporal UI")]
    decodes = [c for c in logged if c.action == "decode Temporal payloads"]
    assert len(decodes) == 3 and {c.detail for c in decodes} == {f"{len(payloads)} of {len(payloads)} payloads "
                                                                 "decoded", f"{len(payloads)} of "
                                                                 f"{len(payloads) + len(elsewhere)} payloads decoded"}
    assert all(c.justification == "audit 2030/7, Temporal UI" for c in decodes)


async def test_cors_only_for_the_temporal_ui_origin(api: Api) -> None:
    async with api.anonymous() as browser:
        allowed = await browser.options("/codec/decode", headers={
            "Origin": "http://127.0.0.1:8233", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-namespace,authorization"})
        assert allowed.status_code == 204 and allowed.headers["access-control-allow-origin"] == "http://127.0.0.1:8233"
        assert allowed.headers["access-control-allow-headers"] == "Content-Type, X-Namespace, Authorization"
        other = await browser.options("/codec/decode", headers={"Origin": "http://evil.example",
                                                                 "Access-Control-Request-Method": "POST"})
        assert "access-control-allow-origin" not in other.headers
        posted = await browser.post("/codec/decode", json={"payloads": []}, headers={"Origin": "http://evil.example"})
        assert posted.status_code == 200 and "access-control-allow-origin" not in posted.headers
        elsewhere = await browser.options("/operations", headers={"Origin": "http://127.0.0.1:8233",
                                                                  "Access-Control-Request-Method": "POST"})
        assert "access-control-allow-origin" not in elsewhere.headers  # the rest of the API allows no origin


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_the_official_cli_shows_a_history_decoded_through_the_endpoint(
        api: Api, app: FastAPI, api_system: System) -> None:
    operation_id = await named_operation(api)
    async with await api.as_("coord-1") as coordinator:
        issued = await ok(await coordinator.post(f"/operations/{operation_id}/decode-token",
                                                 json={"justification": "checking the opening"}), 201)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off"))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.02)
        address = (await api_system.temporal.client()).service_client.config.target_host
        show = [temporal_binary(), "workflow", "show", "--workflow-id", operation_id, "--address", address,
                "--output", "json"]
        plain = await asyncio.to_thread(subprocess.run, show, capture_output=True, check=True)
        decoded = await asyncio.to_thread(subprocess.run, [*show, "--codec-endpoint", f"http://127.0.0.1:{port}/codec",
                                                           "--codec-auth", f"Bearer {issued['token']}"],
                                          capture_output=True, check=True)
    finally:
        server.should_exit = True
        await serving
    assert NAME.encode() not in plain.stdout
    started = json.loads(decoded.stdout)["events"][0]["workflowExecutionStartedEventAttributes"]["input"]
    assert NAME in clear_text(started["payloads"])
