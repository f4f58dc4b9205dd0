"""The FastAPI app: run it with ``uvicorn myapp.main:app``."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute

from .consumers import LobbyConsumer
from .layers import close_channel_layers, setup_channel_layers

setup_channel_layers()  # before the app serves its first connection


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    await close_channel_layers()


# WebSocket routes live in a small Starlette app mounted under /ws.
ws_app = Starlette(routes=[WebSocketRoute("/lobby", LobbyConsumer.as_asgi())])

app = FastAPI(lifespan=lifespan)
app.mount("/ws", ws_app)  # clients connect to ws://<host>/ws/lobby


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}
