"""Settings, read from the environment.

Every module asks :func:`get_settings` at the moment it needs a value instead
of copying values at import time, so a process (or a test) that changes the
environment and calls ``get_settings.cache_clear()`` sees the new values
everywhere at once.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return default if raw in (None, "") else int(raw)


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return default if raw in (None, "") else float(raw)


@dataclass(frozen=True)
class Settings:
    """Runtime configuration; each field maps to the upper-case variable."""

    valkey_url: str = "valkey://localhost:6379/0"
    # seconds a cached function result stays valid
    cache_ttl: int = 300
    # seconds of inactivity after which a session ends (sliding expiry)
    session_ttl: int = 3600
    # requests allowed per client address in each window of rate_window seconds
    rate_limit: int = 100
    rate_window: int = 60
    # seconds a worker may hold a task before another worker may run it again
    visibility_timeout: float = 30.0
    # deliveries of one task before it is declared failed instead of re-queued
    max_attempts: int = 3
    # seconds finished tasks (results and failures) are kept
    task_result_ttl: int = 86400
    # SQLite file that holds the user accounts, the system of record
    database_path: str = "demo.db"

    @classmethod
    def from_env(cls) -> Settings:
        """Build the settings from the environment, with the defaults above."""
        d = cls()
        return cls(
            valkey_url=os.environ.get("VALKEY_URL") or d.valkey_url,
            cache_ttl=_int("CACHE_TTL", d.cache_ttl),
            session_ttl=_int("SESSION_TTL", d.session_ttl),
            rate_limit=_int("RATE_LIMIT", d.rate_limit),
            rate_window=_int("RATE_WINDOW", d.rate_window),
            visibility_timeout=_float("VISIBILITY_TIMEOUT", d.visibility_timeout),
            max_attempts=_int("MAX_ATTEMPTS", d.max_attempts),
            task_result_ttl=_int("TASK_RESULT_TTL", d.task_result_ttl),
            database_path=os.environ.get("DATABASE_PATH") or d.database_path,
        )


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings.from_env()
