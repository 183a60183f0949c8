"""Tasks from the API through real worker processes."""

import signal
import time

import valkey
from fastapi.testclient import TestClient

from app import task_queue

from .helpers import stop_process, wait_for


def submit(client: TestClient, auth, task_type: str, payload: dict, priority: int = 5) -> str:
    response = client.post(
        "/tasks", headers=auth, json={"type": task_type, "payload": payload, "priority": priority}
    )
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "queued"
    return response.json()["id"]


def finished(client: TestClient, auth, task_id: str, timeout: float = 15) -> dict:
    def done() -> dict | None:
        task = client.get(f"/tasks/{task_id}", headers=auth).json()
        return task if task["status"] in ("completed", "failed") else None

    return wait_for(done, timeout=timeout, interval=0.05)


def test_task_is_processed_by_a_worker(
    client: TestClient, users, start_worker, db: valkey.Valkey
) -> None:
    auth = users.signup("alice")
    task_id = submit(client, auth, "word_count", {"text": "to be or\nnot to be"})
    start_worker()
    task = finished(client, auth, task_id)
    assert task["status"] == "completed"
    assert task["result"] == {"lines": 2, "words": 6, "characters": 18}
    assert task["attempts"] == 1
    assert task["created_at"] <= task["started_at"] <= task["finished_at"]
    assert 590 < db.ttl(f"task:{task_id}") <= 600  # TASK_RESULT_TTL
    assert db.zcard(task_queue.QUEUE) == 0
    assert db.hlen(task_queue.PROCESSING) == 0
    # the owner is told
    kinds = [n["type"] for n in client.get("/notifications", headers=auth).json()]
    assert kinds == ["task_completed"]


def test_failures_are_recorded(client: TestClient, users, start_worker, db) -> None:
    auth = users.signup("alice")
    task_id = submit(client, auth, "word_count", {"txt": "typo"})
    start_worker()
    task = finished(client, auth, task_id)
    assert task["status"] == "failed"
    assert task["error"] == "KeyError: 'text'"
    assert task["result"] is None
    assert db.ttl(f"task:{task_id}") > 0
    notes = client.get("/notifications", headers=auth).json()
    assert [n["type"] for n in notes] == ["task_failed"]
    assert notes[0]["data"] == {"task_id": task_id}


def test_priorities_then_submission_order(client: TestClient, users, start_worker) -> None:
    auth = users.signup("alice")
    priorities = [5, 1, 9, 1, 0, 5]
    ids = []
    for priority in priorities:
        ids.append(submit(client, auth, "word_count", {"text": "x"}, priority))
        time.sleep(0.002)  # distinct enqueue milliseconds
    start_worker()
    tasks = [finished(client, auth, task_id) for task_id in ids]
    by_start = [t["id"] for t in sorted(tasks, key=lambda t: t["started_at"])]
    expected = [ids[i] for i in sorted(range(len(ids)), key=lambda i: (priorities[i], i))]
    assert by_start == expected


def test_tasks_are_validated_and_private(client: TestClient, users) -> None:
    alice = users.signup("alice")
    bob = users.signup("bob")
    assert client.post("/tasks", headers=alice, json={"type": "rm -rf"}).status_code == 422
    assert (
        client.post("/tasks", headers=alice, json={"type": "sleep", "priority": 10}).status_code
        == 422
    )
    assert client.post("/tasks", json={"type": "sleep"}).status_code == 401
    task_id = submit(client, alice, "sleep", {"seconds": 0})
    assert client.get(f"/tasks/{task_id}", headers=bob).status_code == 404
    assert client.get("/tasks/nonexistent", headers=alice).status_code == 404


def test_task_of_a_killed_worker_is_run_again(
    client: TestClient, users, start_worker, configure, db
) -> None:
    configure(VISIBILITY_TIMEOUT=2)
    auth = users.signup("alice")
    # long enough to be killed in the middle of it
    task_id = submit(client, auth, "sleep", {"seconds": 2.5})
    first = start_worker()
    wait_for(lambda: db.hexists(task_queue.PROCESSING, task_id), interval=0.01)
    first.kill()
    first.wait()
    # killed in the middle of the task, which is left in the processing hash
    assert db.hget(f"task:{task_id}", "status") == "processing"
    assert db.hexists(task_queue.PROCESSING, task_id)

    start_worker()
    task = finished(client, auth, task_id)
    assert task["status"] == "completed"
    assert task["attempts"] == 2
    assert task["result"] == {"slept": 2.5}
    assert db.hlen(task_queue.PROCESSING) == 0


def test_task_abandoned_too_often_fails(client: TestClient, users, start_worker, db) -> None:
    auth = users.signup("alice")
    task_id = submit(client, auth, "sleep", {"seconds": 0})
    # as if the third worker to take it had died long ago
    db.zrem(task_queue.QUEUE, task_id)
    db.hset(f"task:{task_id}", mapping={"status": "processing", "attempts": 3})
    db.hset(task_queue.PROCESSING, task_id, time.time() - 1)
    start_worker()
    task = finished(client, auth, task_id)
    assert task["status"] == "failed"
    assert task["error"] == "not finished after 3 attempts"
    assert db.hlen(task_queue.PROCESSING) == 0


def test_workers_share_the_queue_and_stop_gracefully(
    client: TestClient, users, start_worker, db
) -> None:
    auth = users.signup("alice")
    workers = {proc.pid: proc for proc in (start_worker(), start_worker())}
    slow = submit(client, auth, "sleep", {"seconds": 4})
    wait_for(lambda: db.hexists(task_queue.PROCESSING, slow))
    busy = workers.pop(int(db.hget(f"task:{slow}", "worker").rsplit(":", 1)[1]))
    (idle,) = workers.values()

    # while one worker is busy, the other takes the next task
    quick = finished(client, auth, submit(client, auth, "word_count", {"text": "hi"}))
    assert quick["status"] == "completed"
    assert db.hget(f"task:{quick['id']}", "worker").endswith(f":{idle.pid}")
    assert client.get(f"/tasks/{slow}", headers=auth).json()["status"] == "processing"

    # SIGTERM lets the running task finish instead of abandoning it
    stop_process(busy, signal.SIGTERM)
    assert busy.returncode == 0
    task = client.get(f"/tasks/{slow}", headers=auth).json()
    assert task["status"] == "completed" and task["attempts"] == 1
    stop_process(idle, signal.SIGTERM)
    assert idle.returncode == 0
