"""The Dordrecht demo city: the shipped source files and the layers built from them.

``read_demo_sources`` reads the compact copy shipped in the package (made by
``scripts/build_demo_data.py``); ``build_demo_layers`` turns it into the twin's layers.
"""

from __future__ import annotations

import gzip
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd

from tweeling.citymodel.areas import BUURTEN_SCHEMA, WIJKEN_SCHEMA, build_buurten, build_wijken
from tweeling.citymodel.buildings import BUILDINGS_SCHEMA, estimate_buildings
from tweeling.citymodel.datadir import DEMO_DIR
from tweeling.citymodel.facilities import FACILITIES_SCHEMA, build_facilities
from tweeling.citymodel.landcover import (
    GREEN_SCHEMA,
    WATER_SCHEMA,
    WATERWAYS_SCHEMA,
    build_green,
    build_water,
    build_waterways,
)
from tweeling.citymodel.roads import ROAD_NODES_SCHEMA, ROADS_SCHEMA, RoadClassParams, build_road_graph
from tweeling.citymodel.sensor_sites import SENSOR_SITES_SCHEMA, build_sensor_sites
from tweeling.citymodel.weather import WEATHER_SCHEMA, parse_knmi_daily
from tweeling.core.errors import InvalidInputError
from tweeling.store.base import LayerData

DEMO_LAYER_NAMES = (
    "buurten",
    "wijken",
    "buildings",
    "roads",
    "road_nodes",
    "facilities",
    "green",
    "water",
    "waterways",
    "sensor_sites",
    "weather",
)


@dataclass
class DemoSources:
    """The shipped source tables, as read from the demo folder (EPSG:28992)."""

    buurten: gpd.GeoDataFrame
    kwb_2024: pd.DataFrame
    buildings: gpd.GeoDataFrame
    addresses: gpd.GeoDataFrame
    bag_units: pd.DataFrame
    transportation: gpd.GeoDataFrame
    poi: gpd.GeoDataFrame
    landcover: gpd.GeoDataFrame
    landuse: gpd.GeoDataFrame
    park: gpd.GeoDataFrame
    water: gpd.GeoDataFrame
    waterway: gpd.GeoDataFrame
    stations: pd.DataFrame
    knmi_text: str


def read_demo_sources(demo_dir: Path = DEMO_DIR) -> DemoSources:
    """Read every shipped file; InvalidInputError naming the file if one is missing."""
    missing = [name for name in ("manifest.json", "osm_buildings.parquet") if not (demo_dir / name).exists()]
    if missing:
        raise InvalidInputError(
            f"{demo_dir}: demo data incomplete (missing {', '.join(missing)}); "
            "rebuild it with scripts/build_demo_data.py"
        )

    def geo(name: str) -> gpd.GeoDataFrame:
        return gpd.read_parquet(demo_dir / name)

    with gzip.open(demo_dir / "knmi_daily_etmgeg_348_cabauw.txt.gz", "rt", encoding="latin-1") as handle:
        knmi_text = handle.read()
    return DemoSources(
        buurten=geo("cbs_buurten_2020.parquet"),
        kwb_2024=pd.read_csv(demo_dir / "cbs_kwb_2024_wijken_gemeente_dordrecht.csv"),
        buildings=geo("osm_buildings.parquet"),
        addresses=geo("osm_addresses.parquet"),
        bag_units=pd.read_parquet(demo_dir / "bag_verblijfsobjecten_2021.parquet"),
        transportation=geo("osm_transportation.parquet"),
        poi=geo("osm_poi.parquet"),
        landcover=geo("osm_landcover.parquet"),
        landuse=geo("osm_landuse.parquet"),
        park=geo("osm_park.parquet"),
        water=geo("osm_water.parquet"),
        waterway=geo("osm_waterway.parquet"),
        stations=pd.read_csv(demo_dir / "rivm_lml_airquality_stations_near_dordrecht_2013.csv"),
        knmi_text=knmi_text,
    )


def build_demo_layers(sources: DemoSources, road_classes: Mapping[str, RoadClassParams]) -> list[LayerData]:
    """Every layer of the demo city, in DEMO_LAYER_NAMES order, each with its schema and report."""
    buurten = build_buurten(sources.buurten)
    wijken = build_wijken(buurten, sources.kwb_2024)
    estimate = estimate_buildings(
        sources.buildings, sources.addresses, buurten, sources.bag_units, sources.landuse, sources.poi
    )
    graph = build_road_graph(sources.transportation, road_classes=road_classes)
    municipality = buurten.geometry.union_all()
    weather = parse_knmi_daily(sources.knmi_text)
    layers = [
        LayerData(BUURTEN_SCHEMA, buurten, {"population": int(buurten["aant_inw"].sum())}),
        LayerData(WIJKEN_SCHEMA, wijken),
        LayerData(BUILDINGS_SCHEMA, estimate.frame, estimate.report.to_dict()),
        LayerData(ROADS_SCHEMA, graph.edges, graph.report.to_dict()),
        LayerData(ROAD_NODES_SCHEMA, graph.nodes, graph.report.to_dict()),
        LayerData(FACILITIES_SCHEMA, build_facilities(sources.poi)),
        LayerData(GREEN_SCHEMA, build_green(sources.landcover, sources.landuse, sources.park)),
        LayerData(WATER_SCHEMA, build_water(sources.water)),
        LayerData(WATERWAYS_SCHEMA, build_waterways(sources.waterway)),
        LayerData(SENSOR_SITES_SCHEMA, build_sensor_sites(sources.stations, municipality)),
        LayerData(
            WEATHER_SCHEMA,
            weather,
            {"first_date": str(weather["date"].min()), "last_date": str(weather["date"].max())},
        ),
    ]
    for layer in layers:
        layer.report.setdefault("features", len(layer.frame))
    return layers
