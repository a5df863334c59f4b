"""The model registry: built-in impact models by short name, third-party ones by entry point.

A third-party package registers a model in its ``pyproject.toml``::

    [project.entry-points."tweeling.impact_models"]
    flood_bathtub = "my_package.flood:MODEL"

A model that fails to load is listed as unavailable with its reason; it does not stop the twin.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points

from tweeling.scenarios.model import ImpactModel

ENTRY_POINT_GROUP = "tweeling.impact_models"

BUILTIN_MODELS = {
    "traffic": "tweeling.scenarios.impacts.traffic:MODEL",
    "air_no2": "tweeling.scenarios.impacts.air_quality:MODEL",
    "noise_road": "tweeling.scenarios.impacts.noise:MODEL",
    "heat_pet": "tweeling.scenarios.impacts.heat:MODEL",
    "proximity": "tweeling.scenarios.impacts.accessibility:MODEL",
    "demography": "tweeling.scenarios.impacts.demography:MODEL",
    "care": "tweeling.scenarios.impacts.care:MODEL",
    "liveability": "tweeling.scenarios.impacts.liveability:MODEL",
}
"""Built-in models: id → ``module:attribute`` of their :class:`ImpactModel`."""


@dataclass
class Registry:
    """Loaded models by id, and those that could not be loaded with the reason."""

    models: dict[str, ImpactModel] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)

    def order(self, wanted: Iterable[str] | None = None) -> list[str]:
        """Model ids in dependency order (requirements first), limited to ``wanted`` and what they need.

        A model whose requirement is unavailable is left out and recorded in ``unavailable``.
        """
        chosen = list(self.models) if wanted is None else list(wanted)
        ordered: list[str] = []
        visiting: set[str] = set()

        def visit(model_id: str) -> bool:
            if model_id in ordered:
                return True
            model = self.models.get(model_id)
            if model is None:
                self.unavailable.setdefault(model_id, "not registered")
                return False
            if model_id in visiting:
                raise ValueError(f"impact models depend on each other in a cycle through {model_id}")
            visiting.add(model_id)
            missing = [need for need in model.info.requires if not visit(need)]
            visiting.discard(model_id)
            if missing:
                self.unavailable[model_id] = f"needs unavailable model(s) {', '.join(missing)}"
                return False
            ordered.append(model_id)
            return True

        for model_id in chosen:
            visit(model_id)
        return ordered


def _load(target: str) -> ImpactModel:
    module_name, _, attribute = target.partition(":")
    model = getattr(importlib.import_module(module_name), attribute or "MODEL")
    if not isinstance(model, ImpactModel):
        raise TypeError(f"{target} is not an ImpactModel")
    return model


def load_registry(builtin: Mapping[str, str] = BUILTIN_MODELS, *, with_entry_points: bool = True) -> Registry:
    """Load the built-in models and those registered under the ``tweeling.impact_models`` entry point."""
    registry = Registry()
    targets = dict(builtin)
    if with_entry_points:
        for point in entry_points(group=ENTRY_POINT_GROUP):
            targets.setdefault(point.name, point.value)
    for model_id, target in targets.items():
        try:
            model = _load(target)
        except Exception as error:  # a broken plugin is reported, not fatal
            registry.unavailable[model_id] = f"{type(error).__name__}: {error}"
            continue
        if model.info.id != model_id:
            registry.unavailable[model_id] = f"{target} declares id {model.info.id!r}"
            continue
        registry.models[model_id] = model
    return registry
