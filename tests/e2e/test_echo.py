"""System echo: a consumer with no channel layer, through a real browser."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from .conftest import OpenPage

pytestmark = [pytest.mark.e2e, pytest.mark.redis]


def test_echo_round_trip(open_page: OpenPage, docs_screenshot: Callable[[Page, str], None]) -> None:
    page = open_page("/")
    for feature in ("echo", "chat", "notifications", "jobs", "showcase"):
        expect(page.get_by_test_id(f"card-{feature}")).to_be_visible()
    page.get_by_test_id("card-echo").click()
    expect(page).to_have_url(re.compile(r"/echo$"))
    status = page.get_by_test_id("connection-status")
    expect(status).to_have_attribute("data-state", "open")
    expect(status).to_have_text("Connected")
    items = page.get_by_test_id("echo-item")
    expect(items.and_(page.locator("[data-kind=system]"))).to_have_count(1)

    page.get_by_test_id("echo-input").fill("Hello from Chromium")
    page.get_by_test_id("echo-input").press("Enter")

    sent = page.locator('[data-testid="echo-item"][data-kind="out"]')
    echoed = page.locator('[data-testid="echo-item"][data-kind="in"]')
    expect(sent).to_have_count(1)
    expect(sent).to_contain_text("Hello from Chromium")
    expect(echoed).to_have_count(1)
    expect(echoed).to_contain_text("Hello from Chromium")
    expect(page.get_by_test_id("echo-input")).to_have_value("")
    expect(page.get_by_test_id("error")).to_be_hidden()
    docs_screenshot(page, "echo")
