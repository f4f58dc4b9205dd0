"""The lobby: everyone connected sees who arrives and what is said."""

from fast_channels.consumer.websocket import AsyncWebsocketConsumer


class LobbyConsumer(AsyncWebsocketConsumer):
    channel_layer_alias = "default"  # the alias registered in layers.py
    groups = ["lobby"]  # joined on connect, left on disconnect

    async def connect(self) -> None:
        await self.accept()
        await self.channel_layer.group_send(
            "lobby", {"type": "lobby.notice", "text": "someone entered the lobby"}
        )

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        await self.channel_layer.group_send("lobby", {"type": "lobby.notice", "text": text_data})

    async def lobby_notice(self, event: dict[str, str]) -> None:
        await self.send(text_data=event["text"])
