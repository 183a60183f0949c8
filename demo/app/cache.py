"""Read-through caching of function results in Valkey.

``@cached("profile")`` stores the JSON form of a function's result under
``cache:profile:<arguments>`` with a TTL, so repeated calls with the same
arguments skip the slow source (here, the user database) until the entry
expires or is invalidated after a write.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import valkey

from .config import get_settings
from .valkey_client import get_client

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

KEY_PREFIX = "cache"
# keys deleted per DEL while invalidating a pattern, to keep each command short
_DELETE_BATCH = 500


def cache_key(prefix: str, *args: Any, **kwargs: Any) -> str:
    """The key under which ``prefix`` caches the result for these arguments."""
    parts = [str(a) for a in args] + [f"{k}={kwargs[k]}" for k in sorted(kwargs)]
    return ":".join([KEY_PREFIX, prefix, *parts])


def cached(prefix: str, ttl: int | None = None) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Cache the decorated function's JSON-serialisable result for ``ttl`` seconds.

    ``ttl`` defaults to the CACHE_TTL setting, read at call time. ``None``
    results are not cached, so a record created later is seen at once. When
    the cache server cannot be reached the function is simply called: a cache
    outage slows reads down but does not break them.
    """

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            key = cache_key(prefix, *args, **kwargs)
            client = get_client()
            try:
                hit = client.get(key)
            except valkey.ValkeyError:
                log.warning("cache read failed for %s; calling through", key, exc_info=True)
                return func(*args, **kwargs)
            if hit is not None:
                return json.loads(hit)
            result = func(*args, **kwargs)
            if result is not None:
                seconds = ttl if ttl is not None else get_settings().cache_ttl
                try:
                    client.set(key, json.dumps(result), ex=seconds)
                except valkey.ValkeyError:
                    log.warning("cache write failed for %s", key, exc_info=True)
            return result

        return wrapper

    return decorate


def invalidate(prefix: str, *args: Any, **kwargs: Any) -> bool:
    """Drop the cached result of one call; True if an entry existed."""
    return bool(get_client().delete(cache_key(prefix, *args, **kwargs)))


def invalidate_pattern(pattern: str) -> int:
    """Drop every cache entry whose key matches the glob ``pattern``.

    The pattern is relative to the cache namespace (``profile:*`` matches
    ``cache:profile:*``). SCAN walks the keyspace incrementally instead of
    KEYS, which would block the server for the whole walk. Returns the number
    of entries removed.
    """
    client = get_client()
    removed = 0
    batch: list[str] = []
    for key in client.scan_iter(match=f"{KEY_PREFIX}:{pattern}", count=_DELETE_BATCH):
        batch.append(key)
        if len(batch) >= _DELETE_BATCH:
            removed += client.delete(*batch)
            batch.clear()
    if batch:
        removed += client.delete(*batch)
    return removed
