"""Token sessions with sliding expiry and a per-user index.

A session is the hash ``session:<token>``; ``user_sessions:<user>`` is the set
of that user's tokens, which is what makes "log out everywhere" and listing a
user's sessions possible without scanning the keyspace. Every use of a
session pushes its expiry SESSION_TTL seconds into the future, and the index
with it, so the index always outlives the sessions it lists.

Pipelines are sent without MULTI/EXEC: each of them only groups independent
commands into one round trip, and a crash in between leaves at most a stale
token in an index, which readers prune.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from .config import get_settings
from .valkey_client import get_client


@dataclass(frozen=True)
class Session:
    token: str
    user_id: str
    created_at: float
    last_seen: float
    user_agent: str


def _session_key(token: str) -> str:
    return f"session:{token}"


def _index_key(user_id: str) -> str:
    return f"user_sessions:{user_id}"


def create(user_id: str, user_agent: str = "") -> Session:
    """Start a session for ``user_id`` and return it with its new token."""
    ttl = get_settings().session_ttl
    token = secrets.token_urlsafe(32)
    now = time.time()
    pipe = get_client().pipeline(transaction=False)
    pipe.hset(
        _session_key(token),
        mapping={
            "user_id": user_id,
            "created_at": repr(now),
            "last_seen": repr(now),
            "user_agent": user_agent,
        },
    )
    pipe.expire(_session_key(token), ttl)
    pipe.sadd(_index_key(user_id), token)
    pipe.expire(_index_key(user_id), ttl)
    pipe.execute()
    return Session(token, user_id, now, now, user_agent)


def _from_hash(token: str, fields: dict[str, str]) -> Session:
    return Session(
        token=token,
        user_id=fields["user_id"],
        created_at=float(fields["created_at"]),
        last_seen=float(fields["last_seen"]),
        user_agent=fields.get("user_agent", ""),
    )


def get(token: str) -> Session | None:
    """The live session for ``token``, its expiry renewed; None if it ended."""
    client = get_client()
    fields = client.hgetall(_session_key(token))
    if not fields or "user_id" not in fields:
        return None
    ttl = get_settings().session_ttl
    now = time.time()
    pipe = client.pipeline(transaction=False)
    # the session may have expired since HGETALL: only a successful EXPIRE
    # proves it still exists, and writing last_seen to a missing key would
    # create a hash without an expiry
    pipe.expire(_session_key(token), ttl)
    pipe.expire(_index_key(fields["user_id"]), ttl)
    renewed, _ = pipe.execute()
    if not renewed:
        return None
    client.hset(_session_key(token), "last_seen", repr(now))
    session = _from_hash(token, fields)
    return Session(session.token, session.user_id, session.created_at, now, session.user_agent)


def list_for_user(user_id: str) -> list[Session]:
    """The user's live sessions, oldest first; expired tokens are pruned from the index."""
    client = get_client()
    tokens = sorted(client.smembers(_index_key(user_id)))
    if not tokens:
        return []
    pipe = client.pipeline(transaction=False)
    for token in tokens:
        pipe.hgetall(_session_key(token))
    live: list[Session] = []
    dead: list[str] = []
    for token, fields in zip(tokens, pipe.execute(), strict=True):
        if fields and "user_id" in fields:
            live.append(_from_hash(token, fields))
        else:
            dead.append(token)
    if dead:
        client.srem(_index_key(user_id), *dead)
    return sorted(live, key=lambda s: s.created_at)


def destroy(token: str) -> bool:
    """End one session; True if it was live."""
    client = get_client()
    user_id = client.hget(_session_key(token), "user_id")
    if user_id is None:
        return False
    pipe = client.pipeline(transaction=False)
    pipe.delete(_session_key(token))
    pipe.srem(_index_key(user_id), token)
    deleted, _ = pipe.execute()
    return bool(deleted)


def destroy_all(user_id: str) -> int:
    """End every session of ``user_id``; returns how many were live."""
    client = get_client()
    tokens = client.smembers(_index_key(user_id))
    keys = [_session_key(t) for t in tokens]
    pipe = client.pipeline(transaction=False)
    if keys:
        pipe.delete(*keys)
    pipe.delete(_index_key(user_id))
    results = pipe.execute()
    return int(results[0]) if keys else 0
