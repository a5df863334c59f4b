"""The engine: dependency order, baseline cache, recompute only what is touched, comparison levels."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from tweeling.scenarios.apply import apply_interventions
from tweeling.scenarios.city import CityChange, CityState
from tweeling.scenarios.engine import Engine
from tweeling.scenarios.model import (
    AlgorithmRegisterEntry,
    ImpactModel,
    Indicator,
    ModelInfo,
    ModelResult,
    Raster,
    param,
)
from tweeling.scenarios.registry import Registry, load_registry
from tweeling.services.scenarios import parse_scenario

REGISTER = AlgorithmRegisterEntry(
    name="test",
    description_short="test",
    theme="test",
    purpose_and_impact="test",
    considerations="test",
    human_intervention="test",
    risk_management="test",
    data="test",
    technical_operation="test",
)


@dataclass(frozen=True)
class DwellingParams:
    factor: float = param(1.0, unit="-", source="assumed", description="scale")


def info(
    model_id: str, requires: tuple[str, ...], reads: set[str], indicators: tuple[Indicator, ...]
) -> ModelInfo:
    return ModelInfo(
        id=model_id,
        version="1",
        title=model_id,
        description="",
        requires=requires,
        reads=frozenset(reads),
        indicators=indicators,
        method="",
        sources=(),
        limitations=(),
        register=REGISTER,
    )


CALLS: list[str] = []


def run_dwellings(
    city: CityState, upstream: Mapping[str, ModelResult], params: DwellingParams
) -> ModelResult:
    CALLS.append("dwellings")
    dwellings = city.buildings["dwellings_est"] * params.factor
    per_buurt = dwellings.groupby(city.buildings["bu_code"]).sum()
    return ModelResult(
        city={"dwellings": float(dwellings.sum())},
        buurt=pd.DataFrame({"dwellings": per_buurt}),
        objects={"buildings": pd.DataFrame({"dwellings": dwellings})},
    )


def run_green(city: CityState, upstream: Mapping[str, ModelResult], params: object) -> ModelResult:
    CALLS.append("green")
    x_min, y_min, x_max, y_max = city.buurten.total_bounds
    cells = np.zeros((int((y_max - y_min) // 50) + 1, int((x_max - x_min) // 50) + 1), dtype=np.float32)
    area = float(city.green.area.sum() + city.depaved.area.sum())
    cells[:] = area
    return ModelResult(city={"green_m2": area}, raster=Raster(x_min, y_max, 50.0, {"green_m2": cells}))


def run_per_dwelling(city: CityState, upstream: Mapping[str, ModelResult], params: object) -> ModelResult:
    CALLS.append("per_dwelling")
    return ModelResult(
        city={
            "green_per_dwelling": upstream["green"].city["green_m2"] / upstream["dwellings"].city["dwellings"]
        }
    )


@dataclass(frozen=True)
class NoParams:
    pass


def toy_registry() -> Registry:
    def indicator(name: str, *levels: str) -> Indicator:
        return Indicator(name, name, "-", "demography", "neutral", levels, name)  # type: ignore[arg-type]

    models = {
        "per_dwelling": ImpactModel(
            info("per_dwelling", ("green", "dwellings"), set(), (indicator("green_per_dwelling", "city"),)),
            NoParams,
            run_per_dwelling,
        ),
        "dwellings": ImpactModel(
            info("dwellings", (), {"buildings"}, (indicator("dwellings", "city", "buurt", "buildings"),)),
            DwellingParams,
            run_dwellings,
        ),
        "green": ImpactModel(
            info("green", (), {"green", "depaved"}, (indicator("green_m2", "city", "grid"),)),
            NoParams,
            run_green,
        ),
    }
    return Registry(models=models)


def test_models_run_in_dependency_order_and_the_baseline_is_cached(demo_city: CityState) -> None:
    engine = Engine(toy_registry(), demo_city)
    assert engine.order == ["green", "dwellings", "per_dwelling"]
    CALLS.clear()
    first = engine.baseline()
    engine.baseline()
    assert CALLS == ["green", "dwellings", "per_dwelling"]
    assert first.results["dwellings"].city["dwellings"] == pytest.approx(
        demo_city.buildings["dwellings_est"].sum()
    )
    engine.baseline({"dwellings": {"factor": 2.0}})
    assert CALLS.count("dwellings") == 2, "another parameter set is another baseline"


def test_only_touched_models_and_their_dependants_are_recomputed(demo_city: CityState) -> None:
    engine = Engine(toy_registry(), demo_city)
    engine.baseline()
    CALLS.clear()
    scenario = parse_scenario(
        {
            "name": "t",
            "crs": "EPSG:28992",
            "interventions": [
                {
                    "type": "greening",
                    "action": "green",
                    "geometry": {
                        "type": "Polygon",
                        "coordinates": [
                            [
                                [105390, 425310],
                                [105470, 425310],
                                [105470, 425380],
                                [105390, 425380],
                                [105390, 425310],
                            ]
                        ],
                    },
                }
            ],
        }
    )
    applied = apply_interventions(demo_city, scenario.interventions, scenario.crs)
    evaluation, comparison = engine.run(applied.city, applied.change)
    assert CALLS == ["green", "per_dwelling"]
    assert evaluation.recomputed == ("green", "per_dwelling")
    green = comparison.city.loc["green_m2"]
    assert green["difference"] == pytest.approx(2 * 80 * 70)  # the polygon is added to green and to depaved
    assert comparison.city.loc["dwellings", "difference"] == 0
    assert comparison.city.loc["green_per_dwelling", "difference"] > 0
    grid = comparison.grid
    assert {"green_m2_baseline", "green_m2_scenario", "green_m2_difference"} <= set(grid.columns)
    assert grid["green_m2_difference"].dropna().gt(0).all()


def test_levels_and_grid_from_buildings(demo_city: CityState) -> None:
    engine = Engine(toy_registry(), demo_city)
    changed = demo_city.buildings.copy()
    changed["dwellings_est"] = changed["dwellings_est"] * 2
    city = demo_city.replace(buildings=changed)
    _, comparison = engine.run(city, CityChange(frozenset({"buildings"})))
    buurt = comparison.buurt
    assert buurt["dwellings_difference"].sum() == pytest.approx(demo_city.buildings["dwellings_est"].sum())
    assert len(comparison.buildings) == len(demo_city.buildings)
    cells = comparison.grid["dwellings_difference"].dropna()
    assert len(cells) > 1000
    assert (cells >= 0).all()


def test_a_broken_plugin_is_listed_not_fatal() -> None:
    registry = load_registry({"broken": "tweeling.no_such_module:MODEL"}, with_entry_points=False)
    assert "broken" in registry.unavailable
    assert "ModuleNotFoundError" in registry.unavailable["broken"]


def test_missing_requirement_leaves_the_model_out() -> None:
    registry = toy_registry()
    del registry.models["green"]
    assert registry.order() == ["dwellings"]
    assert "green" in registry.unavailable["per_dwelling"]


def test_parameter_overrides_are_checked() -> None:
    model = toy_registry().models["dwellings"]
    assert model.make_params({"factor": 3.0}).factor == 3.0
    with pytest.raises(KeyError):
        model.make_params({"nope": 1})
    (described,) = model.parameters()
    assert (described.name, described.unit, described.source) == ("factor", "-", "assumed")


def test_a_change_of_the_car_attributes_does_not_touch_walking_models() -> None:
    car_only = CityChange(frozenset({"roads.car"}))
    assert car_only.touches(frozenset({"roads"}))  # traffic, noise, air read all of the roads
    assert car_only.touches(frozenset({"buildings", "roads.car"}))
    assert not car_only.touches(frozenset({"roads.active", "facilities"}))  # proximity, care
    assert CityChange(frozenset({"roads"})).touches(frozenset({"roads.active"}))
    assert not CityChange(frozenset({"road_nodes"})).touches(frozenset({"roads"}))
