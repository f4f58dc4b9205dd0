"""State kept per event loop, released when that loop shuts down.

A layer lives as long as the process, but event loops come and go:
``asyncio.run(layer.send(...))`` in a script, ``async_to_sync(layer.group_send)``
(a new loop in a worker thread per call), one loop per test. Whatever a loop
holds (connections, reader tasks, subscriptions) is useless once it is closed,
and its sockets stay open on the server until someone closes them.

:class:`PerLoop` releases an entry in three ways:

- explicitly, from inside its loop (a layer's ``close()``);
- when the loop shuts down: the first use in a loop starts a tiny async
  generator that only waits; ``asyncio.run()``, asgiref's ``async_to_sync``
  and pytest-asyncio finalise async generators (``loop.shutdown_asyncgens()``)
  before closing the loop, which runs its ``finally`` inside the loop, where
  connections can still be closed properly. This uses asyncio's own hook, so
  nothing is monkeypatched;
- a loop closed without that step (a bare ``loop.close()``) is forgotten the
  next time a new loop appears; its sockets then close when garbage collected.

The table is shared by every thread using the layer, so it changes only under
a lock, and the fast path (the same loop as last time) reads one attribute.

Within one loop's entry, a layer keeps its state in :class:`LoopLocals`: one
slot per key (the layer's readers or subscriptions, its presences), so every
per-loop thing a layer holds lives here and goes away with the loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Generic, Protocol, TypeVar, cast

logger = logging.getLogger(__name__)

E = TypeVar("E")


class LoopLocal(Protocol):
    """A layer's state in one loop, closed with that loop's connections."""

    async def close(self, *, graceful: bool) -> None:
        """Stop tasks and drop connections.

        ``graceful`` is False while the loop shuts down: its other tasks were
        cancelled already, so do no Redis round trips (they could not complete).
        """


#: The key of a layer's main per-loop state (what metrics read, see ``locals()``).
LAYER_STATE = "layer"

L = TypeVar("L", bound=LoopLocal)


class LoopLocals:
    """A layer's per-loop states by key, closed together, newest first.

    Only the loop that owns the entry adds to it (a loop runs in one thread);
    other threads may only read :meth:`get` (metrics).
    """

    __slots__ = ("_states",)

    def __init__(self) -> None:
        self._states: dict[str, LoopLocal] = {}

    def get(self, key: str) -> LoopLocal | None:
        return self._states.get(key)

    def setdefault(self, key: str, make: Callable[[], L]) -> L:
        """The state under ``key``, made by ``make()`` on first use.

        ``make`` may itself ask for other keys: those are stored first, so they
        close after the state that depends on them.
        """
        state = self._states.get(key)
        if state is None:
            state = make()
            state = self._states.setdefault(key, state)
        # One key is always made by the same factory: what is stored is an L.
        return cast(L, state)

    async def close(self, *, graceful: bool) -> None:
        """Close every state, newest first; the first error is raised after all closed."""
        states, self._states = list(self._states.values()), {}
        error: BaseException | None = None
        for state in reversed(states):
            try:
                await state.close(graceful=graceful)
            except Exception as exc:  # raised below, once the others are closed too
                error = error or exc
        if error is not None:
            raise error


class _Slot(Generic[E]):
    __slots__ = ("entry", "loop", "watcher")

    def __init__(self, loop: asyncio.AbstractEventLoop, entry: E) -> None:
        self.loop = loop
        self.entry = entry
        self.watcher: AsyncGenerator[None, None] | None = None


class PerLoop(Generic[E]):
    """One entry per event loop, made on first use and released with its loop.

    :param make: builds an entry for a loop that has none.
    :param release: ``release(entry, graceful)`` closes an entry, inside its loop.
    """

    def __init__(
        self, make: Callable[[], E], release: Callable[[E, bool], Awaitable[None]]
    ) -> None:
        self._make = make
        self._release = release
        self._slots: dict[asyncio.AbstractEventLoop, _Slot[E]] = {}
        self._lock = threading.Lock()
        # The slot used last. One attribute, so a thread never pairs one loop
        # with another loop's entry (two attributes could be torn between threads).
        self._last: _Slot[E] | None = None

    def __len__(self) -> int:
        return len(self._slots)

    def entries(self) -> list[E]:
        """Every loop's entry, for a read-only look from any thread (metrics)."""
        with self._lock:
            return [slot.entry for slot in self._slots.values()]

    def current(self) -> E:
        """The running loop's entry, made (and watched) on first use."""
        loop = asyncio.get_running_loop()
        last = self._last
        if last is not None and last.loop is loop:  # the common case, kept cheap
            return last.entry
        slot = self._slots.get(loop)
        if slot is None:
            slot = self._add(loop)
        self._last = slot
        return slot.entry

    def _add(self, loop: asyncio.AbstractEventLoop) -> _Slot[E]:
        with self._lock:
            closed = [slot for lp, slot in self._slots.items() if lp.is_closed()]
            for old in closed:
                del self._slots[old.loop]
            slot = self._slots.get(loop)
            if slot is None:
                slot = self._slots[loop] = _Slot(loop, self._make())
        for old in closed:
            _disarm(old)
        if slot.watcher is None:
            slot.watcher = self._watch(slot)
            _start(slot.watcher)
        return slot

    def _pop(self, slot: _Slot[E]) -> bool:
        """Take ``slot`` out of the table; False if something else did first."""
        with self._lock:
            if self._slots.get(slot.loop) is not slot:
                return False
            del self._slots[slot.loop]
            if self._last is slot:
                self._last = None
            return True

    async def close_current(self) -> None:
        """Release the running loop's entry now (a no-op if it has none)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        slot = self._slots.get(loop)
        if slot is None or not self._pop(slot):
            return
        if slot.watcher is not None:
            await slot.watcher.aclose()  # finishes the watcher; it finds the slot gone
        await self._release(slot.entry, True)

    async def _watch(self, slot: _Slot[E]) -> AsyncGenerator[None, None]:
        try:
            yield  # parked here until the loop finalises async generators
        finally:
            if self._pop(slot):
                try:
                    await self._release(slot.entry, False)
                except Exception:  # shutting down: report, never stop the other finalisers
                    logger.exception("could not release a closing event loop's Redis state")


def _start(watcher: AsyncGenerator[None, None]) -> None:
    """Run ``watcher`` up to its ``yield``, synchronously, in the running loop.

    Creating the first ``asend()`` registers the generator with the running
    loop's async generator hooks, so ``shutdown_asyncgens()`` will close it.
    """
    step = watcher.asend(None)
    try:
        step.send(None)
    except StopIteration:
        return
    raise RuntimeError("a loop watcher must not await before its first yield")


def _disarm(slot: _Slot[E]) -> None:
    """Finish the watcher of a loop closed without ``shutdown_asyncgens()``.

    Left alone, it would be garbage collected unfinished and asyncio would try
    to schedule its finaliser on the closed loop. The slot is already out of
    the table, so its ``finally`` returns without awaiting anything.
    """
    watcher, slot.watcher = slot.watcher, None
    if watcher is None:
        return
    step = watcher.aclose()
    try:
        step.send(None)
    except StopIteration:
        return
    except RuntimeError:  # closed by another thread meanwhile
        return
    step.close()
