"""Notifications page, ``POST /api/notifications``, the WebSocket and the SSE routes."""

from __future__ import annotations

from typing import Any

from fast_channels.consumer.limits import ConnectionLimits
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel
from starlette.routing import BaseRoute, Route, WebSocketRoute

from ...pages import render
from .consumers import NotificationsConsumer, NotificationsStream
from .push import push_notification

router = APIRouter()


class NotificationIn(BaseModel):
    text: str


@router.get("/notifications", response_class=HTMLResponse, include_in_schema=False)
async def notifications_page(request: Request) -> HTMLResponse:
    return render(request, "notifications.html", title="Notifications")


@router.post("/api/notifications", status_code=202)
async def post_notification(body: NotificationIn) -> dict[str, Any]:
    """Push a notification to every open page.

    ``curl -X POST localhost:8080/api/notifications -H 'content-type: application/json'
    -d '{"text": "Deploy finished"}'``
    """
    try:
        event = await push_notification(body.text, source="http")
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    return {"id": event["id"], "text": event["text"], "source": event["source"]}


def websocket_routes(limits: ConnectionLimits) -> list[BaseRoute]:
    """Mounted under ``/ws``: ``/ws/notifications``."""
    return [WebSocketRoute("/notifications", NotificationsConsumer.as_asgi(limits=limits))]


def sse_routes() -> list[BaseRoute]:
    """Mounted under ``/sse``: ``/sse/notifications``, the same feed as Server-Sent Events."""
    return [Route("/notifications", NotificationsStream.as_asgi())]
