"""Principals for tests, registered as they are in production: by an administrator, with a password."""

from __future__ import annotations

from bootstrap import System
from domain.actors import Actor, Role
from domain.errors import DomainError
from services.identity import actor_of

ADMIN = "admin-1"
PASSWORD = "correct horse battery staple"


def administrator(system: System) -> Actor:
    """The first administrator, bootstrapped on the server (once per store)."""
    try:
        system.principals.bootstrap_administrator(ADMIN, "Test administrator", PASSWORD)
    except DomainError as error:
        if error.kind.value != "conflict":
            raise
    return Actor(id=ADMIN, role=Role.ADMINISTRATOR)


def register(system: System, principal_id: str, role: Role, member_state: str | None = None,
             password: str = PASSWORD) -> Actor:
    """Register (or find again) a principal; its actor as authentication would give it."""
    admin = administrator(system)
    system.principals.register(admin, principal_id, role, member_state, principal_id, "test fixture", password)
    return actor_of(system.principals.get(admin, principal_id))


def known_actor(system: System, principal_id: str) -> Actor:
    return actor_of(system.principals.get(administrator(system), principal_id))
