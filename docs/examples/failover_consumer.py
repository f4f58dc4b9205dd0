"""A consumer that rides out a Redis failover: a failed send is answered, not fatal.

While Redis fails over (Sentinel promoting a replica, a cluster node's replica
taking over its slots) or restarts, calls to the layer raise
``ChannelLayerConnectionError`` for a few seconds. Uncaught, the error closes
the socket with 1011. Caught, the client keeps its connection and is told that
its message was not sent, so it can send it again.
"""

from typing import Any

from fast_channels.consumer.websocket import AsyncJsonWebsocketConsumer
from fast_channels.exceptions import ChannelLayerConnectionError


class BoardConsumer(AsyncJsonWebsocketConsumer):
    channel_layer_alias = "board"
    groups = ["board"]

    async def receive_json(self, content: Any) -> None:
        text = str(content.get("text", ""))
        try:
            await self.channel_layer.group_send("board", {"type": "board.post", "text": text})
        except ChannelLayerConnectionError:
            # Not sent: Redis is unreachable or failing over. The layer reconnects by
            # itself, so the same message can simply be sent again in a moment.
            await self.send_json({"type": "not_sent", "text": text})

    async def board_post(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "post", "text": event["text"]})
