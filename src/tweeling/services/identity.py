"""Identity: who a request acts for; logging in, revoking tokens, and managing users and roles.

The API and the command line call the same functions here; every change and every login attempt is
written to the audit trail.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from tweeling.core.errors import AuthenticationError, ConflictError, InvalidInputError, TooManyRequestsError
from tweeling.governance.audit import AuditLog
from tweeling.governance.identity import (
    USERNAME,
    LoginThrottle,
    TokenDenylist,
    User,
    UserStore,
    check_username,
    parse_roles,
)
from tweeling.governance.roles import ANONYMOUS, Principal, Role
from tweeling.governance.tokens import IssuedToken, OidcVerifier, TokenService
from tweeling.services.settings import Settings, secret_key

BAD_CREDENTIALS = "wrong user name or password"
"""The one message for an unknown user, a wrong password and a disabled account."""


@dataclass(frozen=True)
class Login:
    """A successful login: the token and the roles it carries (with ``public``)."""

    issued: IssuedToken
    roles: frozenset[Role]


def _role_names(roles: Iterable[Role]) -> list[str]:
    return sorted(str(role) for role in roles)


class IdentityService:
    """Authenticates requests, logs users in and manages users; one per application or command."""

    def __init__(self, settings: Settings, audit: AuditLog) -> None:
        self.settings = settings
        self.audit = audit
        self.tokens = TokenService(secret_key(settings, "token"), ttl_s=settings.token_ttl_s)
        self.users = UserStore(settings.data_dir)
        self.denylist = TokenDenylist(settings.data_dir)
        self.throttle = LoginThrottle(settings.login_max_failures, settings.login_lockout_s)
        self.oidc = (
            OidcVerifier(
                issuer=settings.oidc_issuer,
                audience=settings.oidc_audience,
                jwks=settings.oidc_jwks,
                roles_claim=settings.oidc_roles_claim,
                role_map=settings.oidc_role_map,
            )
            if settings.oidc_issuer
            else None
        )

    # -- requests -------------------------------------------------------------------------------

    def authenticate(self, authorization: str | None) -> Principal:
        """The principal of an ``Authorization`` header value; the public when there is none.

        ``Basic`` credentials are OAuth2 client authentication at the token endpoint (what the
        API docs' login form sends); the twin has no confidential clients, so they identify nobody.
        AuthenticationError for any other scheme and for malformed, expired, forged or revoked
        tokens, tokens of a disabled user, tokens issued before the user's tokens were revoked or
        their roles changed, and tokens with roles the user no longer has."""
        if not authorization or not authorization.strip():
            return ANONYMOUS
        scheme, _, credentials = authorization.strip().partition(" ")
        if scheme.lower() == "basic":
            return ANONYMOUS
        token = credentials.strip()
        if scheme.lower() != "bearer" or not token:
            raise AuthenticationError("use 'Authorization: Bearer <access token>'")
        if self.oidc is not None and self.oidc.claims_issuer(token):
            principal = self.oidc.verify(token)
            self._check_not_revoked(principal)
            return principal
        claims = self.tokens.claims(token)
        principal = self.tokens.principal(claims)
        self._check_not_revoked(principal)
        issued_at = float(claims["iat"])
        user = self.users.get(principal.subject)
        if user is None:
            if issued_at < self.denylist.subject_not_before(principal.subject):
                raise AuthenticationError("the access token has been revoked")
            return principal
        if user.disabled:
            raise AuthenticationError("the account of this access token is disabled")
        if issued_at < user.tokens_not_before:
            raise AuthenticationError("the access token has been revoked; log in again")
        if not (principal.roles - {Role.PUBLIC}) <= user.roles:
            raise AuthenticationError("the roles of this access token have changed; log in again")
        return principal

    def _check_not_revoked(self, principal: Principal) -> None:
        if principal.token_id is not None and self.denylist.is_revoked(principal.token_id):
            raise AuthenticationError("the access token has been revoked")

    # -- logging in and out ---------------------------------------------------------------------

    def login(self, username: str, password: str, client: str) -> Login:
        """A token for ``username`` if ``password`` is right; audited.

        AuthenticationError (one message for unknown user, wrong password and disabled account;
        an unknown user costs the same time as a known one) or TooManyRequestsError while the
        user name is throttled for ``client`` (the client's address)."""
        name = username.strip().lower()[:128]
        try:
            self.throttle.check(name, client)
        except TooManyRequestsError as error:
            self._audit_login(
                name, "login-throttled", "denied", client, f"retry after {error.retry_after_s} s"
            )
            raise
        user = self.users.get(name) if USERNAME.fullmatch(name) else None
        if user is None:
            self.users.hashing.verify_dummy(password)
            reason = "unknown user"
        elif not self.users.hashing.verify(user.password_hash, password):
            reason = "wrong password"
        elif user.disabled:
            reason = "account disabled"
        else:
            reason = ""
        if user is None or reason:
            self.throttle.failure(name, client)
            self._audit_login(name, "login-failed", "denied", client, reason)
            raise AuthenticationError(BAD_CREDENTIALS)
        self.throttle.success(name, client)
        if self.users.hashing.needs_rehash(user.password_hash):
            self.users.set_password_hash(user.username, self.users.hashing.hash(password))
        issued = self.tokens.issue(user.username, user.roles)
        roles = user.roles | {Role.PUBLIC}
        self.audit.append(
            actor=user.username,
            roles=_role_names(roles),
            action="login",
            target=f"user:{user.username}",
            details={"client": client, "token_id": issued.token_id},
        )
        return Login(issued, roles)

    def _audit_login(self, name: str, action: str, outcome: str, client: str, reason: str) -> None:
        self.audit.append(
            actor=name or "(empty)",
            roles=[],
            action=action,
            target=f"user:{name}",
            outcome=outcome,
            details={"client": client, "reason": reason},
        )

    def revoke(self, principal: Principal) -> None:
        """Revoke the caller's own token (log out); AuthenticationError for the public."""
        if principal.is_anonymous or principal.token_id is None:
            raise AuthenticationError("there is no token to revoke: send the access token to revoke")
        self.denylist.revoke(principal.token_id, principal.expires_at)
        self.audit.append(
            actor=principal.subject,
            roles=_role_names(principal.roles),
            action="token-revoked",
            target=f"token:{principal.token_id}",
            details={"subject": principal.subject, "scope": "this token"},
        )

    def issue_service_token(
        self, subject: str, role_names: Iterable[str], *, ttl_s: int, actor: Principal
    ) -> IssuedToken:
        """A token for a machine client (sensor simulator, batch job): a subject without a password.

        A subject that is also a user gets only roles the user has (others would be refused)."""
        check_username(subject)
        if ttl_s <= 0:
            raise InvalidInputError("the token lifetime must be at least 1 second")
        roles = parse_roles(role_names)
        user = self.users.get(subject)
        if user is not None and not roles <= user.roles:
            raise ConflictError(
                f"{subject!r} is a user with roles {', '.join(_role_names(user.roles)) or 'none'}; "
                "a token with other roles would be refused"
            )
        issued = self.tokens.issue(subject, roles, ttl_s=ttl_s)
        self.audit.append(
            actor=actor.subject,
            roles=_role_names(actor.roles),
            action="login",
            target=f"subject:{subject}",
            details={
                "method": "service-token",
                "roles": _role_names(roles),
                "token_id": issued.token_id,
                "ttl_s": ttl_s,
            },
        )
        return issued

    # -- users ----------------------------------------------------------------------------------

    def list_users(self) -> list[User]:
        """All users, by name."""
        return self.users.all()

    def user(self, username: str) -> User:
        """One user; NotFoundError if there is none."""
        return self.users.require(username)

    def create_user(
        self, username: str, password: str, role_names: Iterable[str], *, actor: Principal
    ) -> User:
        """A new user with ``roles``; audited as ``user-created``."""
        user = self.users.create(check_username(username), password, parse_roles(role_names))
        self.audit.append(
            actor=actor.subject,
            roles=_role_names(actor.roles),
            action="user-created",
            target=f"user:{user.username}",
            details={"roles": _role_names(user.roles)},
        )
        return user

    def update_user(
        self,
        username: str,
        *,
        role_names: Iterable[str] | None = None,
        disabled: bool | None = None,
        actor: Principal,
    ) -> User:
        """Change a user's roles and/or disable or enable them; audited as ``roles-changed`` and
        ``user-disabled``. A change of roles refuses the user's earlier tokens."""
        if role_names is None and disabled is None:
            raise InvalidInputError("nothing to change: give roles and/or disabled")
        roles = parse_roles(role_names) if role_names is not None else None
        before, after = self.users.update(username, roles=roles, disabled=disabled)
        if after.roles != before.roles:
            self.audit.append(
                actor=actor.subject,
                roles=_role_names(actor.roles),
                action="roles-changed",
                target=f"user:{after.username}",
                details={"old": _role_names(before.roles), "new": _role_names(after.roles)},
            )
        if after.disabled != before.disabled:
            self.audit.append(
                actor=actor.subject,
                roles=_role_names(actor.roles),
                action="user-disabled",
                target=f"user:{after.username}",
                details={"disabled": after.disabled},
            )
        return after

    def revoke_user_tokens(self, username: str, *, actor: Principal) -> User:
        """Refuse every token of a user issued until now; audited as ``token-revoked``."""
        user = self.users.revoke_tokens(username)
        self._audit_all_revoked(user.username, actor)
        return user

    def revoke_subject_tokens(self, subject: str, *, actor: Principal) -> User | None:
        """Refuse every token of ``subject`` issued until now: a user's (returned), or else a service
        subject's (None)."""
        if self.users.get(check_username(subject)) is not None:
            return self.revoke_user_tokens(subject, actor=actor)
        self.denylist.revoke_subject(subject)
        self._audit_all_revoked(subject, actor)
        return None

    def _audit_all_revoked(self, subject: str, actor: Principal) -> None:
        self.audit.append(
            actor=actor.subject,
            roles=_role_names(actor.roles),
            action="token-revoked",
            target=f"subject:{subject}",
            details={"subject": subject, "scope": "all tokens", "not_before": time.time()},
        )
