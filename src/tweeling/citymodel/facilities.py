"""Facilities: the places people go to (GP, school, supermarket, ...) from OSM points of interest.

Built from the OpenMapTiles ``poi`` layer (OSM, snapshot of about August 2021). Each POI
whose (class, subclass) is in :data:`FACILITY_TYPES` becomes one facility; all other POIs
(shops, restaurants, parking, benches, ...) are left out. The mapping only lists pairs that
exist in the Dordrecht data; see the notes of :data:`FACILITIES_SCHEMA` for what each type
does and does not mean (OSM does not say a school's level, ``doctors`` is not only GPs).

Capacity is unknown in OSM: ``capacity`` is empty and is filled in later by scenario
interventions or other sources, which then say where the figure came from in
``capacity_source``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import geopandas as gpd
import pandas as pd

from tweeling.citymodel.provenance import OSM_ATTRIBUTION, OSM_LICENCE, OSM_SOURCE
from tweeling.core.crs import STORE_EPSG
from tweeling.core.errors import InvalidInputError
from tweeling.core.schema import FieldSpec, LayerSchema

FACILITY_TYPES: Mapping[tuple[str, str], str] = MappingProxyType(
    {
        # health and care
        ("doctors", "doctors"): "gp",
        ("dentist", "dentist"): "dentist",
        ("pharmacy", "pharmacy"): "pharmacy",
        ("hospital", "hospital"): "hospital",
        ("hospital", "clinic"): "clinic",
        ("hospital", "nursing_home"): "care_home",
        # food
        ("grocery", "supermarket"): "supermarket",
        ("convenience", "convenience"): "convenience",
        ("grocery", "greengrocer"): "greengrocer",
        ("grocery", "marketplace"): "marketplace",
        # education and childcare
        ("school", "kindergarten"): "kindergarten",
        ("school", "school"): "school",
        ("college", "college"): "college",
        ("college", "university"): "university",
        # public services and community
        ("library", "library"): "library",
        ("town_hall", "community_centre"): "community_centre",
        ("town_hall", "townhall"): "town_hall",
        ("post", "post_office"): "post_office",
        ("police", "police"): "police",
        ("fire_station", "fire_station"): "fire_station",
        ("place_of_worship", "place_of_worship"): "place_of_worship",
        # sport, play and culture
        ("sports_centre", "sports_centre"): "sports_centre",
        ("swimming", "swimming"): "swimming",
        ("playground", "playground"): "playground",
        ("museum", "museum"): "museum",
        ("theatre", "theatre"): "theatre",
        ("cinema", "cinema"): "cinema",
        # public transport (no railway station POI in the Dordrecht extract)
        ("bus", "bus_station"): "bus_station",
        ("ferry_terminal", "ferry_terminal"): "ferry_terminal",
    }
)
"""OpenMapTiles POI (class, subclass) -> twin facility type. Pairs not listed are not facilities."""

FACILITY_TYPE_NAMES: tuple[str, ...] = tuple(dict.fromkeys(FACILITY_TYPES.values()))
"""Every facility type, in the order of :data:`FACILITY_TYPES`."""

FACILITY_COLUMNS = [
    "facility_id",
    "facility_type",
    "name",
    "osm_class",
    "osm_subclass",
    "capacity",
    "capacity_source",
]

FACILITIES_SCHEMA = LayerSchema(
    name="facilities",
    title="Facilities",
    description=(
        "Points people travel to for care, food, education, services, sport and public transport, "
        "selected from OpenStreetMap points of interest."
    ),
    geometry_type="Point",
    fields=[
        FieldSpec(name="facility_id", type="integer", description="Facility number, 1..n.", nullable=False),
        FieldSpec(
            name="facility_type",
            type="string",
            description="Twin facility type (gp, school, supermarket, ...), mapped from the OSM POI class.",
            source="OpenStreetMap",
            nullable=False,
        ),
        FieldSpec(name="name", type="string", description="Name as in OSM (name:latin); empty if unnamed."),
        FieldSpec(
            name="osm_class",
            type="string",
            description="OpenMapTiles POI class.",
            source="OpenStreetMap",
            nullable=False,
        ),
        FieldSpec(
            name="osm_subclass",
            type="string",
            description="OpenMapTiles POI subclass (the OSM tag value).",
            source="OpenStreetMap",
            nullable=False,
        ),
        FieldSpec(
            name="capacity",
            type="number",
            description=(
                "How many people the facility can serve (pupils, beds, patients, ...); unknown (empty) "
                "in OSM, set later by scenario interventions or other sources."
            ),
            unit="persons",
        ),
        FieldSpec(
            name="capacity_source",
            type="string",
            description="Where the capacity figure comes from; empty while capacity is unknown.",
        ),
    ],
    source=OSM_SOURCE,
    licence=OSM_LICENCE,
    attribution=OSM_ATTRIBUTION,
    primary_key="facility_id",
    notes=[
        "One row per OSM point of interest whose (class, subclass) is listed in FACILITY_TYPES; "
        "no de-duplication (a facility mapped twice in OSM appears twice).",
        "school: OSM amenity=school does not say the level (primary or secondary), so the type is "
        "'school' for both; kindergarten is listed separately.",
        "gp: OSM amenity=doctors, mostly general practices but also other practitioners "
        "(e.g. a podiatrist, an occupational health centre) and the out-of-hours GP post.",
        "hospital: includes mental-health institutions tagged amenity=hospital; care_home is "
        "amenity=nursing_home; clinic is amenity=clinic.",
        "college: mostly MBO (vocational) schools; university: HBO in the Dordrecht data.",
        "post_office includes post service points inside shops.",
        "swimming: OSM sport=swimming (pools and swimming venues).",
        "No railway station POI is in the Dordrecht extract; public transport is bus_station and "
        "ferry_terminal (waterbus and ferry landings) only.",
        "Capacity is unknown in OSM: capacity and capacity_source are empty.",
    ],
)


def _require_columns(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InvalidInputError(f"{what} lacks column(s) {missing}; it has {list(frame.columns)}")


def _in_store_crs(frame: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    if frame.crs is None:
        raise InvalidInputError(f"{what} has no CRS; expected EPSG:{STORE_EPSG}")
    if frame.crs.to_epsg() != STORE_EPSG:
        return frame.to_crs(STORE_EPSG)
    return frame


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return None
    text = str(value).strip()
    return text or None


def build_facilities(poi: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Facilities from the OpenMapTiles POI layer (columns class, subclass, name:latin, geometry).

    Returns a GeoDataFrame in EPSG:28992 with the columns of :data:`FACILITIES_SCHEMA` and
    ``geometry`` (points), ``facility_id`` 1..n in source order.
    """
    _require_columns(poi, ["class", "subclass"], "POI frame")
    if not isinstance(poi, gpd.GeoDataFrame):
        raise InvalidInputError("POI frame must be a GeoDataFrame with point geometries")
    poi = _in_store_crs(poi, "POI frame")
    osm_class = poi["class"].map(_text)
    osm_subclass = poi["subclass"].map(_text)
    facility_type = pd.Series(
        [FACILITY_TYPES.get((c, s)) for c, s in zip(osm_class, osm_subclass, strict=True)],
        index=poi.index,
        dtype="object",
    )
    keep = facility_type.notna()
    selected = poi[keep]
    if "name:latin" in poi.columns:
        names = [_text(v) for v in selected["name:latin"]]
    else:
        names = [None] * len(selected)
    count = len(selected)
    out = pd.DataFrame(
        {
            "facility_id": pd.Series(range(1, count + 1), dtype="int64"),
            "facility_type": facility_type[keep].to_numpy(),
            "name": pd.Series(names, dtype="object"),
            "osm_class": osm_class[keep].to_numpy(),
            "osm_subclass": osm_subclass[keep].to_numpy(),
            "capacity": pd.array([pd.NA] * count, dtype="Float64"),
            "capacity_source": pd.Series([None] * count, dtype="object"),
        }
    )
    return gpd.GeoDataFrame(out[FACILITY_COLUMNS], geometry=selected.geometry.to_numpy(), crs=STORE_EPSG)


def facility_counts(facilities: pd.DataFrame) -> dict[str, int]:
    """Number of facilities per type, every type of :data:`FACILITY_TYPE_NAMES` included (0 if none)."""
    counts = facilities["facility_type"].value_counts()
    return {name: int(counts.get(name, 0)) for name in FACILITY_TYPE_NAMES}
