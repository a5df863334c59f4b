"""The city state the impact models read: the twin's layers as frames, plus scenario-only inputs.

A baseline state is built from the stored layers (:func:`city_from_layers`); applying a scenario's
interventions gives a new state (``scenarios.apply``). Frames are indexed by their ids
(``bu_code``, ``building_id``, ``edge_id``, ``node_id``, ``facility_id``) and are in EPSG:28992
(metres). Models must not modify them: take a copy before changing a column.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

CRS = "EPSG:28992"

HOUSEHOLD_TYPES = ("starters", "families", "seniors")
"""Household mix of new housing: starters (1-2 persons, 20-34 years), families (with children),
seniors (65+)."""

CITY_FIELDS = (
    "buurten",
    "buildings",
    "roads",
    "road_nodes",
    "facilities",
    "green",
    "water",
    "trees",
    "depaved",
    "weather",
    "horizon_years",
    "trip_reduction",
    "new_households",
    "roads.car",
    "roads.active",
)
"""Fields of :class:`CityState` that interventions can change and models declare in ``reads``.

Two parts of ``roads`` can be named on their own: ``roads.car``, the car attributes (``car``,
``free_speed_kmh``, ``travel_time_s``, ``capacity_veh_per_h``), and ``roads.active``, what walking
and cycling use (``foot``, ``bicycle``, ``length_m``, the geometry). ``roads`` covers both, so a
traffic measure (``roads.car``) does not touch a model that reads only ``roads.active``."""


def _empty_geo(columns: list[str], index_name: str) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame({name: pd.Series(dtype="float64") for name in columns}, geometry=[], crs=CRS)
    frame.index.name = index_name
    return frame


def empty_trees() -> gpd.GeoDataFrame:
    """Planted trees (points, ``crown_diameter_m``); the shipped data has no tree register."""
    return _empty_geo(["crown_diameter_m"], "tree_id")


def empty_depaved() -> gpd.GeoDataFrame:
    """Areas where paving is removed (polygons, ``surface`` = grass|trees|water)."""
    frame = _empty_geo([], "depaved_id")
    frame["surface"] = pd.Series(dtype="object")
    return frame


def empty_trip_reduction() -> pd.Series:
    """Share (0-1) of car trips to/from a buurt removed by traffic measures (index ``bu_code``)."""
    index = pd.Index([], name="bu_code", dtype="object")
    return pd.Series(dtype="float64", name="trip_reduction", index=index)


def empty_new_households() -> pd.DataFrame:
    """New dwellings by buurt and household type, added by housing projects."""
    return pd.DataFrame(
        {
            "intervention": pd.Series(dtype="object"),
            "bu_code": pd.Series(dtype="object"),
            "building_id": pd.Series(dtype="int64"),
            "dwellings": pd.Series(dtype="float64"),
            **{f"share_{kind}": pd.Series(dtype="float64") for kind in HOUSEHOLD_TYPES},
        }
    )


@dataclass(frozen=True)
class CityState:
    """One state of the city (baseline or scenario). All geometry in EPSG:28992 (m).

    - ``buurten``: CBS buurten 2020 (index ``bu_code``), population and age shares (%).
    - ``buildings``: footprints (index ``building_id``) with ``height_m``, ``floors``, ``main_use``,
      ``dwellings_est``, ``residents_est``, ``nonresidential_floor_m2``, ``scenario_added`` and the
      footprint centroid ``centroid_x``, ``centroid_y`` (m; computed once, read by
      :func:`building_centroids`).
    - ``roads``: directed-or-not links (index ``edge_id``) with ``from_node``, ``to_node``,
      ``road_class``, ``oneway``, ``length_m``, ``free_speed_kmh``, ``capacity_veh_per_h``,
      ``travel_time_s``, ``car``, ``bicycle``, ``foot``; ``road_nodes`` (index ``node_id``).
    - ``facilities`` (index ``facility_id``): ``facility_type``, ``capacity`` (nullable).
    - ``green``, ``water``: polygons; ``trees``: planted trees; ``depaved``: de-paved polygons.
    - ``weather``: KNMI daily series (Cabauw 348).
    - ``horizon_years``: years ahead of ``year`` to project demography (0 = now).
    - ``trip_reduction``: share (0-1) of car trips to/from each buurt removed (index ``bu_code``).
    - ``new_households``: dwellings added by housing projects with their household mix.
    """

    year: int
    buurten: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    roads: gpd.GeoDataFrame
    road_nodes: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    green: gpd.GeoDataFrame
    water: gpd.GeoDataFrame
    weather: pd.DataFrame
    trees: gpd.GeoDataFrame = field(default_factory=empty_trees)
    depaved: gpd.GeoDataFrame = field(default_factory=empty_depaved)
    horizon_years: int = 0
    trip_reduction: pd.Series = field(default_factory=lambda: empty_trip_reduction())
    new_households: pd.DataFrame = field(default_factory=empty_new_households)

    def replace(self, **changes: object) -> CityState:
        """A copy with some fields replaced (frames are shared, not copied)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @property
    def municipality(self) -> object:
        """The municipality outline (shapely geometry): the union of the buurten."""
        return self.buurten.geometry.union_all()


