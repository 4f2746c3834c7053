"""The `liaison` console script: what must happen before the CLI's modules are imported."""

from __future__ import annotations

import atexit
import gc
import os


def run() -> None:
    # pydantic looks for plugins among every installed distribution's entry points when it builds its
    # first model (~20 ms of each command here); no plugin is installed, and the CLI uses none.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    # At exit the interpreter collects the cycles among everything it imported (pydantic's schemas, the
    # typing objects): ~50 ms of a 300 ms command here, to free memory the process is giving back anyway.
    # Frozen objects are left out of that collection; nothing the CLI does relies on it.
    atexit.register(gc.freeze)
    from cli.main import app

    app()
