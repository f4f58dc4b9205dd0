"""Testing a consumer without a server: fast_channels.testing.WebsocketCommunicator.

Run it with pytest (``asyncio_mode = "auto"`` from pytest-asyncio, as in this repo).
"""

from collections.abc import AsyncIterator

import pytest
from fast_channels.layers import (
    InMemoryChannelLayer,
    register_channel_layer,
    unregister_channel_layer,
)
from fast_channels.testing import WebsocketCommunicator

# In your project this is "from myapp.consumers import ...".
from docs.examples.scoreboard import ScoreboardConsumer, publish_score


@pytest.fixture
async def layer() -> AsyncIterator[InMemoryChannelLayer]:
    # Each test gets a fresh in-memory layer under the alias the consumer uses.
    layer = InMemoryChannelLayer()
    register_channel_layer("default", layer)
    yield layer
    unregister_channel_layer("default")
    await layer.close()


def viewer(match_id: str) -> WebsocketCommunicator:
    # Calling the consumer directly: give the route's path parameters yourself.
    return WebsocketCommunicator(
        ScoreboardConsumer.as_asgi(),
        f"/ws/match/{match_id}",
        path_params={"match_id": match_id},
    )


async def test_viewers_of_one_match_share_scores_and_cheers(layer: InMemoryChannelLayer) -> None:
    async with viewer("final") as alice, viewer("final") as bob, viewer("semi") as carol:
        for client in (alice, bob, carol):
            connected, _ = await client.connect()
            assert connected

        await publish_score("final", "2-1")
        assert await alice.receive_json_from() == {"score": "2-1"}
        assert await bob.receive_json_from() == {"score": "2-1"}
        assert await carol.receive_nothing()  # another match: nothing arrives

        await bob.send_json_to({"fan": "Bob"})
        assert await alice.receive_json_from() == {"cheer": "Bob cheers!"}
        assert await bob.receive_json_from() == {"cheer": "Bob cheers!"}

        for client in (alice, bob, carol):
            await client.disconnect()
