"""Decode tokens: short-lived, opaque credentials for the codec endpoint, which the Temporal UI and
`temporal --codec-endpoint/--codec-auth` call without any other sign-in.

A token seals (AES-256-GCM) who asked, for which operation, why, and until when, under a key derived
(HKDF-SHA-256) from a payload key: whoever holds those can read the payloads anyway, every API process
holds them, and no table is needed. The justification travels sealed, since a token may sit in a URL.
"""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime, timedelta

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import BaseModel, ValidationError

from domain.actors import Actor
from gateway.codec import Keyring

PREFIX = "lpd1"
_NONCE_BYTES = 12
_INFO = b"liaison decode token/1"


class DecodeClaims(BaseModel):
    actor: Actor
    operation_id: str
    justification: str
    expires_at: datetime


def _cipher(key: bytes) -> AESGCM:
    return AESGCM(HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(key))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def seal(keyring: Keyring, actor: Actor, operation_id: str, justification: str, lifetime: timedelta,
         now: datetime | None = None) -> tuple[str, DecodeClaims]:
    if keyring.current is None:
        raise ValueError("no current payload key to seal a decode token with")
    claims = DecodeClaims(actor=actor, operation_id=operation_id, justification=justification,
                          expires_at=(now or datetime.now(UTC)) + lifetime)
    nonce = os.urandom(_NONCE_BYTES)
    sealed = _cipher(keyring.keys[keyring.current]).encrypt(nonce, claims.model_dump_json().encode(),
                                                            keyring.current.encode())
    return f"{PREFIX}.{keyring.current}.{_b64(nonce + sealed)}", claims


def opened(keyring: Keyring, token: str, now: datetime | None = None) -> DecodeClaims | None:
    """The claims of a genuine token that has not expired, else None (the caller learns nothing more)."""
    prefix, _, rest = token.partition(".")
    key_id, _, body = rest.partition(".")
    key = keyring.keys.get(key_id)
    if prefix != PREFIX or key is None:
        return None
    try:
        data = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        clear = _cipher(key).decrypt(data[:_NONCE_BYTES], data[_NONCE_BYTES:], key_id.encode())
        claims = DecodeClaims.model_validate(json.loads(clear))
    except (InvalidTag, ValueError, ValidationError):
        return None
    return claims if claims.expires_at > (now or datetime.now(UTC)) else None
