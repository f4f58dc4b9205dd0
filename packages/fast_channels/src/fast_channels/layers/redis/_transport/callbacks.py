"""Calling user callbacks (``on_disconnect``/``on_reconnect``) from a background task."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

Callback = Callable[[], Any]


class Callbacks:
    """Runs user callbacks, sync or async, so that none can break the caller."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Future[Any]] = set()  # strong refs until they finish

    def fire(self, callback: Callback | None) -> None:
        """Call ``callback``; run it as a task if it is async; log what it raises."""
        if callback is None:
            return
        try:
            result = callback()
        except Exception:
            logger.exception("pub/sub connection callback %r failed", callback)
            return
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            self._tasks.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Future[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("pub/sub connection callback failed", exc_info=task.exception())
