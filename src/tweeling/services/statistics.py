"""Statistics of personal data per area with disclosure control (placeholder)."""

from __future__ import annotations

from tweeling.governance.audit import AuditLog
from tweeling.services.settings import Settings
from tweeling.services.status import StoreHandle


class StatisticsService:
    """Aggregates of personal datasets per buurt, wijk or custom area, suppressed for low roles."""

    def __init__(self, settings: Settings, store: StoreHandle, audit: AuditLog) -> None:
        self.settings = settings
        self.store = store
        self.audit = audit
