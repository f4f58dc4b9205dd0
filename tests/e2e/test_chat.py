"""Room chat over the Redis pub/sub layer, with several users (browser contexts)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from .chat_room import join, messages, say
from .conftest import OpenPage

pytestmark = [pytest.mark.e2e, pytest.mark.redis]

XSS = "<img src=x onerror=window.__xss=1>"


def test_two_users_share_a_room_and_a_third_in_another_room_sees_nothing(
    open_page: OpenPage, room: str, docs_screenshot: Callable[[Page, str], None]
) -> None:
    ann, bob, cat = open_page("/chat"), open_page("/chat"), open_page("/chat")
    expect(ann.get_by_test_id("connection-status")).to_have_attribute("data-state", "idle")
    expect(ann.get_by_test_id("chat-send")).to_be_disabled()
    elsewhere = f"{room}-other"
    join(cat, "cat", elsewhere)
    join(ann, "ann", room)
    join(bob, "bob", room)

    # Both members hear that bob joined.
    for page in (ann, bob):
        expect(page.locator('[data-testid="chat-notice"][data-event="join"]').last).to_have_text(
            "bob joined the room"
        )

    say(ann, "Hi bob!")
    say(bob, "Hello ann, the room works.")
    say(bob, XSS)
    for page in (ann, bob):
        expect(page.get_by_test_id("chat-message")).to_have_count(3)
        assert messages(page) == [
            ("ann", "Hi bob!"),
            ("bob", "Hello ann, the room works."),
            ("bob", XSS),
        ]
        # The markup arrived as text: no element was made from it, no handler ran.
        expect(page.get_by_test_id("chat-messages").locator("img")).to_have_count(0)
        assert page.evaluate("typeof window.__xss") == "undefined"

    docs_screenshot(ann, "chat")

    bob.get_by_test_id("chat-leave").click()
    expect(bob.get_by_test_id("chat-input")).to_be_disabled()
    expect(ann.locator('[data-testid="chat-notice"][data-event="leave"]')).to_have_text(
        ["bob left the room"]
    )
    say(ann, "Anyone still here?")
    expect(ann.get_by_test_id("chat-message")).to_have_count(4)
    expect(bob.get_by_test_id("chat-message")).to_have_count(3)  # bob left: nothing new

    # cat, in another room all along, saw only its own join notice.
    say(cat, "Quiet in here")
    expect(cat.get_by_test_id("chat-message")).to_have_count(1)
    assert messages(cat) == [("cat", "Quiet in here")]
    expect(cat.get_by_test_id("chat-notice")).to_have_text(["cat joined the room"])


def test_joining_another_room_leaves_the_first(open_page: OpenPage, room: str) -> None:
    ann, bob = open_page("/chat"), open_page("/chat")
    join(ann, "ann", room)
    join(bob, "bob", room)
    expect(ann.get_by_test_id("chat-notice")).to_have_text(
        ["ann joined the room", "bob joined the room"]
    )

    join(ann, "ann", f"{room}-b")  # straight from one room to the next, no Leave click
    expect(bob.get_by_test_id("chat-notice").last).to_have_text("ann left the room")
    expect(ann.get_by_test_id("chat-notice")).to_have_text(["ann joined the room"])
    say(ann, "new room, who dis")
    expect(ann.get_by_test_id("chat-message")).to_have_count(1)
    say(bob, "ann?")
    expect(bob.get_by_test_id("chat-message")).to_have_count(1)
    assert messages(bob) == [("bob", "ann?")]
    assert messages(ann) == [("ann", "new room, who dis")]
