"""Routes: The audit trail (placeholder)."""

from __future__ import annotations

from fastapi import APIRouter

from tweeling.services.governance import Governance


def build_audit_router(governance: Governance, base_path: str) -> APIRouter:
    """The routes of this part of the governance API."""
    return APIRouter(prefix=base_path)
