"""Interventions: schema checks, and applying them to the Dordrecht baseline with clear errors."""

from __future__ import annotations

import pytest

from tweeling.core.errors import InvalidInputError
from tweeling.scenarios.apply import apply_interventions
from tweeling.scenarios.city import CityState
from tweeling.services.scenarios import parse_scenario

SITE = {
    "type": "Polygon",
    "coordinates": [[[105560, 424300], [105860, 424300], [105860, 424480], [105560, 424480]]],
}
SITE["coordinates"][0].append(SITE["coordinates"][0][0])
CENTRE = {
    "type": "Polygon",
    "coordinates": [
        [[104900, 425000], [105500, 425000], [105500, 425600], [104900, 425600], [104900, 425000]]
    ],
}


def scenario(*interventions: dict, crs: str = "EPSG:28992") -> dict:
    return {"name": "test", "crs": crs, "interventions": list(interventions)}


def apply(city: CityState, *interventions: dict, crs: str = "EPSG:28992"):
    parsed = parse_scenario(scenario(*interventions, crs=crs))
    return apply_interventions(city, parsed.interventions, parsed.crs)


def housing(**extra: object) -> dict:
    return {"type": "housing_project", "geometry": SITE, "dwellings": 1000, **extra}


def test_housing_project_adds_a_building_with_dwellings_and_households(demo_city: CityState) -> None:
    applied = apply(
        demo_city, housing(replace_existing=True, household_mix={"starters": 1, "families": 0, "seniors": 0})
    )
    buildings = applied.city.buildings
    new = buildings[buildings["scenario_added"]]
    assert len(new) == 1
    row = new.iloc[0]
    assert row["dwellings_est"] == 1000
    assert row["residents_est"] == pytest.approx(1500)
    assert row["footprint_area_m2"] == pytest.approx(300 * 180)
    assert row["bu_code"].startswith("BU0505")
    demolished = len(demo_city.buildings) + 1 - len(buildings)
    assert demolished > 0
    assert applied.city.new_households["dwellings"].sum() == 1000
    assert applied.change.fields == {"buildings", "new_households"}
    assert applied.change.bbox == pytest.approx((105560, 424300, 105860, 424480))
    assert len(demo_city.buildings) == 65_796, "the baseline is not changed"


def test_car_free_zone_closes_the_car_links_inside(demo_city: CityState) -> None:
    applied = apply(demo_city, {"type": "traffic_measure", "measure": "car_free_zone", "zone": CENTRE})
    closed = demo_city.roads["car"] & ~applied.city.roads["car"]
    assert 50 < closed.sum() < 1000
    assert applied.change.fields == {"roads.car"}
    assert demo_city.roads["car"].sum() == 10_855


def test_speed_limit_lowers_speed_and_raises_travel_time(demo_city: CityState) -> None:
    applied = apply(
        demo_city,
        {"type": "traffic_measure", "measure": "speed_limit", "zone": CENTRE, "speed_limit_kmh": 15},
    )
    before, after = demo_city.roads, applied.city.roads
    changed = after["free_speed_kmh"] < before["free_speed_kmh"]
    assert changed.sum() > 10
    assert (after.loc[changed, "free_speed_kmh"] == 15).all()
    assert (after.loc[changed, "travel_time_s"] > before.loc[changed, "travel_time_s"]).all()


def test_trip_reduction_weights_by_overlap(demo_city: CityState) -> None:
    applied = apply(
        demo_city, {"type": "traffic_measure", "measure": "trip_reduction", "zone": CENTRE, "reduction": 0.5}
    )
    reduction = applied.city.trip_reduction
    assert 0 < reduction.max() <= 0.5
    assert "BU05050108" in reduction.index  # Centrum


def test_greening_and_trees(demo_city: CityState) -> None:
    square = {
        "type": "Polygon",
        "coordinates": [
            [[105390, 425310], [105470, 425310], [105470, 425380], [105390, 425380], [105390, 425310]]
        ],
    }
    applied = apply(
        demo_city,
        {"type": "greening", "action": "depave", "surface": "trees", "geometry": square},
        {
            "type": "greening",
            "action": "trees",
            "geometry": {"type": "MultiPoint", "coordinates": [[105400, 425320], [105420, 425330]]},
        },
    )
    assert len(applied.city.depaved) == 1
    assert applied.city.depaved["surface"].iloc[0] == "trees"
    assert len(applied.city.trees) == 2
    assert applied.city.green.iloc[-1]["green_type"] == "wood"
    assert {"depaved", "green", "trees"} <= applied.change.fields


