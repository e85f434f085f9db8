"""Bearer tokens with roles, checked before any handler runs (and before an upload is read).

Default deny: with tokens configured (BGW_API_TOKENS), every route needs a token except
the ones in OPEN (liveness, the web page that asks for a token, the API's own docs). A
`read` token may export, download, fetch CSV, summaries and metrics, and upload dry runs;
only a `write` token may apply an import. Without tokens the API is open, and the
launcher (serve.py) then binds loopback only.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

from bgw_pipeline.api.errors import json_error
from bgw_pipeline.settings import READ, WRITE, ApiToken

OPEN = frozenset({"/health", "/", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})
APPLY_PATH = "/api/v1/export/full"
_DRY_RUN_WORDS = frozenset({"true", "1", "yes", "on"})  # FastAPI's spellings of true
_RANK = {READ: 1, WRITE: 2}
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="bgw"'}


def needed_role(method: str, path: str, query: bytes) -> str | None:
    """The role a request needs; None for the open routes."""
    if method in ("GET", "HEAD") and path in OPEN:
        return None
    if method == "POST" and path == APPLY_PATH:
        values = parse_qs(query.decode("latin-1")).get("dry_run")
        # Anything but a clear dry run (absent means one) is treated as an apply.
        if values is not None and values[-1].strip().lower() not in _DRY_RUN_WORDS:
            return WRITE
    return READ


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def presented_token(header: str, tokens: Sequence[ApiToken]) -> ApiToken | None:
    """The configured token an `Authorization: Bearer` header carries, or None. Every
    token is compared (constant time each, no early exit), so the time says nothing."""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    presented = token_digest(value.strip())
    found = None
    for token in tokens:
        if hmac.compare_digest(presented, token_digest(token.secret)):
            found = token
    return found


class TokenAuthMiddleware:
    """Answers 401 (no or unknown token) or 403 (a read token on a write) itself; the
    request then never reaches a handler, so nothing changes. The accepted token's id
    (never the token) is left in the request state for the rate limit."""

    def __init__(self, app: ASGIApp, tokens: Callable[[], Sequence[ApiToken]]) -> None:
        self.app = app
        self._tokens = tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tokens = self._tokens() if scope["type"] == "http" else ()
        if not tokens:
            await self.app(scope, receive, send)
            return
        role = needed_role(scope["method"], scope["path"], scope.get("query_string", b""))
        if role is None:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        token = presented_token(headers.get(b"authorization", b"").decode("latin-1"), tokens)
        if token is None:
            answer = json_error(401, "a valid API token is required (Authorization: Bearer)",
                                CHALLENGE)  # fmt: skip
        elif _RANK[token.role] < _RANK[role]:
            answer = json_error(403, "this token may read only; applying an import needs a "
                                "write token")  # fmt: skip
        else:
            scope.setdefault("state", {})["bgw_token_id"] = token.id
            await self.app(scope, receive, send)
            return
        await answer(scope, receive, send)
