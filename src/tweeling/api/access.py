"""Access control for every route: authenticate, ask the policy, audit, add security headers.

Each endpoint declares its policy with :func:`requires` right where it is defined; the
:class:`AccessControl` middleware finds the route a request goes to, authenticates the caller,
resolves the classification of what is asked for and lets the policy decide before anything else
runs (before the body is parsed). ``check_policies`` refuses to build an app with a route that has
no policy, so no route can be added without one.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from fastapi import FastAPI, Request
from fastapi.routing import iter_route_contexts
from starlette.convertors import Convertor
from starlette.routing import BaseRoute, Mount, Route, compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tweeling.core.errors import TweelingError
from tweeling.governance.policy import Decision, decide
from tweeling.governance.roles import ANONYMOUS, Action, Classification, Principal
from tweeling.services.governance import Governance

log = logging.getLogger("tweeling.api.access")

ClassifyFn = Callable[[Mapping[str, Any], Governance], Classification]
"""Classification of what a request asks for, from its path parameters (e.g. the collection id)."""

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])

POLICY_ATTRIBUTE = "__tweeling_policy__"


@dataclass(frozen=True)
class RoutePolicy:
    """What a route does (action) to data of which classification."""

    action: Action
    classification: Classification | ClassifyFn = Classification.OPEN

    def classify(self, path_params: Mapping[str, Any], governance: Governance) -> Classification:
        """The classification for one request."""
        if isinstance(self.classification, Classification):
            return self.classification
        return self.classification(path_params, governance)

    def describe(self) -> str:
        """One line for the OpenAPI description and the docs."""
        level = self.classification if isinstance(self.classification, Classification) else "per dataset"
        return f"Policy: {self.action} ({level})."


def requires(
    action: Action, classification: Classification | ClassifyFn = Classification.OPEN
) -> Callable[[Endpoint], Endpoint]:
    """Declare the policy of an endpoint; put it below the route decorator::

    @router.get("/things")
    @requires(Action.READ)
    def things(...): ...
    """

    def mark(endpoint: Endpoint) -> Endpoint:
        setattr(endpoint, POLICY_ATTRIBUTE, RoutePolicy(action, classification))
        return endpoint

    return mark


def collection_classification(path_params: Mapping[str, Any], governance: Governance) -> Classification:
    """Classification of the layer a features route names (from the dataset catalogue)."""
    return governance.dataset_classification(str(path_params.get("collection_id", "")))


PUBLIC_READ = RoutePolicy(Action.READ)

FRAMEWORK_ROUTES = frozenset({"openapi", "swagger_ui_html", "swagger_ui_redirect"})
"""FastAPI's own routes (OpenAPI document, its HTML docs): public."""


def policy_of(route: BaseRoute) -> RoutePolicy | None:
    """The declared policy of a route (mounted static apps and the framework's docs are public)."""
    if isinstance(route, Mount):
        return PUBLIC_READ
    endpoint = getattr(route, "endpoint", None)
    policy = getattr(endpoint, POLICY_ATTRIBUTE, None)
    if policy is None and isinstance(route, Route) and route.name in FRAMEWORK_ROUTES:
        return PUBLIC_READ
    return policy if isinstance(policy, RoutePolicy) else None


@dataclass(frozen=True)
class RouteEntry:
    """One route of the application as the middleware matches it: full path, methods, policy."""

    path: str
    methods: frozenset[str]
    """Empty for a mounted app (any method)."""
    policy: RoutePolicy | None
    pattern: re.Pattern[str]
    convertors: Mapping[str, Convertor[Any]]

    def match(self, path: str, method: str) -> tuple[bool, dict[str, Any]] | None:
        """None if the path does not match; else (method allowed, path parameters)."""
        found = self.pattern.match(path)
        if found is None:
            return None
        params = {key: self.convertors[key].convert(value) for key, value in found.groupdict().items()}
        return (not self.methods or method in self.methods), params


def route_table(app: FastAPI) -> list[RouteEntry]:
    """Every route of ``app`` (included routers flattened, in matching order) with its policy."""
    entries = []
    for context in iter_route_contexts(app.router.routes):
        route = context.original_route
        path = context.path or getattr(route, "path", "")
        if isinstance(route, Mount):
            pattern, _, convertors = compile_path(path.rstrip("/") + "/{rest:path}")
            entries.append(
                RouteEntry(
                    path,
                    frozenset(),
                    policy_of(route),
                    re.compile(f"^{re.escape(path.rstrip('/'))}$|{pattern.pattern}"),
                    convertors,
                )
            )
            continue
        pattern, _, convertors = compile_path(path)
        methods = frozenset(getattr(route, "methods", None) or {"GET", "HEAD"})
        entries.append(RouteEntry(path, methods, policy_of(route), pattern, convertors))
    return entries


def check_policies(app: FastAPI) -> list[RouteEntry]:
    """The route table; RuntimeError if a route declares no policy (a programming error)."""
    table = route_table(app)
    missing = sorted({entry.path for entry in table if entry.policy is None})
    if missing:
        raise RuntimeError(f"routes without an access policy: {', '.join(missing)}")
    return table


def principal_of(request: Request) -> Principal:
    """The principal the current request acts for (set by the middleware)."""
    principal = request.scope.get("state", {}).get("principal")
    return principal if isinstance(principal, Principal) else ANONYMOUS


