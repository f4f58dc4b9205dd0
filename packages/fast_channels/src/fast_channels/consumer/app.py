"""The ASGI application object that serves each connection with a new consumer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..types import Receive, Scope, Send

if TYPE_CHECKING:
    from .base import AsyncConsumer

__all__ = ["ConsumerApp"]


class ConsumerApp:
    """The ASGI application returned by :meth:`AsyncConsumer.as_asgi`.

    It is an object rather than a function on purpose: Starlette's
    ``WebSocketRoute`` wraps plain functions as ``WebSocket``-session endpoints,
    but hands the raw ASGI triple to any other callable. Each call builds a fresh
    consumer instance, so state never leaks between connections.
    """

    def __init__(self, consumer_class: type[AsyncConsumer], initkwargs: dict[str, Any]) -> None:
        self.consumer_class = consumer_class
        self.initkwargs = initkwargs
        self.__name__ = consumer_class.__name__  # routers and logs show a readable name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.consumer_class(**self.initkwargs)(scope, receive, send)

    def __repr__(self) -> str:
        return f"<ConsumerApp {self.consumer_class.__qualname__}>"
