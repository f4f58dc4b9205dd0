"""Notifications reach an open page from the page, from HTTP and from another process."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, WebSocketRoute, expect

from .conftest import OpenPage, Sandbox
from .processes import run_script

pytestmark = [pytest.mark.e2e, pytest.mark.redis]


def test_notifications_from_page_http_and_cli_reach_every_open_page(
    open_page: OpenPage, sandbox: Sandbox, docs_screenshot: Callable[[Page, str], None]
) -> None:
    sender, watcher = open_page("/notifications"), open_page("/notifications")
    for page in (sender, watcher):
        expect(page.get_by_test_id("connection-status")).to_have_attribute("data-state", "open")

    sender.get_by_test_id("notify-input").fill("Build 42 is green")
    sender.get_by_test_id("notify-send").click()

    response = watcher.request.post("/api/notifications", data={"text": "Deploy started by curl"})
    assert response.status == 202, response.text()
    assert response.json()["source"] == "http"

    output = run_script(["-m", "sandbox.notify", "Backup finished (cron)"], sandbox.env)
    assert "Sent notification" in output

    expected = {
        "page": "Build 42 is green",
        "http": "Deploy started by curl",
        "cli": "Backup finished (cron)",
    }
    for page in (sender, watcher):
        for source, text in expected.items():
            item = page.locator(f'[data-testid="notification"][data-source="{source}"]')
            expect(item.get_by_test_id("notification-text")).to_have_text([text])
        expect(page.get_by_test_id("notification")).to_have_count(3)
        expect(page.get_by_test_id("error")).to_be_hidden()
    docs_screenshot(watcher, "notifications")


def test_a_notification_reaches_a_page_on_sse_and_a_page_on_websocket_alike(
    open_page: OpenPage, sandbox: Sandbox
) -> None:
    on_ws, on_sse = open_page("/notifications"), open_page("/notifications?transport=sse")
    status = {page: page.get_by_test_id("connection-status") for page in (on_ws, on_sse)}
    expect(status[on_ws]).to_have_attribute("data-transport", "ws")
    expect(status[on_sse]).to_have_attribute("data-transport", "sse")
    for page in (on_ws, on_sse):
        expect(status[page]).to_have_attribute("data-state", "open")

    # Each page sends one: the WebSocket page over its socket, the SSE page over HTTP.
    on_ws.get_by_test_id("notify-input").fill("Sent from the WebSocket page")
    on_ws.get_by_test_id("notify-send").click()
    expect(on_sse.get_by_test_id("notification")).to_have_count(1)  # keeps the order fixed
    on_sse.get_by_test_id("notify-input").fill("Sent from the SSE page")
    on_sse.get_by_test_id("notify-send").click()

    for page in (on_ws, on_sse):
        texts = page.get_by_test_id("notification-text")
        expect(texts).to_have_text(["Sent from the WebSocket page", "Sent from the SSE page"])
        expect(page.get_by_test_id("error")).to_be_hidden()

    # Switching transport on a page keeps it receiving.
    on_ws.get_by_test_id("transport-sse").check()
    expect(status[on_ws]).to_have_attribute("data-transport", "sse")
    expect(status[on_ws]).to_have_attribute("data-state", "open")
    response = on_ws.request.post("/api/notifications", data={"text": "After the switch"})
    assert response.status == 202, response.text()
    for page in (on_ws, on_sse):
        expect(page.get_by_test_id("notification")).to_have_count(3)


def test_a_page_whose_websockets_fail_falls_back_to_sse(
    open_page: OpenPage, new_context: Callable[..., BrowserContext]
) -> None:
    context = new_context()

    def refuse(ws: WebSocketRoute) -> None:  # a proxy that kills every WebSocket
        ws.close(code=1006)

    context.route_web_socket("**/ws/notifications", refuse)
    page = open_page("/notifications", context=context)
    status = page.get_by_test_id("connection-status")
    expect(status).to_have_attribute("data-transport", "sse")
    expect(status).to_have_attribute("data-state", "open")
    expect(page.get_by_test_id("transport-note")).to_contain_text("WebSockets failed")
    response = page.request.post("/api/notifications", data={"text": "Through the fallback"})
    assert response.status == 202, response.text()
    expect(page.get_by_test_id("notification-text")).to_have_text(["Through the fallback"])
