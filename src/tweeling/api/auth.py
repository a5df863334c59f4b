"""Routes: Log in (OAuth2 password grant), tokens, users and roles (placeholder)."""

from __future__ import annotations

from fastapi import APIRouter

from tweeling.services.governance import Governance


def build_auth_router(governance: Governance, base_path: str) -> APIRouter:
    """The routes of this part of the governance API."""
    return APIRouter(prefix=base_path)
