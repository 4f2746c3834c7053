"""Shared CLI plumbing: the API client of the signed-in principal, error reporting, time parsing, spec files.

Light on purpose: a role command imports this, Typer, Rich, httpx and the view models, nothing of the
server (no store, no Temporal, no settings object); server-side commands import theirs when they run.
"""

from __future__ import annotations

import functools
import json
import os
import re
import sys
import traceback
import uuid
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, ParamSpec, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.markup import escape

from domain.errors import ErrorKind, LiaisonError
from services.errors import PRESENTATION, exit_code_of, invalid_input

if TYPE_CHECKING:
    from bootstrap import System
    from cli.client import LiaisonClient
    from settings import Settings

console = Console()
errors = Console(stderr=True, soft_wrap=True)
P = ParamSpec("P")
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
SERVER_SIDE = "Server-side: runs on the server, needs the store."


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
        except (typer.Exit, typer.Abort):
            raise
        except Exception as error:  # every failure is shown by its kind below
            problem = _as_liaison_error(error)
            if problem is None:
                _report_bug(fn.__name__, error)
            shown = PRESENTATION[problem.kind]
            errors.print(f"[bold red]{shown.label}:[/] {escape(_without_label(problem.message, shown.label))}",
                         highlight=False)
            raise typer.Exit(shown.exit_code) from None

    return wrapper


def _without_label(message: str, label: str) -> str:
    """The server says "not signed in: ..." itself; the label says it once."""
    return message[len(label) + 2:] if message.startswith(f"{label}: ") else message


def _as_liaison_error(error: Exception) -> LiaisonError | None:
    """The failure in the taxonomy; None for a bug."""
    if isinstance(error, LiaisonError):
        return error
    if isinstance(error, ValidationError):
        return invalid_input(error, "the input")
    if _ran_server_side():  # only then can the store or Temporal have failed
        from services.failures import classify

        return classify(error, _store_url())
    return None


def _ran_server_side() -> bool:
    """A server-side command loaded the store or Temporal; a role command never does (and must not pay to)."""
    return "sqlalchemy" in sys.modules or "temporalio" in sys.modules


def _store_url() -> str | None:
    """The store a server-side command used, to name it (role commands never load the settings)."""
    if "settings" not in sys.modules:
        return None
    from settings import get_settings

    return get_settings().store_url


def _report_bug(command: str, error: Exception) -> NoReturn:
    error_id = uuid.uuid4().hex[:12]
    where = _save_traceback(command, error_id)
    errors.print(f"[bold red]internal error:[/] {escape(type(error).__name__)}: {escape(str(error))} "
                 f"(error id {error_id}; the traceback is in {escape(where)}; please report it)", highlight=False)
    raise typer.Exit(exit_code_of(ErrorKind.INTERNAL)) from None


def _save_traceback(command: str, error_id: str) -> str:
    """Append the current exception's traceback to the CLI error log; return where it went."""
    path = Path(os.environ.get("LIAISON_DATA_DIR") or "data") / "logs" / "cli-errors.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as out:
            out.write(f"--- {datetime.now(UTC).isoformat()} liaison {command} error id {error_id}\n"
                      f"{traceback.format_exc()}\n")
    except OSError:
        errors.print(traceback.format_exc(), markup=False, highlight=False)
        return "the output above"
    return str(path.resolve())


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Server-side commands are asynchronous (Temporal); role commands are plain HTTP calls."""
    import asyncio

    return asyncio.run(coroutine)


_RELATIVE = re.compile(r"^([+-])(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_when(text: str, field: str, now: datetime | None = None) -> datetime:
    """ISO 8601 (UTC when no offset is given) or relative to now: +30s, +15m, +4h, +2d (or -2d, ago)."""
    relative = _RELATIVE.match(text.strip())
    if relative:
        sign, amount, unit = relative.groups()
        offset = timedelta(**{_UNITS[unit]: int(amount)})
        return (now or datetime.now(UTC)) + (offset if sign == "+" else -offset)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        fail(f"{field}: {text!r} is not a time; write ISO 8601 (2026-12-01T06:00Z) or +30s/+15m/+4h/+2d "
             "(-2d: two days ago)")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@functools.cache
def _yaml_loader() -> Any:
    """YAML without implicit timestamps: an unquoted 1985-02-31 stays text for the model to refuse
    by field name, rather than failing inside the parser; valid dates and times parse the same."""
    import yaml

    class TextDatesLoader(yaml.SafeLoader):
        pass

    TextDatesLoader.yaml_implicit_resolvers = {
        first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
    return TextDatesLoader


def load_document(path: Path) -> Any:
    import yaml

    if not path.exists():
        fail(f"{path}: no such file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        fail(f"{path}: not UTF-8 text (byte {error.start}): save the spec as UTF-8")
    except OSError as error:
        fail(f"{path}: cannot be read: {error.strerror or error}")
    try:
        return json.loads(text) if path.suffix.lower() == ".json" else yaml.load(text, Loader=_yaml_loader())
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


def new_idempotency_key() -> str:
    return f"cmd-{uuid.uuid4().hex}"


class Context:
    """What every command needs, built on demand so `--help` never touches a server. Role commands use
    `client` (the API, as the signed-in principal); server-side commands use `settings` and `system`."""

    def __init__(self, purpose: str | None = None, key: str | None = None) -> None:
        self.purpose = purpose or os.environ.get("LIAISON_PURPOSE") or None
        # One idempotency key per invocation: sending a command again with it learns its outcome.
        self.key = key or new_idempotency_key()
        self._client: LiaisonClient | None = None
        self._settings: Settings | None = None
        self._system: System | None = None

    @property
    def client(self) -> LiaisonClient:
        """The API as the principal whose token this is (`liaison login`, or LIAISON_TOKEN)."""
        if self._client is None:
            from cli import credentials
            from cli.client import LiaisonClient
            from cli.http import Api

            signed_in = credentials.current()
            self._client = LiaisonClient(Api(signed_in.server, signed_in.token, self.purpose))
        return self._client

    def anonymous(self, server: str) -> LiaisonClient:
        """The API before sign-in."""
        from cli.client import LiaisonClient
        from cli.http import Api

        return LiaisonClient(Api(server, None, self.purpose))

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from logging_setup import configure_logging
            from settings import get_settings

            self._settings = get_settings()
            configure_logging(self._settings.log_format, "WARNING")
        return self._settings

    @property
    def system(self) -> System:
        """The services in this process, for server-side commands only."""
        if self._system is None:
            from bootstrap import bootstrap

            self._system = bootstrap(self.settings)
        return self._system

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        if self._system is not None:
            self._system.close()


def ctx_of(typer_ctx: typer.Context) -> Context:
    obj = typer_ctx.find_root().obj
    assert isinstance(obj, Context)
    return obj
