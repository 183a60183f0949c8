"""User notifications: published live and kept in a capped pending list.

:func:`notify` PUBLISHes a notification on ``notifications:<user>`` for
whoever is listening right now, and also pushes it onto
``notifications:pending:<user>``, trimmed to the newest PENDING_LIMIT, for
clients that were offline. :class:`NotificationHub` is the listening side of
one API process: a single subscriber thread on one pubsub connection, which
hands each message to the event streams of the user it is addressed to.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import valkey

from .valkey_client import get_client

log = logging.getLogger(__name__)

PENDING_LIMIT = 100


def channel(user_id: str) -> str:
    return f"notifications:{user_id}"


def _pending_key(user_id: str) -> str:
    return f"notifications:pending:{user_id}"


def notify(
    user_id: str, kind: str, message: str, data: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Send a notification to ``user_id`` and return it."""
    notification = {
        "id": uuid.uuid4().hex,
        "type": kind,
        "message": message,
        "data": data or {},
        "created_at": time.time(),
    }
    encoded = json.dumps(notification)
    pipe = get_client().pipeline(transaction=False)
    pipe.lpush(_pending_key(user_id), encoded)
    pipe.ltrim(_pending_key(user_id), 0, PENDING_LIMIT - 1)
    pipe.publish(channel(user_id), encoded)
    pipe.execute()
    return notification


def pending(user_id: str) -> list[dict[str, Any]]:
    """The user's kept notifications, newest first."""
    return [json.loads(n) for n in get_client().lrange(_pending_key(user_id), 0, -1)]


def clear(user_id: str) -> int:
    """Forget the user's kept notifications; returns how many there were."""
    client = get_client()
    pipe = client.pipeline(transaction=False)
    pipe.llen(_pending_key(user_id))
    pipe.delete(_pending_key(user_id))
    count, _ = pipe.execute()
    return int(count)


class _Listener:
    """One event stream's mailbox, fed from the subscriber thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.messages: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.ready = asyncio.Event()

    def deliver(self, item: dict[str, Any] | None) -> None:
        self._call(self.messages.put_nowait, item)

    def mark_ready(self) -> None:
        self._call(self.ready.set)

    def _call(self, func: Callable[..., None], *args: Any) -> None:
        # the stream's event loop may have shut down without closing the stream
        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(func, *args)


class NotificationHub:
    """Fans the notifications of subscribed users out to local listeners.

    Only the subscriber thread touches the pubsub connection: listeners ask
    it to SUBSCRIBE or UNSUBSCRIBE through a queue, so the connection is never
    used from two threads at once. A channel is subscribed while at least one
    listener of its user exists. A listener becomes ready once the server has
    confirmed the subscription: from then on it receives every notification
    published to the user. After a lost connection, the pubsub object
    reconnects and subscribes again by itself on the next read; what was
    published in between is only in the pending list.
    """

    # how long one read waits, which bounds how late a (un)subscribe request is seen
    _POLL_SECONDS = 0.1
    _RETRY_SECONDS = 1.0

    def __init__(self) -> None:
        self._listeners: dict[str, set[_Listener]] = {}
        self._confirmed: set[str] = set()
        self._requests: queue.Queue[tuple[str, str]] = queue.Queue()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the subscriber thread."""
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="notification-hub", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the subscriber thread and end every open stream."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        with self._lock:
            for listeners in self._listeners.values():
                for listener in listeners:
                    listener.deliver(None)
            self._listeners.clear()

    @contextlib.asynccontextmanager
    async def listen(self, user_id: str) -> AsyncIterator[_Listener]:
        """Receive ``user_id``'s notifications while the context is open.

        The listener's ``messages`` queue yields notifications, and None
        when the hub stops; wait for ``ready`` before relying on delivery.
        """
        listener = _Listener(asyncio.get_running_loop())
        name = channel(user_id)
        with self._lock:
            listeners = self._listeners.setdefault(name, set())
            listeners.add(listener)
            if len(listeners) == 1:
                self._requests.put(("subscribe", name))
            elif name in self._confirmed:
                listener.ready.set()
        try:
            yield listener
        finally:
            with self._lock:
                listeners = self._listeners.get(name, set())
                listeners.discard(listener)
                if not listeners:
                    self._listeners.pop(name, None)
                    self._confirmed.discard(name)
                    self._requests.put(("unsubscribe", name))

    def _run(self) -> None:
        pubsub = get_client().pubsub()
        try:
            while not self._stopping.is_set():
                try:
                    self._apply_requests(pubsub)
                    message = pubsub.get_message(timeout=self._POLL_SECONDS)
                except (valkey.ConnectionError, valkey.TimeoutError):
                    log.warning(
                        "notification subscriber lost its connection; retrying", exc_info=True
                    )
                    self._stopping.wait(self._RETRY_SECONDS)
                    self._resubscribe_missing(pubsub)
                    continue
                if message is not None:
                    self._dispatch(message)
        finally:
            pubsub.close()

    def _apply_requests(self, pubsub: valkey.client.PubSub) -> None:
        while True:
            try:
                action, name = self._requests.get_nowait()
            except queue.Empty:
                return
            with self._lock:
                wanted = name in self._listeners
            # requests can be overtaken by later ones: act on the current need
            if action == "subscribe" and wanted:
                pubsub.subscribe(name)
            elif action == "unsubscribe" and not wanted:
                pubsub.unsubscribe(name)

    def _resubscribe_missing(self, pubsub: valkey.client.PubSub) -> None:
        """Ask again for the channels whose SUBSCRIBE was lost with the connection."""
        with self._lock:
            for name in self._listeners:
                if name not in pubsub.channels:
                    self._requests.put(("subscribe", name))

    def _dispatch(self, message: dict[str, Any]) -> None:
        name = message["channel"]
        with self._lock:
            listeners = list(self._listeners.get(name, ()))
            if message["type"] == "subscribe":
                if listeners:
                    self._confirmed.add(name)
                for listener in listeners:
                    listener.mark_ready()
                return
        if message["type"] != "message":
            return
        try:
            notification = json.loads(message["data"])
        except (TypeError, ValueError):
            log.warning("ignoring malformed notification on %s", name)
            return
        for listener in listeners:
            listener.deliver(notification)
