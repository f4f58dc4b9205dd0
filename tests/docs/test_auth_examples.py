"""The guide's authentication samples (JWT and session cookie), through a real uvicorn."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from types import ModuleType
from typing import Any

import httpx
import jwt
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.uvicorn_server import serve

from .conftest import example


@pytest.fixture
async def jwt_app() -> AsyncIterator[tuple[ModuleType, str]]:
    module = example("auth_jwt")
    async with serve(module.app) as url:
        yield module, url


@pytest.fixture
async def session_app() -> AsyncIterator[tuple[ModuleType, str]]:
    module = example("auth_session")
    module.SESSIONS.clear()
    async with serve(module.app) as url:
        yield module, url


async def whoami(url: str, **kwargs: Any) -> tuple[Any, str | None]:
    async with connect(f"{url}/ws/whoami", **kwargs) as ws:
        return json.loads(await asyncio.wait_for(ws.recv(), 5)), ws.subprotocol


async def refused(url: str, **kwargs: Any) -> int:
    with pytest.raises(InvalidStatus) as exc:
        async with connect(url, **kwargs):
            pass
    status: int = exc.value.response.status_code
    return status


async def test_jwt_from_each_source_identifies_the_user(jwt_app: tuple[ModuleType, str]) -> None:
    module, url = jwt_app
    token = module.issue_token("ada")
    # A browser: the token rides in Sec-WebSocket-Protocol, and is never echoed back.
    assert await whoami(url, subprotocols=["json", f"bearer.{token}"]) == ({"user": "ada"}, "json")
    assert await whoami(url, additional_headers={"Authorization": f"Bearer {token}"}) == (
        {"user": "ada"},
        None,
    )
    async with connect(f"{url}/ws/whoami?token={token}") as ws:
        assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == {"user": "ada"}


async def test_jwt_refuses_missing_expired_and_forged_tokens_before_accept(
    jwt_app: tuple[ModuleType, str],
) -> None:
    module, url = jwt_app
    expired = module.issue_token("ada", lifetime=timedelta(seconds=-1))
    forged = jwt.encode({"sub": "root", "exp": 2**32}, "someone-elses-secret-0123456789abcdef")
    ws_url = f"{url}/ws/whoami"
    assert await refused(ws_url) == 403  # anonymous, but the consumer requires a user
    assert await refused(ws_url, subprotocols=["json", f"bearer.{expired}"]) == 403
    assert await refused(f"{ws_url}?token={forged}") == 403
    assert await refused(ws_url, additional_headers={"Authorization": "Basic abc"}) == 403


async def test_jwt_backend_serves_http_routes_too(jwt_app: tuple[ModuleType, str]) -> None:
    module, url = jwt_app
    base = url.replace("ws://", "http://")
    async with httpx.AsyncClient(base_url=base) as client:
        headers = {"Authorization": f"Bearer {module.issue_token('ada')}"}
        assert (await client.get("/api/me", headers=headers)).json() == {
            "user": "ada",
            "signed_in": True,
        }
        assert (await client.get("/api/me")).json() == {"user": "", "signed_in": False}
        bad = await client.get("/api/me", headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 403 and "Invalid token" in bad.text


async def test_session_cookie_login_then_websocket(session_app: tuple[ModuleType, str]) -> None:
    module, url = session_app
    base = url.replace("ws://", "http://")
    async with httpx.AsyncClient(base_url=base) as client:
        wrong = await client.post("/login", json={"username": "ada", "password": "guess"})
        assert wrong.status_code == 401
        ok = await client.post("/login", json={"username": "ada", "password": "correct horse"})
        assert ok.status_code == 200
        assert list(module.SESSIONS.values()) == ["ada"]
        cookie = f"session={client.cookies['session']}"
    origin = base.replace("127.0.0.1", "localhost")
    async with connect(
        f"{url}/ws/inbox", additional_headers={"Cookie": cookie}, origin=origin
    ) as ws:
        assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == {"inbox_of": "ada"}
    inbox = f"{url}/ws/inbox"
    assert await refused(inbox, origin=origin) == 403  # no cookie
    assert (
        await refused(inbox, additional_headers={"Cookie": "session=forged"}, origin=origin) == 403
    )
    # A page on another site cannot ride the visitor's cookie.
    assert (
        await refused(inbox, additional_headers={"Cookie": cookie}, origin="https://evil.example")
        == 403
    )
