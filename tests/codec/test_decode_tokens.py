"""Decode tokens: sealed claims (who, which operation, why, until when) that only the payload keys open."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from domain.actors import Actor, Role
from gateway.codec import Keyring
from gateway.decode_tokens import opened, seal

AUDITOR = Actor(id="aud-1", role=Role.AUDITOR)
K1, K2 = os.urandom(32), os.urandom(32)
T0 = datetime(2030, 1, 1, tzinfo=UTC)


def test_a_token_opens_to_its_claims_until_it_expires() -> None:
    keys = Keyring({"k1": K1}, "k1")
    token, claims = seal(keys, AUDITOR, "op-a", "audit Иван Петров's file", timedelta(minutes=15), now=T0)
    assert token.startswith("lpd1.k1.") and "op-a" not in token and "audit" not in token  # nothing in clear
    assert opened(keys, token, now=T0 + timedelta(minutes=14)) == claims
    assert claims.actor == AUDITOR and claims.justification == "audit Иван Петров's file"
    assert opened(keys, token, now=T0 + timedelta(minutes=15)) is None


def test_a_forged_altered_or_foreign_token_opens_to_nothing() -> None:
    keys = Keyring({"k1": K1}, "k1")
    token, _ = seal(keys, AUDITOR, "op-a", "why", timedelta(minutes=15), now=T0)
    altered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    for bad in (altered, "lpd1.k1.", "lpd1.k9." + token.split(".")[2], "nonsense", token.replace("lpd1", "lpd2")):
        assert opened(keys, bad, now=T0) is None
    assert opened(Keyring({"k1": K2}, "k1"), token, now=T0) is None  # another installation's key


def test_a_token_sealed_before_a_rotation_still_opens_while_its_key_is_held() -> None:
    token, claims = seal(Keyring({"k1": K1}, "k1"), AUDITOR, "op-a", "why", timedelta(minutes=15), now=T0)
    assert opened(Keyring({"k1": K1, "k2": K2}, "k2"), token, now=T0) == claims
