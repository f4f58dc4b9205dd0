"""Browser tests: a real Chromium against the sandbox running as real processes.

The session starts a private Redis (or uses ``REDIS_URL``), one Redis Sentinel
watching it, the arq worker (``python -m worker``) and the web app
(``python -m sandbox.web``) on a free port, and stops them by pid at the end.
The server-restart test gets a web app of its own (``restartable_web``).

Run alone with ``./scripts/test tests/e2e``. On failure pytest keeps a
screenshot and a Playwright trace in ``test-results/<test>/`` (open it with
``uv run playwright show-trace test-results/<test>/trace.zip``) and prints the
tail of each process log.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from sandbox.redis_process import RedisProcess, free_port
from tests.sandbox_env import ROOT, sandbox_env

from .processes import Service, web_service, worker_service

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
SCREENSHOTS = ROOT / "docs" / "_static" / "screenshots"
#: Worker steps are short, but long enough for the page to show a job in progress.
JOB_STEP_SECONDS = "0.15"
#: The web app's frame size limit (SANDBOX_MAX_MESSAGE_BYTES, its default made explicit).
MAX_MESSAGE_BYTES = 4096
#: Cross-process hops (browser, uvicorn, Redis, worker) on a busy 2-core machine.
expect.set_options(timeout=10_000)

_SERVICES = pytest.StashKey[list[Service]]()
#: pytest-playwright options this directory defaults, unless given on the command line.
_ARTIFACT_OPTIONS = {
    "screenshot": "only-on-failure",
    "tracing": "retain-on-failure",
    "output": str(ROOT / "test-results"),
}


def pytest_configure(config: pytest.Config) -> None:
    """Keep a screenshot and a trace of each failed browser test (video stays off)."""
    given = " ".join(str(a) for a in config.invocation_params.args)
    for name, value in _ARTIFACT_OPTIONS.items():
        if f"--{name}" not in given and hasattr(config.option, name):
            setattr(config.option, name, value)
    config.stash[_SERVICES] = []


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the browser tests after every other test of the session.

    Playwright's sync API keeps its event loop running in the main thread from
    the first browser test to the end of the session; an async test scheduled
    after that could not start its own loop.
    """
    here = Path(__file__).parent
    items.sort(key=lambda item: here in item.path.parents)  # stable: order kept otherwise


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """On a failure, show what the sandbox processes logged, and keep their logs.

    The full logs are copied next to the screenshot and the trace.
    """
    report = yield
    if report.failed:
        output = getattr(item, "funcargs", {}).get("output_path")
        for service in item.config.stash.get(_SERVICES, []):
            report.sections.append((f"{service.name} log (tail)", service.log_tail()))
            if output and service.log_path.exists():
                Path(output).mkdir(parents=True, exist_ok=True)
                shutil.copy(service.log_path, Path(output) / service.log_path.name)
    return report


# Browser ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Debian's Chromium when there is one (CHROMIUM_PATH or PATH), else Playwright's."""
    if not CHROMIUM:
        return browser_type_launch_args
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    """A desktop viewport, so the documentation screenshots look alike."""
    return {**browser_context_args, "viewport": {"width": 1200, "height": 680}}


# Sandbox processes ------------------------------------------------------------------


@dataclass
class Sandbox:
    """What a test needs to talk to the running sandbox."""

    base_url: str
    env: dict[str, str]
    web: Service


@pytest.fixture(scope="session")
def e2e_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e-logs")


@pytest.fixture(scope="session")
def sentinel_address(redis_url: str) -> Iterator[str]:
    """One Redis Sentinel watching the test Redis, so the showcase has a Sentinel layer."""
    master = urlsplit(redis_url)
    lines = [
        "sentinel resolve-hostnames yes",
        f"sentinel monitor mymaster {master.hostname} {master.port or 6379} 1",
        "sentinel down-after-milliseconds mymaster 5000",
    ]
    if master.password:  # a REDIS_URL with a password: the sentinel must log in too
        lines.append(f"sentinel auth-pass mymaster {master.password}")
    conf = "\n".join([*lines, ""])
    with RedisProcess(free_port(), sentinel_conf=conf) as sentinel:
        yield f"127.0.0.1:{sentinel.port}"


