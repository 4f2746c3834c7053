"""Signed checkpoints of the global audit log: Ed25519 over a fixed text message (pure, no I/O).

A checkpoint commits the log's first ``log_size`` events (in position order) to a Merkle root
(domain.merkle). Its signed message is a small signed-note-like text, one field per line, each
line ending in a newline:

    liaison/audit-log checkpoint v1
    <log size, decimal, no leading zeros>
    <root, 64 lowercase hex digits>
    <issued at, UTC, YYYY-MM-DDTHH:MM:SS.ffffffZ>

The key id is the first 8 bytes (16 hex digits) of SHA-256 over the raw 32-byte public key.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.audit import utc_text
from domain.utc import as_utc

ORIGIN = "liaison/audit-log checkpoint v1"

PrivateKeyInput = Ed25519PrivateKey | bytes | str
PublicKeyInput = Ed25519PublicKey | bytes | str


class Checkpoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    log_size: int = Field(ge=0)
    root_hex: str = Field(pattern=r"^[0-9a-f]{64}$")
    issued_at: datetime
    key_id: str = Field(pattern=r"^[0-9a-f]{16}$")
    signature_hex: str = Field(pattern=r"^[0-9a-f]{128}$")

    @field_validator("issued_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        """Aware UTC; a naive time (SQLite gives those back) is taken as UTC."""
        return as_utc(value)

    @property
    def root(self) -> bytes:
        return bytes.fromhex(self.root_hex)

    def message(self) -> bytes:
        return checkpoint_message(self.log_size, self.root, self.issued_at)


def checkpoint_message(size: int, root: bytes, issued_at: datetime) -> bytes:
    """The exact bytes a checkpoint's signature covers (see the module docstring)."""
    if size < 0:
        raise ValueError(f"log size {size} is negative")
    if len(root) != 32:
        raise ValueError(f"a root is 32 bytes, not {len(root)}")
    return f"{ORIGIN}\n{size}\n{root.hex()}\n{utc_text(issued_at)}\n".encode("ascii")


def load_private_key(key: PrivateKeyInput) -> Ed25519PrivateKey:
    """An Ed25519 private key from an object, PEM (PKCS#8, unencrypted) text/bytes or 32 raw bytes."""
    if isinstance(key, Ed25519PrivateKey):
        return key
    if isinstance(key, bytes) and len(key) == 32:
        return Ed25519PrivateKey.from_private_bytes(key)
    loaded = serialization.load_pem_private_key(key.encode() if isinstance(key, str) else key, password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ValueError("the private key is not an Ed25519 key")
    return loaded


def load_public_key(key: PublicKeyInput) -> Ed25519PublicKey:
    """An Ed25519 public key from an object, PEM (SubjectPublicKeyInfo) text/bytes or 32 raw bytes."""
    if isinstance(key, Ed25519PublicKey):
        return key
    if isinstance(key, bytes) and len(key) == 32:
        return Ed25519PublicKey.from_public_bytes(key)
    loaded = serialization.load_pem_public_key(key.encode() if isinstance(key, str) else key)
    if not isinstance(loaded, Ed25519PublicKey):
        raise ValueError("the public key is not an Ed25519 key")
    return loaded


def raw_public_key(key: PublicKeyInput) -> bytes:
    return load_public_key(key).public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public_key: PublicKeyInput) -> str:
    """First 8 bytes (16 hex digits) of SHA-256 over the raw public key."""
    return hashlib.sha256(raw_public_key(public_key)).hexdigest()[:16]


def sign_checkpoint(private_key: PrivateKeyInput, size: int, root: bytes, issued_at: datetime) -> Checkpoint:
    key = load_private_key(private_key)
    signature = key.sign(checkpoint_message(size, root, issued_at))
    return Checkpoint(log_size=size, root_hex=root.hex(), issued_at=issued_at,
                      key_id=key_id(key.public_key()), signature_hex=signature.hex())


def verify_checkpoint(public_key: PublicKeyInput, checkpoint: Checkpoint) -> bool:
    """True when the checkpoint names this key and its signature over its message is valid."""
    key = load_public_key(public_key)
    if checkpoint.key_id != key_id(key):
        return False
    try:
        key.verify(bytes.fromhex(checkpoint.signature_hex), checkpoint.message())
    except InvalidSignature:
        return False
    return True
