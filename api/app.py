"""The FastAPI application: the size limit, authentication, problem+json errors, and the routes."""

from __future__ import annotations

import structlog
from fastapi import FastAPI, Request

from api import problems, web
from api.auth import address_of
from api.limits import RequestSizeLimit
from api.routes import audit, codec, operations, principals, session, tasks
from bootstrap import System
from domain.actors import Actor
from domain.errors import ErrorKind, LiaisonError

log = structlog.get_logger(__name__)
SECURITY_KINDS = {ErrorKind.NOT_AUTHENTICATED, ErrorKind.NOT_AUTHORISED}


def create_app(system: System) -> FastAPI:
    app = FastAPI(
        title="Liaison", version="1", responses=problems.ERROR_RESPONSES,
        description="Cross-border operations against migrant smuggling: every call runs as the authenticated "
                    "principal (Authorization: Bearer <token> from POST /auth/token). Reads need X-Purpose, which "
                    "is logged; commands take an Idempotency-Key. Errors are application/problem+json.")
    app.state.system = system
    app.state.on_refusal = _security_logger(system)
    problems.install(app)
    for router in (session.router, principals.router, operations.router, tasks.router, audit.router, codec.router):
        app.include_router(router)
    web.install(app)
    app.add_middleware(RequestSizeLimit, max_bytes=system.settings.max_request_bytes)

    @app.get("/health", tags=["health"])
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def _security_logger(system: System):  # type: ignore[no-untyped-def]
    """Every refusal of who the caller is or what it may do is in the security log, once."""

    def record(request: Request, error: LiaisonError) -> None:
        if error.kind not in SECURITY_KINDS or getattr(error, "security_logged", False):
            return
        actor: Actor | None = getattr(request.state, "actor", None)
        system.security.record("refused" if actor else "unauthenticated", f"{error.code}: {error.message}",
                               actor=actor, address=address_of(request),
                               operation_id=request.path_params.get("operation_id"),
                               action=f"{request.method} {request.url.path}"[:80])

    return record
