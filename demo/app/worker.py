"""The task worker process: ``python -m app.worker``.

It claims tasks from the queue one at a time, runs their handler and records
the result or the failure, then tells the task's owner. Before claiming
a task, at most once a second, it re-queues the tasks of workers that vanished.
SIGTERM and SIGINT let the current task finish before the process exits, so
stopping a worker never costs a redelivery.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from types import FrameType

import valkey

from . import notifications, task_queue
from .handlers import HANDLERS

# named explicitly: run with -m, the module's __name__ is "__main__"
log = logging.getLogger("app.worker")

# how long one BZPOPMIN blocks, which bounds how late a stop request is seen
BLOCK_SECONDS = 0.5
REAP_INTERVAL_SECONDS = 1.0


class Worker:
    """Runs tasks one at a time until stopped."""

    def __init__(self, worker_id: str) -> None:
        self.worker_id = worker_id
        self.stopping = threading.Event()
        self._last_reap = 0.0

    def stop(self, signum: int | None = None, frame: FrameType | None = None) -> None:
        log.info("worker %s stopping after the current task", self.worker_id)
        self.stopping.set()

    def run(self) -> None:
        log.info("worker %s started", self.worker_id)
        while not self.stopping.is_set():
            try:
                self._reap_if_due()
                task = task_queue.claim(self.worker_id, BLOCK_SECONDS)
                if task is not None:
                    self._process(task)
            except (valkey.ConnectionError, valkey.TimeoutError):
                log.warning("lost the connection to the server; retrying", exc_info=True)
                self.stopping.wait(BLOCK_SECONDS)
        log.info("worker %s stopped", self.worker_id)

    def _reap_if_due(self) -> None:
        now = time.monotonic()
        if now - self._last_reap < REAP_INTERVAL_SECONDS:
            return
        self._last_reap = now
        requeued, failed = task_queue.requeue_expired()
        for task_id in requeued:
            log.warning("task %s was abandoned by its worker; re-queued", task_id)
        for task_id in failed:
            log.error("task %s was abandoned too often; failed", task_id)
            self._tell_owner(task_queue.owner_of(task_id), task_id, task_queue.STATUS_FAILED)

    def _process(self, task: task_queue.Task) -> None:
        log.info("running task %s (%s, attempt %d)", task.id, task.type, task.attempts)
        handler = HANDLERS.get(task.type)
        try:
            if handler is None:
                raise LookupError(f"no handler for task type {task.type!r}")
            result = handler(task.payload)
        except Exception as exc:  # any handler error is the task's failure, not the worker's
            log.info("task %s failed: %r", task.id, exc)
            task_queue.fail(task.id, f"{type(exc).__name__}: {exc}")
            self._tell_owner(task.owner, task.id, task_queue.STATUS_FAILED)
            return
        task_queue.complete(task.id, result)
        self._tell_owner(task.owner, task.id, task_queue.STATUS_COMPLETED)

    @staticmethod
    def _tell_owner(owner: str, task_id: str, status: str) -> None:
        if owner:
            notifications.notify(
                owner, f"task_{status}", f"Task {task_id} {status}", {"task_id": task_id}
            )


def main() -> None:
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    worker = Worker(f"{socket.gethostname()}:{os.getpid()}")
    signal.signal(signal.SIGTERM, worker.stop)
    signal.signal(signal.SIGINT, worker.stop)
    worker.run()


if __name__ == "__main__":
    main()
