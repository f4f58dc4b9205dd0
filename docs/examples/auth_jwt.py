"""Authenticate WebSocket handshakes (and HTTP requests) with a JWT, using PyJWT."""

import os
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from fast_channels.consumer.websocket import AsyncJsonWebsocketConsumer
from fast_channels.middleware.auth import AuthMiddleware, BearerTokenBackend
from fastapi import FastAPI, Request
from starlette.applications import Starlette
from starlette.authentication import AuthCredentials, AuthenticationError, SimpleUser
from starlette.requests import HTTPConnection
from starlette.routing import WebSocketRoute

# The app reads its secret from the environment; never ship the fallback.
SECRET = os.environ.get("JWT_SECRET", "dev-only-secret-change-me-0123456789")
ALGORITHM = "HS256"


def issue_token(username: str, lifetime: timedelta = timedelta(minutes=15)) -> str:
    """What your login endpoint hands the browser: short-lived, signed, with a subject."""
    now = datetime.now(UTC)
    claims = {"sub": username, "iat": now, "exp": now + lifetime}
    return jwt.encode(claims, SECRET, algorithm=ALGORITHM)


class JWTBackend(BearerTokenBackend):
    async def verify_token(
        self, token: str, conn: HTTPConnection
    ) -> tuple[AuthCredentials, SimpleUser]:
        try:
            claims = jwt.decode(
                token, SECRET, algorithms=[ALGORITHM], options={"require": ["sub", "exp"]}
            )
        except jwt.InvalidTokenError as exc:  # expired, tampered, wrong algorithm...
            raise AuthenticationError(f"Invalid token: {exc}") from exc
        return AuthCredentials(["authenticated"]), SimpleUser(claims["sub"])


class WhoAmIConsumer(AsyncJsonWebsocketConsumer):
    channel_layer_alias = None
    authentication_required = True  # no valid token: HTTP 403, connect() never runs

    async def connect(self) -> None:
        # A browser offers ["json", "bearer.<token>"]; the token entry is already gone
        # from the scope. Accept the protocol it asked for, or the browser hangs up.
        offered = self.scope["subprotocols"]
        await self.accept(subprotocol=offered[0] if offered else None)
        await self.send_json({"user": self.scope["user"].display_name})


# Header for scripts and HTTP calls; subprotocol and query string for browsers.
backend = JWTBackend(subprotocol_prefix="bearer.", query_param="token")

ws_app = Starlette(routes=[WebSocketRoute("/whoami", WhoAmIConsumer.as_asgi())])

app = FastAPI()
app.mount("/ws", ws_app)
# One middleware for the whole app: HTTP routes see request.user too.
app.add_middleware(AuthMiddleware, backend=backend)


@app.get("/api/me")
async def me(request: Request) -> dict[str, Any]:
    return {"user": request.user.display_name, "signed_in": request.user.is_authenticated}
