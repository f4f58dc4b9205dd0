"""Two HTTP consumers: a long-poll answered by the layer, and a Server-Sent Events feed.

Both join the ``orders`` group; :func:`order_shipped` tells every waiting client.
"""

from typing import Any

from fast_channels.consumer.http import AsyncHttpConsumer
from fast_channels.consumer.sse import AsyncSseConsumer
from fast_channels.layers import InMemoryChannelLayer, get_channel_layer, register_channel_layer
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.routing import Route


class OrderStatus(AsyncHttpConsumer):
    """``GET /http/orders/{order_id}``: wait until that order ships, then answer."""

    groups = ["orders"]
    max_body_size = 0  # a GET has no body; anything else gets 413

    async def handle(self, body: bytes) -> None:
        self.order_id = self.scope["path_params"]["order_id"]
        await self.send_headers(headers={"content-type": "text/plain"})
        await self.send_body(b"", more_body=True)  # the response stays open

    async def order_shipped(self, event: dict[str, Any]) -> None:
        if event["order_id"] == self.order_id:
            await self.send_body(f"order {self.order_id} shipped".encode())  # and ends


class OrderFeed(AsyncSseConsumer):
    """``GET /http/orders``: every shipped order, as a Server-Sent Event."""

    groups = ["orders"]
    keepalive_interval = 15  # a comment every 15 s of silence keeps proxies from cutting it

    async def order_shipped(self, event: dict[str, Any]) -> None:
        await self.send_event(event, event="shipped", id=event["order_id"])


async def order_shipped(order_id: str) -> None:
    """Tell every waiting client, from anywhere in the process (or, on Redis, outside it)."""
    await get_channel_layer().group_send("orders", {"type": "order.shipped", "order_id": order_id})


register_channel_layer("default", InMemoryChannelLayer())

http_app = Starlette(
    routes=[
        Route("/orders", OrderFeed.as_asgi()),
        Route("/orders/{order_id}", OrderStatus.as_asgi()),
    ]
)
app = FastAPI()
app.mount("/http", http_app)
