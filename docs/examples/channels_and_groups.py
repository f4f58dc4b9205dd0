"""Channels and groups on the in-memory layer.

Run it: ``python docs/examples/channels_and_groups.py``
"""

import asyncio

from fast_channels.layers import InMemoryChannelLayer


async def main() -> None:
    layer = InMemoryChannelLayer()

    # Each consumer owns a channel: a mailbox with a unique name.
    alice = await layer.new_channel()
    bob = await layer.new_channel()

    # Point to point: one message, one reader.
    await layer.send(alice, {"type": "note.private", "text": "hi Alice"})
    message = await layer.receive(alice)
    print(f"alice <- {message['type']}: {message['text']}")

    # A group is a named set of channels; group_send reaches every member.
    await layer.group_add("kitchen", alice)
    await layer.group_add("kitchen", bob)
    await layer.group_send("kitchen", {"type": "kitchen.alert", "text": "soup is ready"})
    for name, channel in [("alice", alice), ("bob", bob)]:
        message = await layer.receive(channel)
        print(f"{name} <- {message['type']}: {message['text']}")

    # Leaving a group stops further deliveries to that channel only.
    await layer.group_discard("kitchen", bob)
    await layer.group_send("kitchen", {"type": "kitchen.alert", "text": "last call"})
    message = await layer.receive(alice)
    print(f"alice <- {message['type']}: {message['text']}")

    await layer.close()


if __name__ == "__main__":
    asyncio.run(main())
