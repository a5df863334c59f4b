"""The governance services of one deployment, built once per application or command."""

from __future__ import annotations

from dataclasses import dataclass

from tweeling.governance.algorithm_register import AlgorithmRegister
from tweeling.governance.audit import AuditLog
from tweeling.governance.catalogue import Catalogue
from tweeling.governance.roles import Classification, Principal
from tweeling.services.identity import IdentityService
from tweeling.services.reviews import ReviewService
from tweeling.services.scenarios import ScenarioService
from tweeling.services.sensor_register import SensorRegister
from tweeling.services.sensors import SensorHub
from tweeling.services.settings import Settings, secret_key
from tweeling.services.statistics import StatisticsService
from tweeling.services.status import StoreHandle


def audit_log(settings: Settings) -> AuditLog:
    """The deployment's audit trail (``<data_dir>/audit/audit.jsonl``)."""
    return AuditLog(settings.data_dir / "audit" / "audit.jsonl", secret_key(settings, "audit"))


@dataclass
class Governance:
    """Identity, audit trail, catalogue, registers, reviews and statistics of one deployment."""

    settings: Settings
    audit: AuditLog
    identity: IdentityService
    catalogue: Catalogue
    algorithms: AlgorithmRegister
    sensor_register: SensorRegister
    reviews: ReviewService
    statistics: StatisticsService

    def dataset_classification(self, dataset_id: str) -> Classification:
        """The classification of a dataset (layer) by its id; unknown ids are open (they 404 later)."""
        return self.catalogue.classification(dataset_id)

    def hidden_fields(self, dataset_id: str, principal: Principal) -> frozenset[str]:
        """Fields of a dataset that ``principal`` may not see in detail (personal data for the public)."""
        return self.catalogue.hidden_fields(dataset_id, principal)

    @classmethod
    def build(
        cls, settings: Settings, *, store: StoreHandle, hub: SensorHub, scenarios: ScenarioService
    ) -> Governance:
        """All governance services for ``settings`` over the application's store, hub and scenarios."""
        audit = audit_log(settings)
        algorithms = AlgorithmRegister(
            settings.data_dir,
            scenarios.registry,
            audit=audit,
            register_url=settings.resolved_public_url + "/v1/algorithms",
        )
        return cls(
            settings=settings,
            audit=audit,
            identity=IdentityService(settings, audit),
            catalogue=Catalogue(),
            algorithms=algorithms,
            sensor_register=SensorRegister(hub),
            reviews=ReviewService(settings, audit, algorithms, scenarios, hub),
            statistics=StatisticsService(settings, store, audit),
        )
