"""The HTTP consumers sample: a long-poll and an SSE feed, both answered by the layer."""

from __future__ import annotations

import json
from types import ModuleType

from fast_channels.layers import InMemoryChannelLayer, register_channel_layer
from fast_channels.layers.registry import unregister_channel_layer
from fast_channels.testing import HttpCommunicator

from .conftest import example


def fresh_sample() -> ModuleType:
    """The sample module, with a fresh in-memory layer under "default" for this test."""
    sample = example("http_consumers")  # registers its layer on the first import only
    unregister_channel_layer("default")
    register_channel_layer("default", InMemoryChannelLayer())
    return sample


async def test_the_long_poll_waits_for_its_own_order_and_the_feed_sees_every_order() -> None:
    sample = fresh_sample()
    async with (
        HttpCommunicator(sample.app, "GET", "/http/orders/42") as poll,
        HttpCommunicator(sample.app, "GET", "/http/orders") as feed,
    ):
        assert (await poll.get_response_start())[0] == 200
        assert await poll.receive_body() == b""
        assert (await feed.get_response_start())[0] == 200
        await feed.receive_event(comments=True)  # the opening comment: the feed is live

        await sample.order_shipped("7")
        event = await feed.receive_event()
        assert (event.event, event.id, json.loads(event.data)["order_id"]) == ("shipped", "7", "7")
        assert await poll.receive_nothing()  # not its order

        await sample.order_shipped("42")
        assert await poll.receive_body() == b"order 42 shipped"
        assert poll.response_complete
        assert (await feed.receive_event()).id == "42"
        await feed.disconnect()


async def test_the_long_poll_refuses_a_body() -> None:
    sample = fresh_sample()
    comm = HttpCommunicator(sample.app, "GET", "/http/orders/1", body=b"x")
    assert (await comm.get_response())["status"] == 413
