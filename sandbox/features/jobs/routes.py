"""Jobs page and WebSocket route."""

from __future__ import annotations

from fast_channels.consumer.limits import ConnectionLimits
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.routing import BaseRoute, WebSocketRoute

from ...pages import render
from .consumers import SESSION_COOKIE, SESSION_RE, JobsConsumer, new_session_id
from .contract import JOB_KINDS, MAX_STEPS, MIN_STEPS

router = APIRouter()


@router.get("/jobs", response_class=HTMLResponse, include_in_schema=False)
async def jobs_page(request: Request) -> HTMLResponse:
    """The jobs page; gives the browser a session id (a cookie) when it has none.

    The page's socket sends the cookie with its handshake, so every page of the
    session, reloaded or in another tab, sees the same jobs.
    """
    response = render(
        request,
        "jobs.html",
        title="Job queue",
        kinds=JOB_KINDS,
        min_steps=MIN_STEPS,
        max_steps=MAX_STEPS,
    )
    if not SESSION_RE.match(request.cookies.get(SESSION_COOKIE, "")):
        response.set_cookie(SESSION_COOKIE, new_session_id(), httponly=True, samesite="lax")
    return response


def websocket_routes(limits: ConnectionLimits) -> list[BaseRoute]:
    """Mounted under ``/ws``: ``/ws/jobs``."""
    return [WebSocketRoute("/jobs", JobsConsumer.as_asgi(limits=limits))]
