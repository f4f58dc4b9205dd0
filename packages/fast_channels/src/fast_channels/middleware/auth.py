"""Authenticate connections on the handshake with a Starlette ``AuthenticationBackend``.

::

    from fast_channels.middleware.auth import AuthMiddleware, BearerTokenBackend

    class JWTBackend(BearerTokenBackend):
        async def verify_token(self, token, conn):
            claims = decode_and_check(token)          # raise AuthenticationError if bad
            return AuthCredentials(["authenticated"]), SimpleUser(claims["sub"])

    app.mount("/ws", AuthMiddleware(ws_app, JWTBackend(query_param="token")))

Any existing Starlette backend works unchanged: ``AuthMiddleware(ws_app, MyBackend())``.
This module needs Starlette (which FastAPI installs).
"""

from __future__ import annotations

from collections.abc import Callable
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

try:
    from starlette.authentication import (
        AuthCredentials,
        AuthenticationBackend,
        AuthenticationError,
        BaseUser,
        UnauthenticatedUser,
    )
    from starlette.middleware.authentication import AuthenticationMiddleware
    from starlette.requests import HTTPConnection
    from starlette.responses import PlainTextResponse, Response
except ImportError as exc:  # pragma: no cover - exercised only without Starlette
    raise ImportError(
        "fast_channels.middleware.auth needs Starlette: pip install starlette (FastAPI has it)"
    ) from exc

from ..types import ASGIApp, Receive, Scope, Send
from .origin import deny_websocket

__all__ = ["AuthMiddleware", "BearerTokenBackend"]


def _forbidden(conn: HTTPConnection, exc: Exception) -> Response:
    return PlainTextResponse(str(exc), status_code=403)


class AuthMiddleware(AuthenticationMiddleware):
    """Run ``backend`` on every HTTP request and WebSocket handshake, before ``app``.

    Sets ``scope["user"]`` (a Starlette ``BaseUser``; ``UnauthenticatedUser`` when the
    backend returns ``None``) and ``scope["auth"]`` (``AuthCredentials``), exactly as
    Starlette's ``AuthenticationMiddleware`` does, so ``request.user`` and
    ``self.scope["user"]`` in a consumer both work.

    When the backend raises ``AuthenticationError`` (a token that is present but
    invalid or expired), a WebSocket handshake is refused before accept
    (``websocket.close`` with 1008, which the server answers with HTTP 403) and an
    HTTP request gets ``on_error``'s response (403 with the error's text by default).
    A handshake without credentials is not refused here: the consumer decides
    (``authentication_required`` on
    :class:`~fast_channels.consumer.websocket.AsyncWebsocketConsumer`).
    """

    def __init__(
        self,
        app: ASGIApp,
        backend: AuthenticationBackend,
        on_error: Callable[[HTTPConnection, AuthenticationError], Response] | None = None,
    ) -> None:
        super().__init__(app, backend, on_error or _forbidden)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            try:
                result = await self.backend.authenticate(HTTPConnection(scope))
            except AuthenticationError:
                await deny_websocket(receive, send)
                return
            # Re-running the backend in Starlette's code would verify the token twice.
            scope["auth"], scope["user"] = result or (AuthCredentials(), UnauthenticatedUser())
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


class BearerTokenBackend(AuthenticationBackend):
    """A backend that finds a token on the connection and hands it to :meth:`verify_token`.

    Sources, tried in this order; each is off when its argument is ``None``:

    ``header`` (default ``"authorization"``)
        ``Authorization: Bearer <token>``. Best for HTTP and for non-browser
        clients; browsers cannot set headers on a WebSocket handshake.
    ``cookie``
        the named cookie. Browsers send it on the handshake automatically, which is
        also the risk: any page can open a socket with your visitor's cookies, so
        pair cookies with :class:`~fast_channels.middleware.OriginValidator`.
    ``subprotocol_prefix``
        a ``Sec-WebSocket-Protocol`` entry ``"<prefix><token>"`` (for example
        ``new WebSocket(url, ["chat", "bearer." + token])``). Kept out of URLs and
        logs, and settable from browser JavaScript. The entry is removed from
        ``scope["subprotocols"]`` so a consumer never echoes the token back; the
        consumer must accept one of the *other* offered subprotocols (``"chat"``),
        or browsers drop the connection.
    ``query_param``
        ``?token=<token>`` on the URL. The simplest from a browser, but URLs end up
        in server and proxy access logs and browser history: use short-lived tokens.

    No token anywhere: :meth:`authenticate` returns ``None`` (an anonymous user).
    """

    def __init__(
        self,
        *,
        header: str | None = "authorization",
        cookie: str | None = None,
        subprotocol_prefix: str | None = None,
        query_param: str | None = None,
    ) -> None:
        if subprotocol_prefix == "":
            raise ValueError("subprotocol_prefix must be a non-empty str such as 'bearer.'")
        self.header = header.lower() if header else None
        self.cookie = cookie
        self.subprotocol_prefix = subprotocol_prefix
        self.query_param = query_param

    async def verify_token(
        self, token: str, conn: HTTPConnection
    ) -> tuple[AuthCredentials, BaseUser] | None:
        """Check ``token``; return credentials and user, or raise ``AuthenticationError``.

        Override this. Returning ``None`` treats the connection as anonymous.
        """
        raise NotImplementedError(f"{type(self).__name__} must override verify_token()")

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        """Find the token (see the class docstring) and verify it."""
        token = self.find_token(conn)
        return None if token is None else await self.verify_token(token, conn)

    def find_token(self, conn: HTTPConnection) -> str | None:
        """The first token found among the enabled sources, or ``None``."""
        scope = conn.scope
        if self.header:
            value = conn.headers.get(self.header)
            if value:
                scheme, _, token = value.partition(" ")
                if scheme.lower() != "bearer" or not token.strip():
                    raise AuthenticationError(
                        f"The {self.header!r} header must be 'Bearer <token>'."
                    )
                return token.strip()
        if self.cookie:
            cookies = SimpleCookie(conn.headers.get("cookie", ""))
            if self.cookie in cookies and cookies[self.cookie].value:
                return cookies[self.cookie].value
        prefix = self.subprotocol_prefix
        if prefix and scope["type"] == "websocket":
            offered: list[str] = list(scope.get("subprotocols") or ())
            for entry in offered:
                if entry.startswith(prefix):
                    scope["subprotocols"] = [p for p in offered if not p.startswith(prefix)]
                    return entry[len(prefix) :]
        if self.query_param:
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            values = query.get(self.query_param)
            if values and values[0]:
                found: str = values[0]
                return found
        return None
