"""The showcase: one delivery through each layer type, from the page, HTTP and a script."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from .conftest import OpenPage, Sandbox
from .processes import run_script

pytestmark = [pytest.mark.e2e, pytest.mark.redis]

#: alias -> layer type label: every type, Sentinel included (the session starts one).
LAYERS = {
    "chat": "Redis pub/sub",
    "notifications": "Redis pub/sub",
    "jobs": "Redis queue",
    "memory": "in memory",
    "sentinel": "Redis queue",
}


def deliveries(page: Page, layer: str, source: str) -> list[str]:
    """Texts in the live log delivered by ``layer`` and sent from ``source``."""
    items = page.locator(f'[data-testid="delivery"][data-layer="{layer}"][data-source="{source}"]')
    return items.locator(".text").all_inner_texts()


def test_showcase_delivers_through_each_layer_type(
    open_page: OpenPage, sandbox: Sandbox, docs_screenshot: Callable[[Page, str], None]
) -> None:
    page = open_page("/showcase")
    panels = page.get_by_test_id("layer-panel")
    expect(panels).to_have_count(len(LAYERS))
    for alias, label in LAYERS.items():
        panel = panels.and_(page.locator(f'[data-layer="{alias}"]'))
        expect(panel.get_by_test_id("layer-type")).to_have_text(label)
        expect(panel.get_by_test_id("connection-status")).to_have_attribute("data-state", "open")

    # Through each layer from its own socket: only that layer's panel receives it.
    for alias in LAYERS:
        panel = panels.and_(page.locator(f'[data-layer="{alias}"]'))
        page.get_by_test_id("showcase-input").fill(f"via {alias}")
        panel.get_by_test_id("showcase-send").click()
        expect(panel.get_by_test_id("delivery-count")).to_have_text("1")
    log = page.get_by_test_id("delivery")
    expect(log).to_have_count(len(LAYERS))
    for alias in LAYERS:
        assert deliveries(page, alias, "page") == [f"via {alias}"]

    # From another process: Redis layers directly, the in-memory one via the web app.
    run_script(
        ["-m", "sandbox.showcase_send", "from a script", "--url", sandbox.base_url], sandbox.env
    )
    expect(log).to_have_count(2 * len(LAYERS))
    for alias in LAYERS:
        source = "http" if alias == "memory" else "cli"
        assert deliveries(page, alias, source) == ["from a script"]
        panel = panels.and_(page.locator(f'[data-layer="{alias}"]'))
        expect(panel.get_by_test_id("delivery-count")).to_have_text("2")

    # The page's "Send via HTTP" buttons: POST /api/showcase/<alias>, sent by the web app.
    page.get_by_test_id("showcase-input").fill("hello")
    for alias in LAYERS:
        panel = panels.and_(page.locator(f'[data-layer="{alias}"]'))
        panel.get_by_test_id("showcase-send-http").click()
        expect(panel.get_by_test_id("delivery-count")).to_have_text("3")
    expect(log).to_have_count(3 * len(LAYERS))
    for alias in LAYERS:
        assert deliveries(page, alias, "http")[-1] == "hello"
    expect(page.get_by_test_id("error")).to_be_hidden()
    docs_screenshot(page, "showcase")
