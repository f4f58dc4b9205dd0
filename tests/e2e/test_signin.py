"""Chat sign-in in a real browser: the signed-in name is on the messages, and no field,
forged frame or forged cookie can put another name there."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from .chat_room import join, say
from .conftest import OpenPage, Sandbox

pytestmark = [pytest.mark.e2e, pytest.mark.redis]

# Runs in the signed-in page: a socket of its own, with a forged ?name= and a forged
# "name" field in the frame, as a script in the devtools console could send.
FORGED_SOCKET = """async ([room, text]) => {
    const url = `ws://${location.host}/ws/room/${room}?name=grace`;
    const ws = new WebSocket(url);
    const events = [];
    ws.onmessage = (e) => events.push(JSON.parse(e.data));
    await new Promise((ok, fail) => { ws.onopen = ok; ws.onerror = fail; });
    while (!events.some((e) => e.type === "joined")) await new Promise((r) => setTimeout(r, 20));
    ws.send(JSON.stringify({ type: "message", text, name: "grace", verified: true }));
    while (!events.some((e) => e.type === "message")) await new Promise((r) => setTimeout(r, 20));
    ws.close();
    return events.filter((e) => e.type === "joined" || e.type === "message");
}"""


def sign_in(page: Page, name: str) -> None:
    page.get_by_test_id("signin-name").fill(name)
    page.get_by_test_id("signin-button").click()
    expect(page.get_by_test_id("signin-state")).to_have_attribute("data-signed-in", "true")
    expect(page.get_by_test_id("signin-state")).to_contain_text(f"Signed in as {name}")


def authored(page: Page) -> list[tuple[str | None, bool, str]]:
    """(author, shown as verified, text) of every message on the page, in order."""
    return [
        (
            item.get_attribute("data-author"),
            "✓" in item.locator(".meta").inner_text(),
            item.get_by_test_id("chat-text").inner_text(),
        )
        for item in page.get_by_test_id("chat-message").all()
    ]


def test_the_signed_in_name_is_on_messages_and_cannot_be_spoofed(
    open_page: OpenPage, new_context: Callable[..., BrowserContext], room: str
) -> None:
    ada = open_page("/chat")
    bob = open_page("/chat")
    sign_in(ada, "ada")
    name_field = ada.get_by_test_id("chat-name")
    expect(name_field).to_be_disabled()  # the page says the field no longer counts
    join(bob, "bob", room)

    # Edit the disabled name field anyway (as devtools can), then join: the server
    # takes the name from the signed cookie.
    ada.evaluate("document.querySelector('[data-testid=chat-name]').disabled = false")
    name_field.fill("grace")
    ada.get_by_test_id("chat-room").fill(room)
    ada.get_by_test_id("chat-join").click()
    expect(ada.get_by_test_id("chat-input")).to_be_enabled()
    expect(bob.locator('[data-testid="chat-notice"][data-event="join"]').last).to_have_text(
        "ada joined the room"
    )
    say(ada, "hello from ada")
    for page in (ada, bob):
        expect(page.get_by_test_id("chat-message")).to_have_count(1)
        assert authored(page) == [("ada", True, "hello from ada")]

    # A socket of the page's own with ?name=grace and a frame claiming "grace".
    events: list[dict[str, Any]] = ada.evaluate(FORGED_SOCKET, [room, "forged frame"])
    assert [(e["type"], e["name"], e["verified"]) for e in events] == [
        ("joined", "ada", True),
        ("message", "ada", True),
    ]
    expect(bob.get_by_test_id("chat-message")).to_have_count(2)
    assert authored(bob)[-1] == ("ada", True, "forged frame")

    # A guest may type the same name, but is shown as a guest, not as the signed-in ada.
    mallory = open_page("/chat")
    join(mallory, "ada", room)
    say(mallory, "I am ada too")
    expect(bob.get_by_test_id("chat-message")).to_have_count(3)
    assert authored(bob)[-1] == ("ada", False, "I am ada too")
    assert "(guest)" in bob.get_by_test_id("chat-message").last.locator(".meta").inner_text()


def test_a_forged_sign_in_cookie_is_refused(
    new_context: Callable[..., BrowserContext], sandbox: Sandbox
) -> None:
    context = new_context()
    name = base64.urlsafe_b64encode(b"ada").decode().rstrip("=")
    forged = f"{name}.bm90LXRoZS1zaWduYXR1cmU"  # ada, with a signature the server never made
    context.add_cookies([{"name": "sandbox_user", "value": forged, "url": sandbox.base_url}])
    page = context.new_page()
    response = page.goto(f"{sandbox.base_url}/chat")
    assert response is not None and response.status == 403
    assert "sign in again" in page.content()
