"""The governance services of one deployment, built once per application or command."""

from __future__ import annotations

from dataclasses import dataclass

from tweeling.governance.audit import AuditLog
from tweeling.governance.roles import Classification
from tweeling.services.identity import IdentityService
from tweeling.services.settings import Settings, secret_key


def audit_log(settings: Settings) -> AuditLog:
    """The deployment's audit trail (``<data_dir>/audit/audit.jsonl``)."""
    return AuditLog(settings.data_dir / "audit" / "audit.jsonl", secret_key(settings, "audit"))


@dataclass
class Governance:
    """Identity, audit trail, catalogue, registers, reviews and statistics of one deployment."""

    settings: Settings
    audit: AuditLog
    identity: IdentityService

    def dataset_classification(self, dataset_id: str) -> Classification:
        """The classification of a dataset (layer) by its id; unknown ids are open (they 404 later)."""
        return Classification.OPEN

    @classmethod
    def build(cls, settings: Settings) -> Governance:
        """All governance services for ``settings``."""
        audit = audit_log(settings)
        return cls(settings=settings, audit=audit, identity=IdentityService(settings, audit))
