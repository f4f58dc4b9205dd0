"""The cancel-safe buffer shared by the memory, queue and pub/sub layers."""

from __future__ import annotations

import asyncio
from collections import deque

import pytest
from fast_channels.layers.buffer import Buffer


async def started(buffer: Buffer[str], count: int) -> list[asyncio.Task[str]]:
    tasks = [asyncio.create_task(buffer.get()) for _ in range(count)]
    await asyncio.sleep(0)  # each is parked on its future now
    assert len(buffer.waiters) == count
    return tasks


async def test_a_cancel_after_the_hand_over_gives_the_item_to_the_next_waiter() -> None:
    buffer: Buffer[str] = Buffer()
    first, second = await started(buffer, 2)
    buffer.put("a")  # resolves first's future; first has not run yet
    first.cancel()  # ... and is cancelled before it does
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await asyncio.wait_for(second, 1) == "a"
    assert not buffer.items and not buffer.waiters


async def test_a_cancel_after_the_hand_over_puts_the_item_back_in_front() -> None:
    buffer: Buffer[str] = Buffer()
    (only,) = await started(buffer, 1)
    buffer.put("a")
    only.cancel()
    buffer.put("b")  # arrives while the cancel is pending
    with pytest.raises(asyncio.CancelledError):
        await only
    assert list(buffer.items or ()) == ["a", "b"]  # order kept, nothing lost
    assert [await buffer.get(), await buffer.get()] == ["a", "b"]


async def test_a_cancel_before_any_item_forgets_the_waiter() -> None:
    buffer: Buffer[str] = Buffer()
    (only,) = await started(buffer, 1)
    only.cancel()
    with pytest.raises(asyncio.CancelledError):
        await only
    assert not buffer.waiters and not buffer.has_waiters
    assert buffer.put("a") and list(buffer.items or ()) == ["a"]


async def test_a_failed_waiter_raises_and_requeues_nothing() -> None:
    buffer: Buffer[str] = Buffer()
    first, second = await started(buffer, 2)
    buffer.fail(ConnectionError("gone"))
    second.cancel()  # failed, then cancelled before it ran
    with pytest.raises(ConnectionError):
        await first
    with pytest.raises(asyncio.CancelledError):
        await second
    assert not buffer.items and not buffer.waiters


async def test_the_deque_is_made_only_when_an_item_has_to_wait() -> None:
    buffer: Buffer[str] = Buffer()
    (only,) = await started(buffer, 1)
    buffer.put("a")
    assert await only == "a"
    assert buffer.items is None  # handed over directly: no deque for an idle channel
    buffer.put("b")
    assert buffer.items == deque(["b"])


def test_a_bounded_buffer_drops_the_oldest_and_says_so() -> None:
    buffer: Buffer[int] = Buffer(deque(maxlen=2))
    assert [buffer.put(i) for i in range(4)] == [True, True, False, False]
    assert list(buffer.items or ()) == [2, 3]
