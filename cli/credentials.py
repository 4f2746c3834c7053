"""Where the CLI keeps the token `liaison login` got, and where it finds a token to send.

The file holds a bearer secret: it is created with mode 0600 in a directory of mode 0700, written whole
(a temporary file renamed over it), so no other user and no half-written file ever sees it. LIAISON_TOKEN
(with LIAISON_SERVER_URL) overrides it, for integrations and scripts.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from domain.errors import NotAuthenticated

DEFAULT_SERVER = "http://127.0.0.1:8400"
FILE_NAME = "credentials.json"


@dataclass(frozen=True)
class Credentials:
    server: str
    token: str
    principal_id: str | None = None  # None: a token from LIAISON_TOKEN, whose owner only the server knows
    expires_at: datetime | None = None

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


def config_dir() -> Path:
    """$LIAISON_CONFIG_DIR, else $XDG_CONFIG_HOME/liaison, else ~/.config/liaison."""
    explicit = os.environ.get("LIAISON_CONFIG_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / "liaison"


def credentials_file() -> Path:
    return config_dir() / FILE_NAME


def server_url(given: str | None = None) -> str:
    """The API to talk to: the option, else LIAISON_SERVER_URL, else the embedded default."""
    return (given or os.environ.get("LIAISON_SERVER_URL") or DEFAULT_SERVER).rstrip("/")


def current() -> Credentials:
    """The token to send: LIAISON_TOKEN if set, else the stored sign-in; refused when there is neither."""
    token = os.environ.get("LIAISON_TOKEN")
    if token:
        return Credentials(server=server_url(), token=token.strip())
    stored = load()
    if stored is None:
        raise NotAuthenticated("not signed in: run `liaison login` (or set LIAISON_TOKEN)")
    if stored.expired(datetime.now(UTC)):
        assert stored.expires_at is not None
        raise NotAuthenticated(f"not signed in: the sign-in of {stored.principal_id} to {stored.server} ended at "
                               f"{stored.expires_at:%Y-%m-%d %H:%M} UTC; run `liaison login` again")
    return stored


def load() -> Credentials | None:
    path = credentials_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        expires = data.get("expires_at")
        return Credentials(server=str(data["server"]), token=str(data["token"]),
                           principal_id=data.get("principal_id"),
                           expires_at=datetime.fromisoformat(expires) if expires else None)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise NotAuthenticated(f"not signed in: {path} cannot be read ({error}); run `liaison login`") from None


def save(credentials: Credentials) -> Path:
    """Write the file readable by its owner only, replacing any earlier sign-in at once."""
    path = credentials_file()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    data = asdict(credentials) | {"expires_at": credentials.expires_at.isoformat() if credentials.expires_at
                                  else None}
    temporary = path.with_name(f".{FILE_NAME}.{os.getpid()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=1)
        os.chmod(temporary, 0o600)  # O_CREAT's mode is masked by the umask; this is not
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise
    return path


def forget() -> bool:
    """Delete the stored sign-in; False when there was none."""
    try:
        credentials_file().unlink()
    except FileNotFoundError:
        return False
    return True
