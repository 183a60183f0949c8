from fastapi.testclient import TestClient

from app import valkey_client
from app.main import create_app

from .helpers import free_port


def test_health_reports_server_essentials(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    server = body["server"]
    assert server["server_name"]
    assert server["redis_version"]
    for field in ("uptime_in_seconds", "connected_clients", "used_memory"):
        assert isinstance(server[field], int) and server[field] >= 0, field
    assert server["connected_clients"] >= 1
    assert server["keys"] == 0


def test_health_counts_keys(client: TestClient, db) -> None:
    db.set("some:key", "value")
    assert client.get("/health").json()["server"]["keys"] == 1


def test_health_is_not_rate_limited(client: TestClient, configure) -> None:
    configure(RATE_LIMIT=1)
    for _ in range(3):
        response = client.get("/health")
        assert response.status_code == 200
        assert "x-ratelimit-limit" not in response.headers


def test_without_a_server_health_fails_and_requests_are_not_limited(configure) -> None:
    configure(VALKEY_URL=f"valkey://127.0.0.1:{free_port()}/0", RATE_LIMIT=1)
    valkey_client.close()
    with TestClient(create_app()) as client:
        health = client.get("/health")
        assert health.status_code == 503
        assert health.json()["status"] == "unavailable"
        # registering needs only the database; the limiter lets it through
        for name in ("alice", "bob"):
            body = {"username": name, "password": "correct horse", "name": name, "email": "a@b.c"}
            response = client.post("/users", json=body)
            assert response.status_code == 201
            assert "x-ratelimit-limit" not in response.headers
