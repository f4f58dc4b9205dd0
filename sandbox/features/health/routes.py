"""Health page, its WebSocket route and the Prometheus exposition."""

from __future__ import annotations

from fast_channels.metrics import metrics_app
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.types import ASGIApp

from ...pages import render
from .consumers import HealthConsumer

router = APIRouter()


@router.get("/health", response_class=HTMLResponse, include_in_schema=False)
async def health_page(request: Request) -> HTMLResponse:
    return render(request, "health.html", title="Health")


def websocket_routes() -> list[BaseRoute]:
    """Mounted under ``/ws`` by the app factory."""
    return [WebSocketRoute("/health", HealthConsumer.as_asgi())]


def prometheus_app() -> ASGIApp:
    """``/metrics``: every layer and consumer of this process, for Prometheus."""
    app: ASGIApp = metrics_app()
    return app
