"""The autouse fixture of tests/conftest.py really fails a test whose task died unseen.

Each case runs a tiny test file in a child pytest (its own process, so the
deliberate failures stay out of this run) with the fixture imported into the
child's conftest, and reads the child's outcome.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

CHILD_TESTS = """
import asyncio
import gc


def test_a_task_that_died_unretrieved():
    async def boom():
        raise RuntimeError("boom in a background task")

    async def main():
        asyncio.get_running_loop().create_task(boom())
        await asyncio.sleep(0.01)  # the task fails; nobody awaits it

    asyncio.run(main())
    gc.collect()  # "Task exception was never retrieved" is reported when it is freed


async def test_a_task_that_died_under_pytest_asyncio():
    async def boom():
        raise ValueError("boom under pytest-asyncio")

    asyncio.get_running_loop().create_task(boom())
    await asyncio.sleep(0.01)


def test_a_failing_callback():
    def callback():
        raise KeyError("boom in a loop callback")

    async def main():
        asyncio.get_running_loop().call_soon(callback)
        await asyncio.sleep(0.01)

    asyncio.run(main())


async def test_a_retrieved_failure_passes():
    async def boom():
        raise RuntimeError("seen")

    task = asyncio.get_running_loop().create_task(boom())
    await asyncio.sleep(0.01)
    assert isinstance(task.exception(), RuntimeError)
"""


@pytest.fixture(scope="module")
def child_run(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    folder = tmp_path_factory.mktemp("fixture_selftest")
    (folder / "conftest.py").write_text(
        "from tests.conftest import _fail_on_unhandled_task_errors  # noqa: F401\n"
    )
    (folder / "test_child.py").write_text(textwrap.dedent(CHILD_TESTS))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:randomly", "-p", "no:cacheprovider",
         "-o", "asyncio_mode=auto", "-o", "asyncio_default_fixture_loop_scope=function",
         "--rootdir", str(folder), "-rA", "-q", str(folder)],
        cwd=folder,
        env={**_env(), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip


def _env() -> dict[str, str]:
    """This run's environment without pytest's own variables (the child is a fresh run)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}


@pytest.mark.parametrize(
    ("test", "reported"),
    [
        ("test_a_task_that_died_unretrieved", "boom in a background task"),
        ("test_a_task_that_died_under_pytest_asyncio", "boom under pytest-asyncio"),
        ("test_a_failing_callback", "boom in a loop callback"),
    ],
)
def test_an_unhandled_task_error_fails_its_test(
    child_run: subprocess.CompletedProcess[str], test: str, reported: str
) -> None:
    out = child_run.stdout
    assert f"ERROR test_child.py::{test}" in out, out
    assert reported in out, out
    assert "an event loop reported unhandled exceptions during this test" in out, out


def test_a_retrieved_failure_does_not(child_run: subprocess.CompletedProcess[str]) -> None:
    out = child_run.stdout
    assert "PASSED test_child.py::test_a_retrieved_failure_passes" in out, out
    assert "ERROR test_child.py::test_a_retrieved_failure_passes" not in out, out
