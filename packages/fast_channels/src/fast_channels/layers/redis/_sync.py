"""``send_sync()`` and ``group_send_sync()``: both Redis layers, from synchronous code."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from ..base import BaseChannelLayer

T = TypeVar("T")


class SyncSendLayer(BaseChannelLayer):
    """A layer that synchronous code (a thread, a CLI, a sync task) can send with.

    Each call runs in a private event loop (``asyncio.run``) and closes that
    loop's connections before returning, so a loop of a thousand calls holds
    no more server connections than one call. ``async_to_sync(layer.send)``
    from asgiref does the same job: its loop releases its connections as it
    shuts down.
    """

    def send_sync(self, channel: str, message: dict[str, Any]) -> None:
        """``send`` from synchronous code (a script, a thread, a sync worker).

        Inside ``async def`` code, ``await layer.send(...)`` instead.
        """
        self._run_sync(self.send(channel, message))

    def group_send_sync(self, group: str, message: dict[str, Any]) -> None:
        """``group_send`` from synchronous code; see :meth:`send_sync`."""
        self._run_sync(self.group_send(group, message))

    def _run_sync(self, operation: Coroutine[Any, Any, T]) -> T:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            operation.close()
            raise RuntimeError(
                "send_sync()/group_send_sync() cannot run inside an event loop: "
                "use 'await layer.send(...)' / 'await layer.group_send(...)' there."
            )

        async def run_then_close() -> T:
            try:
                return await operation
            finally:
                await self.close()

        return asyncio.run(run_then_close())
