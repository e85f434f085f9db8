"""`make api` / `bgw api`: the API on API_HOST:API_PORT, refusing an open API off loopback.

Without BGW_API_TOKENS anyone who reaches the port can download every row and apply
imports, so the server then binds loopback only; binding another address without tokens
needs BGW_API_ALLOW_UNAUTHENTICATED=true, said explicitly.
"""

from __future__ import annotations

import ipaddress

from bgw_pipeline.core.model.errors import ConfigError
from bgw_pipeline.settings import Settings


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def check_bind(settings: Settings) -> None:
    """Raise ConfigError when the API would listen off loopback with no token at all."""
    if settings.api_tokens or settings.api_allow_unauthenticated:
        return
    if not is_loopback(settings.api_host):
        raise ConfigError(
            f"API_HOST={settings.api_host} would serve every row to anyone who reaches it: "
            "set BGW_API_TOKENS (read:TOKEN,write:TOKEN), or BGW_API_ALLOW_UNAUTHENTICATED=true "
            "to allow an open API on purpose"
        )


def serve(settings: Settings) -> None:
    """Run the API until stopped; ConfigError before listening when the bind is refused."""
    import uvicorn

    check_bind(settings)
    uvicorn.run("bgw_pipeline.api:app", host=settings.api_host, port=settings.api_port)
