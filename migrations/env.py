"""Alembic environment: target store.tables.metadata; URL from the config, else settings."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context

from store.db import make_engine
from store.tables import metadata

config = context.config
if config.config_file_name is not None and config.get_section("loggers") is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from settings import get_settings

    return get_settings().store_url


def run_migrations_offline() -> None:
    url = _url()
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True,
                      compare_type=True, render_as_batch=url.startswith("sqlite"),
                      dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(_url())
    try:
        with engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            # make_engine emits BEGIN itself on SQLite, so its DDL is transactional too
            context.configure(connection=connection, target_metadata=target_metadata,
                              compare_type=True, render_as_batch=sqlite,
                              transactional_ddl=True if sqlite else None)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
