"""ISO 8601 times as SensorThings and OGC APIs use them: instants and ``start/end`` intervals, in UTC.

A time without a UTC offset is refused rather than guessed: a sensor's local time is ambiguous
around the change to and from summer time.
"""

from __future__ import annotations

from datetime import UTC, datetime

from tweeling.core.errors import InvalidInputError


def parse_instant(text: object, what: str = "time") -> datetime:
    """An aware UTC datetime from an ISO 8601 string with ``Z`` or an offset."""
    if not isinstance(text, str):
        raise InvalidInputError(f"{what} must be an ISO 8601 string, got {type(text).__name__}")
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInputError(
            f"{what} {text!r} is not an ISO 8601 time (e.g. 2024-05-01T10:00:00Z)"
        ) from None
    if value.tzinfo is None:
        raise InvalidInputError(f"{what} {text!r} has no UTC offset; add Z or e.g. +02:00")
    return value.astimezone(UTC)


def parse_time_or_interval(text: object, what: str = "time") -> tuple[datetime, datetime | None]:
    """``(start, end)`` from an instant (``end`` None) or an ``start/end`` interval (start <= end)."""
    if isinstance(text, str) and "/" in text:
        first, _, second = text.partition("/")
        start, end = parse_instant(first, what), parse_instant(second, what)
        if end < start:
            raise InvalidInputError(f"{what} interval {text!r} ends before it starts")
        return start, end
    return parse_instant(text, what), None


def format_instant(value: datetime) -> str:
    """``2024-05-01T10:00:00.000Z``: UTC, milliseconds, as SensorThings servers write it."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def format_time_or_interval(start: datetime | None, end: datetime | None) -> str | None:
    """An instant, a ``start/end`` interval, or None when there is no start."""
    if start is None:
        return None
    if end is None:
        return format_instant(start)
    return f"{format_instant(start)}/{format_instant(end)}"


def now_stamp() -> str:
    """The current time as ``2026-11-23T15:04:05Z`` (UTC, seconds): for record timestamps."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