def decision_of(request: Request) -> Decision:
    """The policy decision for the current request (whether detail may be served)."""
    decision = request.scope.get("state", {}).get("decision")
    return decision if isinstance(decision, Decision) else Decision(True, "", detail=False)


SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; worker-src 'self' blob:; img-src 'self' data: blob:; "
        b"style-src 'self' 'unsafe-inline'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
        b"frame-ancestors 'none'; form-action 'self'",
    ),
)
"""Sent with every response. The viewer needs ``blob:`` workers (MapLibre) and inline styles (its
controls); the Swagger UI page of ``/v1/docs`` gets a CSP of its own (it loads from a CDN)."""

DOCS_CSP = (
    b"default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    b"style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    b"img-src 'self' data: https://fastapi.tiangolo.com; "
    b"connect-src 'self'; frame-ancestors 'none'"
)


class AccessControl:
    """ASGI middleware: every HTTP request is authenticated and decided by the policy first."""

    def __init__(self, app: ASGIApp, *, fastapi_app: FastAPI, governance: Governance, docs_path: str) -> None:
        self.app = app
        self.fastapi_app = fastapi_app
        self.governance = governance
        self.docs_path = docs_path
        self._table: list[RouteEntry] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = self._with_headers(scope, send)
        entry, path_params = self._match(scope)
        if entry is None:
            await self.app(scope, receive, send)  # 404 or 405 from the router
            return
        policy = entry.policy
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}
        try:
            principal = self.governance.identity.authenticate(headers.get("authorization"))
            if policy is None:
                decision = Decision(False, "this route has no access policy")
                classification = Classification.PERSONAL
            else:
                classification = policy.classify(path_params, self.governance)
                decision = decide(principal, policy.action, classification)
        except TweelingError as error:
            await self._problem(scope, send, error.status, error.title, error.message, code=error.code)
            return
        state: MutableMapping[str, Any] = scope.setdefault("state", {})
        state["principal"] = principal
        state["decision"] = decision
        if not decision.allowed:
            if not principal.is_anonymous:
                await self._audit(principal, "access-denied", scope, "denied", decision.reason)
            if principal.is_anonymous:
                await self._problem(
                    scope,
                    send,
                    401,
                    "Authentication required",
                    f"log in first: {decision.reason}",
                    code="policy-denied",
                )
            else:
                await self._problem(scope, send, 403, "Forbidden", decision.reason, code="policy-denied")
            return
        if policy is not None and decision.detail and classification.rank >= Classification.CONFIDENTIAL.rank:
            failure = await self._audit(
                principal, "data-access", scope, "ok", f"{policy.action} {classification} data"
            )
            if failure is not None:  # fail closed: no unrecorded access to sensitive data
                await self._problem(
                    scope, send, failure.status, failure.title, failure.message, code=failure.code
                )
                return
        await self.app(scope, receive, send)

    def _match(self, scope: Scope) -> tuple[RouteEntry | None, Mapping[str, Any]]:
        if self._table is None:
            self._table = check_policies(self.fastapi_app)
        method = "GET" if scope["method"] == "HEAD" else scope["method"]
        for entry in self._table:
            found = entry.match(scope["path"], method)
            if found is not None and found[0]:
                return entry, found[1]
        return None, {}

    async def _audit(
        self, principal: Principal, action: str, scope: Scope, outcome: str, reason: str
    ) -> TweelingError | None:
        """Append to the audit trail off the event loop (one fsync); the error if it could not."""
        try:
            await asyncio.to_thread(
                self.governance.audit.append,
                actor=principal.subject,
                roles=sorted(principal.roles),
                action=action,
                target=f"{scope['method']} {scope['path']}",
                outcome=outcome,
                details={"reason": reason},
            )
        except TweelingError as error:
            log.error("audit trail not written: %s", error.message)
            return error
        except OSError:
            log.exception("audit trail not written")
            return TweelingError(
                "the audit trail cannot be written; try again later", 503, "audit-unavailable"
            )
        return None

    def _with_headers(self, scope: Scope, send: Send) -> Send:
        is_docs = scope["path"] == self.docs_path

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {key.lower() for key, _ in message.get("headers", [])}
                extra = [
                    (key, DOCS_CSP if is_docs and key == b"content-security-policy" else value)
                    for key, value in SECURITY_HEADERS
                    if key not in present
                ]
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        return send_with_headers

    @staticmethod
    async def _problem(scope: Scope, send: Send, status: int, title: str, detail: str, *, code: str) -> None:
        body = orjson.dumps(
            {
                "type": "about:blank",
                "title": title,
                "status": status,
                "detail": detail,
                "instance": scope["path"],
                "code": code,
            }
        )
        headers = [
            (b"content-type", b"application/problem+json"),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store"),
        ]
        if status == 401:
            headers.append((b"www-authenticate", b'Bearer realm="tweeling"'))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def install_access_control(app: FastAPI, governance: Governance, *, docs_path: str) -> None:
    """Check every route has a policy and put the access middleware in front of the app."""
    check_policies(app)
    app.add_middleware(AccessControl, fastapi_app=app, governance=governance, docs_path=docs_path)
