"""The sandbox's FastAPI application factory.

``uvicorn --factory sandbox.app:create_app`` builds it from the environment;
tests call ``create_app(Settings(...))``. Layout:

- pages and the HTTP API are FastAPI routers, one per feature;
- every WebSocket lives in one Starlette sub-app mounted at ``/ws`` and wrapped
  in ``OriginValidator``, so a page from another site cannot open a socket;
- HTTP consumers (Server-Sent Events) live in another, mounted at ``/sse``: a
  browser lets other sites open them but not read them, so no origin check;
- ``lifespan`` closes the job queue and the channel layers on shutdown.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fast_channels.consumer.limits import ConnectionLimits
from fast_channels.middleware import OriginValidator
from fast_channels.middleware.auth import AuthMiddleware
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.applications import Starlette

from . import pages
from .features.chat import routes as chat
from .features.chat.signin import SignedNameBackend
from .features.echo import routes as echo
from .features.health import routes as health
from .features.jobs import routes as jobs
from .features.jobs.queue import JobQueue
from .features.notifications import routes as notifications
from .features.showcase import routes as showcase
from .layers import close_channel_layers, setup_channel_layers
from .settings import Settings, get_settings


def create_websocket_app(settings: Settings, aliases: list[str], job_queue: JobQueue) -> Starlette:
    """The ``/ws`` sub-app: one route per consumer. Consumers read its ``state``."""
    # The library enforces the limits; the settings only choose them.
    limits = ConnectionLimits(
        max_frame_bytes=settings.max_message_bytes,
        rate=settings.rate_limit,
        burst=settings.rate_burst,
    )
    ws_app = Starlette(
        routes=[
            *echo.websocket_routes(limits),
            *chat.websocket_routes(limits),
            *notifications.websocket_routes(limits),
            *jobs.websocket_routes(limits),
            *showcase.websocket_routes(aliases, limits),
            *health.websocket_routes(),
        ]
    )
    ws_app.state.settings = settings
    ws_app.state.job_queue = job_queue
    return ws_app


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the sandbox app; layers are registered here, before any connection."""
    settings = settings or get_settings()
    aliases = setup_channel_layers(settings)
    job_queue = JobQueue(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await job_queue.close()
        await close_channel_layers()

    app = FastAPI(title="fast-channels sandbox", lifespan=lifespan)
    app.state.settings = settings
    app.state.templates = pages.make_templates()
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")
    ws_app = create_websocket_app(settings, aliases, job_queue)
    app.mount("/ws", OriginValidator(ws_app, settings.allowed_origins))
    app.mount("/sse", Starlette(routes=notifications.sse_routes()))
    app.mount("/metrics", health.prometheus_app())  # Prometheus scrapes /metrics/
    for feature in (pages, echo, chat, notifications, jobs, showcase, health):
        app.include_router(feature.router)
    # Outermost, so pages, the API and every WebSocket handshake see scope["user"].
    app.add_middleware(AuthMiddleware, backend=SignedNameBackend(settings.session_secret))
    return app
