"""Echo page and WebSocket route."""

from __future__ import annotations

from fast_channels.consumer.limits import ConnectionLimits
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.routing import BaseRoute, WebSocketRoute

from ...pages import render
from .consumers import EchoConsumer

router = APIRouter()


@router.get("/echo", response_class=HTMLResponse, include_in_schema=False)
async def echo_page(request: Request) -> HTMLResponse:
    return render(request, "echo.html", title="System echo")


def websocket_routes(limits: ConnectionLimits) -> list[BaseRoute]:
    """Mounted under ``/ws`` by the app factory."""
    return [WebSocketRoute("/echo", EchoConsumer.as_asgi(limits=limits))]
