"""Notifications reach an open page from the page, from HTTP and from another process."""

from __future__ import annotations

import selectors
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from fast_channels.testing import ServerSentEvent, SseParser
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


def _post(base_url: str, text: str) -> None:
    response = httpx.post(f"{base_url}/api/notifications", json={"text": text}, timeout=10)
    assert response.status_code == 202, response.text


def _events_from(read: Callable[[], bytes], deadline: float) -> Iterator[ServerSentEvent]:
    """Events (comments included) parsed from the raw bytes ``read()`` returns."""
    parser = SseParser()
    while time.monotonic() < deadline:
        chunk = read()
        if not chunk:
            return
        yield from parser.feed(chunk)


def _readable(fileobj: object, deadline: float) -> Callable[[], bytes]:
    """A ``read()`` that waits until ``deadline`` at most, then returns b""."""
    selector = selectors.DefaultSelector()
    selector.register(fileobj, selectors.EVENT_READ)  # type: ignore[arg-type]

    def read() -> bytes:
        if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
            return b""
        if isinstance(fileobj, socket.socket):
            return fileobj.recv(65536)
        return fileobj.read1(65536)  # type: ignore[attr-defined,no-any-return]

    return read


def _watch_stream(read: Callable[[], bytes], base_url: str) -> tuple[list[str], str]:
    """Read until the stream opens, post a notification, read until it arrives."""
    text = f"live over plain HTTP {uuid.uuid4().hex[:6]}"
    deadline = time.monotonic() + 15
    seen: list[str] = []
    for event in _events_from(read, deadline):
        seen.append(f": {event.comments[0]}" if event.comments else event.event)
        if "stream open" in event.comments:  # the opening block: the stream is in the group
            _post(base_url, text)
        if event.event == "notification" and text in event.data:
            return seen, str(event.id)
    raise AssertionError(f"the notification never arrived; saw {seen}")


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_curl_n_shows_the_live_stream(sandbox: Sandbox) -> None:
    # The tutorial's command, against the sandbox's real web process.
    with subprocess.Popen(
        ["curl", "-N", "-sS", f"{sandbox.base_url}/sse/notifications"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    ) as curl:
        try:
            assert curl.stdout is not None
            read = _readable(curl.stdout, time.monotonic() + 15)
            seen, event_id = _watch_stream(read, sandbox.base_url)
        finally:
            curl.terminate()
    assert seen[0] == ": stream open"
    assert seen[-1] == "notification"
    assert ":" in event_id  # a position in the notifications group


def test_a_raw_http_client_reads_the_live_stream(sandbox: Sandbox) -> None:
    # The same with nothing but a socket: the bytes on the wire are a chunked
    # text/event-stream that an SSE parser can read as they come.
    address = urlsplit(sandbox.base_url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(b"GET /sse/notifications HTTP/1.1\r\nHost: sandbox\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(1)
        status, *header_lines = head.decode("latin-1").split("\r\n")
        headers = dict(line.lower().split(": ", 1) for line in header_lines if line)
        assert status == "HTTP/1.1 200 OK"
        assert headers["content-type"] == "text/event-stream; charset=utf-8"
        assert headers["transfer-encoding"] == "chunked"
        read = _readable(sock, time.monotonic() + 15)
        unchunked = _unchunk(read)
        seen, _ = _watch_stream(lambda: next(unchunked, b""), sandbox.base_url)
    assert seen[0] == ": stream open"


def _unchunk(read: Callable[[], bytes]) -> Iterator[bytes]:
    """The payload of an HTTP/1.1 chunked body, as it arrives."""
    buffer = b""
    while True:
        while b"\r\n" not in buffer:
            more = read()
            if not more:
                return
            buffer += more
        size_line, _, buffer = buffer.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            return
        while len(buffer) < size + 2:
            more = read()
            if not more:
                return
            buffer += more
        yield buffer[:size]
        buffer = buffer[size + 2 :]


#: Longer than the server takes to stop and start plus the stream's 2 s retry delay.
RECONNECT_TIMEOUT_MS = 20_000


def test_an_sse_page_that_reconnects_misses_nothing(
    open_page: OpenPage, restartable_web: Sandbox
) -> None:
    # Other tests may notify the shared group meanwhile: look at this test's own only.
    tag = uuid.uuid4().hex[:6]
    page = open_page("/notifications?transport=sse", base_url=restartable_web.base_url)
    status = page.get_by_test_id("connection-status")
    expect(status).to_have_attribute("data-state", "open")
    page.evaluate("window.__loadedOnce = true")  # gone if the page reloads
    mine = page.get_by_test_id("notification-text").filter(has_text=tag)

    _post(restartable_web.base_url, f"{tag} before the restart")
    expect(mine).to_have_text([f"{tag} before the restart"])

    restartable_web.web.stop(signal.SIGTERM)
    expect(status).to_have_attribute("data-state", "reconnecting")
    # Sent while the page has no stream: from another process, through Redis.
    for n in (1, 2):
        run_script(["-m", "sandbox.notify", f"{tag} while away {n}"], restartable_web.env)
    restartable_web.web.start()

    expect(status).to_have_attribute("data-state", "open", timeout=RECONNECT_TIMEOUT_MS)
    _post(restartable_web.base_url, f"{tag} after the restart")
    expected = [
        f"{tag} {text}"
        for text in ("before the restart", "while away 1", "while away 2", "after the restart")
    ]
    expect(mine).to_have_text(expected)  # each once, in order
    expect(page.get_by_test_id("transport-note")).to_be_hidden()  # no recovery.failed
    assert page.evaluate("window.__loadedOnce") is True
