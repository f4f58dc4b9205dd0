"""Steps on the chat page, shared by the chat and bad-input tests."""

from __future__ import annotations

from playwright.sync_api import Page, expect


def join(page: Page, name: str | None, room: str) -> None:
    """Join ``room`` as ``name`` and wait until the server confirmed it.

    ``name=None`` for a signed-in page: its name comes from the cookie (the field is off).
    """
    if name is not None:
        page.get_by_test_id("chat-name").fill(name)
    page.get_by_test_id("chat-room").fill(room)
    page.get_by_test_id("chat-join").click()
    expect(page.get_by_test_id("chat-current-room")).to_have_attribute("data-room", room)
    expect(page.get_by_test_id("connection-status")).to_have_attribute("data-state", "open")
    expect(page.get_by_test_id("chat-input")).to_be_enabled()


def say(page: Page, text: str) -> None:
    page.get_by_test_id("chat-input").fill(text)
    page.get_by_test_id("chat-send").click()
    expect(page.get_by_test_id("chat-input")).to_have_value("")


def messages(page: Page) -> list[tuple[str | None, str]]:
    """(author, text) of every message in the list, in order."""
    return [
        (item.get_attribute("data-author"), item.get_by_test_id("chat-text").inner_text())
        for item in page.get_by_test_id("chat-message").all()
    ]
