"""The channel layer contract every backend implements."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from ..metrics.layer import LayerMetrics
from .capacity import CapacityMatcher, Pattern

if TYPE_CHECKING:
    from ..metrics.snapshots import LayerStats


class BaseChannelLayer(abc.ABC):
    """Contract shared by the in-memory, Redis queue and Redis pub/sub layers.

    A layer moves dict messages (with a ``type`` key) between named channels,
    and fans them out to named groups of channels. Constructing a layer does no
    I/O; backends connect on first use. Close a layer with ``await
    layer.close()`` (alias ``aclose()``) or use it as ``async with layer:``.

    Subclasses must implement every abstract method; a missing one fails when
    the layer class is instantiated, not in the middle of a request.
    """

    #: Extensions a layer supports; consumers check for ``"groups"`` before joining.
    extensions: tuple[str, ...] = ("groups", "flush")

    def __init__(
        self,
        *,
        expiry: float = 60,
        capacity: int = 100,
        channel_capacity: Mapping[Pattern, int] | None = None,
    ) -> None:
        if expiry <= 0:
            raise ValueError(f"expiry must be a positive number of seconds, got {expiry!r}")
        self.expiry = expiry
        self.capacity = capacity
        self.get_capacity = CapacityMatcher(capacity, channel_capacity)
        #: Messages ``group_send`` skipped because a member channel was full. Every
        #: layer counts them (and logs a warning per skipping call) so a drop is
        #: visible; read it in metrics or tests, reset it by assigning 0.
        self.dropped_messages: int = 0
        #: What this layer counts (see :mod:`fast_channels.metrics`); read :meth:`stats`.
        self.metrics = LayerMetrics(type(self).__name__)
        # The hot-path counters, None when metrics are off: ``if c: c.sent += 1``.
        self._count = self.metrics.counts

    def stats(self) -> LayerStats:
        """What this layer did and holds now, as a :class:`~fast_channels.metrics.LayerStats`."""
        from ..metrics.stats import layer_stats

        return layer_stats(self)

    # Point to point -----------------------------------------------------------------

    @abc.abstractmethod
    async def send(self, channel: str, message: dict[str, Any]) -> None:
        """Send ``message`` to ``channel``; raise ``ChannelFull`` at capacity."""

    @abc.abstractmethod
    async def receive(self, channel: str) -> dict[str, Any]:
        """Wait for and return the next message on ``channel``.

        Cancelling a pending ``receive()`` loses no message.
        """

    @abc.abstractmethod
    async def new_channel(self, prefix: str = "specific") -> str:
        """Return a new process-local channel name (``prefix!suffix``) to receive on."""

    async def release_channel(self, channel: str) -> None:
        """Say that nobody will receive on ``channel`` again; free what it holds now.

        Optional for a backend (this default does nothing) and for a caller:
        consumers call it when they stop, so a layer need not wait for a
        timeout to notice an abandoned channel. Afterwards the channel is in
        no group of this process and messages sent to it may be dropped.
        Calling it twice, or for a channel never used, is harmless.
        """
        # Deliberately not abstract: a layer without per-channel state has nothing
        # to free, and third-party layers written before this method keep working.
        return None

    # Groups -------------------------------------------------------------------------

    @abc.abstractmethod
    async def group_add(self, group: str, channel: str) -> None:
        """Add ``channel`` to ``group``."""

    @abc.abstractmethod
    async def group_discard(self, group: str, channel: str) -> None:
        """Remove ``channel`` from ``group``; a no-op when it is not a member."""

    @abc.abstractmethod
    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        """Send ``message`` to every channel in ``group``.

        Members that are full are skipped; the others still receive it.
        """

    # Lifecycle ----------------------------------------------------------------------

    @abc.abstractmethod
    async def flush(self) -> None:
        """Drop every message and group membership this layer holds."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections and background tasks. The layer may be reused after."""

    async def aclose(self) -> None:
        """Alias of :meth:`close` for ``contextlib.aclosing`` and friends."""
        await self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
