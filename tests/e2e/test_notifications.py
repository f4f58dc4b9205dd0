"""Notifications reach an open page from the page, from HTTP and from another process."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

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
