"""The database's own column types and the small helpers around them: times stored in UTC on
every backend, JSON that is JSONB on PostgreSQL, names folded for searching, token hashes."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")

# The largest id a row can have (PostgreSQL's `integer`): a larger one is never looked up.
LARGEST_ID = 2**31 - 1


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(sa.TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


NAME_KEY_TYPE = sa.String(200).with_variant(sa.String(200, collation="C"), "postgresql")


def name_key(name: str) -> str:
    """A name as searched: lower case, single spaces."""
    return " ".join(name.lower().split())


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
