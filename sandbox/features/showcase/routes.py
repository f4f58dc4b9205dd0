"""Showcase page, ``POST /api/showcase/{alias}`` and one WebSocket route per layer."""

from __future__ import annotations

from typing import Any

from fast_channels.consumer.limits import ConnectionLimits
from fast_channels.exceptions import ChannelLayerNotRegistered
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel
from starlette.routing import BaseRoute, WebSocketRoute

from ...layers import describe_layers
from ...pages import render
from .consumers import consumer_for
from .deliver import send_through

router = APIRouter()


class ShowcaseIn(BaseModel):
    text: str


@router.get("/showcase", response_class=HTMLResponse, include_in_schema=False)
async def showcase_page(request: Request) -> HTMLResponse:
    return render(request, "showcase.html", title="Layer showcase", layers=describe_layers())


@router.get("/api/layers")
async def list_layers() -> list[dict[str, Any]]:
    """The registered layers: alias, class and whether they reach other processes."""
    return [
        {"alias": i.alias, "kind": i.kind, "cross_process": i.cross_process}
        for i in describe_layers()
    ]


@router.post("/api/showcase/{alias}", status_code=202)
async def post_showcase(alias: str, body: ShowcaseIn) -> dict[str, Any]:
    """Send through one layer from the web process (the only way to reach "memory").

    ``curl -X POST localhost:8080/api/showcase/memory -H 'content-type: application/json'
    -d '{"text": "hello"}'``
    """
    try:
        event = await send_through(alias, body.text, source="http")
    except ChannelLayerNotRegistered as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    return {"layer": alias, "text": event["text"], "source": event["source"]}


def websocket_routes(aliases: list[str], limits: ConnectionLimits) -> list[BaseRoute]:
    """Mounted under ``/ws``: ``/ws/showcase/<alias>`` for each registered layer."""
    return [
        WebSocketRoute(f"/showcase/{a}", consumer_for(a).as_asgi(limits=limits)) for a in aliases
    ]
