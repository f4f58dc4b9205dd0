"""Presence and a resumable group on the in-memory layer, outside of any consumer.

Run it: ``python docs/examples/presence_and_history.py``
"""

import asyncio

from fast_channels.exceptions import HistoryUnrecoverable
from fast_channels.layers import InMemoryChannelLayer
from fast_channels.layers.history import Position


async def main() -> None:
    # Groups named "room-*" keep their last 50 messages for 10 minutes.
    layer = InMemoryChannelLayer(group_history={"room-*": (50, 600)})

    # Presence: who is here, with a small description each.
    alice, bob = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("room-1", alice)
    await layer.presence_add("room-1", alice, {"user": "alice"})
    await layer.presence_add("room-1", bob, {"user": "bob"}, announce=True)
    event = await layer.receive(alice)  # alice is a member: she hears bob arrive
    print(f"alice <- {event['type']}: {event['info']['user']}")
    present = await layer.presence("room-1")
    print("present:", sorted(info["user"] for info in present.values()))

    # History: every message to room-1 gets a position; members see it.
    for text in ["hello", "anyone?", "bye"]:
        await layer.group_send("room-1", {"type": "chat.message", "text": text})
    first = await layer.receive(alice)
    _, position = Position.of(first) or ("", None)
    print(f"alice <- {first['text']!r} at offset {position.offset if position else '?'}")

    # A client that saw only the first message asks for what came after it.
    missed = await layer.group_history("room-1", since=position)
    print("missed:", [m["text"] for m in missed.messages])

    # Once the history is gone (here: flush), recovery says so explicitly.
    await layer.flush()
    try:
        await layer.group_history("room-1", since=position)
    except HistoryUnrecoverable as exc:
        print("cannot recover:", exc.reason)

    await layer.close()


if __name__ == "__main__":
    asyncio.run(main())
