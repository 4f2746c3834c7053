"""Shared CLI plumbing: the client for the acting principal, error reporting, time parsing, spec files."""

from __future__ import annotations

import asyncio
import functools
import json
import re
import traceback
import uuid
from collections.abc import Callable, Coroutine
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
from sqlalchemy.exc import DBAPIError, IntegrityError
from temporalio.service import RPCError, RPCStatusCode

from bootstrap import System, bootstrap
from domain.errors import ErrorKind, IntegrityFailure, LiaisonError, Unavailable
from gateway.operations import new_idempotency_key
from services.client import LiaisonClient
from services.errors import PRESENTATION, exit_code_of, invalid_input
from settings import Settings, get_settings
from store.checkpoints import CheckpointConflict

log = structlog.get_logger(__name__)
console = Console()
errors = Console(stderr=True, soft_wrap=True)
P = ParamSpec("P")
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


class CliError(LiaisonError):
    """Bad input the CLI itself finds (a file, an option): a refusal, like the services' own."""

    def __init__(self, message: str, code: str = "invalid_input") -> None:
        super().__init__(code, message)


def fail(message: str, code: str = "invalid_input") -> NoReturn:
    raise CliError(message, code)


def handle_errors(fn: Callable[P, T]) -> Callable[P, T]:
    """Every failure as one line on stderr, labelled and with the exit code of its kind (services/errors.py);
    a bug gets a traceback in a file the user can quote, never on screen."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except Exception as error:  # every failure is shown by its kind below
            problem = _as_liaison_error(error)
            if problem is None:
                error_id = uuid.uuid4().hex[:12]
                where = _save_traceback(fn.__name__, error_id)
                errors.print(f"[bold red]internal error:[/] {escape(type(error).__name__)}: {escape(str(error))} "
                             f"(error id {error_id}; the traceback is in {escape(where)}; please report it)",
                             highlight=False)
                raise typer.Exit(exit_code_of(ErrorKind.INTERNAL)) from None
            shown = PRESENTATION[problem.kind]
            errors.print(f"[bold red]{shown.label}:[/] {escape(problem.message)}", highlight=False)
            raise typer.Exit(shown.exit_code) from None

    return wrapper


def _as_liaison_error(error: Exception) -> LiaisonError | None:
    """The failure in the taxonomy; None for a bug."""
    if isinstance(error, LiaisonError):
        return error
    if isinstance(error, ValidationError):
        return invalid_input(error, "the input")
    if isinstance(error, DBAPIError) and not isinstance(error, IntegrityError):  # a constraint is a bug
        return Unavailable(_store_problem(error))
    if isinstance(error, RPCError):
        if error.status is RPCStatusCode.INVALID_ARGUMENT:  # e.g. a malformed visibility query
            return LiaisonError("invalid_input", f"Temporal refused the request: {error.message}")
        return Unavailable(f"Temporal refused the request: {error.message}")
    if isinstance(error, ConnectionError):
        return Unavailable(f"a connection failed: {error}")
    if isinstance(error, CheckpointConflict):
        return IntegrityFailure(f"the audit log no longer matches a checkpoint already signed: {error}")
    return None


def _store_problem(error: DBAPIError) -> str:
    url = make_url(get_settings().store_url).render_as_string(hide_password=True)
    cause = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
    return (f"the store at {url} cannot be used: {cause} "
            "(is the database running, and migrated? `make run` migrates it, or `alembic upgrade head`)")


def _save_traceback(command: str, error_id: str) -> str:
    """Append the current exception's traceback to the CLI error log; return where it went."""
    path = get_settings().data_dir / "logs" / "cli-errors.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as out:
            out.write(f"--- {datetime.now(UTC).isoformat()} liaison {command} error id {error_id}\n"
                      f"{traceback.format_exc()}\n")
    except OSError:
        log.error("cli_command_failed", command=command, error_id=error_id, exc_info=True)
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
        raise invalid_input(error, str(path)) from None


class Context:
    """What every command needs, built on demand so `--help` never touches a server."""

    def __init__(self, actor_id: str | None, purpose: str | None = None, key: str | None = None) -> None:
        self.settings: Settings = get_settings()
        self._actor_id = actor_id or self.settings.actor
        self._purpose = purpose or self.settings.purpose
        self._system: System | None = None
        self._client: LiaisonClient | None = None
        # One idempotency key per invocation: sending a command again with it learns its outcome.
        self.key = key or new_idempotency_key()

    @property
    def system(self) -> System:
        if self._system is None:
            self._system = bootstrap(self.settings)
        return self._system

    @property
    def engine(self) -> Engine:
        return self.system.engine

    @property
    def client(self) -> LiaisonClient:
        """The services, for the principal the CLI authenticated (--as), reading with --purpose."""
        if self._client is None:
            self._client = LiaisonClient(self.system, self._actor_id, self._purpose)
            structlog.contextvars.bind_contextvars(actor=self._actor_id)
        return self._client


def ctx_of(typer_ctx: typer.Context) -> Context:
    obj = typer_ctx.find_root().obj
    assert isinstance(obj, Context)
    return obj
