"""Apply a scenario's interventions to the baseline city state, checking them against the city.

Each intervention becomes a change of the :class:`CityState` the models read (new buildings,
closed links, green, facilities, trip reductions, a time horizon); the result also says which
fields changed and where (:class:`CityChange`), so the engine recomputes only what is touched.
Errors name the intervention (``interventions[i]``) and the field, and how to fix it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from tweeling.core.crs import transformer
from tweeling.core.errors import InvalidInputError
from tweeling.scenarios.city import (
    CRS,
    HOUSEHOLD_TYPES,
    CityChange,
    CityState,
    building_centroids,
    with_centroids,
)
from tweeling.scenarios.interventions import (
    FacilityChange,
    Geometry,
    Greening,
    HousingProject,
    Intervention,
    TimeHorizon,
    TrafficMeasure,
)

HOUSEHOLD_SIZE = {"starters": 1.5, "families": 3.8, "seniors": 1.5}
"""Persons per new dwelling by household type (assumed; CBS mean household size in Dordrecht is
about 2.1). Used for ``residents_est`` of new buildings; the demography model has its own
age-specific composition."""

STOREY_HEIGHT_M = 3.0
"""Storey height used to turn a building height into floors (assumed)."""

INSIDE_SHARE = 0.9
"""Share of an intervention's area that must lie inside the municipality."""


@dataclass(frozen=True)
class AppliedScenario:
    """The scenario's city state and what changed."""

    city: CityState
    change: CityChange


def _invalid(index: int, item: Intervention, field: str, reason: str) -> InvalidInputError:
    name = f"interventions[{index}].{field}"
    message = f"intervention {index} ({item.type} '{item.name}'): {field}: {reason}"
    return InvalidInputError(message, invalid_params=[{"name": name, "reason": reason}])


def to_rd(geom: BaseGeometry, crs: str) -> BaseGeometry:
    """A geometry in the scenario's CRS as a shapely geometry in EPSG:28992 (m)."""
    if crs == "EPSG:28992":
        return geom
    forward = transformer(4326, 28992)
    return shapely.transform(geom, lambda xy: np.column_stack(forward.transform(xy[:, 0], xy[:, 1])))


def _ids(values: list[int], name: str) -> pd.Index:
    return pd.Index(values, name=name, dtype="int64")


def _append(frame: pd.DataFrame, rows: pd.DataFrame, *, ignore_index: bool = False) -> pd.DataFrame:
    """``frame`` with ``rows`` appended (``rows`` alone when ``frame`` is empty, keeping its dtypes)."""
    return rows if frame.empty else pd.concat([frame, rows], ignore_index=ignore_index)


