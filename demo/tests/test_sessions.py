"""Login, bearer authentication, sliding expiry and logout."""

import valkey
from fastapi.testclient import TestClient

from app import sessions
from app.config import get_settings


def token_of(auth: dict[str, str]) -> str:
    return auth["Authorization"].removeprefix("Bearer ")


def test_login_creates_an_indexed_session(client: TestClient, users, db: valkey.Valkey) -> None:
    users.register("alice")
    response = client.post("/login", json={"username": "alice", "password": "correct horse"})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == get_settings().session_ttl
    token = body["token"]

    ttl = get_settings().session_ttl
    assert db.hget(f"session:{token}", "user_id") == "alice"
    assert ttl - 5 < db.ttl(f"session:{token}") <= ttl
    assert set(db.smembers("user_sessions:alice")) == {token}
    assert ttl - 5 < db.ttl("user_sessions:alice") <= ttl

    profile = client.get("/profile", headers={"Authorization": f"Bearer {token}"})
    assert profile.status_code == 200
    assert profile.json()["username"] == "alice"


def test_login_takes_a_json_body(client: TestClient, users) -> None:
    users.register("alice")
    wrong = client.post("/login", json={"username": "alice", "password": "wrong password"})
    assert wrong.status_code == 401
    unknown = client.post("/login", json={"username": "nobody", "password": "correct horse"})
    assert unknown.status_code == 401
    query = client.post("/login", params={"username": "alice", "password": "correct horse"})
    assert query.status_code == 422


def test_register_rejects_duplicates_and_bad_input(client: TestClient, users) -> None:
    users.register("alice")
    body = {"username": "alice", "password": "another one", "name": "A", "email": "a@b.c"}
    assert client.post("/users", json=body).status_code == 409
    assert client.post("/users", json={**body, "username": "a b"}).status_code == 422
    assert (
        client.post("/users", json={**body, "username": "carol", "password": "short"}).status_code
        == 422
    )


def test_bearer_token_is_required(client: TestClient, users) -> None:
    users.signup("alice")
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic YTpi"}):
        response = client.get("/profile", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"


def test_expiry_slides_with_use(client: TestClient, users, db: valkey.Valkey) -> None:
    auth = users.signup("alice")
    token = token_of(auth)
    db.expire(f"session:{token}", 100)
    db.expire("user_sessions:alice", 100)
    assert client.get("/profile", headers=auth).status_code == 200
    ttl = get_settings().session_ttl
    assert ttl - 5 < db.ttl(f"session:{token}") <= ttl
    assert ttl - 5 < db.ttl("user_sessions:alice") <= ttl


def test_expired_session_is_rejected_and_pruned(
    client: TestClient, users, db: valkey.Valkey
) -> None:
    stale = users.signup("alice")
    live = users.login("alice")
    db.delete(f"session:{token_of(stale)}")  # as if it had expired
    assert client.get("/profile", headers=stale).status_code == 401
    listed = client.get("/sessions", headers=live).json()
    assert [s["current"] for s in listed] == [True]
    assert set(db.smembers("user_sessions:alice")) == {token_of(live)}


def test_logout_ends_only_that_session(client: TestClient, users, db: valkey.Valkey) -> None:
    first = users.signup("alice")
    second = users.login("alice")
    response = client.post("/logout", headers=first)
    assert response.status_code == 200
    assert response.json() == {"logged_out": True}
    assert client.get("/profile", headers=first).status_code == 401
    assert client.post("/logout", headers=first).status_code == 401
    assert client.get("/profile", headers=second).status_code == 200
    assert set(db.smembers("user_sessions:alice")) == {token_of(second)}


def test_logout_all_ends_every_session_of_the_user(
    client: TestClient, users, db: valkey.Valkey
) -> None:
    mine = [users.signup("alice"), users.login("alice"), users.login("alice")]
    theirs = users.signup("bob")
    listed = client.get("/sessions", headers=mine[0]).json()
    assert len(listed) == 3
    assert sum(s["current"] for s in listed) == 1

    response = client.post("/logout-all", headers=mine[1])
    assert response.status_code == 200
    assert response.json() == {"sessions_ended": 3}
    for auth in mine:
        assert client.get("/profile", headers=auth).status_code == 401
    assert not db.exists("user_sessions:alice")
    assert client.get("/profile", headers=theirs).status_code == 200


def test_session_module_directly() -> None:
    session = sessions.create("dave", "agent/1.0")
    assert sessions.get(session.token).user_id == "dave"
    assert [s.token for s in sessions.list_for_user("dave")] == [session.token]
    assert sessions.destroy(session.token) is True
    assert sessions.destroy(session.token) is False
    assert sessions.get(session.token) is None
    assert sessions.destroy_all("dave") == 0
