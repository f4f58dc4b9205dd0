"""The Health page watches a Redis restart: the disconnect, the reconnect and the heal."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from sandbox.redis_process import RedisProcess, free_port

from .conftest import OpenPage, Sandbox, start_logged, stop_logged
from .processes import web_service

pytestmark = [pytest.mark.e2e, pytest.mark.redis, pytest.mark.slow]

#: The page's reconnect and the subscriber's back-off, on a busy 2-core machine.
BACK_TIMEOUT_MS = 20_000


@pytest.fixture
def own_redis_web(
    pytestconfig: pytest.Config, base_env: dict[str, str], e2e_logs: Path
) -> Iterator[tuple[Sandbox, RedisProcess]]:
    """A web app on a Redis of this test's own, which the test kills and restarts."""
    with RedisProcess() as redis_server:
        env = {**base_env, "REDIS_URL": redis_server.url}
        env.pop("REDIS_SENTINELS", None)  # the shared sentinel watches the session's Redis
        port = free_port()
        web = start_logged(
            pytestconfig, web_service(env, port, e2e_logs / f"web-health-{port}.log")
        )
        yield Sandbox(f"http://127.0.0.1:{port}", env, web), redis_server
        stop_logged(pytestconfig, web)


def test_the_health_page_shows_a_redis_restart(
    open_page: OpenPage,
    own_redis_web: tuple[Sandbox, RedisProcess],
    room: str,
    docs_screenshot: Callable[[Page, str], None],
) -> None:
    web, redis_server = own_redis_web
    chat = open_page("/chat", base_url=web.base_url)  # a subscriber on the chat layer
    chat.get_by_test_id("chat-name").fill("erin")
    chat.get_by_test_id("chat-room").fill(room)
    chat.get_by_test_id("chat-join").click()
    expect(chat.get_by_test_id("chat-current-room")).to_have_attribute("data-room", room)

    health = open_page("/health", base_url=web.base_url)
    expect(health.get_by_test_id("connection-status")).to_have_attribute("data-state", "open")
    chat_link = health.locator('[data-testid="health-link"][data-alias="chat"]')
    expect(chat_link).to_have_attribute("data-connected", "true")
    expect(health.get_by_test_id("legend-sockets")).to_contain_text("ChatConsumer: 1")

    redis_server.kill()
    expect(chat_link).to_have_attribute("data-connected", "false")
    expect(chat_link).to_contain_text("DISCONNECTED")
    events = health.get_by_test_id("health-event")
    expect(events.and_(health.locator('[data-kind="disconnect"]')).first).to_contain_text(
        "chat: lost Redis"
    )

    redis_server.start()
    expect(chat_link).to_have_attribute("data-connected", "true", timeout=BACK_TIMEOUT_MS)
    expect(chat_link).to_have_attribute("data-reconnects", re.compile(r"^[1-9]"))
    reconnect = events.and_(health.locator('[data-kind="reconnect"]')).first
    expect(reconnect).to_contain_text("chat: reconnected to", timeout=BACK_TIMEOUT_MS)
    heal = events.and_(health.locator('[data-kind="heal"]')).first
    expect(heal).to_contain_text("chat: healed", timeout=BACK_TIMEOUT_MS)
    docs_screenshot(health, "health")  # for the observability guide
    # The healed subscription works: the chat room hears itself again.
    chat.get_by_test_id("chat-input").fill("after the restart")
    chat.get_by_test_id("chat-send").click()
    expect(chat.get_by_test_id("chat-text").last).to_have_text("after the restart")
