"""The HTTP API (FastAPI): authentication, then one service call per route."""
