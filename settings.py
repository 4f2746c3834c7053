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
    task_queue: str = "liaison-operations"
    log_format: str = Field(default="console", pattern="^(console|json)$")
    log_level: str = "INFO"
    actor: str = ""
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
    def temporal_db_file(self) -> Path:
        return self.data_dir / "temporal.db"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