@dataclass(frozen=True)
class CityChange:
    """What a scenario changed relative to the baseline: the fields, and where (RD bbox, m)."""

    fields: frozenset[str]
    bbox: tuple[float, float, float, float] | None = None

    def touches(self, reads: frozenset[str]) -> bool:
        """Whether a model reading ``reads`` must be recomputed (a field covers its parts, see
        ``CITY_FIELDS``)."""
        return any(_overlap(changed, read) for changed in self.fields for read in reads)


def _overlap(first: str, second: str) -> bool:
    """Whether two field names share data: equal, or one is the table the other is a part of."""
    return first == second or first.partition(".")[0] == second or second.partition(".")[0] == first


NONRESIDENTIAL_FLOOR_SHARE = 0.8
"""Share of gross floor area of a non-residential building counted as usable floor area (assumed)."""

MIXED_NONRESIDENTIAL_SHARE = 0.3
"""Share of a mixed-use building's floor area that is non-residential (assumed)."""


def building_centroids(buildings: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Footprint centroids (x, y in m) of the buildings: the ``centroid_x``/``centroid_y`` columns
    when the frame has them (so that each model does not compute them again), else computed."""
    if {"centroid_x", "centroid_y"} <= set(buildings.columns):
        return buildings["centroid_x"].to_numpy(float), buildings["centroid_y"].to_numpy(float)
    centroids = shapely.centroid(buildings.geometry.to_numpy())
    return shapely.get_x(centroids), shapely.get_y(centroids)


def with_centroids(buildings: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The buildings with their ``centroid_x``/``centroid_y`` columns computed from the footprints."""
    centroids = shapely.centroid(buildings.geometry.to_numpy())
    return buildings.assign(centroid_x=shapely.get_x(centroids), centroid_y=shapely.get_y(centroids))


def _index(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    if column in frame.columns:
        frame = frame.set_index(column, drop=True)
    frame.index.name = column
    return frame


def city_from_layers(layers: Mapping[str, pd.DataFrame], year: int = 2021) -> CityState:
    """The baseline city state from the twin's layers (as read from the store or the demo build).

    Adds ``nonresidential_floor_m2`` to buildings (footprint x floors x 0.8 for non-residential,
    x 0.3 of that for mixed use; estimated, flagged in ``nonresidential_floor_source``) and
    ``scenario_added`` = False.
    """
    buildings = _index(gpd.GeoDataFrame(layers["buildings"]).copy(), "building_id")
    gross = buildings["footprint_area_m2"].to_numpy(float) * buildings["floors"].to_numpy(float)
    share = np.select(
        [buildings["main_use"] == "non-residential", buildings["main_use"] == "mixed"],
        [NONRESIDENTIAL_FLOOR_SHARE, NONRESIDENTIAL_FLOOR_SHARE * MIXED_NONRESIDENTIAL_SHARE],
        0.0,
    )
    buildings["nonresidential_floor_m2"] = gross * share
    buildings["nonresidential_floor_source"] = "estimated: footprint x floors x share by main use"
    buildings["scenario_added"] = False
    buildings = with_centroids(buildings)
    facilities = _index(gpd.GeoDataFrame(layers["facilities"]).copy(), "facility_id")
    facilities["scenario_added"] = False
    return CityState(
        year=year,
        buurten=_index(gpd.GeoDataFrame(layers["buurten"]).copy(), "bu_code"),
        buildings=buildings,
        roads=_index(gpd.GeoDataFrame(layers["roads"]).copy(), "edge_id"),
        road_nodes=_index(gpd.GeoDataFrame(layers["road_nodes"]).copy(), "node_id"),
        facilities=facilities,
        green=_index(gpd.GeoDataFrame(layers["green"]).copy(), "green_id"),
        water=_index(gpd.GeoDataFrame(layers["water"]).copy(), "water_id"),
        weather=pd.DataFrame(layers["weather"]).copy(),
    )
