"""Users, passwords, token revocation and login throttling (logic and the files under ``data_dir``).

- Passwords are hashed with Argon2id (``argon2-cffi``'s defaults); a stored hash made with older
  parameters is replaced at the next successful login.
- Users are mutable records in ``<data_dir>/users/<id>/record.json``; the id is a hash of the user
  name (user names may hold '.', which document ids may not).
- Revoked tokens: one record per token id with its expiry in ``<data_dir>/revoked-tokens/`` (expired
  ones are pruned), and per subject a "not before" time: tokens issued earlier are refused (a user's
  in their record, a service subject's in ``<data_dir>/revoked-subjects/``). Every server process of
  one deployment reads the same files, so a revocation holds in all of them at once.
- Login throttling is kept in memory, per process (see :class:`LoginThrottle`).
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from tweeling.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    TooManyRequestsError,
)
from tweeling.governance.roles import Role
from tweeling.store.documents import DocumentStore

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
"""A user name (and service subject), matched with ``fullmatch`` (``$`` would let a final newline in)."""
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024


def check_username(name: str) -> str:
    """A valid user name: 2-64 lower-case letters, digits, '.', '_' or '-', not starting with a sign."""
    if not USERNAME.fullmatch(name):
        raise InvalidInputError(
            f"user name {name[:80]!r} is not valid: use 2-64 lower-case letters, digits, '.', '_' and '-', "
            "starting with a letter or digit",
            invalid_params=[{"name": "username", "reason": "invalid user name"}],
        )
    return name


def check_password(password: str) -> str:
    """A password long enough (at least 12 characters) and not absurdly long."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInputError(
            f"the password is too short: use at least {MIN_PASSWORD_LENGTH} characters (a passphrase)",
            invalid_params=[{"name": "password", "reason": "too short"}],
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInputError(
            f"the password is too long: use at most {MAX_PASSWORD_LENGTH} characters",
            invalid_params=[{"name": "password", "reason": "too long"}],
        )
    return password


def parse_roles(names: Iterable[str]) -> frozenset[Role]:
    """Roles by name (``public`` is implied and dropped); InvalidInputError naming an unknown one."""
    roles = set()
    for name in names:
        try:
            roles.add(Role(str(name).strip().lower()))
        except ValueError:
            known = ", ".join(str(role) for role in Role)
            raise InvalidInputError(
                f"unknown role {str(name)[:40]!r}; roles are: {known}",
                invalid_params=[{"name": "roles", "reason": "unknown role"}],
            ) from None
    return frozenset(roles - {Role.PUBLIC})


class PasswordHashing:
    """Argon2id hashing with a dummy verification for unknown users (same time as a real one)."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        self._dummy: str | None = None

    def hash(self, password: str) -> str:
        """The Argon2id hash of ``password`` (with its own random salt and the parameters)."""
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        """Whether ``password`` matches ``password_hash``."""
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def verify_dummy(self, password: str) -> None:
        """Spend the time of one verification, for a user who does not exist (no enumeration by timing)."""
        if self._dummy is None:
            self._dummy = self._hasher.hash("not-a-password-of-anyone")
        self.verify(self._dummy, password)

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether the hash was made with other parameters than the current ones."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True


_ROLE_NAMES = frozenset(str(role) for role in Role)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class User:
    """A user of the twin (the password hash never leaves this module's callers' process)."""

    username: str
    roles: frozenset[Role]
    """Roles besides ``public``, which everyone has."""
    password_hash: str = field(repr=False)
    disabled: bool = False
    tokens_not_before: float = 0.0
    """Tokens issued before this time (seconds since the epoch) are refused."""
    created: str = ""
    updated: str = ""

    def public(self) -> dict[str, Any]:
        """The record as the API and the command line show it: everything but the password hash."""
        return {
            "username": self.username,
            "roles": sorted(str(role) for role in self.roles),
            "disabled": self.disabled,
            "tokens_not_before": self.tokens_not_before,
            "created": self.created,
            "updated": self.updated,
        }

    def to_record(self) -> dict[str, Any]:
        """The stored form (with the hash)."""
        return {**self.public(), "password_hash": self.password_hash}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> User:
        """A user from its stored form."""
        return cls(
            username=str(record["username"]),
            roles=frozenset(Role(name) for name in record.get("roles", []) if name in _ROLE_NAMES),
            password_hash=str(record["password_hash"]),
            disabled=bool(record.get("disabled", False)),
            tokens_not_before=float(record.get("tokens_not_before", 0.0)),
            created=str(record.get("created", "")),
            updated=str(record.get("updated", "")),
        )

    @property
    def is_enabled_admin(self) -> bool:
        """Whether this user can administer the twin now."""
        return Role.ADMIN in self.roles and not self.disabled


def _record_id(name: str) -> str:
    """The document id of a subject's record: a hash, since names may hold characters ids may not."""
    return hashlib.sha256(name.encode()).hexdigest()[:40]


