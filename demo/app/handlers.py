"""The kinds of task a worker knows how to run.

A handler takes the task's payload and returns a JSON-serialisable result;
an exception marks the task failed with the exception as its error. The API
accepts only the task types listed in HANDLERS. Because delivery is
at-least-once, handlers must be safe to run twice for the same task.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

Handler = Callable[[dict[str, Any]], Any]

MAX_SLEEP_SECONDS = 60.0


def word_count(payload: dict[str, Any]) -> dict[str, int]:
    """Count the lines, words and characters of ``payload["text"]``."""
    text = payload["text"]
    if not isinstance(text, str):
        raise TypeError("text must be a string")
    return {"lines": len(text.splitlines()), "words": len(text.split()), "characters": len(text)}


def sleep(payload: dict[str, Any]) -> dict[str, float]:
    """Stand in for slow work: wait ``payload["seconds"]`` seconds."""
    seconds = float(payload["seconds"])
    if not 0 <= seconds <= MAX_SLEEP_SECONDS:
        raise ValueError(f"seconds must be between 0 and {MAX_SLEEP_SECONDS}")
    time.sleep(seconds)
    return {"slept": seconds}


HANDLERS: dict[str, Handler] = {"word_count": word_count, "sleep": sleep}