def test_facility_add_and_remove(demo_city: CityState) -> None:
    gp = demo_city.facilities.index[demo_city.facilities["facility_type"] == "gp"][0]
    applied = apply(
        demo_city,
        {
            "type": "facility",
            "action": "add",
            "facility_type": "gp",
            "capacity": 4190,
            "location": {"type": "Point", "coordinates": [104480, 421120]},
        },
        {"type": "facility", "action": "remove", "facility_id": int(gp)},
    )
    facilities = applied.city.facilities
    assert gp not in facilities.index
    assert facilities[facilities["scenario_added"]]["capacity"].tolist() == [4190]


def test_lon_lat_is_the_default_crs(demo_city: CityState) -> None:
    square = {
        "type": "Polygon",
        "coordinates": [
            [
                [4.66775, 51.8142],
                [4.66891, 51.8142],
                [4.66890, 51.81484],
                [4.66774, 51.81483],
                [4.66775, 51.8142],
            ]
        ],
    }
    applied = apply(demo_city, {"type": "greening", "action": "green", "geometry": square}, crs="EPSG:4326")
    x_min, y_min, _, _ = applied.change.bbox
    assert x_min == pytest.approx(105390, abs=5)
    assert y_min == pytest.approx(425310, abs=5)


@pytest.mark.parametrize(
    ("intervention", "field", "words"),
    [
        (housing(dwellings=-5), "interventions[0].housing_project.dwellings", "greater than or equal to 0"),
        (
            {
                "type": "facility",
                "action": "add",
                "facility_type": "bakery",
                "location": {"type": "Point", "coordinates": [105000, 425000]},
            },
            "interventions[0].facility.facility_type",
            "gp",
        ),
        ({"type": "bulldozer"}, "interventions[0]", "does not match any of the expected tags"),
        (
            {"type": "traffic_measure", "measure": "close_roads"},
            "interventions[0].traffic_measure",
            "needs roads",
        ),
    ],
)
def test_schema_errors_name_the_field(intervention: dict, field: str, words: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_scenario(scenario(intervention))
    names = [item["name"] for item in caught.value.invalid_params]
    assert field in names
    assert any(words in item["reason"] for item in caught.value.invalid_params)


@pytest.mark.parametrize(
    ("intervention", "field", "words"),
    [
        (
            housing(
                geometry={"type": "Polygon", "coordinates": [[[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]]}
            ),
            "interventions[0].geometry",
            "outside the municipality",
        ),
        (
            housing(
                geometry={
                    "type": "Polygon",
                    "coordinates": [
                        [
                            [105000, 424000],
                            [105100, 424100],
                            [105100, 424000],
                            [105000, 424100],
                            [105000, 424000],
                        ]
                    ],
                }
            ),
            "interventions[0].geometry",
            "invalid geometry",
        ),
        (
            {"type": "traffic_measure", "measure": "close_roads", "roads": [99999999]},
            "interventions[0].roads",
            "unknown edge_id",
        ),
        (
            {"type": "facility", "action": "remove", "facility_id": 123456},
            "interventions[0].facility_id",
            "unknown",
        ),
        (
            housing(geometry=None, replace_buildings=[999999999]),
            "interventions[0].replace_buildings",
            "unknown",
        ),
    ],
)
def test_city_errors_name_the_intervention(
    demo_city: CityState, intervention: dict, field: str, words: str
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        apply(demo_city, intervention)
    assert caught.value.invalid_params[0]["name"] == field
    assert words in caught.value.message
    assert caught.value.message.startswith("intervention 0 (")


def test_lon_lat_coordinates_given_as_rd_are_outside(demo_city: CityState) -> None:
    with pytest.raises(InvalidInputError, match="read as EPSG:4326"):
        apply(demo_city, housing(), crs="EPSG:4326")


def test_yaml_errors_are_one_line() -> None:
    with pytest.raises(InvalidInputError, match="not valid YAML or JSON at line 2"):
        parse_scenario("name: x\n  interventions: [\n")
    with pytest.raises(InvalidInputError, match="household shares must add up to 1"):
        parse_scenario(scenario(housing(household_mix={"starters": 0.5, "families": 0.6, "seniors": 0})))
