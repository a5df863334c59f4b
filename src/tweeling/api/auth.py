"""Routes: logging in (OAuth2 password grant), one's own token, and users with their roles.

- ``POST /v1/auth/token``: form ``grant_type=password&username=…&password=…`` -> ``{"access_token",
  "token_type": "bearer", "expires_in", "roles"}``; 401 on bad credentials, 429 (``Retry-After``)
  while throttled.
- ``GET /v1/auth/me``: who the caller is (subject, roles, expiry, clearance).
- ``POST /v1/auth/revoke``: revoke the caller's own token (log out).
- Administrators: ``GET|POST /v1/users``, ``GET|PATCH /v1/users/{username}``,
  ``POST /v1/users/{username}/revoke-tokens``.

Authentication itself happens in the access middleware (``tweeling.api.access``); the
``OAuth2PasswordBearer`` here only declares the scheme, so that the API docs offer a login form.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Security
from fastapi.responses import JSONResponse, Response
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestFormStrict
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from starlette.concurrency import run_in_threadpool

from tweeling.api.access import principal_of, requires
from tweeling.governance.identity import User
from tweeling.governance.roles import Action, Classification, Role
from tweeling.services.governance import Governance

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class NewUser(BaseModel):
    """A user to create."""

    model_config = ConfigDict(extra="forbid")
    username: str = Field(
        description="2-64 lower-case letters, digits, '.', '_', '-'", examples=["anna.devries"]
    )
    password: SecretStr = Field(description="at least 12 characters")
    roles: list[Role] = Field(default_factory=list, description="roles besides public")


class UserChange(BaseModel):
    """A change of a user's roles and/or disabled flag (a change of roles ends the user's tokens)."""

    model_config = ConfigDict(extra="forbid")
    roles: list[Role] | None = Field(default=None, description="the new roles (replacing the old ones)")
    disabled: bool | None = Field(default=None, description="true: the user can no longer log in")


def _client(request: Request) -> str:
    """The client's address as the server sees it (a proxy's address behind a proxy)."""
    return request.client.host if request.client else "unknown"


def build_auth_router(governance: Governance, base_path: str) -> APIRouter:
    """The routes above, over the deployment's identity service."""
    identity = governance.identity
    router = APIRouter(prefix=base_path, tags=["Identity and users"])
    declared = OAuth2PasswordBearer(
        tokenUrl=f"{base_path}/auth/token",
        scheme_name="Tweeling login",
        description="Log in with a user name and password (client id and secret stay empty).",
        auto_error=False,
    )
    secured = [Security(declared)]

    def user_document(request: Request, user: User) -> dict[str, Any]:
        href = str(request.base_url).rstrip("/") + f"{base_path}/users/{user.username}"
        return {**user.public(), "links": [{"href": href, "rel": "self", "type": "application/json"}]}

    @router.post(
        "/auth/token",
        summary="Log in: OAuth2 password grant",
        responses={401: {"description": "Wrong user name or password"}, 429: {"description": "Throttled"}},
    )
    @requires(Action.AUTHENTICATE)
    async def token(
        request: Request, form: Annotated[OAuth2PasswordRequestFormStrict, Depends()]
    ) -> JSONResponse:
        login = await run_in_threadpool(identity.login, form.username, form.password, _client(request))
        body = {
            "access_token": login.issued.token,
            "token_type": "bearer",
            "expires_in": max(0, int(login.issued.expires_at - time.time())),
            "roles": sorted(str(role) for role in login.roles),
        }
        return JSONResponse(body, headers=NO_STORE)

    @router.get("/auth/me", summary="Who the caller is", dependencies=secured)
    @requires(Action.AUTHENTICATE)
    def me(request: Request) -> JSONResponse:
        principal = principal_of(request)
        body = {
            "subject": principal.subject,
            "issuer": None if principal.is_anonymous else principal.issuer,
            "roles": sorted(str(role) for role in principal.roles),
            "expires_at": principal.expires_at,
            "clearance": str(principal.clearance),
        }
        return JSONResponse(body, headers=NO_STORE)

    @router.post(
        "/auth/revoke",
        summary="Revoke the caller's own token (log out)",
        status_code=204,
        dependencies=secured,
    )
    @requires(Action.AUTHENTICATE)
    def revoke(request: Request) -> Response:
        identity.revoke(principal_of(request))
        return Response(status_code=204, headers=NO_STORE)

    @router.get("/users", summary="List the users", dependencies=secured)
    @requires(Action.ADMINISTER, Classification.INTERNAL)
    def list_users(request: Request) -> dict[str, Any]:
        return {"users": [user_document(request, user) for user in identity.list_users()]}

    @router.post("/users", summary="Create a user", status_code=201, dependencies=secured)
    @requires(Action.ADMINISTER, Classification.INTERNAL)
    async def create_user(request: Request, new: NewUser) -> JSONResponse:
        user = await run_in_threadpool(
            lambda: identity.create_user(
                new.username, new.password.get_secret_value(), new.roles, actor=principal_of(request)
            )
        )
        document = user_document(request, user)
        return JSONResponse(document, status_code=201, headers={"Location": document["links"][0]["href"]})

    @router.get("/users/{username}", summary="One user", dependencies=secured)
    @requires(Action.ADMINISTER, Classification.INTERNAL)
    def get_user(request: Request, username: str) -> dict[str, Any]:
        return user_document(request, identity.user(username))

    @router.patch("/users/{username}", summary="Change a user's roles or disable them", dependencies=secured)
    @requires(Action.ADMINISTER, Classification.INTERNAL)
    def change_user(request: Request, username: str, change: UserChange) -> dict[str, Any]:
        user = identity.update_user(
            username, role_names=change.roles, disabled=change.disabled, actor=principal_of(request)
        )
        return user_document(request, user)

    @router.post(
        "/users/{username}/revoke-tokens", summary="Revoke every token of a user", dependencies=secured
    )
    @requires(Action.ADMINISTER, Classification.INTERNAL)
    def revoke_user_tokens(request: Request, username: str) -> dict[str, Any]:
        return user_document(request, identity.revoke_user_tokens(username, actor=principal_of(request)))

    return router
