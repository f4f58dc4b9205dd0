"""Tell a connected consumer its export is ready, from another process.

Run it: ``python docs/examples/send_from_worker.py <channel_name> <export_id>``.
The consumer put its ``self.channel_name`` in the job it queued; that is all a
worker needs to reach exactly that connection.
"""

import asyncio
import os
import sys

from fast_channels.layers.redis import RedisChannelLayer


def exports_layer() -> RedisChannelLayer:
    # Same hosts and prefix as the web app's layer, or the message lands elsewhere.
    return RedisChannelLayer(
        hosts=[os.environ.get("REDIS_URL", "redis://localhost:6379")], prefix="shop"
    )


def ready_event(export_id: str) -> dict[str, str]:
    return {"type": "export.ready", "export_id": export_id, "url": f"/exports/{export_id}"}


async def export_ready(channel_name: str, export_id: str) -> None:
    """From async code: an async worker task, an async script."""
    async with exports_layer() as layer:  # closes the connections when done
        await layer.send(channel_name, ready_event(export_id))


def export_ready_sync(channel_name: str, export_id: str) -> None:
    """From synchronous code with no event loop running: a thread, a CLI, a sync worker."""
    exports_layer().send_sync(channel_name, ready_event(export_id))


def export_ready_async_to_sync(channel_name: str, export_id: str) -> None:
    """The Django Channels habit, asgiref's ``async_to_sync``, works the same way."""
    from asgiref.sync import async_to_sync  # pip install asgiref

    async_to_sync(exports_layer().send)(channel_name, ready_event(export_id))


if __name__ == "__main__":
    asyncio.run(export_ready(sys.argv[1], sys.argv[2]))
