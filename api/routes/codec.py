"""The codec endpoint (a Temporal "codec server") for the Temporal web UI and `temporal --codec-endpoint`,
and the decode tokens it takes.

A coordinator or auditor asks for a decode token for one operation, with a justification
(POST /operations/{id}/decode-token). The UI's data encoder setting then points at the token's endpoint,
/codec/t/{token} (the UI sends no credential of its own); the official CLI sends the token as
`--codec-auth 'Bearer ...'` to /codec. Without a valid token the payloads come back still encrypted.
Only /decode exists: encoding from outside would let a caller seal input for a workflow past the API's
rules. CORS is allowed for the configured Temporal UI origin only.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from google.protobuf import json_format
from pydantic import BaseModel, Field
from temporalio.api.common.v1 import Payload, Payloads

from api.auth import ActorDep, system_of
from domain.errors import InvalidInput
from services.payload_decoding import TOKEN_LIFETIME, DecodeToken

router = APIRouter(tags=["codec"])
CORS_HEADERS = "Content-Type, X-Namespace, Authorization"


class DecodeTokenRequest(BaseModel):
    justification: str = Field(min_length=1, max_length=2000, description="why you read the payloads (logged)")
    minutes: int = Field(default=int(TOKEN_LIFETIME.total_seconds() // 60), ge=1, le=60)


class PayloadsBody(BaseModel):
    """Temporal's codec server body: payloads as protobuf JSON (metadata values and data in base64)."""

    payloads: list[dict[str, Any]] = Field(max_length=10_000)


@router.post("/operations/{operation_id}/decode-token", response_model=DecodeToken, status_code=201)
async def decode_token(operation_id: str, body: DecodeTokenRequest, actor: ActorDep, request: Request) -> DecodeToken:
    """A short-lived token to read this operation's payloads in the Temporal UI or CLI (coordinators and
    auditors: payloads are unredacted); issuing it and every decode are consultation records."""
    return await system_of(request).payload_decoding.issue(actor, operation_id, body.justification,
                                                           str(request.base_url), timedelta(minutes=body.minutes))


def _cors(request: Request, response: Response) -> Response:
    origin = request.headers.get("origin")
    if origin and origin.rstrip("/") in system_of(request).settings.temporal_ui_origins:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
        response.headers["Access-Control-Max-Age"] = "600"
    response.headers["Vary"] = "Origin"
    return response


def _parsed(body: PayloadsBody) -> list[Payload]:
    try:
        return [json_format.ParseDict(item, Payload()) for item in body.payloads]
    except json_format.ParseError as error:
        raise InvalidInput("payloads", None, f"payloads: not Temporal payloads in protobuf JSON ({error})") from None


async def _decoded(request: Request, token: str | None, namespace: str | None, body: PayloadsBody) -> Response:
    decoded = await system_of(request).payload_decoding.decode(token, namespace, _parsed(body))
    answer = Response(content=json_format.MessageToJson(Payloads(payloads=decoded), indent=None),
                      media_type="application/json")
    return _cors(request, answer)


def _bearer(authorization: str | None) -> str | None:
    scheme, _, token = (authorization or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


NamespaceDep = Annotated[str | None, Header(alias="X-Namespace", max_length=200)]


@router.post("/codec/decode")
async def decode(body: PayloadsBody, request: Request, namespace: NamespaceDep = None,
                 authorization: Annotated[str | None, Header(max_length=4000)] = None) -> Response:
    """Temporal's codec server call, the token as `Authorization: Bearer ...` (`temporal --codec-auth`)."""
    return await _decoded(request, _bearer(authorization), namespace, body)


@router.post("/codec/t/{token}/decode")
async def decode_with_token_in_path(token: str, body: PayloadsBody, request: Request,
                                    namespace: NamespaceDep = None) -> Response:
    """The same, the token in the path: the endpoint to give the Temporal UI."""
    return await _decoded(request, token, namespace, body)


@router.options("/codec/decode", include_in_schema=False)
@router.options("/codec/t/{token}/decode", include_in_schema=False)
async def preflight(request: Request) -> Response:
    return _cors(request, Response(status_code=204))
