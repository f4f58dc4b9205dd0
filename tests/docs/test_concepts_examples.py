"""The samples of the concepts page and the testing guide."""

from __future__ import annotations

import pytest
from fast_channels.layers import InMemoryChannelLayer, register_channel_layer
from fast_channels.testing import WebsocketCommunicator

from .conftest import EXAMPLES, example, run_script


def test_channels_and_groups_prints_what_the_page_shows() -> None:
    expected = (EXAMPLES / "channels_and_groups.out").read_text()
    assert run_script("docs/examples/channels_and_groups.py") == expected


def test_scoreboard_testing_guide_sample_passes_under_pytest() -> None:
    # The testing guide shows a pytest file: run it the way a reader would.
    out = run_script(
        "-m", "pytest", "docs/examples/test_scoreboard.py", "-q", "-p", "no:cacheprovider"
    )
    assert "1 passed" in out, out


async def test_scoreboard_handlers_are_chosen_by_message_type() -> None:
    scoreboard = example("scoreboard")
    register_channel_layer("default", InMemoryChannelLayer())
    app = scoreboard.ScoreboardConsumer.as_asgi()
    async with WebsocketCommunicator(app, "/ws/match/m1", path_params={"match_id": "m1"}) as ws:
        assert (await ws.connect())[0]
        await scoreboard.publish_score("m1", "0-0")
        assert await ws.receive_json_from() == {"score": "0-0"}
        await ws.disconnect()


@pytest.mark.parametrize(
    ("origin", "accepted"),
    [
        ("https://shop.example.com", True),
        ("http://localhost:8000", True),
        ("https://evil.example.net", False),
        (None, False),
    ],
)
async def test_origin_check_lets_only_allowed_pages_in(origin: str | None, accepted: bool) -> None:
    app = example("origin_check").app
    headers = [("origin", origin)] if origin else []
    async with WebsocketCommunicator(app, "/ws/clock", headers=headers) as ws:
        connected, _ = await ws.connect()
        assert connected is accepted
        if accepted:
            assert await ws.receive_from() == "tick"
            await ws.disconnect()
