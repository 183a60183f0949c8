"""The process's single connection pool to the Valkey server.

Every module borrows connections from one pool instead of opening its own, so
the number of server connections is bounded by the pool no matter how many
requests run in parallel.
"""

from __future__ import annotations

import threading

import valkey

from .config import get_settings

_lock = threading.Lock()
_pool: valkey.ConnectionPool | None = None


def get_client() -> valkey.Valkey:
    """A client on the shared pool; cheap to create, safe to share between threads."""
    global _pool
    with _lock:
        if _pool is None:
            _pool = valkey.ConnectionPool.from_url(
                get_settings().valkey_url,
                decode_responses=True,
                socket_connect_timeout=5,
                # generous enough for blocking commands with a short timeout
                socket_timeout=10,
            )
        return valkey.Valkey(connection_pool=_pool)


def close() -> None:
    """Close every pooled connection; the next get_client() opens a new pool."""
    global _pool
    with _lock:
        if _pool is not None:
            _pool.disconnect()
            _pool = None
