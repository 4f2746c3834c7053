"""Times as aware UTC. No clock here: the domain is given its times (the workflow's, or the caller's)."""

from __future__ import annotations

from datetime import UTC, datetime


def as_utc(moment: datetime) -> datetime:
    """The same instant as an aware UTC time; a naive time (SQLite gives those back) is taken as UTC."""
    if moment.tzinfo is UTC:  # the common case, first: audit verification calls this per event
        return moment
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
