"""Typed errors with an HTTP status, a stable code and a user-safe message.

Every error says what is wrong and, where possible, how to fix it. The API renders
them once as ``application/problem+json``; the CLI prints ``message`` on one line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class TweelingError(Exception):
    """Base class: ``message`` is safe to show to users (no SQL, no paths of the server)."""

    message: str
    status: int = 500
    code: str = "internal-error"
    title: str = "Internal error"
    invalid_params: list[dict[str, Any]] = field(default_factory=list)

    def __str__(self) -> str:
        return self.message


class InvalidInputError(TweelingError):
    """The caller sent something we cannot use (bad file, bad parameter)."""

    def __init__(self, message: str, *, invalid_params: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message, 400, "invalid-input", "Invalid input", invalid_params or [])


class NotFoundError(TweelingError):
    """A layer, feature or file that does not exist."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 404, "not-found", "Not found")


class StoreError(TweelingError):
    """The store could not be reached or refused an operation."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 503, "store-unavailable", "Store unavailable")


class ConfigurationError(TweelingError):
    """Settings that cannot work (unknown store URL scheme, insecure production default)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 500, "configuration-error", "Configuration error")


class AuthenticationError(TweelingError):
    """No valid identity: a missing, malformed, expired, forged or revoked token, or a wrong password."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 401, "unauthenticated", "Authentication required")


class PermissionDeniedError(TweelingError):
    """An identified caller whose roles do not allow the action (the policy's reason is the message)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 403, "forbidden", "Forbidden")


class ConflictError(TweelingError):
    """The request is valid but the state does not allow it (e.g. no approved review yet)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 409, "conflict", "Conflict")


class TooManyRequestsError(TweelingError):
    """Too many attempts (login throttling); ``retry_after_s`` says when to try again."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message, 429, "too-many-requests", "Too many requests")
        self.retry_after_s = retry_after_s
