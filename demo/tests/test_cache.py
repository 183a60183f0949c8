"""The cache decorator on its own, and the cached profile behind the API."""

import sqlite3

import pytest
import valkey
from fastapi.testclient import TestClient

from app import cache
from app.config import get_settings

from .helpers import wait_for


@pytest.fixture
def counted():
    """A cached function that records every real call."""
    calls: list[tuple] = []

    @cache.cached("square", ttl=120)
    def square(n: int, *, label: str = "") -> dict:
        calls.append((n, label))
        return {"n": n, "square": n * n, "label": label}

    return square, calls


def test_miss_then_hit(counted, db: valkey.Valkey) -> None:
    square, calls = counted
    assert square(4) == {"n": 4, "square": 16, "label": ""}
    assert square(4) == {"n": 4, "square": 16, "label": ""}
    assert calls == [(4, "")]
    assert 110 < db.ttl("cache:square:4") <= 120


def test_arguments_make_distinct_entries(counted, db: valkey.Valkey) -> None:
    square, calls = counted
    square(2)
    square(3)
    square(3, label="x")
    square(3, label="x")
    assert calls == [(2, ""), (3, ""), (3, "x")]
    assert db.exists("cache:square:2", "cache:square:3", "cache:square:3:label=x") == 3


def test_default_ttl_is_cache_ttl(configure, db: valkey.Valkey) -> None:
    configure(CACHE_TTL=77)

    @cache.cached("plain")
    def plain(key: str) -> str:
        return key.upper()

    assert plain("a") == "A"
    assert 70 < db.ttl("cache:plain:a") <= 77


def test_none_is_not_cached(db: valkey.Valkey) -> None:
    calls = []

    @cache.cached("missing")
    def missing(key: str) -> None:
        calls.append(key)

    missing("k")
    missing("k")
    assert calls == ["k", "k"]
    assert not db.exists("cache:missing:k")


def test_entries_expire() -> None:
    calls = []

    @cache.cached("short", ttl=1)
    def short(key: str) -> str:
        calls.append(key)
        return key

    short("k")
    short("k")
    assert len(calls) == 1

    def recomputed() -> bool:
        short("k")
        return len(calls) == 2

    wait_for(recomputed, timeout=5, interval=0.1)


def test_invalidate_one_entry(counted, db: valkey.Valkey) -> None:
    square, calls = counted
    square(5)
    square(6)
    assert cache.invalidate("square", 5) is True
    assert cache.invalidate("square", 5) is False
    square(5)
    square(6)
    assert calls == [(5, ""), (6, ""), (5, "")]


def test_invalidate_pattern_scans_the_whole_keyspace(db: valkey.Valkey) -> None:
    # more keys than one SCAN batch, among keys the pattern must not touch
    pipe = db.pipeline(transaction=False)
    for i in range(1200):
        pipe.set(f"cache:report:{i}", i)
    for i in range(50):
        pipe.set(f"cache:profile:{i}", i)
        pipe.set(f"report:{i}", i)
    pipe.execute()
    assert cache.invalidate_pattern("report:*") == 1200
    assert db.dbsize() == 100
    assert cache.invalidate_pattern("report:*") == 0


def test_profile_is_cached_and_invalidated_on_update(
    client: TestClient, users, db: valkey.Valkey
) -> None:
    auth = users.signup("alice")
    assert not db.exists("cache:profile:alice")

    first = client.get("/profile", headers=auth)
    assert first.status_code == 200
    assert first.json()["name"] == "Alice"
    ttl = db.ttl("cache:profile:alice")
    assert get_settings().cache_ttl - 5 < ttl <= get_settings().cache_ttl

    # change the database behind the cache's back: a hit still shows the old name
    with sqlite3.connect(get_settings().database_path) as conn:
        conn.execute("UPDATE users SET name = 'Changed' WHERE username = 'alice'")
    assert client.get("/profile", headers=auth).json()["name"] == "Alice"

    # a write through the API drops the entry, so the next read is fresh
    updated = client.put("/profile", headers=auth, json={"email": "alice@example.org"})
    assert updated.status_code == 200
    assert updated.json() == {**first.json(), "name": "Changed", "email": "alice@example.org"}
    assert client.get("/profile", headers=auth).json()["email"] == "alice@example.org"
    assert db.exists("cache:profile:alice")


def test_profile_update_is_validated(client: TestClient, users) -> None:
    auth = users.signup("bob")
    assert client.put("/profile", headers=auth, json={"email": "not an email"}).status_code == 422
    assert client.put("/profile", json={"name": "x"}).status_code == 401
