"""The Dordrecht demo sensor network: real stations, real places, simulation flags, alert rules."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from tweeling.core.crs import STORE_EPSG, transformer
from tweeling.core.errors import InvalidInputError
from tweeling.sensors.demo import (
    CITY_SITES,
    CROWD_ZONES,
    OM_MEASUREMENT,
    SIMULATION_DOC,
    demo_alert_rules,
    demo_things,
    iter_datastreams,
    read_demo_stations,
    read_demo_things,
    resolve_alert_rules,
)
from tweeling.sensors.simulate import stream_from_datastream
from tweeling.store.sta_alerts import validate_rule
from tweeling.store.sta_schema import ENTITY_TYPES, OBSERVATION_TYPES


@pytest.fixture(scope="module")
def things(demo_dir: Path) -> list[dict[str, Any]]:
    return read_demo_things(demo_dir)


def _by_key(things: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {thing["properties"]["tweeling_key"]: thing for thing in things}


def _rd_point(lon: float, lat: float) -> shapely.Point:
    x, y = transformer(4326, STORE_EPSG).transform(lon, lat)
    return shapely.Point(x, y)


def test_counts_by_kind(things: list[dict[str, Any]]) -> None:
    kinds = Counter(thing["properties"]["kind"] for thing in things)
    assert kinds == {
        "air_quality_station": 3,
        "low_cost_air": 4,
        "noise": 4,
        "crowd": 6,
        "traffic": 6,
        "weather": 1,
    }
    assert len(iter_datastreams(things)) == 37
    keys = [ds["properties"]["tweeling_key"] for _, ds in iter_datastreams(things)]
    assert len(set(keys)) == len(keys)


def test_bamendaweg_station(things: list[dict[str, Any]]) -> None:
    thing = _by_key(things)["aq-NL00442"]
    assert thing["name"] == "Dordrecht-Bamendaweg"
    assert thing["properties"]["luchtmeetnet_code"] == "NL10442"
    assert thing["properties"]["real_device"] is True
    location = thing["Locations"][0]
    assert location["encodingType"] == "application/geo+json"
    assert location["location"] == {"type": "Point", "coordinates": [4.70821381, 51.80065918]}
    streams = thing["Datastreams"]
    assert [ds["properties"]["tweeling_key"] for ds in streams] == [
        "aq-NL00442-no2",
        "aq-NL00442-pm10",
        "aq-NL00442-pm25",
    ]
    assert [ds["ObservedProperty"]["name"] for ds in streams] == ["NO2", "PM10", "PM2.5"]
    assert {ds["unitOfMeasurement"]["symbol"] for ds in streams} == {"µg/m³"}
    for ds in streams:
        assert ds["properties"]["simulated"] is True
        assert "NL00442 Dordrecht-Bamendaweg" in ds["properties"]["source"]
        assert "simulated values" in ds["properties"]["source"]


def test_only_active_stations_near_dordrecht(things: list[dict[str, Any]], demo_dir: Path) -> None:
    stations = [t["name"] for t in things if t["properties"]["kind"] == "air_quality_station"]
    # nearest first; Dordrecht-Frisostraat (NL00441) closed in 2010 and is left out
    assert stations == ["Dordrecht-Bamendaweg", "Ridderkerk-Hogeweg", "Moerdijk-Julianastraat"]
    everything = demo_things(read_demo_stations(demo_dir), max_station_distance_km=31.0)
    active = [t for t in everything if t["properties"]["kind"] == "air_quality_station"]
    assert len(active) == 28  # the 32 listed stations less the 4 with an end of activity
    assert "Dordrecht-Frisostraat" not in {t["name"] for t in active}


def test_every_datastream_says_it_is_simulated(things: list[dict[str, Any]]) -> None:
    for thing, ds in iter_datastreams(things):
        properties = ds["properties"]
        assert properties["simulated"] is True, ds["name"]
        assert SIMULATION_DOC in properties["simulation_method"]
        assert properties["source"]
        stream = stream_from_datastream(ds)
        assert stream is not None and stream.key == properties["tweeling_key"]
        assert properties["sampling_interval_s"] == stream.sampling_interval_s
        if thing["properties"]["kind"] != "air_quality_station":
            assert thing["properties"]["real_device"] is False
            assert "does not exist" in properties["source"] or "KNMI" in properties["source"]


def test_payloads_are_complete_deep_inserts(things: list[dict[str, Any]]) -> None:
    def required(set_name: str) -> set[str]:
        return {p.name for p in ENTITY_TYPES[set_name].properties if p.required}

    assert json.loads(json.dumps(things, ensure_ascii=False)) == things
    for thing in things:
        assert required("Things") <= thing.keys()
        for location in thing["Locations"]:
            assert required("Locations") <= location.keys()
            assert location["location"]["type"] == "Point"
        for ds in thing["Datastreams"]:
            assert required("Datastreams") <= ds.keys()
            assert required("Sensors") <= ds["Sensor"].keys()
            assert required("ObservedProperties") <= ds["ObservedProperty"].keys()
            assert ds["observationType"] == OM_MEASUREMENT and OM_MEASUREMENT in OBSERVATION_TYPES
            assert set(ds["unitOfMeasurement"]) == {"name", "symbol", "definition"}
            assert all(ds["unitOfMeasurement"].values())


def test_city_sensors_stand_inside_dordrecht(things: list[dict[str, Any]], demo_dir: Path) -> None:
    outline = gpd.read_parquet(demo_dir / "cbs_buurten_2020.parquet").geometry.union_all()
    for thing in things:
        lon, lat = thing["Locations"][0]["location"]["coordinates"]
        inside = outline.covers(_rd_point(lon, lat))
        if thing["properties"]["kind"] == "air_quality_station":
            assert inside == (thing["name"] == "Dordrecht-Bamendaweg")
        else:
            assert inside, thing["name"]


def test_sites_lie_on_the_shipped_osm_features(demo_dir: Path) -> None:
    roads = gpd.read_parquet(demo_dir / "osm_transportation.parquet")
    poi = gpd.read_parquet(demo_dir / "osm_poi.parquet")
    for site in CITY_SITES.values():
        point = _rd_point(site.lon, site.lat)
        if site.road_class is not None:
            same_class = roads[roads["class"] == site.road_class]
            assert same_class.distance(point).min() < 1.0, site.key
        anchor = poi[poi["name:latin"] == site.near_poi]
        assert len(anchor) >= 1, site.near_poi
        assert anchor.distance(point).min() <= site.near_poi_m, site.key


def test_crowd_capacity_and_alert_rules(things: list[dict[str, Any]]) -> None:
    rules = demo_alert_rules(things)
    no2 = next(r for r in rules if r["observed_property"] == "NO2")
    assert no2 == {
        "name": "NO2 hourly mean above EU limit",
        "observed_property": "NO2",
        "kind": "threshold",
        "statistic": "hourly_mean",
        "operator": ">",
        "threshold": 200.0,
        "severity": "warning",
        "message": no2["message"],
    }
    assert "2008/50/EC" in no2["message"]
    rate = next(r for r in rules if r["kind"] == "rate_of_change")
    assert rate["observed_property"] == "PM2.5" and rate["window_seconds"] == 3600
    crowd_rules = {r["datastream_key"]: r["threshold"] for r in rules if "datastream_key" in r}
    capacities = {
        ds["properties"]["tweeling_key"]: float(ds["properties"]["capacity"])
        for _, ds in iter_datastreams(things)
        if "capacity" in ds["properties"]
    }
    assert crowd_rules == capacities
    assert len(crowd_rules) == len(CROWD_ZONES) == 6
    assert crowd_rules["crowd-visstraat-count"] == 400.0  # 8 m x 10 people/min/m x 5 min
    names = {ds["ObservedProperty"]["name"] for _, ds in iter_datastreams(things)}
    assert {r["observed_property"] for r in rules if "observed_property" in r} == {"NO2", "PM2.5"} <= names
    assert all(("observed_property" in r) != ("datastream_key" in r) for r in rules)


def test_alert_rules_are_accepted_by_the_hub(things: list[dict[str, Any]]) -> None:
    keys = [ds["properties"]["tweeling_key"] for _, ds in iter_datastreams(things)]
    ids = {key: number for number, key in enumerate(keys, start=1)}
    resolved = resolve_alert_rules(demo_alert_rules(things), ids)
    visstraat = next(r for r in resolved if r["name"] == "Crowd above capacity: Visstraat")
    assert visstraat["datastream_id"] == ids["crowd-visstraat-count"] and "datastream_key" not in visstraat
    for rule in resolved:
        assert validate_rule(rule)["threshold"] == rule["threshold"]
    with pytest.raises(InvalidInputError, match="crowd-visstraat-count"):
        resolve_alert_rules(demo_alert_rules(things), {})


def test_traffic_peaks_follow_road_class(things: list[dict[str, Any]]) -> None:
    peaks = {
        ds["properties"]["tweeling_key"]: ds["properties"]["simulation"]["peak"]
        for _, ds in iter_datastreams(things)
        if ds["properties"]["simulation"]["quantity"] == "traffic_flow"
    }
    assert peaks == {
        "traffic-spuiboulevard-flow": 1080.0,
        "traffic-raadtsingel-flow": 1800.0,
        "traffic-laan-vn-flow": 1800.0,
        "traffic-merwedestraat-flow": 1800.0,
        "traffic-oranjelaan-flow": 1800.0,
        "traffic-rondweg-n3-flow": 4320.0,
    }


def test_station_list_without_coordinates_is_refused(demo_dir: Path) -> None:
    stations = read_demo_stations(demo_dir)
    broken = stations.assign(Lat=pd.Series([None] * len(stations), dtype="float64"))
    with pytest.raises(InvalidInputError, match="valid Lat/Lon"):
        demo_things(broken)
