"""The Lua rate limiter and the middleware that answers 429."""

import hashlib
import threading
import time

import valkey
from fastapi.testclient import TestClient

from app.rate_limiter import RATE_LIMIT_LUA, RateLimiter

from .helpers import wait_for

LIMIT = 5
WINDOW = 2


def limited_client(client: TestClient, users, configure, db: valkey.Valkey) -> dict[str, str]:
    """Sign a user up, then switch to a small limit with a fresh counter."""
    auth = users.signup("alice")
    configure(RATE_LIMIT=LIMIT, RATE_WINDOW=WINDOW)
    db.delete("ratelimit:testclient")
    return auth


def test_429_after_the_limit_with_headers(client: TestClient, users, configure, db) -> None:
    auth = limited_client(client, users, configure, db)
    for expected_remaining in range(LIMIT - 1, -1, -1):
        response = client.get("/profile", headers=auth)
        assert response.status_code == 200
        assert response.headers["x-ratelimit-limit"] == str(LIMIT)
        assert response.headers["x-ratelimit-remaining"] == str(expected_remaining)
        reset = int(response.headers["x-ratelimit-reset"])
        assert time.time() - 1 <= reset <= time.time() + WINDOW + 1

    refused = client.get("/profile", headers=auth)
    assert refused.status_code == 429
    assert refused.json() == {"detail": "Too many requests"}
    assert refused.headers["content-type"] == "application/json"
    assert 1 <= int(refused.headers["retry-after"]) <= WINDOW
    assert refused.headers["x-ratelimit-limit"] == str(LIMIT)
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert int(refused.headers["x-ratelimit-reset"]) <= time.time() + WINDOW + 1
    # refused requests are not counted
    assert db.get("ratelimit:testclient") == str(LIMIT)


def test_unauthenticated_and_failed_requests_count_too(client: TestClient, configure, db) -> None:
    configure(RATE_LIMIT=2, RATE_WINDOW=WINDOW)
    assert client.get("/profile").status_code == 401
    assert client.post("/login", json={}).status_code == 422
    assert client.get("/profile").status_code == 429


def test_the_window_resets(client: TestClient, users, configure, db) -> None:
    auth = limited_client(client, users, configure, db)
    for _ in range(LIMIT):
        assert client.get("/profile", headers=auth).status_code == 200
    refused = client.get("/profile", headers=auth)
    assert refused.status_code == 429
    started = time.monotonic()
    wait_for(
        lambda: client.get("/profile", headers=auth).status_code == 200,
        timeout=WINDOW + 3,
        interval=0.1,
    )
    # TTL rounds to whole seconds, hence the margin
    assert time.monotonic() - started <= int(refused.headers["retry-after"]) + 1.5


def test_counting_is_atomic_under_concurrency() -> None:
    limiter = RateLimiter()
    decisions = []
    barrier = threading.Barrier(20)

    def hit() -> None:
        barrier.wait()
        decisions.append(limiter.check("burst", 10, 30))

    threads = [threading.Thread(target=hit) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(d.allowed for d in decisions) == 10
    assert sorted(d.remaining for d in decisions if d.allowed) == list(range(10))


def test_limits_are_per_identifier() -> None:
    limiter = RateLimiter()
    assert limiter.check("a", 1, 30).allowed
    assert not limiter.check("a", 1, 30).allowed
    assert limiter.check("b", 1, 30).allowed


def test_script_runs_by_sha_and_survives_script_flush(client: TestClient, db) -> None:
    sha = hashlib.sha1(RATE_LIMIT_LUA.encode()).hexdigest()
    assert client.get("/profile").status_code == 401
    assert db.script_exists(sha) == [True]
    db.script_flush()
    assert db.script_exists(sha) == [False]
    # EVALSHA answers NOSCRIPT; the client loads the script and retries
    response = client.get("/profile")
    assert response.status_code == 401
    assert "x-ratelimit-remaining" in response.headers
    assert db.script_exists(sha) == [True]


def test_counter_without_expiry_starts_a_new_window(db) -> None:
    db.set("ratelimit:stuck", 1000)
    decision = RateLimiter().check("stuck", 3, 30)
    assert decision.allowed and decision.remaining == 2
    assert 0 < db.ttl("ratelimit:stuck") <= 30
