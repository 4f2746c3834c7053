"""Tokens, browser sessions and the security log in the store (SQLite and PostgreSQL): secrets are kept
only as digests, revocation and expiry hold, and the security log keeps what it was given, in order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from store.security_log import SecurityLog
from store.tables import api_tokens, web_sessions
from store.tokens import TOKEN_PREFIX, Tokens, WebSessions


def test_a_token_is_found_by_its_secret_only_and_revoked_once(store_engine: Engine) -> None:
    tokens = Tokens(store_engine)
    issued, secret = tokens.issue("lo-bg", "cli", timedelta(hours=1), "lo-bg")
    assert secret.startswith(f"{TOKEN_PREFIX}{issued.id}_") and len(secret) > 40
    with store_engine.connect() as conn:
        assert secret not in str(conn.execute(select(api_tokens)).all())
    assert tokens.find(secret) == issued and tokens.find(secret + "x") is None
    assert issued.usable(datetime.now(UTC)) and not issued.usable(issued.expires_at)
    tokens.used(issued.id, datetime.now(UTC), "10.1.2.3")
    assert tokens.get(issued.id).last_address == "10.1.2.3"  # type: ignore[union-attr]
    assert tokens.revoke(issued.id) is True and tokens.revoke(issued.id) is False
    assert not tokens.find(secret).usable(datetime.now(UTC))  # type: ignore[union-attr]
    other, _ = tokens.issue("lo-bg", "integration", timedelta(days=1), "lo-bg")
    tokens.issue("ap-bg-1", "cli", timedelta(days=1), "ap-bg-1")
    assert [t.name for t in tokens.list("lo-bg")] == ["cli", "integration"]
    assert tokens.revoke_all("lo-bg") == 1 and tokens.get(other.id).revoked_at  # type: ignore[union-attr]
    assert len(tokens.list()) == 3


def test_a_session_is_kept_as_a_digest_and_ends(store_engine: Engine) -> None:
    sessions = WebSessions(store_engine)
    session_id, started = sessions.start("coord-1", timedelta(hours=12), "127.0.0.1")
    with store_engine.connect() as conn:
        assert session_id not in str(conn.execute(select(web_sessions)).all())
    found = sessions.find(session_id)
    assert found is not None and found.csrf_token == started.csrf_token and not found.revoked
    sessions.end(session_id)
    assert sessions.find(session_id).revoked  # type: ignore[union-attr]
    assert sessions.find("not a session") is None


def test_the_security_log_keeps_entries_in_order_and_filters(store_engine: Engine) -> None:
    log = SecurityLog(store_engine)
    log.record("sign_in_failed", "wrong password", principal_id="lo-bg", address="10.0.0.9")
    log.record("refused", "not_authorised: may not approve", principal_id="lo-bg", role="liaison_officer",
               member_state="BG", operation_id="op-1", action="approve_task")
    log.record("sign_in", "signed in", principal_id="aud-1")
    assert [e.kind for e in log.search()] == ["sign_in_failed", "refused", "sign_in"]
    [refused] = log.search(kind="refused")
    assert (refused.operation_id, refused.action, refused.member_state) == ("op-1", "approve_task", "BG")
    assert [e.kind for e in log.search(principal_id="lo-bg")] == ["sign_in_failed", "refused"]
    assert log.search(since=datetime.now(UTC) + timedelta(minutes=1)) == []
