"""ASGI middleware for consumers: a base class, origin checks and a denier.

::

    from fast_channels.middleware import OriginValidator

    ws_app = OriginValidator(
        Starlette(routes=[WebSocketRoute("/room/{room_name}", ChatConsumer.as_asgi())]),
        allowed_origins=["https://example.com", "*.example.com", "localhost"],
    )
    app.mount("/ws", ws_app)
"""

from __future__ import annotations

from .base import BaseMiddleware
from .origin import OriginValidator, WebsocketDenier

__all__ = ["BaseMiddleware", "OriginValidator", "WebsocketDenier"]
