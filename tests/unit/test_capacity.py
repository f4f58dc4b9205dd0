"""CapacityMatcher: default capacity, glob and regex patterns."""

from __future__ import annotations

import re

import pytest
from fast_channels.layers.capacity import CapacityMatcher


def test_default_applies_without_patterns() -> None:
    matcher = CapacityMatcher(7)
    assert matcher("anything") == 7
    assert matcher.default == 7


def test_glob_patterns() -> None:
    matcher = CapacityMatcher(100, {"http.request*": 5, "*.inmemory!*": 2})
    assert matcher("http.request") == 5
    assert matcher("http.request.body") == 5
    assert matcher("specific.inmemory!abc") == 2
    assert matcher("http.response") == 100


def test_compiled_regex_patterns() -> None:
    matcher = CapacityMatcher(100, {re.compile(r"^websocket\.send!"): 20})
    assert matcher("websocket.send!abc") == 20
    assert matcher("xwebsocket.send!abc") == 100


def test_first_matching_pattern_wins() -> None:
    matcher = CapacityMatcher(100, {"chat.*": 3, "chat.room*": 9, re.compile("chat"): 11})
    assert matcher("chat.room1") == 3
    reversed_order = CapacityMatcher(100, {"chat.room*": 9, "chat.*": 3})
    assert reversed_order("chat.room1") == 9
    assert reversed_order("chat.lobby") == 3


def test_glob_must_match_the_whole_name() -> None:
    matcher = CapacityMatcher(100, {"chat": 1})
    assert matcher("chat") == 1
    assert matcher("chat.room") == 100


def test_repeated_lookups_are_stable() -> None:
    matcher = CapacityMatcher(100, {"a*": 1})
    assert [matcher("abc") for _ in range(3)] == [1, 1, 1]
    assert matcher("b") == 100


@pytest.mark.parametrize("bad", [0, -1, 1.5, "10", True, None])
def test_bad_default_capacity(bad: object) -> None:
    with pytest.raises(ValueError, match="capacity must be a positive int"):
        CapacityMatcher(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [0, -3, 2.0, "5", False])
def test_bad_pattern_capacity(bad: object) -> None:
    with pytest.raises(ValueError, match=r"channel_capacity\['x\*'\] must be a positive int"):
        CapacityMatcher(10, {"x*": bad})  # type: ignore[dict-item]


def test_bad_pattern_key() -> None:
    with pytest.raises(TypeError, match="glob strings or compiled regexes"):
        CapacityMatcher(10, {42: 1})  # type: ignore[dict-item]