class _Applier:
    """Applies interventions one by one to a working copy of the city state."""

    def __init__(self, baseline: CityState, crs: str) -> None:
        self.city = baseline
        self.crs = crs
        self.fields: set[str] = set()
        self.bounds: list[tuple[float, float, float, float]] = []
        self.outline = shapely.prepared.prep(baseline.municipality)
        self.outline_geometry = baseline.municipality

    def geometry(self, index: int, item: Intervention, field: str, geometry: Geometry) -> BaseGeometry:
        """The geometry in RD, checked: valid, non-empty, inside the municipality."""
        try:
            raw = shape(geometry.model_dump())
        except (ValueError, TypeError, IndexError, AttributeError) as error:
            raise _invalid(index, item, field, f"not a valid GeoJSON geometry ({error})") from None
        if self.crs == "EPSG:4326" and not raw.is_empty:
            lon_min, lat_min, lon_max, lat_max = raw.bounds
            if lon_min < -180 or lon_max > 180 or lat_min < -90 or lat_max > 90:
                reason = "lies outside the municipality of Dordrecht (coordinates read as EPSG:4326 lon/lat; "
                raise _invalid(index, item, field, reason + "set crs: EPSG:28992 for RD metres)")
        geom = to_rd(raw, self.crs)
        if geom.is_empty:
            raise _invalid(index, item, field, "geometry is empty")
        if not geom.is_valid:
            reason = shapely.is_valid_reason(geom)
            raise _invalid(index, item, field, f"invalid geometry ({reason}); fix self-intersections")
        if geom.area > 0:
            inside = geom.intersection(self.outline_geometry).area / geom.area
        else:
            inside = 1.0 if self.outline.contains(geom) else 0.0
        if inside < INSIDE_SHARE:
            where = "EPSG:4326 lon/lat" if self.crs == "EPSG:4326" else "EPSG:28992 metres"
            reason = f"lies outside the municipality of Dordrecht (coordinates read as {where})"
            raise _invalid(index, item, field, reason)
        self.bounds.append(tuple(geom.bounds))
        return geom

    def changed(self, *fields: str) -> None:
        self.fields.update(fields)

    def buurt_at(self, point: BaseGeometry) -> pd.Series:
        buurten = self.city.buurten
        hits = buurten.index[buurten.geometry.contains(point)]
        if len(hits) == 0:
            nearest = buurten.geometry.distance(point).idxmin()
            return buurten.loc[nearest]
        return buurten.loc[hits[0]]

    def housing(self, index: int, item: HousingProject) -> None:
        buildings = self.city.buildings
        demolish = pd.Index(item.replace_buildings, dtype="int64")
        unknown = demolish.difference(buildings.index)
        if len(unknown):
            raise _invalid(index, item, "replace_buildings", f"unknown building_id {list(unknown[:5])}")
        if item.geometry is not None:
            site = self.geometry(index, item, "geometry", item.geometry)
            if item.replace_existing:
                x, y = building_centroids(buildings)
                demolish = demolish.union(buildings.index[shapely.contains_xy(site, x, y)])
        else:
            site = shapely.union_all(buildings.geometry.loc[demolish].to_numpy())
            self.bounds.append(tuple(site.bounds))
        kept = buildings.drop(index=demolish)
        buurt = self.buurt_at(site.representative_point())
        building_id = int(buildings.index.max()) + 1 if len(buildings) else 1
        mix = item.household_mix
        persons = item.dwellings * sum(getattr(mix, kind) * HOUSEHOLD_SIZE[kind] for kind in HOUSEHOLD_TYPES)
        floors = max(1, round(item.height_m / STOREY_HEIGHT_M))
        row = {
            "bu_code": buurt.name,
            "wk_code": buurt.get("wk_code"),
            "footprint_area_m2": site.area,
            "height_m": item.height_m,
            "min_height_m": 0.0,
            "height_source": "scenario",
            "floors": floors,
            "floors_source": "scenario",
            "address_count": item.dwellings,
            "poi_count": 0,
            "landuse_class": "residential",
            "main_use": "mixed" if item.nonresidential_floor_m2 > 0 else "residential",
            "main_use_source": "scenario",
            "dwellings_raw": item.dwellings,
            "dwellings_est": float(item.dwellings),
            "dwellings_source": "scenario",
            "residents_est": float(persons),
            "residents_source": "scenario: dwellings x household size by type (assumed)",
            "nonresidential_floor_m2": item.nonresidential_floor_m2,
            "nonresidential_floor_source": "scenario",
            "scenario_added": True,
            "parking_per_dwelling": item.parking_per_dwelling,
        }
        new = with_centroids(
            gpd.GeoDataFrame([row], geometry=[site], crs=CRS, index=_ids([building_id], "building_id"))
        )
        if "parking_per_dwelling" not in kept.columns:
            kept = kept.assign(parking_per_dwelling=np.nan)
        households = pd.DataFrame(
            [
                {
                    "intervention": item.name,
                    "bu_code": buurt.name,
                    "building_id": building_id,
                    "dwellings": float(item.dwellings),
                    **{f"share_{kind}": float(getattr(mix, kind)) for kind in HOUSEHOLD_TYPES},
                }
            ]
        )
        self.city = self.city.replace(
            buildings=pd.concat([kept, new[[c for c in kept.columns if c in new.columns]]]),
            new_households=_append(self.city.new_households, households, ignore_index=True),
        )
        self.changed("buildings", "new_households")

    def traffic(self, index: int, item: TrafficMeasure) -> None:
        roads = self.city.roads
        selected = pd.Index(item.roads, dtype="int64")
        unknown = selected.difference(roads.index)
        if len(unknown):
            raise _invalid(index, item, "roads", f"unknown edge_id {list(unknown[:5])}")
        zone = self.geometry(index, item, "zone", item.zone) if item.zone is not None else None
        if zone is not None and item.measure != "trip_reduction":
            midpoints = roads.geometry.interpolate(0.5, normalized=True)
            selected = selected.union(roads.index[midpoints.within(zone)])
        elif zone is None:
            self.bounds.append(tuple(roads.geometry.loc[selected].total_bounds))
        if item.measure in ("close_roads", "car_free_zone"):
            car = roads.loc[selected, "car"]
            if not car.any():
                field = "roads" if zone is None else "zone"
                raise _invalid(index, item, field, "selects no road open to cars")
            updated = roads.copy()
            updated.loc[selected, "car"] = False
            self.city = self.city.replace(roads=updated)
            self.changed("roads.car")
        elif item.measure == "speed_limit":
            assert item.speed_limit_kmh is not None
            updated = roads.copy()
            speed = np.minimum(updated.loc[selected, "free_speed_kmh"], item.speed_limit_kmh)
            updated.loc[selected, "free_speed_kmh"] = speed
            updated.loc[selected, "travel_time_s"] = updated.loc[selected, "length_m"] / (speed / 3.6)
            self.city = self.city.replace(roads=updated)
            self.changed("roads.car")
        else:
            assert zone is not None and item.reduction is not None
            buurten = self.city.buurten
            overlap = buurten.geometry.intersection(zone).area / buurten.geometry.area.where(buurten.area > 0)
            share = (overlap.fillna(0.0) * item.reduction).clip(0, 1)
            share = share[share > 0.01]
            current = self.city.trip_reduction
            combined = 1 - (1 - current.reindex(share.index, fill_value=0.0)) * (1 - share)
            reduction = combined.combine_first(current).rename("trip_reduction")
            reduction.index.name = "bu_code"
            self.city = self.city.replace(trip_reduction=reduction)
            self.changed("trip_reduction")

    def greening(self, index: int, item: Greening) -> None:
        geom = self.geometry(index, item, "geometry", item.geometry)
        if item.action == "trees":
            points = list(getattr(geom, "geoms", [geom]))
            trees = self.city.trees
            start = int(trees.index.max()) + 1 if len(trees) else 1
            new = gpd.GeoDataFrame(
                {"crown_diameter_m": [item.crown_diameter_m] * len(points)},
                geometry=points,
                crs=CRS,
                index=pd.RangeIndex(start, start + len(points), name="tree_id"),
            )
            self.city = self.city.replace(trees=_append(trees, new))
            self.changed("trees")
            return
        depaved = self.city.depaved
        start = int(depaved.index.max()) + 1 if len(depaved) else 1
        surface = item.surface
        if item.action == "green" and surface == "water":
            surface = "grass"
        new_depaved = gpd.GeoDataFrame(
            {"surface": [surface]}, geometry=[geom], crs=CRS, index=_ids([start], "depaved_id")
        )
        self.city = self.city.replace(depaved=_append(depaved, new_depaved))
        self.changed("depaved")
        if item.action == "green" or surface != "water":
            green = self.city.green
            green_id = int(green.index.max()) + 1 if len(green) else 1
            row = gpd.GeoDataFrame(
                {
                    "green_type": ["wood" if surface == "trees" else "grass"],
                    "source_layer": ["scenario"],
                    "area_m2": [geom.area],
                    "public_access": [True],
                },
                geometry=[geom],
                crs=CRS,
                index=_ids([green_id], "green_id"),
            )
            self.city = self.city.replace(green=pd.concat([green, row]))
            self.changed("green")

    def facility(self, index: int, item: FacilityChange) -> None:
        facilities = self.city.facilities
        if item.action == "remove":
            if item.facility_id not in facilities.index:
                raise _invalid(index, item, "facility_id", f"unknown facility_id {item.facility_id}")
            self.bounds.append(tuple(facilities.geometry.loc[[item.facility_id]].total_bounds))
            self.city = self.city.replace(facilities=facilities.drop(index=[item.facility_id]))
        else:
            assert item.location is not None
            point = self.geometry(index, item, "location", item.location)
            facility_id = int(facilities.index.max()) + 1 if len(facilities) else 1
            row = gpd.GeoDataFrame(
                {
                    "facility_type": [item.facility_type],
                    "name": [item.name],
                    "capacity": [item.capacity],
                    "capacity_source": ["scenario" if item.capacity is not None else None],
                    "scenario_added": [True],
                },
                geometry=[point],
                crs=CRS,
                index=_ids([facility_id], "facility_id"),
            )
            self.city = self.city.replace(facilities=pd.concat([facilities, row]))
        self.changed("facilities")

    def apply(self, index: int, item: Intervention) -> None:
        if isinstance(item, HousingProject):
            self.housing(index, item)
        elif isinstance(item, TrafficMeasure):
            self.traffic(index, item)
        elif isinstance(item, Greening):
            self.greening(index, item)
        elif isinstance(item, FacilityChange):
            self.facility(index, item)
        elif isinstance(item, TimeHorizon):
            self.city = self.city.replace(horizon_years=item.years)
            self.changed("horizon_years")

    def result(self, citywide: bool) -> AppliedScenario:
        bbox = None
        if self.bounds and not citywide:
            array = np.array(self.bounds)
            bbox = (array[:, 0].min(), array[:, 1].min(), array[:, 2].max(), array[:, 3].max())
        return AppliedScenario(self.city, CityChange(frozenset(self.fields), bbox))


def apply_interventions(
    baseline: CityState, interventions: Sequence[Intervention], crs: str = "EPSG:4326", *, offset: int = 0
) -> AppliedScenario:
    """The city state after all ``interventions`` (in order), and what they changed.

    ``offset`` is the position of the first intervention in the scenario, for error messages.
    Raises :class:`InvalidInputError` naming the intervention and field on any problem.
    """
    applier = _Applier(baseline, crs)
    for position, item in enumerate(interventions):
        applier.apply(offset + position, item)
    citywide = any(isinstance(item, TimeHorizon) for item in interventions)
    return applier.result(citywide)
