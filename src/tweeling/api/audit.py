"""Routes: reading and checking the audit trail (administrators and the ethics committee).

- ``GET /v1/audit?after=&limit=&action=``: entries with ``seq`` above ``after`` (oldest first,
  ``limit`` 1-1000, default 100), optionally of one action (``login``, ``data-access``, ...); a
  ``next`` link while more may follow.
- ``GET /v1/audit/verify``: checks the whole hash chain (``ok``, ``entries``, ``first_bad_seq``,
  ``problem``).

Both are confidential: reading them is itself recorded as ``data-access`` by the access middleware.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from tweeling.api.access import requires
from tweeling.governance.roles import Action, Classification
from tweeling.services.governance import Governance

ACTION_PATTERN = r"^[a-z][a-z0-9-]{0,63}$"

NO_STORE = {"Cache-Control": "no-store"}


def build_audit_router(governance: Governance, base_path: str) -> APIRouter:
    """The routes above, over the deployment's audit trail."""
    router = APIRouter(prefix=base_path, tags=["governance: audit trail"])
    audit = governance.audit

    @router.get("/audit", summary="Entries of the audit trail")
    @requires(Action.READ_AUDIT, Classification.CONFIDENTIAL)
    def audit_entries(
        request: Request,
        after: Annotated[int, Query(ge=0, description="only entries with a higher seq")] = 0,
        limit: Annotated[int, Query(ge=1, le=1000, description="at most this many entries")] = 100,
        action: Annotated[
            str | None, Query(pattern=ACTION_PATTERN, description="only entries of this action")
        ] = None,
    ) -> JSONResponse:
        entries = audit.entries(after=after, limit=limit, action=action)
        url = str(request.base_url).rstrip("/") + f"{base_path}/audit"
        query = {"limit": limit, **({"action": action} if action else {})}
        links = [{"rel": "self", "type": "application/json", "href": str(request.url)}]
        if len(entries) == limit:
            links.append(
                {
                    "rel": "next",
                    "type": "application/json",
                    "href": f"{url}?{urlencode({'after': entries[-1]['seq'], **query})}",
                }
            )
        links.append({"rel": "related", "type": "application/json", "href": f"{url}/verify"})
        return JSONResponse(
            {"entries": entries, "numberReturned": len(entries), "links": links}, headers=NO_STORE
        )

    @router.get("/audit/verify", summary="Check the audit trail's hash chain")
    @requires(Action.READ_AUDIT, Classification.CONFIDENTIAL)
    def audit_verify() -> JSONResponse:
        return JSONResponse(audit.verify().as_dict(), headers=NO_STORE)

    return router
