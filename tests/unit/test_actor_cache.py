"""The gateway's actor cache: per credential, never past the token's expiry, emptied by the
consent events that may change an actor, and never refilled by an answer older than the
last of them."""
from types import SimpleNamespace

import pytest

from gateway.actor_cache import INVALIDATING, ActorCache, credential_key
from services.consent import events as consent_events
from stafett.actor import Actor

TEACHER = Actor(kind="staff", person_id="p1", agency="974760673", agency_type="school")


class Clock:
    def __init__(self, now: float = 1_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


def cache_with(clock, **config) -> ActorCache:
    cache = ActorCache(clock=clock, wall_clock=clock)
    cache.container = SimpleNamespace(config=config)
    cache.setup()
    return cache


def test_a_credential_gets_its_actor_back_until_the_cache_lifetime_ends(clock):
    cache = cache_with(clock, ACTOR_CACHE_SECONDS=60)
    key = credential_key("token", "a.b.c")
    assert cache.get(key) is None
    cache.put(key, TEACHER, cache.generation, expires_at=clock.now + 3600)
    clock.now += 59
    assert cache.get(key) == TEACHER
    assert cache.get(credential_key("token", "a.b.d")) is None  # another token: its own
    assert cache.get(credential_key("session", "a.b.c")) is None
    clock.now += 2
    assert cache.get(key) is None
    assert (cache.hits, cache.misses) == (1, 4)


def test_never_past_the_tokens_expiry(clock):
    cache = cache_with(clock, ACTOR_CACHE_SECONDS=60)
    key = credential_key("token", "short")
    cache.put(key, TEACHER, cache.generation, expires_at=clock.now + 10)
    clock.now += 9
    assert cache.get(key) == TEACHER
    clock.now += 2
    assert cache.get(key) is None
    # a token that expires within the second is not kept at all
    cache.put(key, TEACHER, cache.generation, expires_at=clock.now + 0.5)
    assert cache.get(key) is None


@pytest.mark.parametrize("event_type", sorted(INVALIDATING))
def test_a_consent_event_that_may_change_an_actor_empties_it(clock, event_type):
    cache = cache_with(clock)
    keys = [credential_key("token", str(n)) for n in range(3)]
    for key in keys:
        cache.put(key, TEACHER, cache.generation, expires_at=None)
    assert len(cache) == 3
    assert cache.invalidate(event_type) is True
    assert len(cache) == 0 and all(cache.get(key) is None for key in keys)


@pytest.mark.parametrize("event_type", ["consent.granted", "consent.expiring", "log.closed"])
def test_other_events_leave_it(clock, event_type):
    cache = cache_with(clock)
    key = credential_key("token", "x")
    cache.put(key, TEACHER, cache.generation, expires_at=None)
    assert cache.invalidate(event_type) is False
    assert cache.get(key) == TEACHER


def test_an_answer_resolved_before_an_invalidation_is_not_stored(clock):
    cache = cache_with(clock)
    key = credential_key("token", "racing")
    generation = cache.generation          # the resolution starts
    cache.invalidate("consent.withdrawn")  # the event arrives while it is in flight
    cache.put(key, TEACHER, generation, expires_at=None)
    assert cache.get(key) is None


def test_zero_seconds_turns_it_off(clock):
    cache = cache_with(clock, ACTOR_CACHE_SECONDS=0)
    key = credential_key("token", "x")
    cache.put(key, TEACHER, cache.generation, expires_at=None)
    assert cache.get(key) is None


def test_no_token_is_kept_as_a_key():
    key = credential_key("token", "eyJhbGciOiJSUzI1NiJ9.payload.signature")
    assert "eyJ" not in key and len(key) == 64


def test_it_listens_for_event_types_the_consent_service_publishes():
    published = {value for name, value in vars(consent_events).items()
                 if name.isupper() and isinstance(value, str)}
    assert INVALIDATING <= published
    assert {consent_events.WITHDRAWN, consent_events.GUARDIANSHIP_CHANGED,
            consent_events.PROTECTION_CHANGED} <= INVALIDATING
