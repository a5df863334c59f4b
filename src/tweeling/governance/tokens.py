"""Access tokens: signed JWTs (HS256) with subject, roles, expiry and a token id for revocation."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from tweeling.core.errors import AuthenticationError
from tweeling.governance.roles import Principal, Role

ALGORITHM = "HS256"


@dataclass(frozen=True)
class IssuedToken:
    """A new access token and what a client needs to know about it."""

    token: str
    token_id: str
    expires_at: float
    """Seconds since the epoch."""


class TokenService:
    """Issues and verifies the twin's own tokens (the key is the deployment's token key)."""

    def __init__(self, key: bytes, *, ttl_s: int = 3600, issuer: str = "tweeling") -> None:
        if len(key) < 32:
            raise ValueError("the token key must be at least 32 bytes")
        self._key = key
        self.ttl_s = ttl_s
        self.issuer = issuer

    def issue(
        self,
        subject: str,
        roles: Iterable[Role],
        *,
        ttl_s: int | None = None,
        claims: Mapping[str, Any] | None = None,
    ) -> IssuedToken:
        """A signed token for ``subject`` with ``roles``, valid ``ttl_s`` seconds (default the service's)."""
        now = time.time()
        token_id = secrets.token_urlsafe(16)
        expires_at = now + (ttl_s if ttl_s is not None else self.ttl_s)
        payload: dict[str, Any] = {
            **(claims or {}),
            "iss": self.issuer,
            "sub": subject,
            "roles": sorted(str(role) for role in roles),
            "iat": int(now),
            "exp": int(expires_at),
            "jti": token_id,
        }
        token = jwt.encode(payload, self._key, algorithm=ALGORITHM)
        return IssuedToken(token, token_id, float(int(expires_at)))

    def claims(self, token: str) -> dict[str, Any]:
        """The verified claims of ``token``; AuthenticationError if forged, expired or malformed."""
        try:
            payload: dict[str, Any] = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                issuer=self.issuer,
                options={"require": ["exp", "iat", "sub", "jti", "iss"]},
            )
        except jwt.ExpiredSignatureError as error:
            raise AuthenticationError("the access token has expired; log in again") from error
        except jwt.InvalidTokenError as error:
            raise AuthenticationError("the access token is not valid") from error
        return payload

    def verify(self, token: str) -> Principal:
        """The principal of a valid token (revocation is checked by the identity service)."""
        payload = self.claims(token)
        try:
            roles = frozenset(Role(name) for name in payload.get("roles", []))
        except ValueError as error:
            raise AuthenticationError("the access token names an unknown role") from error
        return Principal(
            subject=str(payload["sub"]),
            roles=roles | {Role.PUBLIC},
            token_id=str(payload["jti"]),
            issuer=self.issuer,
            expires_at=float(payload["exp"]),
        )
