"""The ethics review workflow (placeholder; the full workflow replaces this)."""

from __future__ import annotations

from tweeling.governance.algorithm_register import AlgorithmRegister
from tweeling.governance.audit import AuditLog
from tweeling.services.scenarios import ScenarioService
from tweeling.services.sensors import SensorHub
from tweeling.services.settings import Settings


class ReviewService:
    """Submit, comment, decide; applies the approved action (publish, put in use, add sensor)."""

    def __init__(
        self,
        settings: Settings,
        audit: AuditLog,
        algorithms: AlgorithmRegister,
        scenarios: ScenarioService,
        hub: SensorHub,
    ) -> None:
        self.settings = settings
        self.audit = audit
        self.algorithms = algorithms
        self.scenarios = scenarios
        self.hub = hub
