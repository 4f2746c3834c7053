"""schemathesis against the served OpenAPI document, with authenticated requests: whatever valid-looking
input it generates, no response is a 5xx and every response matches the schema it declares."""

from __future__ import annotations

import warnings
from typing import Any

import httpx
import schemathesis
from fastapi import FastAPI
from hypothesis.errors import NonInteractiveExampleWarning
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from tests.api.conftest import Api
from tests.identities import ADMIN

EXAMPLES = 12  # per operation and principal: about 1,000 requests
# Sign-out ends the token the request carries: such calls get a token of their own.
OWN_TOKEN = {("DELETE", "/auth/token"), ("DELETE", "/auth/session")}


async def test_generated_requests_get_no_5xx_and_match_the_schema(app: FastAPI, api: Api) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    calls = 0
    async with api.anonymous() as client:
        for result in schema.get_all_operations():
            operation = result.ok()  # type: ignore[union-attr]  # an Err would have failed loading
            strategy = operation.as_strategy()
            for principal in ("coord-1", ADMIN):
                for _ in range(EXAMPLES):
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", NonInteractiveExampleWarning)
                        case = strategy.example()
                    token = await _token(api, principal, (operation.method.upper(), operation.path))
                    response = await _send(client, case, token)
                    calls += 1
                    try:
                        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance,
                                                                 status_code_conformance])
                    except Exception as failure:  # every failing case is reported, not just the first
                        failures.append(f"{case.method} {case.formatted_path} as {principal}: "
                                        f"{response.status_code} {response.text[:300]}\n  {failure}")
    assert calls > 500
    assert not failures, f"{len(failures)} of {calls} failed:\n" + "\n".join(failures[:20])


async def _token(api: Api, principal: str, route: tuple[str, str]) -> str:
    if route not in OWN_TOKEN:
        return await api.token(principal)
    async with api.anonymous(Authorization=f"Bearer {await api.token(principal)}") as signed_in:
        issued = await signed_in.post("/me/tokens", json={"name": "to be signed out"})
    return str(issued.json()["token"])


async def _send(client: httpx.AsyncClient, case: Any, token: str) -> httpx.Response:
    kwargs = case.as_transport_kwargs(base_url="http://liaison.test")
    headers = {**(kwargs.get("headers") or {}), "Authorization": f"Bearer {token}"}
    headers.setdefault("X-Purpose", "schema test")
    request = {"method": kwargs["method"], "url": kwargs["url"], "headers": headers,
               "params": kwargs.get("params")}
    if "json" in kwargs:
        request["json"] = kwargs["json"]
    elif "data" in kwargs or "content" in kwargs:
        request["content"] = kwargs.get("content", kwargs.get("data"))
    return await client.request(**request)
