"""The `liaison` console script: what must happen before the CLI's modules are imported."""

from __future__ import annotations

import os


def run() -> None:
    # pydantic looks for plugins among every installed distribution's entry points when it builds its
    # first model (~20 ms of each command here); no plugin is installed, and the CLI uses none.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    from cli.main import app

    app()
