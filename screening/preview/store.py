"""The preview's answers: in this process's memory, one entry per browser session, never on disk.

The browser's (signed) session cookie holds only a random id. The answers themselves stay in the
process, not in the cookie: a long questionnaire's answers (free text up to 2000 characters a
question) outgrow a cookie's 4 KB, which browsers then silently drop. They are gone when the
preview stops, and the oldest sessions are forgotten past MAX_SESSIONS.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

MAX_SESSIONS = 64


@dataclass
class Answers:
    """One browser's answers (stored JSON values, as the database would keep them), the steps
    it finished, the clinic's entries of a loaded example, and that example's name."""

    values: dict[str, Any] = field(default_factory=dict)
    done: set[str] = field(default_factory=set)
    clinic: dict[str, Any] = field(default_factory=dict)
    example: str | None = None


class Store:
    def __init__(self, limit: int = MAX_SESSIONS):
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, Answers] = OrderedDict()
        self.limit = limit

    @staticmethod
    def new_id() -> str:
        return secrets.token_urlsafe(16)

    def get(self, key: str) -> Answers:
        """The answers of a session (new and empty for an id not seen, or forgotten)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                entry = self._entries[key] = Answers()
                while len(self._entries) > self.limit:
                    self._entries.popitem(last=False)
            self._entries.move_to_end(key)
            return entry

    def reset(self, key: str) -> Answers:
        with self._lock:
            entry = self._entries[key] = Answers()
            return entry
