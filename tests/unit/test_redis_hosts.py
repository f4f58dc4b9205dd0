"""parse_hosts: every way users describe Redis servers becomes one HostConfig per shard."""

from __future__ import annotations

import pytest
from fast_channels.layers.redis._transport.hosts import DEFAULT_HOST, HostConfig, parse_hosts


def test_default_is_localhost() -> None:
    assert parse_hosts() == [HostConfig(url=DEFAULT_HOST)]


@pytest.mark.parametrize(
    "url",
    [
        "redis://localhost:6379/2",
        "rediss://:pw@cache.example.com:6380/0",
        "unix:///tmp/r.sock?db=1",
    ],
)
def test_urls_are_kept_verbatim(url: str) -> None:
    (config,) = parse_hosts([url])
    assert config.url == url
    assert not config.is_sentinel


def test_a_lone_url_string_is_accepted() -> None:
    assert parse_hosts("redis://h:1") == [HostConfig(url="redis://h:1")]


def test_unsupported_scheme_names_the_accepted_ones() -> None:
    with pytest.raises(ValueError, match=r"redis://, rediss:// or unix://"):
        parse_hosts(["http://localhost:6379"])


def test_tuples_and_lists() -> None:
    configs = parse_hosts([("a", 1), ["b", "2"]])
    assert [c.options for c in configs] == [{"host": "a", "port": 1}, {"host": "b", "port": 2}]


def test_bad_tuple() -> None:
    with pytest.raises(TypeError, match=r"\(host, port\)"):
        parse_hosts([("a", 1, 2)])


def test_dict_with_address_url_or_tuple() -> None:
    url_cfg, tuple_cfg, plain = parse_hosts(
        [
            {"address": "redis://x:1/3", "password": "p"},
            {"address": ("y", 2), "db": 4},
            {"host": "z", "port": 5},
        ]
    )
    assert url_cfg.url == "redis://x:1/3"
    assert url_cfg.options == {"password": "p"}
    assert tuple_cfg.options == {"host": "y", "port": 2, "db": 4}
    assert plain.options == {"host": "z", "port": 5}


def test_connection_kwargs_apply_to_every_host_and_entries_win() -> None:
    a, b = parse_hosts(
        ["redis://a", {"host": "b", "password": "own"}], connection_kwargs={"password": "shared"}
    )
    assert a.options == {"password": "shared"}
    assert b.options == {"host": "b", "password": "own"}


def test_unknown_entry_type() -> None:
    with pytest.raises(TypeError, match=r"URL string, a \(host, port\) tuple or a dict"):
        parse_hosts([6379])


def test_empty_hosts() -> None:
    with pytest.raises(TypeError, match="non-empty list"):
        parse_hosts([])


def test_layer_level_sentinels_like_the_guide() -> None:
    (config,) = parse_hosts(
        sentinels=[("sentinel-1.example.com", 26379), ("sentinel-2.example.com", 26379)],
        service_name="mymaster",
        sentinel_kwargs={"password": "sentinel_password"},
        connection_kwargs={"password": "redis_password"},
    )
    assert config.is_sentinel
    assert config.sentinels == (
        ("sentinel-1.example.com", 26379),
        ("sentinel-2.example.com", 26379),
    )
    assert config.service_name == "mymaster"
    assert config.sentinel_kwargs == {"password": "sentinel_password"}
    assert config.options == {"password": "redis_password"}
    assert "sentinel_password" not in config.describe()
    assert "mymaster" in config.describe()


def test_sentinel_dict_per_host_accepts_master_name() -> None:
    (config,) = parse_hosts([{"sentinels": [("s", 26379)], "master_name": "m", "db": 1}])
    assert config.service_name == "m"
    assert config.options == {"db": 1}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sentinels": [("s", 1)]}, "service_name"),
        ({"sentinels": [("s", 1)], "service_name": "m", "hosts": ["redis://x"]}, "not both"),
        ({"sentinels": "s:1", "service_name": "m"}, "list of"),
        ({"sentinels": [("s",)], "service_name": "m"}, r"\(host, port\)"),
        ({"sentinel_kwargs": {"password": "x"}}, "together with sentinels"),
    ],
)
def test_sentinel_mistakes(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        parse_hosts(**kwargs)  # type: ignore[arg-type]


def test_describe_hides_passwords() -> None:
    (config,) = parse_hosts(["redis://:secret@host:6380/1"])
    assert config.describe() == "redis://host:6380/1"
    (plain,) = parse_hosts([("h", 7)])
    assert plain.describe() == "h:7"
