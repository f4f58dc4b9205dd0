"""Chat sign-in: the name on a signed-in user's messages comes from the signed cookie."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fast_channels.testing import WebsocketCommunicator

from sandbox.features.chat.signin import COOKIE, signed_cookie

from .conftest import ORIGIN


async def sign_in(app: Any, name: str) -> str:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
        assert (await http.get("/api/me")).json() == {"name": "", "signed_in": False}
        response = await http.post("/api/signin", json={"name": name})
        assert response.status_code == 200, response.text
        cookie = http.cookies[COOKIE]
        assert (await http.get("/api/me")).json() == {"name": name, "signed_in": True}
        assert (await http.post("/api/signin", json={"name": "x" * 33})).status_code == 422
    return cookie


def chat(app: Any, path: str, cookie: str | None) -> WebsocketCommunicator:
    headers = [ORIGIN] + ([("cookie", f"{COOKIE}={cookie}")] if cookie else [])
    return WebsocketCommunicator(app, path, headers=headers)


async def test_a_signed_in_name_cannot_be_replaced_by_the_query_field(app: Any) -> None:
    room = f"room-{uuid.uuid4().hex[:8]}"
    cookie = await sign_in(app, "ada")
    ada = chat(app, f"/ws/room/{room}?name=mallory", cookie)
    guest = chat(app, f"/ws/room/{room}?name=ada", None)
    assert (await ada.connect())[0] and (await guest.connect())[0]
    assert (await ada.receive_json_from())["name"] == "ada"  # joined: the field was ignored
    assert (await guest.receive_json_from())["verified"] is False
    await ada.send_json_to({"type": "message", "text": "hi", "name": "mallory"})
    for ws in (ada, guest):
        event = await ws.receive_json_from(timeout=5)
        while event["type"] != "message":
            event = await ws.receive_json_from(timeout=5)
        assert (event["name"], event["verified"], event["text"]) == ("ada", True, "hi")
    await ada.disconnect()
    await guest.disconnect()


async def test_a_forged_cookie_is_refused_on_the_handshake(app: Any, settings: Any) -> None:
    forged = signed_cookie("ada", "not-the-server-secret-0123456789")
    assert forged != signed_cookie("ada", settings.session_secret)
    ws = chat(app, "/ws/room/lobby", forged)
    assert await ws.connect() == (False, 1008)  # a real server answers HTTP 403
