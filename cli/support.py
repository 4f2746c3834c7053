"""Shared CLI plumbing: the acting principal, error reporting, time parsing, spec files."""

from __future__ import annotations

import asyncio
import functools
import json
import re
import traceback
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn, ParamSpec, TypeVar

import structlog
import typer
import yaml
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.markup import escape
from sqlalchemy import Engine, make_url
from sqlalchemy.exc import DBAPIError
from temporalio.client import Client
from temporalio.service import RPCError

from domain.actors import Actor, Role
from domain.errors import DomainError
from gateway.operations import OperationsGateway, new_idempotency_key
from settings import Settings, get_settings
from store.audit_log import AuditLog
from store.checkpoints import CheckpointConflict
from store.consultations import Consultations
from store.db import make_engine
from store.principals import Principals

log = structlog.get_logger(__name__)
console = Console()
errors = Console(stderr=True, soft_wrap=True)
P = ParamSpec("P")
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


class CliError(Exception):
    """A user-facing failure: printed without a stack trace, exit code 1."""


def fail(message: str) -> NoReturn:
    raise CliError(message)


def format_validation(error: ValidationError, source: str) -> str:
    lines = [f"{source} is not valid:"]
    for problem in error.errors():
        where = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        got = problem.get("input")
        shown = "" if isinstance(got, dict | list) or got is None else f" (got {got!r})"
        lines.append(f"  {where}: {problem['msg']}{shown}")
    return "\n".join(lines)


def handle_errors(fn: Callable[P, T]) -> Callable[P, T]:
    """Turn refusals and bad input into a one-line message on stderr and exit code 1."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except DomainError as error:  # only a refusal says "refused": an unknown outcome or a conflict is not one
            label = {"unavailable": "unavailable", "integrity": "error"}.get(error.code, "refused")
            errors.print(f"[bold red]{label}:[/] {escape(error.message)}", highlight=False)
        except ValidationError as error:
            errors.print(f"[bold red]invalid input:[/] {format_validation(error, 'the input')}",
                         highlight=False)
        except CliError as error:
            errors.print(f"[bold red]error:[/] {error}", highlight=False)
        except (ConnectionError, RuntimeError) as error:
            errors.print(f"[bold red]error:[/] {error}", highlight=False)
        except DBAPIError as error:
            errors.print(f"[bold red]error:[/] {_store_problem(error)}", highlight=False)
        except RPCError as error:
            errors.print(f"[bold red]error:[/] Temporal refused the request: {error.message}", highlight=False)
        except CheckpointConflict as error:
            errors.print(f"[bold red]finding:[/] the audit log no longer matches a checkpoint already signed: "
                         f"{error}", highlight=False)
        except Exception as error:  # a bug, not the user's input: one line here, the traceback in a file
            where = _save_traceback(fn.__name__)
            errors.print(f"[bold red]internal error:[/] {type(error).__name__}: {error} "
                         f"(the traceback is in {where}; please report it)", highlight=False)
            raise typer.Exit(2) from None
        raise typer.Exit(1)

    return wrapper


def _store_problem(error: DBAPIError) -> str:
    url = make_url(get_settings().store_url).render_as_string(hide_password=True)
    cause = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
    return (f"the store at {url} cannot be used: {cause} "
            "(is the database running, and migrated? `make run` migrates it, or `alembic upgrade head`)")


def _save_traceback(command: str) -> str:
    """Append the current exception's traceback to the CLI error log; return where it went."""
    path = get_settings().data_dir / "logs" / "cli-errors.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as out:
            out.write(f"--- {datetime.now(UTC).isoformat()} liaison {command}\n{traceback.format_exc()}\n")
    except OSError:
        log.error("cli_command_failed", command=command, exc_info=True)
        return "the log above"
    return str(path.resolve())


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


