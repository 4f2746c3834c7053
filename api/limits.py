"""Request-size limit: a body over the limit is refused with 413 naming the limit, before it is parsed
and long before anything could reach Temporal (which refuses payloads over 2 MB)."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.errors import ErrorKind
from services.errors import PRESENTATION


class RequestSizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(send, declared.decode(errors="replace"))
            return
        seen = 0
        started = refused = False

        async def limited_receive() -> Message:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes and not refused:
                    refused = True
                    if not started:
                        await self._refuse(send, f"more than {self.max_bytes}")
                    return {"type": "http.disconnect"}  # the app stops reading; its answer is dropped
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except Exception:
            if not refused:
                raise

    async def _refuse(self, send: Send, size: str) -> None:
        shown = PRESENTATION[ErrorKind.TOO_LARGE]
        body = json.dumps({
            "type": "https://liaison.invalid/problems/too_large", "title": shown.title, "status": shown.http_status,
            "code": "too_large", "field": "body", "value": size,
            "detail": f"the request body ({size} bytes) is larger than the limit of {self.max_bytes} bytes "
                      "(LIAISON_MAX_REQUEST_BYTES); split it, e.g. add targets in several requests"}).encode()
        await send({"type": "http.response.start", "status": shown.http_status,
                    "headers": [(b"content-type", b"application/problem+json"),
                                (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
