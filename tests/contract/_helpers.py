"""Helpers shared by the contract tests: bounded waits, never a hang."""

from __future__ import annotations

import asyncio
from typing import Any

from fast_channels.layers import BaseChannelLayer

#: Generous bound for a message that should arrive (Redis round trips on a busy machine).
ARRIVES_WITHIN = 5.0
#: How long "nothing arrives" is watched when no sentinel message can be used.
QUIET_FOR = 0.3


async def receive(layer: BaseChannelLayer, channel: str) -> dict[str, Any]:
    """Receive the next message on ``channel`` or fail after ``ARRIVES_WITHIN``."""
    return await asyncio.wait_for(layer.receive(channel), ARRIVES_WITHIN)


async def assert_nothing_before_sentinel(layer: BaseChannelLayer, channel: str) -> None:
    """Prove nothing is pending on ``channel``: a sentinel sent now must come next.

    Deterministic and fast, unlike waiting for a timeout: a stray message sent
    earlier would be delivered before the sentinel.
    """
    sentinel = {"type": "test.sentinel", "channel": channel}
    await layer.send(channel, sentinel)
    assert await receive(layer, channel) == sentinel


async def assert_quiet(layer: BaseChannelLayer, channel: str) -> None:
    """Nothing arrives on ``channel`` within ``QUIET_FOR`` seconds."""
    try:
        message = await asyncio.wait_for(layer.receive(channel), QUIET_FOR)
    except TimeoutError:
        return
    raise AssertionError(f"expected nothing on {channel!r}, received {message!r}")
