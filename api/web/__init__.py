"""The web pages: server-rendered from the same service calls and view models as the API, under /web."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from api.web import audit_pages, inbox_pages, operation_pages, session_pages
from api.web.rendering import STATIC


def install(app: FastAPI) -> None:
    for router in (session_pages.router, inbox_pages.router, operation_pages.router, audit_pages.router):
        app.include_router(router)
    app.mount("/web/static", StaticFiles(directory=STATIC), name="web-static")
    app.add_exception_handler(session_pages.SignInFirst, session_pages.sign_in_first)

    @app.get("/web", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse("/web/inbox", status_code=303)
