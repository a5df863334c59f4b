"""The audit trail (placeholder interface; the hash-chained implementation replaces this)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any


class AuditLog:
    """Append-only audit trail at ``path``, chained with an HMAC under ``key``."""

    def __init__(self, path: Path, key: bytes) -> None:
        self.path = path
        self._key = key

    def append(
        self,
        *,
        actor: str,
        roles: Iterable[str],
        action: str,
        target: str,
        outcome: str = "ok",
        details: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Record one event; returns the stored entry."""
        return {}
