"""Drive any ASGI application in a test, one message at a time, without a network."""

# The communicator API takes timeouts as arguments on purpose (tests read better).
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from typing import Self

from ..types import ASGIApp, Message, Scope

#: Seconds an app gets to finish after a cancel before it is cancelled again.
CANCEL_GRACE = 5.0


class ApplicationCommunicator:
    """Runs ``app(scope, receive, send)`` as a task and talks to it through queues.

    Use :meth:`send_input` to feed the app what the server would, and
    :meth:`receive_output` to read what the app sends. An exception raised by
    the app is re-raised by the next :meth:`receive_output`, :meth:`send_input`
    or :meth:`wait`, so errors inside the app fail the test instead of being
    swallowed. Use ``async with`` (or call :meth:`wait`) so the app task never
    outlives the test.
    """

    def __init__(self, app: ASGIApp, scope: Scope) -> None:
        self.app = app
        self.scope = scope
        self._input: asyncio.Queue[Message] = asyncio.Queue()
        self._output: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._error_raised = False  # the app's exception reached the test once already

    @property
    def task(self) -> asyncio.Task[None]:
        """The task running the app; started on first use."""
        if self._task is None:
            self._task = asyncio.create_task(self._run_app())
        return self._task

    async def _run_app(self) -> None:
        await self.app(self.scope, self._input.get, self._send)

    async def _send(self, message: Message) -> None:
        self._output.put_nowait(message)

    def _raise_if_failed(self) -> None:
        task = self.task
        if task.done() and not task.cancelled():
            exc = task.exception()
            if exc is not None:
                self._error_raised = True
                raise exc

    async def send_input(self, message: Message) -> None:
        """Give ``message`` to the app's ``receive()``."""
        self._raise_if_failed()
        self._input.put_nowait(message)

    async def receive_output(self, timeout: float = 1) -> Message:
        """Return the next message the app sent.

        Raises the app's exception if it crashed, ``TimeoutError`` (after
        cancelling the app) if nothing arrives within ``timeout`` seconds, and
        ``RuntimeError`` if the app finished without sending anything more.
        """
        if not self._output.empty():
            return self._output.get_nowait()
        task = self.task
        getter = asyncio.ensure_future(self._output.get())
        try:
            await asyncio.wait((getter, task), timeout=timeout, return_when="FIRST_COMPLETED")
        finally:
            if not getter.done():
                getter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await getter
        if getter.done() and not getter.cancelled():
            return getter.result()
        if task.done():
            self._raise_if_failed()
            raise RuntimeError("The application finished without sending another message")
        await self._cancel()
        raise TimeoutError(f"The application sent nothing within {timeout} s")

    async def receive_nothing(self, timeout: float = 0.1, interval: float = 0.01) -> bool:
        """True if the app sends nothing for ``timeout`` seconds (checked every ``interval``)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        _ = self.task
        while True:
            if not self._output.empty():
                return False
            self._raise_if_failed()
            if loop.time() >= deadline:
                return True
            await asyncio.sleep(interval)

    async def wait(self, timeout: float = 1) -> None:
        """Wait for the app to finish; re-raise its exception; cancel it after ``timeout``."""
        task = self.task
        done, _ = await asyncio.wait((task,), timeout=timeout)
        if not done:
            await self._cancel()
            raise TimeoutError(f"The application did not finish within {timeout} s")
        self._raise_if_failed()

    async def _cancel(self) -> None:
        task = self.task
        if task.done():
            return
        task.cancel()
        done, _ = await asyncio.wait((task,), timeout=CANCEL_GRACE)
        if not done:
            # Still running: something in the app swallowed the CancelledError (on
            # Python 3.11, asyncio.wait_for() does when its future completes at the
            # same moment). Cancel once more rather than hang the test.
            task.cancel()
            done, _ = await asyncio.wait((task,), timeout=CANCEL_GRACE)
        if not done:
            raise RuntimeError(
                f"The application did not stop within {2 * CANCEL_GRACE} s of being "
                "cancelled twice: it swallows asyncio.CancelledError."
            )
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def __aenter__(self) -> Self:
        _ = self.task
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        finished = self.task.done()
        await self._cancel()
        if exc is None and finished and not self._error_raised:
            self._raise_if_failed()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} app={self.app!r}>"
