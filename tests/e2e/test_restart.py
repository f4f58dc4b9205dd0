"""The web server restarts under an open page: it shows so, reconnects, works again."""

from __future__ import annotations

import re
import signal

import pytest
from playwright.sync_api import expect

from .conftest import OpenPage, Sandbox

pytestmark = [pytest.mark.e2e, pytest.mark.redis]

#: Longer than the page's backoff can grow while the server is down (0.5, 1, 2, 4 s...).
RECONNECT_TIMEOUT_MS = 20_000


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGKILL], ids=["stop", "crash"])
def test_pages_reconnect_after_the_server_restarts(
    open_page: OpenPage, restartable_web: Sandbox, room: str, stop_signal: int
) -> None:
    echo = open_page("/echo", base_url=restartable_web.base_url)
    chat = open_page("/chat", context=echo.context, base_url=restartable_web.base_url)
    chat.get_by_test_id("chat-name").fill("dana")
    chat.get_by_test_id("chat-room").fill(room)
    chat.get_by_test_id("chat-join").click()
    for page in (echo, chat):
        expect(page.get_by_test_id("connection-status")).to_have_attribute("data-state", "open")
        page.evaluate("window.__loadedOnce = true")  # gone if the page reloads

    restartable_web.web.stop(stop_signal)
    for page in (echo, chat):
        status = page.get_by_test_id("connection-status")
        expect(status).to_have_attribute("data-state", "reconnecting")
        expect(status).to_have_text(re.compile(r"^Reconnecting"))

    restartable_web.web.start()
    for page in (echo, chat):
        status = page.get_by_test_id("connection-status")
        expect(status).to_have_attribute("data-state", "open", timeout=RECONNECT_TIMEOUT_MS)
        expect(status).to_have_text("Connected")
        assert page.evaluate("window.__loadedOnce") is True

    echo.get_by_test_id("echo-input").fill("still there?")
    echo.get_by_test_id("echo-send").click()
    expect(echo.locator('[data-testid="echo-item"][data-kind="in"]')).to_have_text(
        re.compile("still there\\?$")
    )
    # The chat socket rejoined its room on its own.
    expect(chat.get_by_test_id("chat-current-room")).to_have_attribute("data-room", room)
    chat.get_by_test_id("chat-input").fill("back online")
    chat.get_by_test_id("chat-send").click()
    expect(chat.get_by_test_id("chat-text")).to_have_text(["back online"])
