"""The sandbox scaled out: ``python -m sandbox --web-processes 2``, pages on both processes.

One sandbox for the module: two uvicorn processes on consecutive ports and one
arq worker, started by the real command and sharing the session's Redis. Each
test opens pages on both web processes (``base_url=``) and checks that chat,
notifications, jobs and the showcase work across them.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil  # type: ignore[import-untyped]  # no stubs installed; used for pids only
import pytest
from playwright.sync_api import Page, expect

from tests.sandbox_env import sandbox_env

from .chat_room import join, messages, say
from .conftest import JOB_STEP_SECONDS, OpenPage, start_logged, stop_logged
from .jobs_page import jobs_page, progress_of, running, submit
from .processes import Service, consecutive_free_ports, scaled_sandbox_service

pytestmark = [pytest.mark.e2e, pytest.mark.redis]

SERVED_BY = re.compile(r"^port (\d+), pid (\d+)$")


@dataclass
class ScaledSandbox:
    """The two web processes' URLs and pids, and the command that started them."""

    urls: tuple[str, str]
    ports: tuple[int, int]
    web_pids: set[int]
    service: Service  # the supervisor; its log holds every child's output


def _children(service: Service) -> list[psutil.Process]:
    assert service.proc is not None
    return list(psutil.Process(service.proc.pid).children(recursive=True))


@pytest.fixture(scope="module")
def scaled(pytestconfig: pytest.Config, redis_url: str, e2e_logs: Path) -> Iterator[ScaledSandbox]:
    """``python -m sandbox --web-processes 2`` on the session Redis, with its own job queue.

    No SANDBOX_SESSION_SECRET is set: the command must give both web processes
    the same one, or a sign-in on one would be refused by the other.
    """
    env = sandbox_env(
        redis_url,
        job_queue=f"sandbox-scale:{uuid.uuid4().hex[:8]}",  # only our worker takes these
        SANDBOX_JOB_STEP_SECONDS=JOB_STEP_SECONDS,
    )
    first = consecutive_free_ports(2)
    service = start_logged(
        pytestconfig, scaled_sandbox_service(env, first, 2, e2e_logs / "scaled-sandbox.log")
    )
    children = _children(service)
    try:
        commands = {child.pid: " ".join(child.cmdline()) for child in children}
        web_pids = {pid for pid, cmd in commands.items() if cmd.endswith("-m sandbox.web")}
        workers = [pid for pid, cmd in commands.items() if cmd.endswith("-m worker")]
        assert len(web_pids) == 2 and len(workers) == 1, commands
        yield ScaledSandbox(
            urls=(f"http://127.0.0.1:{first}", f"http://127.0.0.1:{first + 1}"),
            ports=(first, first + 1),
            web_pids=web_pids,
            service=service,
        )
    finally:
        stop_logged(pytestconfig, service)
        _gone, alive = psutil.wait_procs(children, timeout=10)
        for child in alive:  # the supervisor was killed before it stopped them
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
        assert not alive, f"the supervisor left children running: {alive}"


def pages(open_page: OpenPage, scaled: ScaledSandbox, path: str) -> tuple[Page, Page]:
    """The same page opened on the first and on the second web process (two users)."""
    first, second = scaled.urls
    return open_page(path, base_url=first), open_page(path, base_url=second)


def served_by(page: Page, alias: str) -> tuple[int, int]:
    """(port, pid) the showcase panel of ``alias`` says served its socket."""
    panel = page.locator(f'[data-testid="layer-panel"][data-layer="{alias}"]')
    expect(panel.get_by_test_id("served-by")).to_have_text(SERVED_BY)
    found = SERVED_BY.match(panel.get_by_test_id("served-by").inner_text())
    assert found is not None
    return int(found[1]), int(found[2])


def test_showcase_on_each_page_names_a_different_process(
    open_page: OpenPage, scaled: ScaledSandbox
) -> None:
    one, two = pages(open_page, scaled, "/showcase")
    for alias in ("chat", "jobs"):
        (port_one, pid_one), (port_two, pid_two) = served_by(one, alias), served_by(two, alias)
        assert (port_one, port_two) == scaled.ports
        assert pid_one != pid_two and {pid_one, pid_two} == scaled.web_pids

    # Sent on the first page, delivered through Redis to the socket on the second.
    panel = one.locator('[data-testid="layer-panel"][data-layer="chat"]')
    one.get_by_test_id("showcase-input").fill("across processes")
    panel.get_by_test_id("showcase-send").click()
    for page, port in ((one, scaled.ports[0]), (two, scaled.ports[1])):
        delivery = page.locator('[data-testid="delivery"][data-layer="chat"][data-source="page"]')
        expect(delivery.locator(".text")).to_have_text(["across processes"])
        expect(delivery.locator(".meta")).to_contain_text(f"to the socket on port {port},")