class UserStore:
    """The users of one deployment (``<data_dir>/users``)."""

    def __init__(self, data_dir: Path, hashing: PasswordHashing | None = None) -> None:
        self._documents = DocumentStore(data_dir, "users")
        self.hashing = hashing or PasswordHashing()
        self._lock = threading.Lock()

    def get(self, username: str) -> User | None:
        """The user called ``username``, or None (for any string: token subjects are not checked)."""
        try:
            return User.from_record(self._documents.record(_record_id(username)))
        except NotFoundError:
            return None

    def require(self, username: str) -> User:
        """The user called ``username``; NotFoundError if there is none."""
        user = self.get(check_username(username))
        if user is None:
            raise NotFoundError(f"no user called {username!r}")
        return user

    def all(self) -> list[User]:
        """All users, by name."""
        return sorted((User.from_record(r) for r in self._documents.records()), key=lambda u: u.username)

    def _put(self, user: User) -> User:
        self._documents.put_record(_record_id(user.username), user.to_record())
        return user

    def create(self, username: str, password: str, roles: Iterable[Role]) -> User:
        """A new user; ConflictError if the name is taken."""
        check_username(username)
        check_password(password)
        password_hash = self.hashing.hash(password)
        with self._lock:
            if self.get(username) is not None:
                raise ConflictError(f"a user called {username!r} already exists")
            now = _now_iso()
            user = User(
                username=username,
                roles=frozenset(roles) - {Role.PUBLIC},
                password_hash=password_hash,
                created=now,
                updated=now,
            )
            return self._put(user)

    def update(
        self, username: str, *, roles: Iterable[Role] | None = None, disabled: bool | None = None
    ) -> tuple[User, User]:
        """Change roles and/or the disabled flag; returns (before, after).

        A change of roles, or disabling, sets ``tokens_not_before`` to now, so that tokens issued with
        the old roles stop working at once. ConflictError when the change would leave no enabled
        administrator (the last one cannot demote or disable themselves)."""
        with self._lock:
            before = self.require(username)
            after = before
            if roles is not None:
                after = replace(after, roles=frozenset(roles) - {Role.PUBLIC})
            if disabled is not None:
                after = replace(after, disabled=disabled)
            if after == before:
                return before, before
            if before.is_enabled_admin and not after.is_enabled_admin:
                others = [u for u in self.all() if u.username != username and u.is_enabled_admin]
                if not others:
                    raise ConflictError(
                        f"{username!r} is the last enabled administrator; make another user admin first"
                    )
            if after.roles != before.roles or (after.disabled and not before.disabled):
                after = replace(after, tokens_not_before=time.time())
            return before, self._put(replace(after, updated=_now_iso()))

    def revoke_tokens(self, username: str) -> User:
        """Refuse every token of ``username`` issued until now."""
        with self._lock:
            user = self.require(username)
            return self._put(replace(user, tokens_not_before=time.time(), updated=_now_iso()))

    def set_password_hash(self, username: str, password_hash: str) -> None:
        """Store a new hash (a rehash with current parameters after a successful login)."""
        with self._lock:
            user = self.get(username)
            if user is not None:
                self._put(replace(user, password_hash=password_hash))


