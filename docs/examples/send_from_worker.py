"""Tell a connected consumer its export is ready, from another process.

Run it: ``python docs/examples/send_from_worker.py <channel_name> <export_id>``.
The consumer put its ``self.channel_name`` in the job it queued; that is all a
worker needs to reach exactly that connection.
"""

import asyncio
import os
import sys

from fast_channels.layers.redis import RedisChannelLayer


async def export_ready(channel_name: str, export_id: str) -> None:
    # Same hosts and prefix as the web app's layer, or the message lands elsewhere.
    layer = RedisChannelLayer(
        hosts=[os.environ.get("REDIS_URL", "redis://localhost:6379")], prefix="shop"
    )
    async with layer:  # closes the connections when done
        await layer.send(
            channel_name,
            {"type": "export.ready", "export_id": export_id, "url": f"/exports/{export_id}"},
        )


def export_ready_sync(channel_name: str, export_id: str) -> None:
    """The same from synchronous code (a thread, a CLI) that has no event loop running."""
    asyncio.run(export_ready(channel_name, export_id))


if __name__ == "__main__":
    export_ready_sync(sys.argv[1], sys.argv[2])
