"""Reject WebSocket handshakes from origins that are not allowed."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from ..types import ASGIApp, Receive, Scope, Send

#: Close code for a rejected handshake: the server answers HTTP 403.
POLICY_VIOLATION = 1008

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


async def deny_websocket(receive: Receive, send: Send) -> None:
    """Wait for the handshake and refuse it (the server answers HTTP 403)."""
    message = await receive()
    if message["type"] == "websocket.connect":
        await send({"type": "websocket.close", "code": POLICY_VIOLATION})


class _Pattern:
    """One allowed origin: ``*``, ``https://example.com[:port]``, ``*.example.com``..."""

    def __init__(self, pattern: str) -> None:
        if not isinstance(pattern, str) or not pattern:
            raise ValueError(f"An allowed origin must be a non-empty str, got {pattern!r}")
        self.text = pattern
        self.any = pattern == "*"
        if self.any:
            return
        parts = urlsplit(pattern if "://" in pattern else f"//{pattern}")
        host = (parts.hostname or "").lower()
        try:
            port = parts.port
        except ValueError:
            port = None
            host = ""
        if not host or parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError(
                f"Allowed origin {pattern!r} is not understood: use '*', a host "
                "('example.com', '*.example.com') or an origin ('https://example.com:8443')."
            )
        self.scheme = parts.scheme.lower() or None
        self.port = port if port is not None else _DEFAULT_PORTS.get(self.scheme or "")
        self.subdomains = host.startswith("*.")
        self.host = host[2:] if self.subdomains else host

    def matches(self, scheme: str, host: str, port: int | None) -> bool:
        if self.any:
            return True
        if self.scheme is not None and scheme != self.scheme:
            return False
        if self.port is not None and port != self.port:
            return False
        if self.subdomains:
            return host.endswith("." + self.host)
        return host == self.host


class OriginValidator:
    """ASGI middleware: only WebSocket handshakes from allowed origins reach ``app``.

    ``allowed_origins`` items may be:

    * ``"*"`` — any origin, including requests without an ``Origin`` header;
    * a host, ``"example.com"`` — that host on any scheme and port;
    * a subdomain wildcard, ``"*.example.com"`` — any subdomain (not the bare
      domain: list ``"example.com"`` too if you want it);
    * an origin, ``"https://example.com"`` or ``"http://localhost:8000"`` —
      scheme, host and port must all match (default port when none is given).

    A handshake with no ``Origin`` header (or ``Origin: null``) is rejected
    unless ``"*"`` is allowed. A rejected handshake is closed before accept
    with ``websocket.close`` (code 1008), which the server turns into HTTP 403.
    HTTP and lifespan scopes pass through untouched.
    """

    def __init__(self, app: ASGIApp, allowed_origins: Iterable[str]) -> None:
        if isinstance(allowed_origins, str):
            raise TypeError("allowed_origins must be a list of origins, not a single str")
        self.app = app
        self.patterns = [_Pattern(p) for p in allowed_origins]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and not self.is_allowed(_origin(scope)):
            await deny_websocket(receive, send)
            return
        await self.app(scope, receive, send)

    def is_allowed(self, origin: str | None) -> bool:
        """True if the ``Origin`` header value ``origin`` may connect."""
        if origin is None or origin == "null":
            return any(p.any for p in self.patterns)
        parts = urlsplit(origin)
        try:
            port = parts.port
        except ValueError:
            return False
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").lower()
        if not scheme or not host:
            return False
        if port is None:
            port = _DEFAULT_PORTS.get(scheme)
        return any(p.matches(scheme, host, port) for p in self.patterns)


def _origin(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"origin":
            text: str = value.decode("latin-1")
            return text
    return None


class WebsocketDenier:
    """An ASGI app that refuses every WebSocket handshake (HTTP 403).

    Mount it where WebSockets must not be served; other scope types are an error.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            raise TypeError(f"WebsocketDenier only serves websocket scopes, got {scope['type']!r}")
        await deny_websocket(receive, send)
