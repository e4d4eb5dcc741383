"""Option values the commands share."""

from __future__ import annotations

import datetime as dt

import click

from ..models import LARGEST_ID


def day(value: str | None) -> dt.date | None:
    """A YYYY-MM-DD option's date; a usage error for anything else."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 1960-04-30") from None


def screening_number(value: str) -> int:
    """A screening's number, given as 12 or as its reference S-000012."""
    text = value.strip().upper().removeprefix("S-")
    if not (text.isascii() and text.isdigit() and 0 < int(text) <= LARGEST_ID):
        raise click.BadParameter(f"{value!r} is not a screening number like 12 or S-000012")
    return int(text)
