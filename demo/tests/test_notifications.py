"""Notifications: the pending list, live delivery over pub/sub, and the
server-sent event stream of a real API process."""

import json
from collections.abc import Iterator

import httpx2
import pytest
import valkey
from fastapi.testclient import TestClient

from app import notifications

from .helpers import free_port, wait_for


def test_sent_notifications_are_kept_newest_first(client: TestClient, users) -> None:
    alice = users.signup("alice")
    bob = users.signup("bob")
    for text in ("first", "second"):
        response = client.post("/notifications", headers=alice, json={"to": "bob", "message": text})
        assert response.status_code == 201
    kept = client.get("/notifications", headers=bob).json()
    assert [n["message"] for n in kept] == ["second", "first"]
    assert all(n["type"] == "message" and n["data"] == {"from": "alice"} for n in kept)
    assert client.get("/notifications", headers=alice).json() == []

    assert client.delete("/notifications", headers=bob).json() == {"cleared": 2}
    assert client.get("/notifications", headers=bob).json() == []


def test_sending_needs_a_known_recipient_and_a_session(client: TestClient, users) -> None:
    alice = users.signup("alice")
    body = {"to": "nobody", "message": "hello"}
    assert client.post("/notifications", headers=alice, json=body).status_code == 404
    assert client.post("/notifications", json={**body, "to": "alice"}).status_code == 401
    assert client.get("/notifications").status_code == 401


def test_pending_list_is_capped(db: valkey.Valkey) -> None:
    for i in range(notifications.PENDING_LIMIT + 5):
        notifications.notify("carol", "message", f"n{i}")
    assert db.llen("notifications:pending:carol") == notifications.PENDING_LIMIT
    kept = notifications.pending("carol")
    assert [n["message"] for n in kept] == [f"n{i}" for i in range(104, 4, -1)]


def test_a_subscriber_receives_notifications_live(client: TestClient, users, db) -> None:
    alice = users.signup("alice")
    users.register("bob")
    pubsub = db.pubsub(ignore_subscribe_messages=True)
    try:
        pubsub.subscribe("notifications:bob")
        sent = client.post("/notifications", headers=alice, json={"to": "bob", "message": "live"})
        message = wait_for(lambda: pubsub.get_message(timeout=0.1), timeout=5)
        assert message["channel"] == "notifications:bob"
        assert json.loads(message["data"]) == sent.json()
    finally:
        pubsub.close()


@pytest.fixture
def api(spawn) -> Iterator[str]:
    """The base URL of an API served by uvicorn in its own process."""
    port = free_port()
    spawn(
        "-m",
        "uvicorn",
        "app.main:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    )
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return httpx2.get(f"{base}/health", timeout=1).status_code == 200
        except httpx2.TransportError:
            return False

    wait_for(healthy, timeout=20, interval=0.1)
    yield base


def sse_events(lines: Iterator[str]) -> Iterator[tuple[str, str]]:
    """(event, data) pairs from the lines of a text/event-stream."""
    event, data = "message", []
    for line in lines:
        if line == "":
            if data:
                yield event, "\n".join(data)
            event, data = "message", []
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())


def test_event_stream_delivers_notifications(api: str) -> None:
    with httpx2.Client(base_url=api, timeout=10) as http:
        tokens = {}
        for name in ("alice", "bob"):
            body = {
                "username": name,
                "password": "correct horse",
                "name": name,
                "email": f"{name}@x.io",
            }
            assert http.post("/users", json=body).status_code == 201
            login = http.post("/login", json={"username": name, "password": "correct horse"})
            tokens[name] = login.json()["token"]

        assert http.get("/notifications/stream").status_code == 401
        with (
            http.stream(
                "GET", "/notifications/stream", headers={"Authorization": f"Bearer {tokens['bob']}"}
            ) as header_stream,
            http.stream(
                "GET", "/notifications/stream", params={"token": tokens["bob"]}
            ) as query_stream,
        ):
            streams = [header_stream, query_stream]
            for stream in streams:
                assert stream.status_code == 200
                assert stream.headers["content-type"].startswith("text/event-stream")
            events = [sse_events(stream.iter_lines()) for stream in streams]
            for stream_events in events:
                assert next(stream_events)[0] == "ready"

            alice = {"Authorization": f"Bearer {tokens['alice']}"}
            bob = {"Authorization": f"Bearer {tokens['bob']}"}
            http.post("/notifications", headers=bob, json={"to": "alice", "message": "not for bob"})
            sent = http.post(
                "/notifications", headers=alice, json={"to": "bob", "message": "hi bob"}
            )
            assert sent.status_code == 201
            for stream_events in events:
                kind, data = next(stream_events)
                assert kind == "notification"
                assert json.loads(data) == sent.json()

        # what the streams showed is also kept for later
        kept = http.get("/notifications", headers=bob).json()
        assert [n["message"] for n in kept] == ["hi bob"]
