"""Identity: who a request acts for (placeholder: token verification only; users, login,
revocation, throttling and OpenID Connect come in the full implementation)."""

from __future__ import annotations

from tweeling.core.errors import AuthenticationError
from tweeling.governance.audit import AuditLog
from tweeling.governance.roles import ANONYMOUS, Principal
from tweeling.governance.tokens import TokenService
from tweeling.services.settings import Settings, secret_key


class IdentityService:
    """Authenticates requests; one per application."""

    def __init__(self, settings: Settings, audit: AuditLog) -> None:
        self.settings = settings
        self.audit = audit
        self.tokens = TokenService(secret_key(settings, "token"), ttl_s=settings.token_ttl_s)

    def authenticate(self, authorization: str | None) -> Principal:
        """The principal of an ``Authorization`` header value; the public when there is none."""
        if not authorization:
            return ANONYMOUS
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError("use 'Authorization: Bearer <access token>'")
        return self.tokens.verify(token.strip())
