"""A priority task queue with at-least-once delivery.

Keys:

* ``tasks:queue``: sorted set of waiting task ids. The score is
  ``priority * 10**13 + enqueue time in ms``, so BZPOPMIN hands out the lowest
  priority number first and, within one priority, the oldest task first.
* ``tasks:processing``: hash of the ids being run to the time (Unix seconds)
  at which their worker's claim lapses, the visibility timeout.
* ``task:<id>``: hash with the task itself, its status and its outcome (the
  result, or the error of a failure); it expires TASK_RESULT_TTL seconds
  after the task finished.

A worker that dies while running a task leaves it in ``tasks:processing``
past its deadline; :func:`requeue_expired`, which every worker runs, puts it
back into the queue with its original score, so it runs again, ahead of newer
tasks of its priority. A task delivered MAX_ATTEMPTS times without finishing
is failed instead, so one task that crashes its workers cannot stall the
queue forever. The consequence is at-least-once execution: handlers must
tolerate running twice. The moves between keys are separate commands, so a
worker killed in the instant between BZPOPMIN and recording its claim loses
that task; closing that window needs the claim to run as a server-side script.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from .config import get_settings
from .valkey_client import get_client

QUEUE = "tasks:queue"
PROCESSING = "tasks:processing"

PRIORITY_HIGHEST = 0
PRIORITY_LOWEST = 9
PRIORITY_DEFAULT = 5

STATUS_QUEUED = "queued"
STATUS_PROCESSING = "processing"
STATUS_COMPLETED = "completed"
STATUS_FAILED = "failed"


def _task_key(task_id: str) -> str:
    return f"task:{task_id}"


@dataclass(frozen=True)
class Task:
    """A task as a worker sees it when it claims it."""

    id: str
    type: str
    payload: dict[str, Any]
    priority: int
    owner: str
    attempts: int


def enqueue(
    task_type: str, payload: dict[str, Any], priority: int = PRIORITY_DEFAULT, owner: str = ""
) -> dict[str, Any]:
    """Add a task and return its public view."""
    if not PRIORITY_HIGHEST <= priority <= PRIORITY_LOWEST:
        raise ValueError(f"priority must be between {PRIORITY_HIGHEST} and {PRIORITY_LOWEST}")
    task_id = uuid.uuid4().hex
    now = time.time()
    score = priority * 10**13 + int(now * 1000)
    fields = {
        "id": task_id,
        "type": task_type,
        "payload": json.dumps(payload),
        "priority": str(priority),
        "owner": owner,
        "status": STATUS_QUEUED,
        "attempts": "0",
        "score": str(score),
        "created_at": repr(now),
    }
    pipe = get_client().pipeline(transaction=False)
    # the hash goes first so that a worker never pops an id it cannot look up
    pipe.hset(_task_key(task_id), mapping=fields)
    pipe.zadd(QUEUE, {task_id: score})
    pipe.execute()
    return _view(fields)


def get(task_id: str) -> dict[str, Any] | None:
    """The public view of a task, or None if it is unknown or has expired."""
    fields = get_client().hgetall(_task_key(task_id))
    if not fields or "type" not in fields:
        return None
    return _view(fields)


def _view(fields: dict[str, str]) -> dict[str, Any]:
    def timestamp(name: str) -> float | None:
        return float(fields[name]) if fields.get(name) else None

    return {
        "id": fields["id"],
        "type": fields["type"],
        "priority": int(fields["priority"]),
        "owner": fields.get("owner", ""),
        "status": fields["status"],
        "attempts": int(fields.get("attempts", 0)),
        "payload": json.loads(fields["payload"]),
        "result": json.loads(fields["result"]) if "result" in fields else None,
        "error": fields.get("error"),
        "created_at": timestamp("created_at"),
        "started_at": timestamp("started_at"),
        "finished_at": timestamp("finished_at"),
    }


def claim(worker_id: str, block_seconds: float) -> Task | None:
    """Wait up to ``block_seconds`` for the most urgent task and take it.

    The claim lasts VISIBILITY_TIMEOUT seconds; if the task is not finished by
    then, another worker may run it again.
    """
    client = get_client()
    popped = client.bzpopmin(QUEUE, timeout=block_seconds)
    if popped is None:
        return None
    _, task_id, _ = popped
    now = time.time()
    client.hset(PROCESSING, task_id, repr(now + get_settings().visibility_timeout))
    if not client.exists(_task_key(task_id)):
        # the task is gone (deleted, or expired after an earlier delivery
        # finished it): nothing left to run
        client.hdel(PROCESSING, task_id)
        return None
    pipe = client.pipeline(transaction=False)
    pipe.hset(
        _task_key(task_id),
        mapping={"status": STATUS_PROCESSING, "started_at": repr(now), "worker": worker_id},
    )
    pipe.hincrby(_task_key(task_id), "attempts", 1)
    pipe.hgetall(_task_key(task_id))
    _, _, fields = pipe.execute()
    return Task(
        id=task_id,
        type=fields["type"],
        payload=json.loads(fields["payload"]),
        priority=int(fields["priority"]),
        owner=fields.get("owner", ""),
        attempts=int(fields["attempts"]),
    )


def _release(task_id: str) -> None:
    """Give up the claim on a finished task.

    When the claim had already lapsed, the task is back in the queue; taking
    it out again avoids running it twice if no worker has started it yet.
    """
    client = get_client()
    if not client.hdel(PROCESSING, task_id):
        client.zrem(QUEUE, task_id)


def _finish(task_id: str, fields: dict[str, str]) -> None:
    _release(task_id)
    pipe = get_client().pipeline(transaction=False)
    pipe.hset(_task_key(task_id), mapping={**fields, "finished_at": repr(time.time())})
    pipe.expire(_task_key(task_id), get_settings().task_result_ttl)
    pipe.execute()


def complete(task_id: str, result: Any) -> None:
    """Record a task's JSON-serialisable result."""
    _finish(task_id, {"status": STATUS_COMPLETED, "result": json.dumps(result)})


def fail(task_id: str, error: str) -> None:
    """Record that a task failed and why."""
    _finish(task_id, {"status": STATUS_FAILED, "error": error})


def requeue_expired() -> tuple[list[str], list[str]]:
    """Re-queue the tasks whose claim lapsed; fail those out of attempts.

    Returns the ids re-queued and the ids failed. HDEL decides which of
    several workers reaping at once handles a task: only one of them removes
    it. The processing hash holds at most one entry per worker, so reading it
    whole is cheap.
    """
    client = get_client()
    settings = get_settings()
    now = time.time()
    requeued: list[str] = []
    failed: list[str] = []
    for task_id, deadline in client.hgetall(PROCESSING).items():
        if float(deadline) > now or not client.hdel(PROCESSING, task_id):
            continue
        fields = client.hmget(_task_key(task_id), ["score", "attempts"])
        if fields[0] is None:
            continue
        attempts = int(fields[1] or 0)
        if attempts >= settings.max_attempts:
            fail(task_id, f"not finished after {attempts} attempts")
            failed.append(task_id)
            continue
        client.hset(_task_key(task_id), "status", STATUS_QUEUED)
        client.zadd(QUEUE, {task_id: int(fields[0])})
        requeued.append(task_id)
    return requeued, failed


def owner_of(task_id: str) -> str:
    """The user who submitted a task, or "" if none or unknown."""
    return get_client().hget(_task_key(task_id), "owner") or ""
