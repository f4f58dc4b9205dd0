"""Parse the ways users describe Redis servers into one shape.

Accepted ``hosts`` entries (several entries shard channels and groups):

- URL strings: ``redis://[:password@]host[:port][/db]``, ``rediss://...``,
  ``unix:///path/to/socket?db=0``;
- ``(host, port)`` tuples or lists;
- dicts of ``redis.asyncio.Redis`` options, with the server given as
  ``"address"`` (URL or tuple) or ``"host"``/``"port"``, or a Sentinel-managed
  master given as ``"sentinels"`` plus ``"service_name"`` (``"master_name"``
  is accepted too) and optional ``"sentinel_kwargs"``.

Layer-level ``sentinels=..., service_name=...`` is shorthand for one
Sentinel-managed shard. ``connection_kwargs`` apply to every host.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

DEFAULT_HOST = "redis://localhost:6379"
_URL_SCHEMES = ("redis", "rediss", "unix")


@dataclass(frozen=True)
class HostConfig:
    """How to reach one shard: a URL, plain client options, or a Sentinel service."""

    url: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    sentinels: tuple[tuple[str, int], ...] = ()
    service_name: str | None = None
    sentinel_kwargs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_sentinel(self) -> bool:
        return bool(self.sentinels)

    def describe(self) -> str:
        """A human-readable address for error messages, without passwords."""
        if self.is_sentinel:
            where = ", ".join(f"{h}:{p}" for h, p in self.sentinels)
            return f"sentinel service {self.service_name!r} via {where}"
        if self.url is not None:
            parts = urlsplit(self.url)
            netloc = parts.hostname or ""
            if parts.port:
                netloc += f":{parts.port}"
            return f"{parts.scheme}://{netloc}{parts.path}"
        return f"{self.options.get('host', 'localhost')}:{self.options.get('port', 6379)}"


def _sentinel_list(value: object) -> tuple[tuple[str, int], ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence) or not value:
        raise TypeError(
            "sentinels must be a non-empty list of (host, port) tuples, "
            f"e.g. [('sentinel-1', 26379)]; got {value!r}"
        )
    result = []
    for item in value:
        if (
            not isinstance(item, Sequence)
            or isinstance(item, str)
            or len(item) != 2
            or not isinstance(item[0], str)
        ):
            raise TypeError(f"each sentinel must be a (host, port) tuple, got {item!r}")
        result.append((item[0], int(item[1])))
    return tuple(result)


def _from_url(url: str, base: Mapping[str, Any]) -> HostConfig:
    scheme = urlsplit(url).scheme
    if scheme not in _URL_SCHEMES:
        raise ValueError(
            f"Unsupported Redis URL {url!r}: use redis://, rediss:// or unix:// "
            "(e.g. 'redis://localhost:6379/0')"
        )
    return HostConfig(url=url, options=dict(base))


def _from_dict(entry: Mapping[str, Any], base: Mapping[str, Any]) -> HostConfig:
    options = {**base, **entry}
    if "sentinels" in options:
        sentinels = _sentinel_list(options.pop("sentinels"))
        service = options.pop("service_name", None) or options.pop("master_name", None)
        if not isinstance(service, str) or not service:
            raise TypeError("a Sentinel host needs 'service_name' (the monitored master's name)")
        return HostConfig(
            sentinels=sentinels,
            service_name=service,
            sentinel_kwargs=dict(options.pop("sentinel_kwargs", None) or {}),
            options=options,
        )
    address = options.pop("address", None)
    if isinstance(address, str):
        return _from_url(address, options)
    if address is not None:
        host, port = _tuple(address)
        options.update(host=host, port=port)
    return HostConfig(options=options)


def _tuple(entry: Sequence[Any]) -> tuple[str, int]:
    if len(entry) != 2 or not isinstance(entry[0], str):
        raise TypeError(f"a Redis host tuple must be (host, port), got {entry!r}")
    return entry[0], int(entry[1])


def parse_hosts(
    hosts: Sequence[Any] | str | None = None,
    *,
    sentinels: Sequence[tuple[str, int]] | None = None,
    service_name: str | None = None,
    sentinel_kwargs: Mapping[str, Any] | None = None,
    connection_kwargs: Mapping[str, Any] | None = None,
) -> list[HostConfig]:
    """Turn the layer's host arguments into one :class:`HostConfig` per shard."""
    base = dict(connection_kwargs or {})
    if sentinels is not None or service_name is not None:
        if hosts:
            raise TypeError(
                "Pass either hosts=[...] or sentinels=[...] with service_name=..., not both "
                "(for several Sentinel-managed shards, give hosts dicts with 'sentinels')"
            )
        if not service_name:
            raise TypeError("sentinels=[...] needs service_name='<monitored master name>'")
        return [
            HostConfig(
                sentinels=_sentinel_list(sentinels),
                service_name=service_name,
                sentinel_kwargs=dict(sentinel_kwargs or {}),
                options=base,
            )
        ]
    if sentinel_kwargs is not None:
        raise TypeError("sentinel_kwargs only makes sense together with sentinels=[...]")
    if hosts is None:
        hosts = [DEFAULT_HOST]
    if isinstance(hosts, str):  # a lone URL is a common slip; accept it
        hosts = [hosts]
    if not isinstance(hosts, Sequence) or not hosts:
        raise TypeError(f"hosts must be a non-empty list, got {hosts!r}")
    configs: list[HostConfig] = []
    for entry in hosts:
        if isinstance(entry, str):
            configs.append(_from_url(entry, base))
        elif isinstance(entry, Mapping):
            configs.append(_from_dict(entry, base))
        elif isinstance(entry, Sequence):
            host, port = _tuple(entry)
            configs.append(HostConfig(options={**base, "host": host, "port": port}))
        else:
            raise TypeError(
                "each Redis host must be a URL string, a (host, port) tuple or a dict "
                f"of connection options, got {type(entry).__name__}: {entry!r}"
            )
    return configs
