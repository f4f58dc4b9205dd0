"""Chat rooms that remember: who is here, the last messages, and what a page missed.

Two web processes take part where it matters: the shared web app and a
``restartable_web`` of the test's own, both on the same Redis, so presence and
recovery are shown across processes and across a server restart.
"""

from __future__ import annotations

import signal
from collections.abc import Callable

import pytest
import redis
from fast_channels.layers.redis._group_state.scripts import group_keys
from playwright.sync_api import Page, expect

from .chat_room import join, messages, say
from .conftest import OpenPage, Sandbox

pytestmark = [pytest.mark.e2e, pytest.mark.redis]

#: Longer than the page's backoff can grow while the server is down (0.5, 1, 2, 4 s...).
RECONNECT_TIMEOUT_MS = 20_000


def here(page: Page) -> list[str]:
    """Names in the page's "who is here" list, in its order."""
    return [
        m.get_attribute("data-name") or "" for m in page.get_by_test_id("presence-member").all()
    ]


def expect_here(page: Page, names: list[str]) -> None:
    expect(page.get_by_test_id("presence-member")).to_have_count(len(names))
    expect(page.get_by_test_id("presence-member")).to_have_text(names)
    expect(page.get_by_test_id("presence-count")).to_have_text(str(len(names)))


def expect_messages(page: Page, expected: list[tuple[str, str]]) -> None:
    expect(page.get_by_test_id("chat-message")).to_have_count(len(expected))
    assert messages(page) == expected


def last_position(page: Page) -> str:
    position = page.get_by_test_id("chat-message").last.get_attribute("data-position")
    assert position and ":" in position
    return position


def test_who_is_here_follows_pages_joining_and_leaving_across_web_processes(
    open_page: OpenPage,
    restartable_web: Sandbox,
    room: str,
    docs_screenshot: Callable[[Page, str], None],
) -> None:
    ann = open_page("/chat")
    join(ann, "ann", room)
    expect_here(ann, ["ann"])

    bob = open_page("/chat", base_url=restartable_web.base_url)  # the other web process
    join(bob, "bob", room)
    for page in (ann, bob):
        expect_here(page, ["ann", "bob"])
    cat = open_page("/chat", base_url=restartable_web.base_url)
    join(cat, "cat", room)
    expect_here(ann, ["ann", "bob", "cat"])
    say(ann, "Hello both")
    docs_screenshot(ann, "chat-presence")

    bob.get_by_test_id("chat-leave").click()
    for page in (ann, cat):
        expect_here(page, ["ann", "cat"])
    cat.close()  # closing the tab ends its presence too
    expect_here(ann, ["ann"])


def test_a_new_member_sees_the_last_messages(open_page: OpenPage, room: str) -> None:
    ann = open_page("/chat")
    join(ann, "ann", room)
    for text in ("one", "two", "three"):
        say(ann, text)
    bob = open_page("/chat")
    join(bob, "bob", room)
    expect_messages(bob, [("ann", "one"), ("ann", "two"), ("ann", "three")])
    # Shown as earlier messages, in the order they were sent.
    expect(bob.locator('[data-testid="chat-message"].replay')).to_have_count(3)
    say(bob, "hi ann")
    expect_messages(ann, [("ann", "one"), ("ann", "two"), ("ann", "three"), ("bob", "hi ann")])


def test_a_page_gets_what_it_missed_while_its_server_restarted(
    open_page: OpenPage, restartable_web: Sandbox, room: str
) -> None:
    ann = open_page("/chat")
    bob = open_page("/chat", base_url=restartable_web.base_url)
    join(ann, "ann", room)
    join(bob, "bob", room)
    say(ann, "before")
    expect_messages(bob, [("ann", "before")])
    seen = last_position(bob)

    restartable_web.web.stop(signal.SIGKILL)  # bob's server dies under the page
    status = bob.get_by_test_id("connection-status")
    expect(status).to_have_attribute("data-state", "reconnecting")
    missed = [f"missed {i}" for i in range(4)]
    for text in missed:
        say(ann, text)

    restartable_web.web.start()
    expect(status).to_have_attribute("data-state", "open", timeout=RECONNECT_TIMEOUT_MS)
    recovery = bob.get_by_test_id("chat-recovery")
    expect(recovery).to_have_attribute("data-mode", "recovered")
    expect(recovery).to_have_attribute("data-after", seen)
    expect(recovery).to_contain_text(f"Reconnected after position {seen}")
    # Every missed message once, in order, then live ones.
    expect_messages(bob, [("ann", "before"), *(("ann", t) for t in missed)])
    say(ann, "live again")
    expect_messages(bob, [("ann", "before"), *(("ann", t) for t in missed), ("ann", "live again")])
    # The crashed process's "bob" lapses (10 s, nobody announces it); the page asks again.
    expect(bob.get_by_test_id("presence-member")).to_have_text(["ann", "bob"], timeout=25_000)


def test_a_page_that_went_offline_gets_what_it_missed(open_page: OpenPage, room: str) -> None:
    ann, bob = open_page("/chat"), open_page("/chat")
    join(ann, "ann", room)
    join(bob, "bob", room)
    say(bob, "going through a tunnel")
    expect_messages(ann, [("bob", "going through a tunnel")])

    bob.context.set_offline(True)
    expect(bob.get_by_test_id("connection-status")).to_have_attribute("data-state", "offline")
    for text in ("where are you?", "hello?"):
        say(ann, text)
    bob.context.set_offline(False)

    expect(bob.get_by_test_id("connection-status")).to_have_attribute("data-state", "open")
    expect(bob.get_by_test_id("chat-recovery")).to_have_attribute("data-mode", "recovered")
    # ann's two messages, and bob's own departure (its socket closed when it went offline).
    expect(bob.get_by_test_id("chat-recovery")).to_have_attribute("data-count", "3")
    expect_messages(
        bob, [("bob", "going through a tunnel"), ("ann", "where are you?"), ("ann", "hello?")]
    )


def test_a_page_that_cannot_recover_says_so_and_reloads_the_room(
    open_page: OpenPage, restartable_web: Sandbox, room: str, redis_url: str
) -> None:
    ann = open_page("/chat")
    bob = open_page("/chat", base_url=restartable_web.base_url)
    join(ann, "ann", room)
    join(bob, "bob", room)
    say(ann, "before the wipe")
    expect_messages(bob, [("ann", "before the wipe")])
    seen = last_position(bob)

    restartable_web.web.stop()
    # The room's history is lost, as when Redis restarts empty or fails over to a
    # replica that missed writes (tests/integration/redis cover those for real).
    keys = group_keys("chat", f"room.{room}")
    with redis.Redis.from_url(redis_url) as client:
        assert client.delete(keys.meta, keys.stream) == 2
    say(ann, "after the wipe")
    restartable_web.web.start()

    status = bob.get_by_test_id("connection-status")
    expect(status).to_have_attribute("data-state", "open", timeout=RECONNECT_TIMEOUT_MS)
    recovery = bob.get_by_test_id("chat-recovery")
    expect(recovery).to_have_attribute("data-mode", "reset")
    expect(recovery).to_have_attribute("data-reason", "epoch")
    expect(recovery).to_contain_text(f"Could not recover what you missed after {seen}")
    expect(recovery).to_contain_text("The room was reloaded")
    # The room as it is now: what the new history holds, nothing from before the wipe.
    expect_messages(bob, [("ann", "after the wipe")])
    assert last_position(bob).split(":")[0] != seen.split(":")[0]  # a new epoch
    say(bob, "back")
    expect_messages(ann, [("ann", "before the wipe"), ("ann", "after the wipe"), ("bob", "back")])
