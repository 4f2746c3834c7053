"""Payload keys from the settings, the data converter built on them, and key rotation.

Keys are files ``<key id>.key`` (base64 of 32 bytes) in the payload keys directory and/or environment
variables ``LIAISON_PAYLOAD_KEYS__<KEY_ID>``. On the embedded default (no key configured anywhere, the
directory left at data/payload-keys) the first process to need one generates it, with a warning: a key
kept beside the data it protects is not for production.

Rotation adds a key to the directory and names it in the directory's CURRENT file. A process reads the
directory again when it meets a key id it does not hold (so payloads under the new key are readable
everywhere at once, and from then on it encrypts under the new key too); the others take the new key at
their next start. Old payloads stay readable as long as their keys are kept.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import structlog
from temporalio.converter import DataConverter

from gateway.codec import KEY_BYTES, EncryptionCodec, Keyring, encrypted_data_converter
from settings import Settings, get_settings

log = structlog.get_logger(__name__)

EMBEDDED_KEY_ID = "embedded"
CURRENT_FILE = "CURRENT"
_KEY_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class PayloadKeysMisconfigured(ValueError):
    """The configured payload keys cannot be used; the message says what to change."""


def _key_id(text: str, where: str) -> str:
    key_id = text.strip().lower()
    if not _KEY_ID.match(key_id):
        raise PayloadKeysMisconfigured(f"{where}: {text!r} is not a key id (lower-case letters, digits, - and _)")
    return key_id


def _key_bytes(text: str, where: str) -> bytes:
    try:
        key = base64.b64decode(text.strip().replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise PayloadKeysMisconfigured(f"{where}: not base64 (a payload key is 32 random bytes in base64, "
                                       "as `openssl rand -base64 32` prints)") from None
    if len(key) != KEY_BYTES:
        raise PayloadKeysMisconfigured(f"{where}: {len(key)} bytes; a payload key (AES-256) has {KEY_BYTES}")
    return key


def _keys_in(directory: Path) -> dict[str, bytes]:
    if not directory.is_dir():
        return {}
    return {_key_id(path.stem, str(path)): _key_bytes(path.read_text("ascii"), str(path))
            for path in sorted(directory.glob("*.key"))}


def _write_new(path: Path, text: str) -> bool:
    """Create ``path`` with ``text`` whole or not at all; False when it exists already (another process
    won the race: its content stands)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".new-")
    try:
        os.write(handle, text.encode())
        os.fchmod(handle, 0o600)
        os.close(handle)
        os.link(temporary, path)
        return True
    except FileExistsError:
        return False
    finally:
        os.unlink(temporary)


def _new_key_text() -> str:
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode() + "\n"


def _embedded_key(directory: Path) -> dict[str, bytes]:
    path = directory / f"{EMBEDDED_KEY_ID}.key"
    if _write_new(path, _new_key_text()):
        log.warning("payload_key_generated", file=str(path),
                    note="a key generated beside the data it protects is not for production: set "
                         "LIAISON_PAYLOAD_KEYS__<KEY_ID> or LIAISON_PAYLOAD_KEYS_DIR")
    return _keys_in(directory)


def _current(settings: Settings, keys: dict[str, bytes], directory: Path) -> str | None:
    marker = directory / CURRENT_FILE
    if settings.payload_key_current:
        current = _key_id(settings.payload_key_current, "LIAISON_PAYLOAD_KEY_CURRENT")
    elif marker.is_file():
        current = _key_id(marker.read_text("ascii"), str(marker))
    elif len(keys) <= 1:
        return next(iter(keys), None)
    else:
        raise PayloadKeysMisconfigured(f"several payload keys ({', '.join(sorted(keys))}) and none named current: "
                                       f"set LIAISON_PAYLOAD_KEY_CURRENT or write its id in {marker}")
    if current not in keys:
        raise PayloadKeysMisconfigured(f"the current payload key {current!r} is not held (held: "
                                       f"{', '.join(sorted(keys)) or 'none'})")
    return current


def keyring_from_settings(settings: Settings, *, create_default: bool = False) -> Keyring:
    """Every configured key, and the one to encrypt under. ``create_default`` generates the embedded
    default's key when none is configured anywhere (processes that write to Temporal); a verifier only
    reads what it holds."""
    directory = settings.payload_keys_directory
    keys = _keys_in(directory)
    for name, secret in settings.payload_keys.items():
        key_id = _key_id(name, f"LIAISON_PAYLOAD_KEYS__{name.upper()}")
        key = _key_bytes(secret.get_secret_value(), f"LIAISON_PAYLOAD_KEYS__{name.upper()}")
        if keys.get(key_id, key) != key:
            raise PayloadKeysMisconfigured(f"payload key {key_id!r} differs between {directory} and "
                                           f"LIAISON_PAYLOAD_KEYS__{name.upper()}")
        keys[key_id] = key
    if not keys and create_default and settings.payload_keys_dir is None:
        keys = _embedded_key(directory)
    return Keyring(keys, _current(settings, keys, directory))


def payload_codec(settings: Settings, *, create_default: bool = False) -> EncryptionCodec:
    keyring = keyring_from_settings(settings, create_default=create_default)
    if create_default and keyring.current is None:
        raise PayloadKeysMisconfigured(
            f"no payload key: put <key id>.key in {settings.payload_keys_directory} or set "
            "LIAISON_PAYLOAD_KEYS__<KEY_ID> (base64 of 32 random bytes)")
    if keyring.current == EMBEDDED_KEY_ID:
        log.warning("payload_key_embedded", directory=str(settings.payload_keys_directory),
                    note="payloads are encrypted under the key generated on this machine: not for production")
    return EncryptionCodec(keyring, reload=lambda: keyring_from_settings(settings))


def data_converter(settings: Settings) -> DataConverter:
    """The one data converter of every client, worker and Replayer: pydantic payloads, encrypted, and
    failures with encoded attributes. It generates the embedded default's key if none is configured."""
    return encrypted_data_converter(payload_codec(settings, create_default=True))


def local_codec() -> EncryptionCodec:
    """The keys this machine's settings hold, for offline checks (bundles, history files): it never
    generates one, so without the key a check says what it could not read."""
    return payload_codec(get_settings())


def rotate_payload_key(settings: Settings, now: datetime | None = None) -> str:
    """Add a new key to the payload keys directory and make it current; returns its id. Old payloads
    stay readable under their keys; LIAISON_PAYLOAD_KEY_CURRENT, when set, still wins over the new one."""
    directory = settings.payload_keys_directory
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S")
    key_id = f"k{stamp}"
    suffix = 1
    while not _write_new(directory / f"{key_id}.key", _new_key_text()):
        suffix += 1
        key_id = f"k{stamp}-{suffix}"
    replacement = directory / f".{CURRENT_FILE}.new"
    replacement.write_text(key_id + "\n", "ascii")
    os.replace(replacement, directory / CURRENT_FILE)
    log.info("payload_key_rotated", key_id=key_id, directory=str(directory))
    if settings.payload_key_current:
        log.warning("payload_key_current_pinned", pinned=settings.payload_key_current, new=key_id,
                    note="LIAISON_PAYLOAD_KEY_CURRENT still names the old key: unset it for the new one")
    return key_id
