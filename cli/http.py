"""The CLI's one connection to the Liaison API: a bearer token, the reader's purpose, each command's
idempotency key; every answer that is not a success becomes the taxonomy's error (domain/errors.py),
so the CLI prints it with the label and exit code of its kind, as it would print a local one."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import ModuleType
from typing import Any, TypeVar

# Importing httpx imports its own command line (httpx._main: click, pygments, rich.syntax), ~20 ms of every
# command; the CLI never runs it, so an empty module stands in (httpx then defines a stub `main` itself).
sys.modules.setdefault("httpx._main", ModuleType("httpx._main"))

import httpx  # noqa: E402
from pydantic import BaseModel, TypeAdapter  # noqa: E402

from domain.errors import KIND_OF_CODE, LiaisonError, NotAuthenticated, Unavailable  # noqa: E402

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

# A command waits for its workflow (and retries through outages for up to a minute on the server), an
# opening for its patience: the client gives the server longer than that before it gives up.
COMMAND_TIMEOUT = 120.0
CONNECT_TIMEOUT = 5.0
# What a status means when the body is not one of our problems (a proxy's page, an old server).
CODE_OF_STATUS = {400: "invalid_input", 401: "not_authenticated", 403: "not_authorised", 404: "not_found",
                  409: "conflict", 413: "too_large", 422: "invalid_input", 502: "unavailable", 503: "unavailable",
                  504: "unavailable"}


def problem_of(response: httpx.Response) -> LiaisonError:
    """An error response (application/problem+json) as the error it names: code, detail, field and value."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or "detail" not in body:
        return _not_a_problem(response)
    code = str(body.get("code") or "")
    if code not in KIND_OF_CODE:  # a code this client does not know: classify it by its status
        code = CODE_OF_STATUS.get(response.status_code, "internal")
    if code == "not_authenticated" or response.status_code == 401:
        return NotAuthenticated(str(body["detail"]), code=code if code in KIND_OF_CODE else "not_authenticated")
    return LiaisonError(code, str(body["detail"]), field=body.get("field"), value=body.get("value"))


def _not_a_problem(response: httpx.Response) -> LiaisonError:
    code = CODE_OF_STATUS.get(response.status_code, "unavailable" if response.status_code >= 500 else "internal")
    return LiaisonError(code, f"{response.request.url.copy_with(query=None)} answered {response.status_code} "
                              f"{response.reason_phrase} without a Liaison problem: is it the Liaison API?")


class Api:
    """HTTP to one server with one token (or none, to sign in)."""

    def __init__(self, server: str, token: str | None = None, purpose: str | None = None) -> None:
        self.server = server.rstrip("/")
        headers = {"Accept": "application/json, application/problem+json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._purpose = purpose
        # Plain HTTP needs no certificates: loading the CA bundle would cost every command ~20 ms.
        verify: bool = self.server.startswith("https:")
        self._http = httpx.Client(base_url=self.server, headers=headers, verify=verify,
                                  timeout=httpx.Timeout(COMMAND_TIMEOUT, connect=CONNECT_TIMEOUT))

    def close(self) -> None:
        self._http.close()

    def call(self, method: str, path: str, *, body: Any = None, params: Mapping[str, Any] | None = None,
             key: str | None = None, one_time_code: str | None = None,
             timeout: float | None = COMMAND_TIMEOUT) -> httpx.Response:
        """One request; the response when it succeeded, else the error it names."""
        with self._sending(path, key):
            response = self._http.request(method, path, json=body, params=_present(params or {}),
                                          headers=self._headers(key, one_time_code),
                                          timeout=httpx.Timeout(timeout, connect=CONNECT_TIMEOUT))
        if response.is_error:
            raise problem_of(response)
        return response

    def get(self, model: type[T] | Any, path: str, **params: Any) -> T:
        """A read, answered as the view model (or list of them) given."""
        return self.parse(model, self.call("GET", path, params=params))

    @staticmethod
    def parse(model: type[T] | Any, response: httpx.Response) -> T:
        if isinstance(model, type) and issubclass(model, BaseModel):
            return model.model_validate_json(response.content)  # type: ignore[return-value]
        adapted: T = TypeAdapter(model).validate_json(response.content)
        return adapted

    @contextmanager
    def stream(self, path: str, *, timeout: float | None = None) -> Iterator[httpx.Response]:
        """A download (an export bundle): the response to read in chunks, or the error it names."""
        with self._sending(path, None), self._http.stream(
                "GET", path, headers=self._headers(None, None),
                timeout=httpx.Timeout(timeout, connect=CONNECT_TIMEOUT)) as response:
            if response.is_error:
                response.read()
                raise problem_of(response)
            yield response

    def _headers(self, key: str | None, one_time_code: str | None) -> dict[bytes, bytes]:
        """The purpose goes with every call (the server logs it with each read and ignores it otherwise), as
        UTF-8 bytes: a purpose may be written in any script."""
        headers: dict[bytes, bytes] = {}
        if self._purpose:
            headers[b"X-Purpose"] = self._purpose.encode("utf-8")
        if key:
            headers[b"Idempotency-Key"] = key.encode("utf-8")
        if one_time_code:
            headers[b"X-One-Time-Code"] = one_time_code.strip().encode("utf-8")
        return headers

    @contextmanager
    def _sending(self, path: str, key: str | None) -> Iterator[None]:
        """Transport failures as Unavailable: nothing answered, or the answer did not come in time."""
        try:
            yield
        except httpx.ConnectError:
            raise Unavailable(f"cannot reach the Liaison API at {self.server}: is `make run` running? (or sign in "
                              "to another server: `liaison login --server URL`)") from None
        except httpx.TimeoutException:
            unknown = (f"; the outcome is not known: send the same command again as `liaison --key {key} ...` "
                       "to apply it at most once" if key else "")
            raise Unavailable(f"the Liaison API at {self.server} did not answer {path} in time{unknown}",
                              field="key" if key else None, value=key) from None
        except httpx.TransportError as error:
            raise Unavailable(f"the connection to the Liaison API at {self.server} failed: {error}") from None


def _present(params: Mapping[str, Any]) -> dict[str, Any]:
    """Query parameters that were given (None means: not filtered)."""
    return {name: value for name, value in params.items() if value is not None}
