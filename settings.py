"""The one settings object: environment variables (prefix LIAISON_) with defaults that work out of the box.

A leaf: values only. bootstrap.py builds the engine, the Temporal client, the index and the services
from them.
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.prioritisation import ScoringPolicy


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LIAISON_", env_nested_delimiter="__")

    data_dir: Path = Path("data")
    database_url: str = ""
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_ui_port: int = 8233
    # The Temporal web UI's origin, the only one allowed (CORS) to call the codec endpoint; empty: the
    # embedded UI (http://127.0.0.1:<temporal_ui_port> or http://localhost:<temporal_ui_port>).
    temporal_ui_origin: str = ""
    task_queue: str = "liaison-operations"
    log_format: str = Field(default="console", pattern="^(console|json)$")
    log_level: str = "INFO"
    purpose: str = ""
    # How long `operation open` waits for the workflow to record the opening before it reports it as
    # pending (it still opens; `operation show` finds it).
    open_patience: timedelta = timedelta(seconds=15)
    # How long a command is sent again (same idempotency key) through Temporal or store outages before
    # the caller is told its outcome is not known yet.
    command_retry_for: timedelta = timedelta(seconds=60)
    # A workflow sticky to a worker that died waits this long before another worker takes it (SDK: 10 s).
    sticky_queue_timeout: timedelta = timedelta(seconds=2)
    # A workflow task started on a worker that then died is handed to another after this (Temporal: 10 s);
    # histories stay short (continue-as-new), so a task takes milliseconds.
    workflow_task_timeout: timedelta = timedelta(seconds=4)
    checkpoint_key_file: Path | None = None
    checkpoint_public_key_file: Path | None = None
    checkpoint_interval: timedelta = timedelta(hours=1)

    deconfliction_radius_km: float = Field(default=1.0, gt=0)
    # Privacy mode: with a key the index holds only keyed HMAC-SHA-256 digests, never clear identifiers.
    deconfliction_privacy_key: SecretStr | None = None

    # Payload encryption (AES-256-GCM) of everything sent through Temporal. Keys are files <key id>.key
    # (base64 of 32 bytes) in payload_keys_dir (default data_dir/payload-keys, where the embedded default
    # generates one) and/or LIAISON_PAYLOAD_KEYS__<KEY_ID>=base64. New payloads go under
    # payload_key_current, else the key the directory's CURRENT file names, else the only key.
    payload_keys_dir: Path | None = None
    payload_keys: dict[str, SecretStr] = {}
    payload_key_current: str = ""

    # The HTTP API (and, with the web issue, the pages): where `liaison up` serves it.
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8400, ge=1, le=65535)
    # Refused with 413 before it is parsed or reaches Temporal (which refuses payloads over 2 MB).
    max_request_bytes: int = Field(default=1_000_000, ge=1024, le=1_900_000)
    # Where the CLI's role commands go when `liaison login` was not given --server.
    server_url: str = "http://127.0.0.1:8400"
    # Sign-in: failures are slowed down (this delay doubles per failure, at most 4 s) and after so many
    # in a row the principal is locked for a while.
    sign_in_failure_delay: timedelta = timedelta(milliseconds=250)
    sign_in_lock_after: int = Field(default=5, ge=1)
    sign_in_lock_for: timedelta = timedelta(minutes=15)
    token_lifetime: timedelta = timedelta(hours=12)
    token_max_lifetime: timedelta = timedelta(days=90)
    session_idle_timeout: timedelta = timedelta(minutes=30)
    session_lifetime: timedelta = timedelta(hours=12)
    # Browser cookies only over HTTPS: set true behind TLS (the embedded default serves plain HTTP locally).
    secure_cookies: bool = False
    # Approvers must enrol a one-time code before they may sign off coercive tasks.
    require_one_time_code_for_approvers: bool = False

    reminder_before_due: timedelta = timedelta(days=1)
    escalate_after_due: timedelta = timedelta(0)
    results_grace_after_action_day: timedelta = timedelta(days=2)
    scoring: ScoringPolicy = ScoringPolicy()

    @property
    def store_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'liaison.db').resolve()}"

    @property
    def signing_key_file(self) -> Path:
        return self.checkpoint_key_file or self.data_dir / "checkpoint-ed25519.pem"

    @property
    def temporal_ui_origins(self) -> tuple[str, ...]:
        if self.temporal_ui_origin:
            return (self.temporal_ui_origin.rstrip("/"),)
        return tuple(f"http://{host}:{self.temporal_ui_port}" for host in ("127.0.0.1", "localhost"))

    @property
    def payload_keys_directory(self) -> Path:
        return self.payload_keys_dir or self.data_dir / "payload-keys"

    @property
    def temporal_db_file(self) -> Path:
        return self.data_dir / "temporal.db"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
