"""Every error as problem+json (RFC 9457), with the status of its kind (services/errors.py) and a detail
naming field, value and rule; never a stack trace."""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from domain.errors import ErrorKind, LiaisonError
from services.errors import PRESENTATION
from services.failures import classify

log = structlog.get_logger(__name__)
PROBLEM = "application/problem+json"
SECRET_FIELDS = ("password", "code", "token", "secret")  # never echoed back in an error


class Problem(BaseModel):
    """The body of every error response."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    field: str | None = None
    value: str | None = None
    errors: list[dict[str, Any]] = []
    error_id: str | None = None


# Declared on every route, so the OpenAPI document says what an error looks like (and replaces FastAPI's own
# validation-error schema, which Liaison never sends).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    shown.http_status: {"model": Problem, "description": shown.title,
                        "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    for shown in PRESENTATION.values()}


def problem_response(status: int, kind: str, title: str, detail: str, code: str, *, field: str | None = None,
                     value: Any = None, errors: list[dict[str, Any]] | None = None, error_id: str | None = None,
                     headers: dict[str, str] | None = None) -> JSONResponse:
    body = Problem(type=f"https://liaison.invalid/problems/{kind}", title=title, status=status, detail=detail,
                   code=code, field=field, value=None if value is None else str(value)[:200], errors=errors or [],
                   error_id=error_id)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, media_type=PROBLEM,
                        headers=headers)


def of_error(error: LiaisonError) -> JSONResponse:
    shown = PRESENTATION[error.kind]
    headers = {"WWW-Authenticate": "Bearer"} if error.kind is ErrorKind.NOT_AUTHENTICATED else None
    if error.kind is ErrorKind.UNAVAILABLE:
        headers = {"Retry-After": "5"}
    return problem_response(shown.http_status, error.kind.value, shown.title, error.message, error.code,
                            field=error.field, value=error.value, headers=headers)


def _validation(error: RequestValidationError) -> JSONResponse:
    problems: list[dict[str, Any]] = []
    lines: list[str] = []
    for item in error.errors():
        where = ".".join(str(part) for part in item.get("loc", ()) if part != "body") or "(body)"
        got = item.get("input")
        secret = any(word in where for word in SECRET_FIELDS)
        shown = None if secret or isinstance(got, dict | list) or got is None else str(got)[:200]
        problems.append({"field": where, "rule": str(item.get("msg", "")), "value": shown})
        lines.append(f"{where}: {item.get('msg', '')}" + (f" (got {shown!r})" if shown is not None else ""))
    first: dict[str, Any] = problems[0] if problems else {"field": None, "value": None}
    invalid = PRESENTATION[ErrorKind.INVALID_INPUT]
    return problem_response(invalid.http_status, "invalid_input", invalid.title, "the request is not valid: " +
                            "; ".join(lines), "invalid_input", field=first["field"], value=first["value"],
                            errors=problems)


def install(app: FastAPI) -> None:
    @app.exception_handler(LiaisonError)
    async def liaison_error(request: Request, error: LiaisonError) -> JSONResponse:
        hook = getattr(request.app.state, "on_refusal", None)
        if hook is not None:
            hook(request, error)
        return of_error(error)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        return _validation(error)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        kind = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(error.status_code, "http_error")
        detail = str(error.detail)
        if error.status_code == 404 and detail == "Not Found":
            detail = f"no such resource: {request.method} {request.url.path} (see /docs)"
        return problem_response(error.status_code, kind, detail if error.status_code != 404 else "Not found",
                                detail, kind, headers=getattr(error, "headers", None))

    @app.exception_handler(Exception)
    async def internal(request: Request, error: Exception) -> JSONResponse:
        known = classify(error)  # the store's address is for the server's log, not for any caller
        if known is not None:
            return of_error(known)
        error_id = uuid.uuid4().hex[:12]
        log.error("api_internal_error", error_id=error_id, path=request.url.path, exc_info=error)
        shown = PRESENTATION[ErrorKind.INTERNAL]
        return problem_response(shown.http_status, "internal", shown.title,
                                f"an internal error happened (error id {error_id}); it is logged on the server",
                                "internal", error_id=error_id)
