"""Jobs page and WebSocket route."""

from __future__ import annotations

from fast_channels.consumer.limits import ConnectionLimits
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.routing import BaseRoute, WebSocketRoute

from ...pages import render
from .consumers import JobsConsumer
from .contract import JOB_KINDS, MAX_STEPS, MIN_STEPS

router = APIRouter()


@router.get("/jobs", response_class=HTMLResponse, include_in_schema=False)
async def jobs_page(request: Request) -> HTMLResponse:
    return render(
        request,
        "jobs.html",
        title="Job queue",
        kinds=JOB_KINDS,
        min_steps=MIN_STEPS,
        max_steps=MAX_STEPS,
    )


def websocket_routes(limits: ConnectionLimits) -> list[BaseRoute]:
    """Mounted under ``/ws``: ``/ws/jobs``."""
    return [WebSocketRoute("/jobs", JobsConsumer.as_asgi(limits=limits))]