@pytest.fixture(scope="session")
def base_env(redis_url: str, sentinel_address: str) -> dict[str, str]:
    """Environment shared by the web apps, the worker and the external senders."""
    password = urlsplit(redis_url).password
    return sandbox_env(
        redis_url,
        **({"REDIS_PASSWORD": password} if password else {}),
        job_queue=f"sandbox-e2e:{uuid.uuid4().hex[:8]}",  # no stray worker takes our jobs
        REDIS_SENTINELS=sentinel_address,
        SANDBOX_JOB_STEP_SECONDS=JOB_STEP_SECONDS,
        SANDBOX_MAX_MESSAGE_BYTES=str(MAX_MESSAGE_BYTES),
    )


def start_logged(config: pytest.Config, service: Service) -> Service:
    """Start ``service``; a failing test then shows the tail of its log."""
    config.stash[_SERVICES].append(service)
    return service.start()


def stop_logged(config: pytest.Config, service: Service) -> None:
    """Stop ``service``; later failures no longer show its log."""
    service.stop()
    config.stash[_SERVICES].remove(service)


@pytest.fixture(scope="session")
def worker(
    pytestconfig: pytest.Config, base_env: dict[str, str], e2e_logs: Path
) -> Iterator[Service]:
    """The arq worker, as its own process."""
    service = start_logged(pytestconfig, worker_service(base_env, e2e_logs / "worker.log"))
    yield service
    service.stop()


@pytest.fixture(scope="session")
def sandbox(
    pytestconfig: pytest.Config, base_env: dict[str, str], worker: Service, e2e_logs: Path
) -> Iterator[Sandbox]:
    """The web app on a free port, shared by the tests that do not restart it."""
    port = free_port()
    web = start_logged(pytestconfig, web_service(base_env, port, e2e_logs / "web.log"))
    yield Sandbox(f"http://127.0.0.1:{port}", base_env, web)
    web.stop()


@pytest.fixture(scope="session")
def base_url(sandbox: Sandbox) -> str:
    """Pages resolve relative URLs against the shared web app: ``page.goto("/echo")``.

    (This also replaces pytest-playwright's fallback fixture, which pytest 9 warns about.)
    """
    return sandbox.base_url


@pytest.fixture
def restartable_web(
    pytestconfig: pytest.Config, base_env: dict[str, str], worker: Service, e2e_logs: Path
) -> Iterator[Sandbox]:
    """A web app of this test's own, which it may stop and start on the same port."""
    port = free_port()
    web = start_logged(pytestconfig, web_service(base_env, port, e2e_logs / f"web-{port}.log"))
    yield Sandbox(f"http://127.0.0.1:{port}", base_env, web)
    stop_logged(pytestconfig, web)


# Pages ------------------------------------------------------------------------------

OpenPage = Callable[..., Page]


@pytest.fixture
def open_page(new_context: Callable[..., BrowserContext]) -> Iterator[OpenPage]:
    """``open_page("/chat")``: a page in a fresh browser context (a separate user).

    Pass ``context=`` to open another tab for the same user, ``base_url=`` for
    another web app. Uncaught JavaScript errors in any page fail the test.
    """
    errors: list[str] = []

    def _open(
        path: str, *, context: BrowserContext | None = None, base_url: str | None = None
    ) -> Page:
        page = (context or new_context()).new_page()
        page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
        page.goto((base_url or "") + path)
        return page

    yield _open
    assert not errors, f"JavaScript errors in the page: {errors}"


@pytest.fixture
def docs_screenshot() -> Callable[[Page, str], None]:
    """Save ``page`` as ``docs/_static/screenshots/<name>.png`` for the tutorial."""

    def _save(page: Page, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True, animations="disabled")

    return _save


@pytest.fixture
def room() -> str:
    """A chat room name no other test uses."""
    return f"room-{uuid.uuid4().hex[:8]}"
