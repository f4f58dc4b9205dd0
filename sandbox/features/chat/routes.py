"""Chat page and WebSocket route."""

from __future__ import annotations

from fast_channels.consumer.limits import ConnectionLimits
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.routing import BaseRoute, WebSocketRoute

from ...pages import render
from .consumers import ChatConsumer

router = APIRouter()


@router.get("/chat", response_class=HTMLResponse, include_in_schema=False)
async def chat_page(request: Request) -> HTMLResponse:
    return render(request, "chat.html", title="Room chat")


def websocket_routes(limits: ConnectionLimits) -> list[BaseRoute]:
    """Mounted under ``/ws``: ``/ws/room/{room_name}``."""
    # ":path" lets a name with a slash ("a/b") reach the consumer, which refuses it with
    # a clear error; with no matching route the page would only see a failed handshake
    # and retry forever.
    return [WebSocketRoute("/room/{room_name:path}", ChatConsumer.as_asgi(limits=limits))]
