"""What the services need from the outside, as protocols: bootstrap.py provides them."""

from __future__ import annotations

from typing import Protocol

from temporalio.client import Client

from domain.actors import Actor
from gateway.operations import OperationsGateway


class Temporal(Protocol):
    """The one Temporal client, connected on first use."""

    async def client(self) -> Client: ...

    async def gateway(self) -> OperationsGateway: ...


class StepUp(Protocol):
    """The server-set fields of a sign-off from the caller's one-time code (services/identity.py)."""

    def fields(self, actor: Actor, code: str | None) -> dict[str, bool]: ...
