"""Routes: Statistics of personal data per area, with small-cell suppression (placeholder)."""

from __future__ import annotations

from fastapi import APIRouter

from tweeling.services.governance import Governance


def build_statistics_router(governance: Governance, base_path: str) -> APIRouter:
    """The routes of this part of the governance API."""
    return APIRouter(prefix=base_path)
