"""API tokens and browser sessions: only the SHA-256 of a secret is stored; the secret is shown once."""

from __future__ import annotations

import builtins
import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine, select, update

from domain.utc import as_utc
from services.views import ApiToken
from store.db import write_transaction
from store.tables import api_tokens as t
from store.tables import web_sessions as s

TOKEN_PREFIX = "lsn_"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _token(row: object) -> ApiToken:
    m = dict(row._mapping)  # type: ignore[attr-defined]
    for name in ("created_at", "expires_at", "revoked_at", "last_used_at"):
        m[name] = as_utc(m[name]) if m[name] else None
    m.pop("secret_hash")
    return ApiToken(**m)


class Tokens:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def issue(self, principal_id: str, name: str, lifetime: timedelta, created_by: str) -> tuple[ApiToken, str]:
        """A new token and its secret (the only time the secret exists outside the caller)."""
        token_id = secrets.token_hex(6)
        secret = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
        now = datetime.now(UTC)
        token = ApiToken(id=token_id, principal_id=principal_id, name=name, created_at=now, created_by=created_by,
                         expires_at=now + lifetime)
        with write_transaction(self.engine) as conn:
            conn.execute(t.insert().values(**token.model_dump(), secret_hash=digest(secret)))
        return token, secret

    def find(self, secret: str) -> ApiToken | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.secret_hash == digest(secret))).first()
        return _token(row) if row else None

    def used(self, token_id: str, at: datetime, address: str | None) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(update(t).where(t.c.id == token_id).values(last_used_at=at, last_address=address))

    def revoke(self, token_id: str) -> bool:
        with write_transaction(self.engine) as conn:
            done = conn.execute(update(t).where(t.c.id == token_id, t.c.revoked_at.is_(None))
                                .values(revoked_at=datetime.now(UTC)))
            return done.rowcount == 1

    def revoke_all(self, principal_id: str, keep: str | None = None) -> int:
        """Revoke every usable token of a principal, but `keep` (the one a password change came with)."""
        with write_transaction(self.engine) as conn:
            done = conn.execute(update(t).where(t.c.principal_id == principal_id, t.c.revoked_at.is_(None),
                                                t.c.id != (keep or ""))
                                .values(revoked_at=datetime.now(UTC)))
            return done.rowcount

    def get(self, token_id: str) -> ApiToken | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.id == token_id)).first()
        return _token(row) if row else None

    def list(self, principal_id: str | None = None) -> builtins.list[ApiToken]:
        query = select(t).order_by(t.c.created_at)
        if principal_id is not None:
            query = query.where(t.c.principal_id == principal_id)
        with self.engine.connect() as conn:
            return [_token(row) for row in conn.execute(query)]


class WebSession(BaseModel):
    model_config = ConfigDict(frozen=True)

    principal_id: str
    csrf_token: str
    last_seen_at: datetime
    expires_at: datetime
    revoked: bool


class WebSessions:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def start(self, principal_id: str, lifetime: timedelta, address: str | None) -> tuple[str, WebSession]:
        session_id = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        session = WebSession(principal_id=principal_id, csrf_token=secrets.token_urlsafe(24), last_seen_at=now,
                             expires_at=now + lifetime, revoked=False)
        with write_transaction(self.engine) as conn:
            conn.execute(s.insert().values(id_hash=digest(session_id), principal_id=principal_id,
                                           csrf_token=session.csrf_token, created_at=now, last_seen_at=now,
                                           expires_at=session.expires_at, address=address))
        return session_id, session

    def find(self, session_id: str) -> WebSession | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(s).where(s.c.id_hash == digest(session_id))).first()
        if row is None:
            return None
        m = row._mapping
        return WebSession(principal_id=m["principal_id"], csrf_token=m["csrf_token"],
                          last_seen_at=as_utc(m["last_seen_at"]), expires_at=as_utc(m["expires_at"]),
                          revoked=m["revoked_at"] is not None)

    def seen(self, session_id: str, at: datetime) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(update(s).where(s.c.id_hash == digest(session_id)).values(last_seen_at=at))

    def end(self, session_id: str) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(update(s).where(s.c.id_hash == digest(session_id)).values(revoked_at=datetime.now(UTC)))

    def end_all(self, principal_id: str) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(update(s).where(s.c.principal_id == principal_id, s.c.revoked_at.is_(None))
                         .values(revoked_at=datetime.now(UTC)))
