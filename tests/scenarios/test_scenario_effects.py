"""All models together on Dordrecht: the direction and rough size of a decision's effects, per domain.

These run the real registry on the full demo city (baseline computed once per session).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tweeling.scenarios.city import CityState
from tweeling.services.scenarios import ScenarioRun, ScenarioService, read_scenario_file
from tweeling.services.settings import load_settings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="session")
def service(demo_city: CityState, tmp_path_factory: pytest.TempPathFactory) -> ScenarioService:
    settings = load_settings(data_dir=tmp_path_factory.mktemp("scenarios"))
    return ScenarioService(settings, city_loader=lambda: demo_city)


@pytest.fixture(scope="session")
def busiest_street(service: ScenarioService) -> int:
    """A busy urban street (not a motorway) with dwellings along it."""
    roads = service.engine().baseline().results["traffic"].objects["roads"]
    city = service.city()
    urban = city.roads["road_class"].isin(["secondary", "tertiary"]) & city.roads["car"]
    candidates = roads.loc[urban[urban].index, "total_veh_day"].sort_values(ascending=False).index[:100]
    homes = city.buildings[city.buildings["dwellings_est"] > 0]
    for edge_id in candidates:
        if len(near_buildings(homes, city.roads.geometry.loc[edge_id], 25)) >= 5:
            return int(edge_id)
    raise AssertionError("no busy street lined with homes")


def run(service: ScenarioService, scenario: dict) -> ScenarioRun:
    from tweeling.services.scenarios import parse_scenario

    return service.run(parse_scenario({"name": "test", "crs": "EPSG:28992", **scenario}), effects=False)


def near_buildings(buildings, line, metres: float) -> np.ndarray:
    return buildings.index[buildings.geometry.distance(line) < metres].to_numpy()


def near(city: CityState, edge_id: int, metres: float) -> np.ndarray:
    return near_buildings(city.buildings, city.roads.geometry.loc[edge_id], metres)


def test_closing_a_street_lowers_no2_and_noise_along_it_and_raises_detours(
    service: ScenarioService, busiest_street: int
) -> None:
    result = run(
        service,
        {"interventions": [{"type": "traffic_measure", "measure": "close_roads", "roads": [busiest_street]}]},
    )
    comparison = result.comparison
    roads = comparison.roads
    assert roads.loc[busiest_street, "total_veh_day_scenario"] == 0
    assert (roads["total_veh_day_difference"] > 100).any(), "traffic moves to detours"
    along = near(service.city(), busiest_street, 30)
    buildings = comparison.buildings.loc[comparison.buildings.index.intersection(along)]
    assert buildings["no2_ugm3_difference"].mean() < 0
    noise = buildings["lden_db_difference"].dropna()
    assert noise.mean() < 0
    assert (comparison.buildings["no2_ugm3_difference"] > 0).any(), "NO2 rises somewhere on the detours"


def test_one_thousand_dwellings_add_traffic(service: ScenarioService) -> None:
    result = run(
        service,
        {
            "interventions": [
                {
                    "type": "housing_project",
                    "dwellings": 1000,
                    "replace_existing": True,
                    "geometry": {
                        "type": "Polygon",
                        "coordinates": [
                            [
                                [105560, 424300],
                                [105860, 424300],
                                [105860, 424480],
                                [105560, 424480],
                                [105560, 424300],
                            ]
                        ],
                    },
                }
            ]
        },
    )
    city = result.comparison.city
    traffic = city[city["domain"] == "traffic"]
    # 1,000 dwellings x 5 car trip ends, less the trips of the demolished buildings on the site
    assert traffic.loc["car_trips_day", "difference"] > 1000
    assert traffic.loc["vehicle_km_day", "difference"] > 0
    demography = city[city["domain"] == "demography"]
    assert demography.loc["pop_total", "difference"] > 1000


def test_a_new_gp_raises_the_share_within_1000_m(service: ScenarioService) -> None:
    result = run(
        service,
        {
            "interventions": [
                {
                    "type": "facility",
                    "action": "add",
                    "facility_type": "gp",
                    "capacity": 4190,
                    "location": {"type": "Point", "coordinates": [103661, 420092]},
                }
            ]
        },
    )
    city = result.comparison.city
    share = [name for name in city.index if "gp" in name and "1000" in name]
    assert share and (city.loc[share, "difference"] > 0).all()
    distances = result.comparison.buildings["dist_gp_m_difference"].dropna()
    assert (distances <= 1e-6).all() and (distances < 0).any()


def test_ten_years_ahead_more_care_demand(service: ScenarioService) -> None:
    result = run(service, {"interventions": [{"type": "time_horizon", "years": 10}]})
    city = result.comparison.city
    assert city.loc["share_65_plus", "difference"] > 0
    care = city[city["domain"] == "care"]
    assert (care["difference"].abs() > 0).any()
    assert set(result.evaluation.recomputed) >= {"demography", "care"}
    assert "traffic" not in result.evaluation.recomputed


@pytest.mark.parametrize("name", sorted(path.name for path in EXAMPLES.glob("*.yaml")))
def test_every_example_runs_with_an_effects_table(service: ScenarioService, name: str) -> None:
    scenario = read_scenario_file(EXAMPLES / name)
    result = service.run(scenario)
    assert len(result.effects) == max(1, len(scenario.interventions) + (len(scenario.interventions) > 1))
    assert set(result.effects.columns) >= {
        "traffic",
        "air",
        "noise",
        "heat",
        "proximity",
        "demography",
        "care",
        "liveability",
    }
    assert result.summary().startswith(f"Scenario: {scenario.name}")
    assert result.comparison.city["baseline"].notna().all()
