"""A failure from below (the store, Temporal, the network) in the one taxonomy; None for a bug. The API
and the server-side CLI commands both classify through here."""

from __future__ import annotations

from pydantic import ValidationError
from sqlalchemy import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from temporalio.service import RPCError, RPCStatusCode

from domain.errors import IntegrityFailure, LiaisonError, NotFound, Unavailable
from services.errors import invalid_input
from store.checkpoints import CheckpointConflict


def classify(error: BaseException, store_url: str | None = None) -> LiaisonError | None:
    if isinstance(error, LiaisonError):
        return error
    if isinstance(error, ValidationError):
        return invalid_input(error, "the input")
    if isinstance(error, DBAPIError) and not isinstance(error, IntegrityError):  # a constraint is a bug
        return Unavailable(store_problem(error, store_url))
    if isinstance(error, RPCError):
        if error.status is RPCStatusCode.INVALID_ARGUMENT:  # e.g. a malformed visibility query
            return LiaisonError("invalid_input", f"Temporal refused the request: {error.message}")
        if error.status is RPCStatusCode.NOT_FOUND:
            return NotFound("workflow_id", None, f"Temporal has no such workflow: {error.message}")
        return Unavailable(f"Temporal refused the request: {error.message}")
    if isinstance(error, ConnectionError):
        return Unavailable(f"a connection failed: {error}")
    if isinstance(error, CheckpointConflict):
        return IntegrityFailure(f"the audit log no longer matches a checkpoint already signed: {error}")
    return None


def store_problem(error: DBAPIError, store_url: str | None) -> str:
    url = make_url(store_url).render_as_string(hide_password=True) if store_url else "the store"
    cause = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
    return (f"the store at {url} cannot be used: {cause} "
            "(is the database running, and migrated? `make run` migrates it, or `alembic upgrade head`)")
