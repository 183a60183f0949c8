"""Fixed-window rate limiting with an atomic Lua script, and the ASGI
middleware that applies it to every request.

Reading the counter, comparing it with the limit and incrementing it must
happen as one step: done as separate commands, two concurrent requests can
both read ``limit - 1`` and both pass. A Lua script runs atomically on the
server. ``register_script`` sends it with EVALSHA and falls back to loading
it when the server answers NOSCRIPT (after a restart or SCRIPT FLUSH).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import anyio.to_thread
import valkey
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .config import get_settings
from .valkey_client import get_client

log = logging.getLogger(__name__)

# KEYS[1] the window's counter; ARGV[1] the limit; ARGV[2] the window in
# seconds. Returns {allowed (0/1), requests left, seconds until the window
# resets}. A refused request is not counted, so a client that keeps retrying
# is let through again as soon as its window ends. A counter without an
# expiry (TTL -1) can only be left over from elsewhere and starts a new window.
RATE_LIMIT_LUA = """
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
local ttl = redis.call('TTL', KEYS[1])
if count == 0 or ttl < 0 then
    redis.call('SET', KEYS[1], 1, 'EX', window)
    return {1, limit - 1, window}
end
if count >= limit then
    return {0, 0, ttl}
end
count = redis.call('INCR', KEYS[1])
return {1, limit - count, ttl}
"""

# requests that must work even when a client is throttled
EXEMPT_PATHS = frozenset({"/health"})


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_after: int  # seconds until the window ends

    def headers(self) -> dict[str, str]:
        """The X-RateLimit-* headers; the reset time is a Unix timestamp."""
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(self.remaining, 0)),
            "X-RateLimit-Reset": str(math.ceil(time.time()) + self.reset_after),
        }


class RateLimiter:
    """Counts requests per identifier in fixed windows of ``window`` seconds."""

    def __init__(self) -> None:
        self._script = get_client().register_script(RATE_LIMIT_LUA)

    def check(self, identifier: str, limit: int, window: int) -> Decision:
        """Count one request by ``identifier`` and say whether it may proceed."""
        allowed, remaining, reset_after = self._script(
            keys=[f"ratelimit:{identifier}"], args=[limit, window], client=get_client()
        )
        return Decision(bool(allowed), limit, int(remaining), max(int(reset_after), 1))


def _client_address(scope: Scope) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"


class RateLimitMiddleware:
    """Answers 429 once a client address exceeds RATE_LIMIT requests per
    RATE_WINDOW seconds, and adds X-RateLimit-* headers to every answer.

    It is plain ASGI rather than an exception handler because an exception
    raised in middleware never reaches FastAPI's handlers and becomes a 500.
    When the server cannot be reached, requests pass unlimited: an outage of
    the limiter should not take the whole API down with it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.limiter = RateLimiter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        settings = get_settings()
        try:
            decision = await anyio.to_thread.run_sync(
                self.limiter.check,
                _client_address(scope),
                settings.rate_limit,
                settings.rate_window,
            )
        except valkey.ValkeyError:
            log.warning("rate limiter unavailable; request not limited", exc_info=True)
            await self.app(scope, receive, send)
            return
        headers = decision.headers()
        if not decision.allowed:
            headers["Retry-After"] = str(decision.reset_after)
            response = JSONResponse({"detail": "Too many requests"}, 429, headers=headers)
            await response(scope, receive, send)
            return
        extra = [(name.lower().encode(), value.encode()) for name, value in headers.items()]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