_RELATIVE = re.compile(r"^\+(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_when(text: str, field: str, now: datetime | None = None) -> datetime:
    """ISO 8601 (UTC when no offset is given) or relative to now: +30s, +15m, +4h, +2d."""
    relative = _RELATIVE.match(text.strip())
    if relative:
        amount, unit = relative.groups()
        return (now or datetime.now(UTC)) + timedelta(**{_UNITS[unit]: int(amount)})
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        fail(f"{field}: {text!r} is not a time; write ISO 8601 (2026-12-01T06:00Z) or +30s/+15m/+4h/+2d")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class _TextDatesLoader(yaml.SafeLoader):
    """YAML without implicit timestamps: an unquoted 1985-02-31 stays text for the model to refuse
    by field name, rather than failing inside the parser; valid dates and times parse the same."""


_TextDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def load_document(path: Path) -> Any:
    if not path.exists():
        fail(f"{path}: no such file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        fail(f"{path}: not UTF-8 text (byte {error.start}): save the spec as UTF-8")
    except OSError as error:
        fail(f"{path}: cannot be read: {error.strerror or error}")
    try:
        return json.loads(text) if path.suffix.lower() == ".json" else yaml.load(text, Loader=_TextDatesLoader)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        fail(f"{path}: not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'}: {error}")


def load_model(path: Path, model: type[M]) -> M:
    data = load_document(path)
    if not isinstance(data, dict):
        fail(f"{path}: expected a mapping of fields at the top level, found {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        fail(format_validation(error, str(path)))


class Context:
    """What every command needs, built on demand so `--help` never touches a server."""

    def __init__(self, actor_id: str | None, purpose: str | None = None, key: str | None = None) -> None:
        self.settings: Settings = get_settings()
        self._actor_id = actor_id or self.settings.actor
        self._purpose = purpose or self.settings.purpose
        self._engine: Engine | None = None
        # One idempotency key per invocation: sending a command again with it learns its outcome.
        self.key = key or new_idempotency_key()

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.settings.store_url)
        return self._engine

    def actor(self, *roles: Role) -> Actor:
        if not self._actor_id:
            fail("who is acting? pass --as PRINCIPAL_ID or set LIAISON_ACTOR")
        principal = Principals(self.engine).get(self._actor_id)
        if principal is None:
            fail(f"principal {self._actor_id!r} is not registered; add it with `liaison principal add`")
        actor = Actor(id=principal.id, role=Role(principal.role), member_state=principal.member_state)
        structlog.contextvars.bind_contextvars(actor=actor.id, actor_role=actor.role.value)
        if roles and actor.role not in roles:
            fail(f"{actor.describe()} cannot use this command; it is for a "
                 + " or ".join(r.value for r in roles))
        return actor

    def consult(self, action: str, operation_id: str | None = None, *roles: Role) -> Actor:
        """The reading principal, after logging the read with its purpose (LED art. 25)."""
        return self.consult_each(action, [operation_id], *roles)

    def consult_each(self, action: str, operation_ids: Sequence[str | None], *roles: Role) -> Actor:
        """The reading principal, after logging a read of each operation (none: only check who and why)."""
        actor = self.actor(*roles)
        if not self._purpose.strip():
            fail("reading operation data needs a purpose, which is logged: pass --purpose \"...\" "
                 "(before the command) or set LIAISON_PURPOSE")
        for operation_id in operation_ids:
            Consultations(self.engine).record(actor, action, self._purpose.strip(), operation_id)
        return actor

    async def gateway(self) -> OperationsGateway:
        try:
            client = await Client.connect(self.settings.temporal_address,
                                          namespace=self.settings.temporal_namespace,
                                          data_converter=_converter())
        except RuntimeError as error:
            raise CliError(f"cannot reach Temporal at {self.settings.temporal_address} "
                           f"(is `make run` running?): {error}") from None
        return OperationsGateway(client, self.settings.task_queue, AuditLog(self.engine),
                                 retry_for=self.settings.command_retry_for,
                                 task_timeout=self.settings.workflow_task_timeout)


def _converter() -> Any:
    from temporalio.contrib.pydantic import pydantic_data_converter

    return pydantic_data_converter


def ctx_of(typer_ctx: typer.Context) -> Context:
    obj = typer_ctx.find_root().obj
    assert isinstance(obj, Context)
    return obj


async def call(ctx: Context, action: Callable[[OperationsGateway], Awaitable[T]]) -> T:
    return await action(await ctx.gateway())