def test_chat_room_shared_by_pages_on_two_processes(
    open_page: OpenPage, scaled: ScaledSandbox, room: str
) -> None:
    ann, bob = pages(open_page, scaled, "/chat")
    join(ann, "ann", room)
    join(bob, "bob", room)
    for page in (ann, bob):
        expect(page.locator('[data-testid="chat-notice"][data-event="join"]').last).to_have_text(
            "bob joined the room"
        )

    say(ann, "hello from the first process")
    expect(bob.get_by_test_id("chat-message")).to_have_count(1)
    say(bob, "and back from the second")
    for page in (ann, bob):
        expect(page.get_by_test_id("chat-message")).to_have_count(2)
        assert messages(page) == [
            ("ann", "hello from the first process"),
            ("bob", "and back from the second"),
        ]

    ann.get_by_test_id("chat-leave").click()
    expect(bob.locator('[data-testid="chat-notice"][data-event="leave"]')).to_have_text(
        ["ann left the room"]
    )
    say(bob, "gone already")
    expect(bob.get_by_test_id("chat-message")).to_have_count(3)
    expect(ann.get_by_test_id("chat-message")).to_have_count(2)  # ann left: nothing new


def test_a_sign_in_on_one_process_holds_on_the_other(
    open_page: OpenPage, scaled: ScaledSandbox, room: str
) -> None:
    first, second = scaled.urls
    ada = open_page("/chat", base_url=first)
    ada.get_by_test_id("signin-name").fill("ada")
    ada.get_by_test_id("signin-button").click()
    expect(ada.get_by_test_id("signin-state")).to_have_attribute("data-signed-in", "true")

    # Cookies ignore the port: the second process gets the cookie the first one signed.
    elsewhere = open_page("/chat", context=ada.context, base_url=second)
    expect(elsewhere.get_by_test_id("signin-state")).to_have_attribute("data-signed-in", "true")
    guest = open_page("/chat", base_url=first)
    join(elsewhere, None, room)
    join(guest, "guest", room)
    say(elsewhere, "signed in over there, chatting here")
    for page in (elsewhere, guest):
        message = page.get_by_test_id("chat-message")
        expect(message).to_have_count(1)
        expect(message).to_have_attribute("data-author", "ada")
        expect(message.locator(".meta")).to_contain_text("ada ✓")
        expect(page.get_by_test_id("error")).to_be_hidden()


def test_a_notification_sent_through_one_process_reaches_pages_on_both(
    open_page: OpenPage, scaled: ScaledSandbox
) -> None:
    one, two = pages(open_page, scaled, "/notifications")
    for page in (one, two):
        expect(page.get_by_test_id("connection-status")).to_have_attribute("data-state", "open")

    one.get_by_test_id("notify-input").fill("From a page on the first process")
    one.get_by_test_id("notify-send").click()
    expect(two.get_by_test_id("notification")).to_have_count(1)  # keeps the order fixed
    response = two.request.post("/api/notifications", data={"text": "POSTed to the second"})
    assert response.status == 202, response.text()

    for page in (one, two):
        expect(page.get_by_test_id("notification-text")).to_have_text(
            ["From a page on the first process", "POSTed to the second"]
        )
        expect(page.get_by_test_id("error")).to_be_hidden()


def test_a_job_completes_on_the_page_that_submitted_it(
    open_page: OpenPage, scaled: ScaledSandbox
) -> None:
    first, second = scaled.urls
    bystander = jobs_page(open_page, base_url=first)
    page = jobs_page(open_page, base_url=second)
    submit(page, "sum", 4)

    row = page.get_by_test_id("job-row")
    expect(row).to_have_attribute("data-status", "completed")
    expect(row.get_by_test_id("job-result")).to_have_text("1 + ... + 4 = 10")
    assert progress_of(page, row) == [*running(4), "100:completed"]
    # The arq worker process ran it (arq logs "<job id>:run_job" as it starts a job),
    # and its progress found the submitting socket on the second web process.
    assert f"{row.get_attribute('data-job-id')}:run_job" in scaled.service.log_path.read_text()
    # The page on the other process submitted nothing and got nothing.
    expect(bystander.get_by_test_id("jobs-empty")).to_be_visible()
    expect(bystander.get_by_test_id("job-row")).to_have_count(0)