class TokenDenylist:
    """Revoked tokens by id until they expire, and per service subject a "not before" time.

    One small file per revoked token (``<data_dir>/revoked-tokens/<hash of the id>/record.json``):
    a revocation is one atomic write, safe with several server processes; checking is one file test.
    """

    def __init__(self, data_dir: Path, *, clock: Callable[[], float] = time.time) -> None:
        self._tokens = DocumentStore(data_dir, "revoked-tokens")
        self._subjects = DocumentStore(data_dir, "revoked-subjects")
        self._clock = clock

    def revoke(self, token_id: str, expires_at: float | None) -> None:
        """Refuse the token ``token_id`` from now on (kept until ``expires_at``, then pruned)."""
        self.prune()
        expiry = expires_at if expires_at is not None else self._clock() + 366 * 86400
        self._tokens.put_record(_record_id(token_id), {"expires_at": expiry})

    def is_revoked(self, token_id: str) -> bool:
        """Whether the token has been revoked."""
        return (self._tokens.folder / _record_id(token_id) / "record.json").is_file()

    def prune(self) -> int:
        """Forget revocations of tokens that have expired anyway; returns how many."""
        now = self._clock()
        pruned = 0
        for doc_id in self._tokens.ids():
            try:
                expired = float(self._tokens.record(doc_id).get("expires_at", 0)) < now
            except (NotFoundError, ValueError):
                continue
            if expired:
                try:
                    self._tokens.delete(doc_id)
                    pruned += 1
                except (NotFoundError, OSError):
                    continue
        return pruned

    def revoke_subject(self, subject: str) -> float:
        """Refuse every token of a service subject (one without a user record) issued until now."""
        now = self._clock()
        self._subjects.put_record(_record_id(subject), {"subject": subject, "tokens_not_before": now})
        return now

    def subject_not_before(self, subject: str) -> float:
        """Tokens of ``subject`` issued before this time are refused (0 when never revoked)."""
        try:
            return float(self._subjects.record(_record_id(subject)).get("tokens_not_before", 0.0))
        except NotFoundError:
            return 0.0


class LoginThrottle:
    """Failed logins per (user name, client address) and per user name, in memory of one process.

    After ``max_failures`` failures within ``window_s`` from one address for one user name, that
    address cannot log in as that user (not even with the right password) until the oldest of those
    failures is ``window_s`` old. Another address is not blocked by them, so that an attacker cannot
    lock a user out from everywhere; but ``per_user_factor`` × ``max_failures`` failures for one
    user name from any addresses block that name everywhere (a guessing attack spread over many
    addresses). A success resets the count of its (user name, address) pair.

    Kept in memory: with several server processes each counts its own attempts, so an attacker gets
    at most (processes × max_failures) guesses per window; a restart forgets the counts.
    """

    MAX_TRACKED = 100_000
    """Keys tracked before stale ones are swept (bounds the memory an attacker can fill)."""

    def __init__(
        self,
        max_failures: int,
        window_s: float,
        *,
        per_user_factor: int = 4,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max(1, max_failures)
        self.window_s = window_s
        self.per_user_limit = self.max_failures * max(1, per_user_factor)
        self._clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _keys(self, username: str, address: str) -> tuple[tuple[tuple[str, str], int], ...]:
        name = username[:128]
        return (((name, address[:128]), self.max_failures), ((name, ""), self.per_user_limit))

    def _recent(self, key: tuple[str, str], now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def retry_after(self, username: str, address: str) -> int | None:
        """Seconds until a login for ``username`` from ``address`` is allowed again; None if allowed now."""
        now = self._clock()
        waits = []
        with self._lock:
            for key, limit in self._keys(username, address):
                times = self._recent(key, now)
                if times is not None and len(times) >= limit:
                    waits.append(times[-limit] + self.window_s - now)
        return max(1, math.ceil(max(waits))) if waits else None

    def check(self, username: str, address: str) -> None:
        """TooManyRequestsError (with the seconds to wait) while logins are refused."""
        wait = self.retry_after(username, address)
        if wait is not None:
            raise TooManyRequestsError(f"too many failed logins; try again in {wait} s", retry_after_s=wait)

    def failure(self, username: str, address: str) -> None:
        """Count one failed login."""
        now = self._clock()
        with self._lock:
            if len(self._failures) >= self.MAX_TRACKED:
                for key in list(self._failures):
                    self._recent(key, now)
            for key, limit in self._keys(username, address):
                self._failures.setdefault(key, deque(maxlen=limit)).append(now)

    def success(self, username: str, address: str) -> None:
        """Forget the failures of this (user name, address) pair after a successful login."""
        with self._lock:
            self._failures.pop(self._keys(username, address)[0][0], None)
