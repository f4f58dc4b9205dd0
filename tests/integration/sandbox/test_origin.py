"""OriginValidator on the /ws app: other sites cannot open the sandbox's sockets."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import client


@pytest.mark.parametrize("path", ["/ws/echo", "/ws/room/lobby", "/ws/notifications", "/ws/jobs"])
async def test_foreign_origin_is_rejected(app: Any, path: str) -> None:
    ws = client(app, path, origin=("origin", "https://evil.example"))
    assert await ws.connect() == (False, 1008)
    await ws.wait()


async def test_missing_origin_is_rejected(app: Any) -> None:
    ws = client(app, "/ws/echo", origin=None)
    assert await ws.connect() == (False, 1008)
    await ws.wait()


@pytest.mark.parametrize("origin", ["http://localhost:8080", "http://127.0.0.1:9999"])
async def test_local_origins_are_allowed(app: Any, origin: str) -> None:
    ws = client(app, "/ws/echo", origin=("origin", origin))
    assert (await ws.connect())[0]
    await ws.disconnect()
