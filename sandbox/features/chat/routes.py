"""Chat page and WebSocket route."""

from __future__ import annotations

from typing import Any

from fast_channels.consumer.limits import ConnectionLimits
from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel
from starlette.routing import BaseRoute, WebSocketRoute

from ...pages import render
from .consumers import MAX_NAME_CHARS, ChatConsumer
from .signin import COOKIE, signed_cookie

router = APIRouter()


@router.get("/chat", response_class=HTMLResponse, include_in_schema=False)
async def chat_page(request: Request) -> HTMLResponse:
    return render(request, "chat.html", title="Room chat")


class SignIn(BaseModel):
    name: str


@router.post("/api/signin")
async def sign_in(body: SignIn, request: Request, response: Response) -> dict[str, Any]:
    """Sign in under a name (no password: it is a demo of where names come from)."""
    name = body.name.strip()
    if not name or len(name) > MAX_NAME_CHARS:
        raise HTTPException(422, f"A name is 1 to {MAX_NAME_CHARS} characters.")
    secret = request.app.state.settings.session_secret
    response.set_cookie(COOKIE, signed_cookie(name, secret), httponly=True, samesite="lax")
    return {"name": name, "signed_in": True}


@router.post("/api/signout")
async def sign_out(response: Response) -> dict[str, Any]:
    response.delete_cookie(COOKIE)
    return {"signed_in": False}


@router.get("/api/me")
async def me(request: Request) -> dict[str, Any]:
    user = request.user
    return {"name": user.display_name, "signed_in": user.is_authenticated}


def websocket_routes(limits: ConnectionLimits) -> list[BaseRoute]:
    """Mounted under ``/ws``: ``/ws/room/{room_name}``."""
    # ":path" lets a name with a slash ("a/b") reach the consumer, which refuses it with
    # a clear error; with no matching route the page would only see a failed handshake
    # and retry forever.
    return [WebSocketRoute("/room/{room_name:path}", ChatConsumer.as_asgi(limits=limits))]
