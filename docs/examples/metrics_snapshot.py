"""Reading the counters: ``layer.stats()`` and a snapshot of every registered layer."""

import asyncio

from fast_channels.layers import InMemoryChannelLayer, register_channel_layer
from fast_channels.metrics import layer_stats


async def main() -> None:
    layer = register_channel_layer("default", InMemoryChannelLayer(capacity=1))
    await layer.group_add("room", "alice")
    await layer.group_add("room", "bob")
    await layer.send("bob", {"type": "filler"})  # bob's channel (capacity 1) is full now
    await layer.group_send("room", {"type": "chat.message", "text": "hi"})

    stats = layer.stats()  # a frozen dataclass: fast_channels.metrics.LayerStats
    print(f"group_send reached {stats.group_deliveries} of 2 members")
    print(f"dropped: {stats.drops['channel_full']} to a full channel")
    for alias, snapshot in layer_stats().items():  # every registered layer, by alias
        print(alias, snapshot.layer_type, snapshot.memberships, "memberships")


if __name__ == "__main__":
    asyncio.run(main())
