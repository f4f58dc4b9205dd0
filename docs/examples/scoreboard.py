"""A consumer whose handlers are picked by message type.

Viewers of a match connect to ``/ws/match/{match_id}``. Anything in the process
can push a score to every viewer of that match with :func:`publish_score`.
"""

from typing import Any

from fast_channels.consumer.websocket import AsyncJsonWebsocketConsumer
from fast_channels.layers import get_channel_layer


def match_group(match_id: str) -> str:
    """The group of everyone watching one match."""
    return f"match.{match_id}"


class ScoreboardConsumer(AsyncJsonWebsocketConsumer):
    channel_layer_alias = "default"

    async def connect(self) -> None:
        # Route parameters arrive in the scope, next to headers, query string, client...
        self.group = match_group(self.scope["path_params"]["match_id"])
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any) -> None:
        # A viewer cheers: tell everyone watching the same match.
        await self.channel_layer.group_send(
            self.group, {"type": "crowd.cheer", "fan": content["fan"]}
        )

    async def score_update(self, event: dict[str, Any]) -> None:
        # Runs for every {"type": "score.update", ...} sent to this consumer's channel.
        await self.send_json({"score": event["score"]})

    async def crowd_cheer(self, event: dict[str, Any]) -> None:
        # Runs for every {"type": "crowd.cheer", ...}.
        await self.send_json({"cheer": f"{event['fan']} cheers!"})


async def publish_score(match_id: str, score: str) -> None:
    """Push a new score to every viewer; call it from a route, a task, anywhere."""
    layer = get_channel_layer("default")
    await layer.group_send(match_group(match_id), {"type": "score.update", "score": score})
