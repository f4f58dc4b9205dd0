"""Bad input from the page gets a visible error, and the page keeps working."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .chat_room import join, messages, say
from .conftest import MAX_MESSAGE_BYTES, OpenPage

pytestmark = [pytest.mark.e2e, pytest.mark.redis]


@pytest.mark.parametrize(
    ("bad_room", "refused_by"),
    [
        ("no spaces!", "server"),
        ("r" * 120, "server"),
        ("a/b", "server"),  # must reach the room route, not fail the handshake
        ("..", "page"),  # the browser would resolve it out of the URL: the page says no
    ],
    ids=["characters", "length", "slash", "dot-segment"],
)
def test_invalid_room_name_shows_an_error_then_a_valid_room_works(
    open_page: OpenPage, room: str, bad_room: str, refused_by: str
) -> None:
    page = open_page("/chat")
    page.get_by_test_id("chat-name").fill("eve")
    page.get_by_test_id("chat-room").fill(bad_room)
    page.get_by_test_id("chat-join").click()

    error = page.get_by_test_id("error")
    expect(error).to_be_visible()
    expect(error).to_have_attribute("data-code", "invalid_room")
    expect(error).to_contain_text(bad_room)
    # Refused on purpose: the page does not retry, and stays out of a room.
    state = "closed" if refused_by == "server" else "idle"
    expect(page.get_by_test_id("connection-status")).to_have_attribute("data-state", state)
    expect(page.get_by_test_id("chat-current-room")).to_have_attribute("data-room", "")
    expect(page.get_by_test_id("chat-send")).to_be_disabled()

    join(page, "eve", room)
    expect(error).to_be_hidden()
    say(page, "made it")
    expect(page.get_by_test_id("chat-text")).to_have_text(["made it"])


def test_oversized_message_shows_an_error_and_the_room_keeps_working(
    open_page: OpenPage, room: str
) -> None:
    ann, bob = open_page("/chat"), open_page("/chat")
    join(ann, "ann", room)
    join(bob, "bob", room)

    say(ann, "x" * (MAX_MESSAGE_BYTES + 1))
    error = ann.get_by_test_id("error")
    expect(error).to_be_visible()
    expect(error).to_have_attribute("data-code", "frame_too_large")
    expect(error).to_contain_text(f"over the {MAX_MESSAGE_BYTES}-byte limit")
    expect(ann.get_by_test_id("connection-status")).to_have_attribute("data-state", "open")

    say(ann, "a short one instead")
    expect(error).to_be_hidden()
    for page in (ann, bob):
        expect(page.get_by_test_id("chat-message")).to_have_count(1)
        assert messages(page) == [("ann", "a short one instead")]
    expect(bob.get_by_test_id("error")).to_be_hidden()  # only the sender was told
