"""Authenticate WebSocket handshakes with a session cookie set at login."""

import secrets
from typing import Any

from fast_channels.consumer.websocket import AsyncJsonWebsocketConsumer
from fast_channels.middleware import OriginValidator
from fast_channels.middleware.auth import AuthMiddleware
from fastapi import FastAPI, HTTPException, Response
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    SimpleUser,
)
from starlette.requests import HTTPConnection
from starlette.routing import WebSocketRoute

COOKIE = "session"
# Stand-ins for your user table and session store (a database, Redis...).
PASSWORDS = {"ada": "correct horse"}
SESSIONS: dict[str, str] = {}  # session id -> username


class SessionBackend(AuthenticationBackend):
    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, SimpleUser] | None:
        session_id = conn.cookies.get(COOKIE)
        if session_id is None:
            return None  # anonymous
        username = SESSIONS.get(session_id)
        if username is None:  # logged out or forged: refuse rather than go anonymous
            raise AuthenticationError("Session expired; sign in again.")
        return AuthCredentials(["authenticated"]), SimpleUser(username)


class InboxConsumer(AsyncJsonWebsocketConsumer):
    channel_layer_alias = None
    authentication_required = True

    async def connect(self) -> None:
        await self.accept()
        await self.send_json({"inbox_of": self.scope["user"].username})


ws_app = Starlette(routes=[WebSocketRoute("/inbox", InboxConsumer.as_asgi())])


class Login(BaseModel):
    username: str
    password: str


app = FastAPI()
# Browsers send cookies with every handshake, whichever page opens the socket: check
# the Origin too, or another site could open a socket as your signed-in visitor.
app.mount("/ws", OriginValidator(AuthMiddleware(ws_app, SessionBackend()), ["localhost"]))


@app.post("/login")
async def login(body: Login, response: Response) -> dict[str, Any]:
    if not secrets.compare_digest(PASSWORDS.get(body.username, ""), body.password):
        raise HTTPException(status_code=401, detail="Wrong username or password.")
    session_id = secrets.token_urlsafe(32)
    SESSIONS[session_id] = body.username
    response.set_cookie(COOKIE, session_id, httponly=True, samesite="lax")
    return {"signed_in": body.username}
