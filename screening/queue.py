"""The task queue's wiring: huey, configured from SCREENING_QUEUE.

- `memory`: jobs wait in the process until something runs them (`run_pending`: the tests);
- `sqlite:///path`: a file on this machine, shared by the development server's embedded worker
  and the command line (`make run`);
- `redis://host:6379/0`: production; any number of `screening worker` processes, on any machines,
  next to `screening serve`.

The database stays the source of truth: a job is a nudge to do now what a periodic sweep would
otherwise find (domain.jobs). Every job runs inside the application's context.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app
from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey
from sqlalchemy import event
from sqlalchemy.orm import Session

from .extensions import db

log = logging.getLogger(__name__)
NAME = "screening"
_EXTENSION = "screening.queue"
_PENDING = "screening.queue.after_commit"


def make_huey(url: str) -> Huey:
    if url == "memory":
        return MemoryHuey(NAME, results=False)
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(NAME, filename=str(path), results=False)
    return RedisHuey(NAME, url=url, results=False)


@dataclass
class Queue:
    huey: Huey
    jobs: dict[str, Any] = field(default_factory=dict)  # name -> huey's task
    at_start: list[str] = field(default_factory=list)  # periodic jobs a starting worker queues


def init_app(app: Flask) -> Queue:
    queue = app.extensions[_EXTENSION] = Queue(make_huey(app.config["SCREENING_QUEUE"]))
    return queue


def of(app: Flask | None = None) -> Queue:
    return (app or current_app).extensions[_EXTENSION]


def register(
    app: Flask,
    name: str,
    function: Callable[..., Any],
    *,
    every: Any = None,
    at_start: bool = False,
    **options: Any,
) -> None:
    """`function` as the job `name`, run in `app`'s context; `every`: a huey crontab for a
    periodic job, `at_start`: also run once when a worker starts (`catch_up`); `options`:
    huey's (retries, retry_delay, retry_backoff)."""
    queue = of(app)

    @functools.wraps(function)
    def run(*args: Any) -> Any:
        with app.app_context():
            return function(*args)

    if every is None:
        queue.jobs[name] = queue.huey.task(name=name, **options)(run)
    else:
        queue.jobs[name] = queue.huey.periodic_task(every, name=name, **options)(run)
        if at_start:
            queue.at_start.append(name)


def catch_up(app: Flask) -> None:
    """Queue the periodic jobs marked `at_start`: a worker that starts does at once what was
    left while none ran, rather than at the next period."""
    with app.app_context():
        for name in of(app).at_start:
            enqueue(name)


def enqueue(name: str, *args: Any) -> bool:
    """Queue the job `name`; False, logged, when the queue cannot be reached: the periodic sweep
    does the work later (the database says what is still to do)."""
    try:
        of().jobs[name](*args)
    except Exception as exc:  # the queue's own storage errors (Redis away, a locked file)
        log.warning("could not queue %s: %s", name, type(exc).__name__)
        return False
    return True


def after_commit(name: str, *args: Any) -> None:
    """Queue the job `name` once the current transaction commits: a worker never looks for a
    row that is not there yet, and nothing is queued for work that was rolled back."""
    db.session.info.setdefault(_PENDING, []).append((name, args))


@event.listens_for(Session, "after_commit")
def _queue_committed(session: Session) -> None:
    for name, args in session.info.pop(_PENDING, []):
        enqueue(name, *args)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)


def run_pending(app: Flask) -> int:
    """Run every queued job now, in this process (the tests' `memory` queue); how many ran."""
    huey = of(app).huey
    ran = 0
    while (task := huey.dequeue()) is not None:
        huey.execute(task)
        ran += 1
    return ran


def describe(url: str) -> str:
    """The queue's address for a log line, without a password."""
    parts = urlsplit(url)
    return url if not parts.password else url.replace(parts.password, "***")
