"""Request limits: upload size (413 before the body is read); the client's address for the
export limit (core/operations/rate_window.py, 429)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bgw_pipeline.api.errors import json_error

IMPORT_PATH = "/api/v1/export/full"  # POST: an import
UPLOAD_PATHS = (IMPORT_PATH, "/api/v1/export/summary")
MULTIPART_OVERHEAD = 64 * 1024


class UploadTooLarge(Exception):
    """The request body passed the upload limit while it was being received."""


class UploadLimitMiddleware:
    """Refuse uploads over the limit: by Content-Length at once, else while streaming."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        on_refused_import: Callable[[str], None] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.on_refused_import = on_refused_import  # called with the reason, off the loop

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer 413; an import refused so is recorded for the failed-imports metric."""
        # Recorded before the answer: a caller that reads /metrics right after the 413
        # must find the refusal counted.
        if scope["path"] == IMPORT_PATH and self.on_refused_import is not None:
            await anyio.to_thread.run_sync(self.on_refused_import, "too_large")
        await json_error(413, self._limit_message())(scope, receive, send)

    def _limit_message(self) -> str:
        return f"the upload is larger than the {self.max_bytes // (1024 * 1024)} MB limit"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"] not in UPLOAD_PATHS
        ):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if (
            declared is not None
            and declared.isdigit()
            and int(declared) > self.max_bytes + MULTIPART_OVERHEAD
        ):
            await self._refuse(scope, receive, send)
            return
        received = 0
        answered = False

        async def counting_receive() -> Message:
            nonlocal received, answered
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes + MULTIPART_OVERHEAD:
                if not answered:
                    # Answer now: the body parser would turn any exception into a 400.
                    answered = True
                    await self._refuse(scope, receive, send)
                raise UploadTooLarge(self._limit_message())
            return message

        async def guarded_send(message: Message) -> None:
            if not answered:
                await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except UploadTooLarge:
            if not answered:
                await self._refuse(scope, receive, send)


def client_ip(request: Any) -> str:
    return request.client.host if request.client else "unknown"
