"""Access tokens: the twin's own signed JWTs (HS256) with subject, roles, expiry and a token id for
revocation, and the verification of an external OpenID Connect provider's tokens (RS256/ES256)."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from tweeling.core.errors import AuthenticationError, ConfigurationError
from tweeling.governance.roles import Principal, Role

ALGORITHM = "HS256"

OIDC_ALGORITHMS = ("RS256", "ES256")
"""Signing algorithms accepted from an OpenID Connect provider: asymmetric only, so that a token
signed with a public key as an HMAC secret (algorithm confusion) or unsigned (``none``) never passes."""

OIDC_LEEWAY_S = 30
"""Clock difference (s) tolerated between the provider and the twin for ``exp``/``iat``/``nbf``."""


@dataclass(frozen=True)
class IssuedToken:
    """A new access token and what a client needs to know about it."""

    token: str
    token_id: str
    expires_at: float
    """Seconds since the epoch."""


def unverified_claims(token: str) -> dict[str, Any]:
    """The claims of ``token`` without checking its signature: only to choose how to verify it."""
    try:
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError as error:
        raise AuthenticationError("the access token is not valid") from error
    return claims


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
        """A signed token for ``subject`` with ``roles``, valid ``ttl_s`` seconds (default the service's).

        ``iat`` keeps its fraction of a second, so that a token issued right after a user's tokens
        were revoked (``tokens_not_before``) is told apart from one issued right before."""
        now = time.time()
        token_id = secrets.token_urlsafe(16)
        expires_at = now + (ttl_s if ttl_s is not None else self.ttl_s)
        payload: dict[str, Any] = {
            **(claims or {}),
            "iss": self.issuer,
            "sub": subject,
            "roles": sorted(str(role) for role in roles),
            "iat": now,
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

    def principal(self, payload: Mapping[str, Any]) -> Principal:
        """The principal of verified ``payload`` (from :meth:`claims`)."""
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

    def verify(self, token: str) -> Principal:
        """The principal of a valid token (revocation is checked by the identity service)."""
        return self.principal(self.claims(token))


def claim_at(claims: Mapping[str, Any], dotted: str) -> Any:
    """The value at a dotted path of nested claims (``realm_access.roles``); None if absent."""
    value: Any = claims
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def map_roles(names: Any, role_map: Mapping[str, Role]) -> frozenset[Role]:
    """Twin roles for the provider's role names (a list, or one space-separated string): mapped through
    ``role_map``, else kept when equal to a twin role; other names are ignored."""
    if isinstance(names, str):
        names = names.split()
    if not isinstance(names, list):
        return frozenset()
    twin = {str(role) for role in Role}
    roles = set()
    for name in names:
        if not isinstance(name, str):
            continue
        if name in role_map:
            roles.add(role_map[name])
        elif name in twin:
            roles.add(Role(name))
    return frozenset(roles)


class OidcVerifier:
    """Verifies tokens of one external OpenID Connect provider against its published keys.

    ``jwks`` is a JWKS file (re-read when it changes) or the provider's ``jwks_uri`` (https; the key
    set is fetched on demand and cached five minutes by PyJWT). Only RS256 and ES256 are accepted,
    the audience must match, and roles come from ``roles_claim`` mapped through ``role_map``.
    """

    def __init__(
        self,
        *,
        issuer: str,
        audience: str | None,
        jwks: str | None,
        roles_claim: str = "roles",
        role_map: Mapping[str, str] | None = None,
    ) -> None:
        if not audience:
            raise ConfigurationError(
                "oidc_issuer is set but oidc_audience is not: set it to the twin's client id at the provider"
            )
        if not jwks:
            raise ConfigurationError(
                "oidc_issuer is set but oidc_jwks is not: set it to the provider's jwks_uri or a JWKS file"
            )
        if jwks.startswith("http://"):
            raise ConfigurationError("oidc_jwks must be an https URL (or a file path)")
        self.issuer = issuer
        self.audience = audience
        self.roles_claim = roles_claim
        try:
            self.role_map = {name: Role(role) for name, role in (role_map or {}).items()}
        except ValueError as error:
            raise ConfigurationError(f"oidc_role_map names an unknown twin role: {error}") from error
        self._client = (
            jwt.PyJWKClient(jwks, lifespan=300, timeout=10) if jwks.startswith("https://") else None
        )
        self._file = None if self._client is not None else Path(jwks)
        self._keys: jwt.PyJWKSet | None = None
        self._keys_mtime = 0.0
        self._lock = threading.Lock()

    def claims_issuer(self, token: str) -> bool:
        """Whether ``token`` says it comes from this provider (unverified: it only routes verification)."""
        return unverified_claims(token).get("iss") == self.issuer

    def _key_from_file(self, kid: str | None) -> jwt.PyJWK:
        assert self._file is not None
        with self._lock:
            try:
                mtime = self._file.stat().st_mtime
                if self._keys is None or mtime != self._keys_mtime:
                    self._keys = jwt.PyJWKSet.from_json(self._file.read_text())
                    self._keys_mtime = mtime
            except (OSError, jwt.PyJWKSetError) as error:
                raise AuthenticationError("the identity provider's keys could not be read") from error
            keys = self._keys
        if kid is not None:
            try:
                return keys[kid]
            except KeyError:
                raise AuthenticationError("the access token names an unknown signing key") from None
        if len(keys.keys) == 1:
            return keys.keys[0]
        raise AuthenticationError("the access token names no signing key (kid)")

    def _key(self, token: str, kid: str | None) -> jwt.PyJWK:
        if self._client is None:
            return self._key_from_file(kid)
        try:
            return self._client.get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError as error:
            raise AuthenticationError("the identity provider's keys could not be fetched") from error
        except jwt.PyJWKClientError as error:
            raise AuthenticationError("the access token names an unknown signing key") from error

    def verify(self, token: str) -> Principal:
        """The principal of a valid provider token; AuthenticationError if forged, expired, for another
        audience or signed with an algorithm other than RS256/ES256."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as error:
            raise AuthenticationError("the access token is not valid") from error
        if header.get("alg") not in OIDC_ALGORITHMS:
            raise AuthenticationError(
                f"the access token is not valid: the provider's tokens must be signed with "
                f"{' or '.join(OIDC_ALGORITHMS)}"
            )
        key = self._key(token, header.get("kid"))
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=list(OIDC_ALGORITHMS),
                audience=self.audience,
                issuer=self.issuer,
                leeway=OIDC_LEEWAY_S,
                options={"require": ["exp", "iss", "sub", "aud"]},
            )
        except jwt.ExpiredSignatureError as error:
            raise AuthenticationError("the access token has expired; log in again") from error
        except jwt.InvalidAudienceError as error:
            raise AuthenticationError("the access token is not meant for this service (audience)") from error
        except jwt.InvalidTokenError as error:
            raise AuthenticationError("the access token is not valid") from error
        subject = claims.get("preferred_username") or claims["sub"]
        token_id = claims.get("jti") or hashlib.sha256(token.encode()).hexdigest()[:32]
        return Principal(
            subject=str(subject),
            roles=map_roles(claim_at(claims, self.roles_claim), self.role_map) | {Role.PUBLIC},
            token_id=str(token_id),
            issuer=self.issuer,
            expires_at=float(claims["exp"]),
        )
