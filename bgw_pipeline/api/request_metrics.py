"""HTTP requests counted by route, method and status, and timed: the API's own metrics.

These live in this process's memory (Prometheus scrapes each API process); the run and
export counters beside them come from durable records (metrics.py). The route is the
matched route's template (`/api/v1/export/csv/games`), never the raw path, so a scan of
random URLs cannot swell the label set: unmatched paths count as `unmatched`.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HTTP_REGISTRY = CollectorRegistry()
REQUESTS = Counter(
    "bgw_http_requests",
    "HTTP requests answered, by route, method and status.",
    ["route", "method", "status"],
    registry=HTTP_REGISTRY,
)
LATENCY = Histogram(
    "bgw_http_request_duration_seconds",
    "Time to the end of the answer, by route and method.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
    registry=HTTP_REGISTRY,
)


def _route(scope: Scope, known: frozenset[str]) -> str:
    """The matched route's template; for a request answered before routing (the token
    check, the upload limit) the documented path it was sent to, if it is one."""
    route = scope.get("route")
    if route is not None:
        return str(route.path)
    path = scope.get("path", "")
    return path if path in known else "unmatched"


class RequestMetricsMiddleware:
    """Counts and times every HTTP request, whatever answered it (a route, the token
    check, the upload limit, an error handler)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._known: frozenset[str] | None = None

    def _known_paths(self, scope: Scope) -> frozenset[str]:
        """The API's documented paths (its OpenAPI document), read once."""
        if self._known is None:
            openapi = getattr(scope.get("app"), "openapi", None)
            self._known = frozenset(openapi()["paths"]) if openapi else frozenset()
        return self._known

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception before any answer: the server answers 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            route, method = _route(scope, self._known_paths(scope)), scope["method"]
            REQUESTS.labels(route, method, str(status)).inc()
            LATENCY.labels(route, method).observe(time.perf_counter() - started)
