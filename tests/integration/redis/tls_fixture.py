"""Throwaway TLS material and a TLS-only redis-server, for the ``rediss://`` tests.

:func:`make_tls` writes a CA, a server certificate valid for ``127.0.0.1``
(an IP SAN, so hostname checking passes without turning it off) and a client
certificate for mutual TLS, all signed by that CA, plus a second, unrelated CA
(the "wrong CA" a misconfigured client trusts). Keys are EC P-256: quick to
make, and every OpenSSL that redis-server and Python link accepts them.

:func:`start_tls_server` runs the Redis >= 7 binary that the cluster fixture
picks (Debian's is built with TLS) with ``--port 0``: nothing listens in
plain text, so a test that passes spoke TLS.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from sandbox.redis_process import free_port

from .cluster_fixture import find_binaries

LOOPBACK = ipaddress.IPv4Address("127.0.0.1")


@dataclass(frozen=True)
class TlsFiles:
    """Paths of the PEM files :func:`make_tls` wrote."""

    directory: Path
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path

    def server_args(self, auth_clients: str = "yes") -> list[str]:
        """``redis-server`` options for TLS with these files (client certs required by default)."""
        return [
            "--tls-cert-file", str(self.server_cert),
            "--tls-key-file", str(self.server_key),
            "--tls-ca-cert-file", str(self.ca),
            "--tls-auth-clients", auth_clients,
        ]  # fmt: skip

    def client_kwargs(self) -> dict[str, Any]:
        """``connection_kwargs`` for a client that trusts the CA and shows its own cert."""
        return {
            "ssl_ca_certs": str(self.ca),
            "ssl_certfile": str(self.client_cert),
            "ssl_keyfile": str(self.client_key),
            "ssl_cert_reqs": "required",
        }

    def cli_args(self) -> list[str]:
        """``redis-cli`` options to reach a node that requires client certificates."""
        return [
            "--tls", "--cacert", str(self.ca),
            "--cert", str(self.client_cert), "--key", str(self.client_key),
        ]  # fmt: skip


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _builder(subject: str, issuer: x509.Name, key: ec.EllipticCurvePrivateKey) -> Any:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
    )


#: What a CA certificate may do: sign certificates (and their revocation lists).
_CA_USAGE = x509.KeyUsage(
    digital_signature=True,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=True,
    crl_sign=True,
    encipher_only=False,
    decipher_only=False,
)


def _make_ca(path: Path, common_name: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _key()
    cert = (
        _builder(common_name, _name(common_name), key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_CA_USAGE, critical=True)
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def _make_leaf(
    cert_path: Path,
    key_path: Path,
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
    common_name: str,
    usage: x509.ObjectIdentifier,
) -> None:
    key = _key()
    builder = _builder(common_name, ca[0].subject, key).add_extension(
        x509.BasicConstraints(ca=False, path_length=None), critical=True
    )
    # Redis uses one certificate for both ends of cluster-bus and replication links.
    usages = [usage, ExtendedKeyUsageOID.CLIENT_AUTH]
    builder = builder.add_extension(x509.ExtendedKeyUsage(list(dict.fromkeys(usages))), False)
    if usage == ExtendedKeyUsageOID.SERVER_AUTH:
        san = x509.SubjectAlternativeName([x509.IPAddress(LOOPBACK), x509.DNSName("localhost")])
        builder = builder.add_extension(san, critical=False)
    cert_path.write_bytes(
        builder.sign(ca[1], hashes.SHA256()).public_bytes(serialization.Encoding.PEM)
    )
    _write_key(key_path, key)


def make_tls(directory: Path | None = None) -> TlsFiles:
    """Write a CA, a server and a client certificate (and an unrelated CA) to ``directory``."""
    root = directory or Path(tempfile.mkdtemp(prefix="fc-tls-"))
    files = TlsFiles(
        directory=root,
        ca=root / "ca.pem",
        server_cert=root / "server.pem",
        server_key=root / "server-key.pem",
        client_cert=root / "client.pem",
        client_key=root / "client-key.pem",
        other_ca=root / "other-ca.pem",
    )
    ca = _make_ca(files.ca, "fast-channels test CA")
    _make_leaf(
        files.server_cert, files.server_key, ca, "127.0.0.1", ExtendedKeyUsageOID.SERVER_AUTH
    )
    _make_leaf(files.client_cert, files.client_key, ca, "client", ExtendedKeyUsageOID.CLIENT_AUTH)
    _make_ca(files.other_ca, "some other CA")
    return files


def tls_client(port: int, tls: TlsFiles) -> redis.Redis:
    """A synchronous redis-py client for checking a TLS node from the test."""
    return redis.Redis(
        port=port,
        ssl=True,
        ssl_ca_certs=str(tls.ca),
        ssl_certfile=str(tls.client_cert),
        ssl_keyfile=str(tls.client_key),
        ssl_cert_reqs=ssl.CERT_REQUIRED,
        socket_timeout=2,
        decode_responses=True,
    )


def wait_tls_ping(port: int, tls: TlsFiles, process: subprocess.Popen[bytes], log: Path) -> None:
    """Block until the TLS server on ``port`` answers PING (or raise with its log)."""
    deadline = time.monotonic() + 10
    while True:
        try:
            with tls_client(port, tls) as client:
                client.ping()
            return
        except redis.RedisError:
            if time.monotonic() > deadline or process.poll() is not None:
                tail = log.read_text(errors="replace")[-600:] if log.exists() else ""
                raise TimeoutError(f"TLS redis-server on {port} did not start: {tail}") from None
            time.sleep(0.05)


@dataclass
class TlsServer:
    """A running TLS-only redis-server."""

    port: int
    process: subprocess.Popen[bytes]
    tls: TlsFiles

    @property
    def url(self) -> str:
        return f"rediss://127.0.0.1:{self.port}"

    def client(self) -> redis.Redis:
        return tls_client(self.port, self.tls)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start_tls_server(tls: TlsFiles, auth_clients: str = "optional") -> TlsServer:
    """A redis-server that listens only on a TLS port (``--port 0``)."""
    server, _cli = find_binaries()
    directory = Path(tempfile.mkdtemp(prefix="fc-tls-redis-", dir=tls.directory))
    log = directory / "server.log"
    port = free_port()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [server, "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(directory),
             *tls.server_args(auth_clients)],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_tls_ping(port, tls, process, log)
    except BaseException:
        process.kill()
        process.wait(5)
        raise
    return TlsServer(port, process, tls)
