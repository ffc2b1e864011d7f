"""API keys checked in memory (services/key_cache.py): a check is reused for at most a
second, re-checked in the background after half of it, and the key's last use is
written at most once a minute, never on the caller's path. No database: fakes only."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest

from creditline import ManualClock
from creditline.domain.api_keys import ApiKey, Role
from creditline.domain.errors import AuthenticationFailed
from creditline.services import key_cache
from creditline.services.key_cache import FRESH, MAX_AGE, KeyCache
from tests.conftest import T0

TEXT = "cl_live_aaaaaaaaaa_secret"


class Keys:
    """A fake key store: what ``load`` finds, what ``touch`` wrote, when."""

    def __init__(self, clock: ManualClock) -> None:
        self.key = ApiKey("key_a", "org_a", Role.ORG, "a", "aaaaaaaaaa", T0)
        self.revoked = False
        self.loads = 0
        self.touches: list[ApiKey] = []
        self.loaded = threading.Event()
        self.touched = threading.Event()
        self.clock = clock

    def load(self, text: str) -> ApiKey:
        self.loads += 1
        self.loaded.set()
        if text != TEXT:
            raise AuthenticationFailed("the API key is not valid")
        if self.revoked:
            raise AuthenticationFailed("the API key has been revoked")
        return self.key

    def touch(self, key: ApiKey) -> None:
        self.touches.append(key)
        self.key = replace(self.key, last_used_at=self.clock.now())
        self.touched.set()


class Monotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def world() -> Iterator[tuple[KeyCache, Keys, Monotonic, ManualClock]]:
    clock = ManualClock(T0)
    keys = Keys(clock)
    monotonic = Monotonic()
    cache = KeyCache(keys.load, keys.touch, clock, monotonic)
    yield cache, keys, monotonic, clock
    cache.close()


def test_a_checked_key_is_answered_from_memory_until_it_is_fresh_no_more(world) -> None:
    cache, keys, monotonic, _ = world
    assert cache.get(TEXT) is None  # never checked: the caller must wait for a check
    assert cache.authenticate(TEXT).id == "key_a"
    assert keys.loads == 1
    monotonic.now += FRESH / 2
    assert cache.get(TEXT) is not None
    assert keys.loads == 1


def test_a_check_older_than_a_second_is_never_used(world) -> None:
    cache, keys, monotonic, _ = world
    cache.authenticate(TEXT)
    keys.revoked = True  # in another process
    monotonic.now += MAX_AGE
    assert cache.get(TEXT) is None
    with pytest.raises(AuthenticationFailed, match="revoked"):
        cache.authenticate(TEXT)


def test_an_ageing_key_is_checked_again_in_the_background_and_a_revoked_one_dropped(
    world,
) -> None:
    cache, keys, monotonic, _ = world
    cache.authenticate(TEXT)
    cache.close()  # the background checks run here, on demand, from now on
    ran: list[object] = []
    cache._closed = False
    cache._in_background = ran.append  # type: ignore[method-assign]
    keys.revoked = True
    monotonic.now += (FRESH + MAX_AGE) / 2
    assert cache.get(TEXT) is not None  # still within the second: answered, and re-checked
    assert cache.get(TEXT) is not None  # one check at a time
    assert len(ran) == 1
    ran[0]()  # type: ignore[operator]
    assert cache.get(TEXT) is None


def test_a_background_check_renews_the_key_from_when_it_began(world) -> None:
    cache, _, monotonic, _ = world
    cache.authenticate(TEXT)
    cache.close()
    ran: list[object] = []
    cache._closed = False
    cache._in_background = ran.append  # type: ignore[method-assign]
    monotonic.now += (FRESH + MAX_AGE) / 2
    cache.get(TEXT)
    began = monotonic.now
    ran[0]()  # type: ignore[operator]
    monotonic.now = began + MAX_AGE - 0.01
    assert cache.get(TEXT) is not None
    monotonic.now = began + MAX_AGE
    assert cache.get(TEXT) is None


def test_a_key_revoked_here_stops_at_once(world) -> None:
    cache, keys, _, _ = world
    cache.authenticate(TEXT)
    keys.revoked = True
    cache.forget("key_a")
    assert cache.get(TEXT) is None
    with pytest.raises(AuthenticationFailed):
        cache.authenticate(TEXT)


def test_an_expired_key_is_refused_from_memory_by_the_engines_clock(world) -> None:
    cache, keys, _, clock = world
    keys.key = replace(keys.key, expires_at=T0 + timedelta(hours=1))
    cache.authenticate(TEXT)
    clock.advance(timedelta(hours=1))
    with pytest.raises(AuthenticationFailed, match="expired"):
        cache.get(TEXT)


def test_keys_that_do_not_check_out_are_not_kept(world) -> None:
    cache, keys, _, _ = world
    for _ in range(3):
        with pytest.raises(AuthenticationFailed):
            cache.authenticate("cl_live_bbbbbbbbbb_guess")
    assert keys.loads == 3


def test_the_last_use_is_written_in_the_background_at_most_once_a_minute(world) -> None:
    cache, keys, _, clock = world
    cache.authenticate(TEXT)
    assert keys.touched.wait(timeout=30)
    for _ in range(100):
        cache.get(TEXT)
    clock.advance(timedelta(seconds=59))
    cache.get(TEXT)
    cache.close()  # waits for anything queued
    assert len(keys.touches) == 1
    clock.advance(timedelta(seconds=1))
    cache._closed = False
    keys.touched.clear()
    cache.get(TEXT)
    assert keys.touched.wait(timeout=30)
    assert len(keys.touches) == 2


def test_the_revocation_bound_is_what_refuses_a_revoked_key(world, monkeypatch) -> None:
    """The deliberately broken variant: a cache that kept its checks longer than a second
    would still answer a key revoked elsewhere, so the test of the bound can fail."""
    monkeypatch.setattr(key_cache, "MAX_AGE", 3600.0)
    cache, keys, monotonic, _ = world
    cache.authenticate(TEXT)
    cache.close()  # no background check either
    keys.revoked = True
    monotonic.now += MAX_AGE
    assert cache.get(TEXT) is not None
