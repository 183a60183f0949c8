"""User accounts, kept in SQLite as the system of record.

Profiles are read far more often than they change, so reads go through the
Valkey cache (:func:`get_profile`) and every write invalidates the cached copy
right after it commits; a reader never sees a stale profile for longer than
the moment between the two.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
import sqlite3
import time
from collections.abc import Iterator
from typing import Any

from .cache import cached, invalidate
from .config import get_settings

# scrypt cost parameters: about 16 MiB and a few tens of ms per hash
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
_DUMMY_SALT = bytes(16)


class UserExistsError(Exception):
    pass


@contextlib.contextmanager
def _connect() -> Iterator[sqlite3.Connection]:
    """A connection per use: sqlite3 connections must not cross threads."""
    conn = sqlite3.connect(get_settings().database_path, timeout=10)
    conn.row_factory = sqlite3.Row
    try:
        with conn:
            yield conn
    finally:
        conn.close()


def init_db() -> None:
    """Create the schema if it does not exist yet."""
    with _connect() as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(
            """CREATE TABLE IF NOT EXISTS users (
                username      TEXT PRIMARY KEY,
                password_salt BLOB NOT NULL,
                password_hash BLOB NOT NULL,
                name          TEXT NOT NULL,
                email         TEXT NOT NULL,
                created_at    REAL NOT NULL
            )"""
        )


def _hash(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)


def create_user(username: str, password: str, name: str, email: str) -> dict[str, Any]:
    """Register a user; raises UserExistsError if the name is taken."""
    salt = secrets.token_bytes(16)
    created_at = time.time()
    try:
        with _connect() as conn:
            conn.execute(
                "INSERT INTO users VALUES (?, ?, ?, ?, ?, ?)",
                (username, salt, _hash(password, salt), name, email, created_at),
            )
    except sqlite3.IntegrityError as exc:
        raise UserExistsError(username) from exc
    return {"username": username, "name": name, "email": email, "created_at": created_at}


def verify_password(username: str, password: str) -> bool:
    """Whether ``password`` is the user's; unknown users cost a hash too,
    so response times do not reveal which names exist."""
    with _connect() as conn:
        row = conn.execute(
            "SELECT password_salt, password_hash FROM users WHERE username = ?", (username,)
        ).fetchone()
    if row is None:
        _hash(password, _DUMMY_SALT)
        return False
    return hmac.compare_digest(_hash(password, row["password_salt"]), row["password_hash"])


@cached("profile")
def get_profile(username: str) -> dict[str, Any] | None:
    """The user's public profile, or None if there is no such user."""
    with _connect() as conn:
        row = conn.execute(
            "SELECT username, name, email, created_at FROM users WHERE username = ?", (username,)
        ).fetchone()
    return dict(row) if row is not None else None


def update_profile(username: str, name: str | None, email: str | None) -> dict[str, Any] | None:
    """Change the given profile fields and drop the cached profile."""
    with _connect() as conn:
        cursor = conn.execute(
            "UPDATE users SET name = COALESCE(?, name), email = COALESCE(?, email)"
            " WHERE username = ?",
            (name, email, username),
        )
    if cursor.rowcount == 0:
        return None
    invalidate("profile", username)
    return get_profile(username)
