"""Green space, water surfaces and waterways from the OpenMapTiles layers of OSM.

Three layers, each one row per source feature:

* ``green`` from the ``landcover`` (vegetated classes only), ``landuse`` (cemetery, pitch,
  playground) and ``park`` (national park, nature reserves) layers;
* ``water`` from the ``water`` layer (polygons);
* ``waterways`` from the ``waterway`` layer (centre lines).

Overlaps: polygons of one green_type do not overlap in the Dordrecht data, but types do.
Landcover polygons of different classes overlap one another (in Dordrecht about 5.2 km²:
51.5 km² summed, 46.3 km² as a union), pitches lie on grass, and the ``park`` polygons are
protected-area *designations* (De Biesbosch) that overlap the landcover beneath them and
include open water (about 5.2 km² of the 26.2 km² park union is water).
Summing ``area_m2`` therefore double counts; :func:`green_area_by_type` and
:func:`dissolved_green_area_m2` give areas of the union instead.

Invalid polygons are repaired with ``shapely.make_valid`` (polygonal parts kept); the
``geometry_repaired`` column marks each repaired row and the number is logged. The
Dordrecht 2021 extract has no invalid polygon, so the column is all false there.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from types import MappingProxyType

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from tweeling.citymodel.provenance import OSM_ATTRIBUTION, OSM_LICENCE, OSM_SOURCE
from tweeling.core.crs import STORE_EPSG
from tweeling.core.errors import InvalidInputError
from tweeling.core.schema import FieldSpec, LayerSchema

logger = logging.getLogger(__name__)


ANY = "*"
"""Subclass wildcard in :data:`GREEN_TYPES`."""

GREEN_TYPES: Mapping[tuple[str, str, str], str] = MappingProxyType(
    {
        ("landcover", "grass", "park"): "park",
        ("landcover", "grass", "garden"): "garden",
        ("landcover", "grass", "allotments"): "allotments",
        ("landcover", "grass", "recreation_ground"): "recreation_ground",
        ("landcover", "grass", ANY): "grass",
        ("landcover", "wood", ANY): "wood",
        ("landcover", "farmland", ANY): "farmland",
        ("landcover", "wetland", ANY): "wetland",
        ("landuse", "cemetery", ANY): "cemetery",
        ("landuse", "pitch", ANY): "sports_pitch",
        ("landuse", "playground", ANY): "playground",
        ("park", "national_park", ANY): "national_park",
        ("park", "nature_reserve", ANY): "nature_reserve",
    }
)
"""(source layer, OpenMapTiles class, subclass or ``*``) -> green_type; the exact subclass wins.

Not green and left out: landcover ``sand`` (beaches, sand), and every other landuse class
(residential, industrial, school, ...)."""

DESIGNATION_TYPES: tuple[str, ...] = ("national_park", "nature_reserve")
"""Green types that are protected-area boundaries, not land cover (they include water)."""

GREEN_COLUMNS = [
    "green_id",
    "green_type",
    "source_layer",
    "osm_class",
    "osm_subclass",
    "name",
    "area_m2",
    "public_access",
    "geometry_repaired",
]
WATER_COLUMNS = ["water_id", "water_type", "area_m2", "geometry_repaired"]
WATERWAY_COLUMNS = ["waterway_id", "waterway_type", "name", "intermittent", "brunnel", "length_m"]

_SOURCE = OSM_SOURCE
_REPAIRED = FieldSpec(
    name="geometry_repaired",
    type="boolean",
    description="True when the source polygon was invalid and repaired with shapely.make_valid.",
    nullable=False,
)

GREEN_SCHEMA = LayerSchema(
    name="green",
    title="Green space",
    description=(
        "Vegetated land cover (grass, park, wood, farmland, wetland), green land use (cemetery, sports "
        "pitch, playground) and nature designations (national park, nature reserve) from OpenStreetMap."
    ),
    geometry_type="MultiPolygon",
    fields=[
        FieldSpec(name="green_id", type="integer", description="Polygon number, 1..n.", nullable=False),
        FieldSpec(
            name="green_type",
            type="string",
            description="Twin green type: " + ", ".join(dict.fromkeys(GREEN_TYPES.values())) + ".",
            source="OpenStreetMap",
            nullable=False,
        ),
        FieldSpec(
            name="source_layer",
            type="string",
            description="OpenMapTiles layer the polygon comes from: landcover, landuse or park.",
            nullable=False,
        ),
        FieldSpec(name="osm_class", type="string", description="OpenMapTiles class.", nullable=False),
        FieldSpec(
            name="osm_subclass",
            type="string",
            description="OpenMapTiles subclass (landcover only; empty for landuse and park).",
        ),
        FieldSpec(name="name", type="string", description="Name (park layer only, e.g. Biesbosch)."),
        FieldSpec(
            name="area_m2",
            type="number",
            description="Area of this polygon (planar, RD New); polygons may overlap, see notes.",
            unit="m2",
            nullable=False,
        ),
        FieldSpec(
            name="public_access",
            type="boolean",
            description=(
                "Whether the public may enter; unknown (empty): the OpenMapTiles extract has no access tags."
            ),
        ),
        _REPAIRED,
    ],
    source=_SOURCE + " (layers landcover, landuse, park)",
    licence=OSM_LICENCE,
    attribution=OSM_ATTRIBUTION,
    primary_key="green_id",
    notes=[
        "One row per source polygon; geometries are MultiPolygons in EPSG:28992.",
        "Polygons overlap: landcover classes overlap one another, sports pitches lie on grass, and the "
        "park layer (national_park, nature_reserve) is a designation that overlaps land cover and open "
        "water. Do not sum area_m2; use green_area_by_type / dissolved_green_area_m2 (union).",
        "Left out: landcover sand (beach, sand) and non-green landuse classes.",
        "public_access is unknown for every polygon (no access tags in the source).",
        "Invalid polygons are repaired with shapely.make_valid; geometry_repaired marks them.",
    ],
)

WATER_SCHEMA = LayerSchema(
    name="water",
    title="Water surfaces",
    description="Open water polygons (rivers, harbours, lakes, ponds, ditches wide enough to map as areas).",
    geometry_type="MultiPolygon",
    fields=[
        FieldSpec(name="water_id", type="integer", description="Polygon number, 1..n.", nullable=False),
        FieldSpec(
            name="water_type",
            type="string",
            description=(
                "OpenMapTiles water class (lake, river, ...). OpenMapTiles puts most water, rivers "
                "included, in 'lake'; this is not a hydrological type."
            ),
            source="OpenStreetMap",
            nullable=False,
        ),
        FieldSpec(
            name="area_m2",
            type="number",
            description="Area of this polygon (planar, RD New).",
            unit="m2",
            nullable=False,
        ),
        _REPAIRED,
    ],
    source=_SOURCE + " (layer water)",
    licence=OSM_LICENCE,
    attribution=OSM_ATTRIBUTION,
    primary_key="water_id",
    notes=[
        "One row per source polygon (dissolved per class and clipped to the municipality by the data "
        "preparation); geometries are MultiPolygons in EPSG:28992.",
        "water_type is the OpenMapTiles class: almost all water, the rivers Merwede, Oude Maas and "
        "Dordtsche Kil included, is classed 'lake'.",
    ],
)

WATERWAYS_SCHEMA = LayerSchema(
    name="waterways",
    title="Waterways",
    description="Centre lines of rivers, canals, streams, drains and ditches.",
    geometry_type="LineString",
    fields=[
        FieldSpec(name="waterway_id", type="integer", description="Line number, 1..n.", nullable=False),
        FieldSpec(
            name="waterway_type",
            type="string",
            description="OpenMapTiles waterway class: river, canal, stream, drain or ditch.",
            source="OpenStreetMap",
            nullable=False,
        ),
        FieldSpec(name="name", type="string", description="Name as in OSM (name:latin); empty if unnamed."),
        FieldSpec(
            name="intermittent",
            type="boolean",
            description="True when the waterway is not always filled (OSM intermittent=yes).",
        ),
        FieldSpec(
            name="brunnel",
            type="string",
            description="'bridge' or 'tunnel' where the waterway passes one (e.g. a culvert); else empty.",
        ),
        FieldSpec(
            name="length_m",
            type="number",
            description="Length of the line (planar, RD New).",
            unit="m",
            nullable=False,
        ),
    ],
    source=_SOURCE + " (layer waterway)",
    licence=OSM_LICENCE,
    attribution=OSM_ATTRIBUTION,
    primary_key="waterway_id",
    notes=[
        "One row per source line; lines were merged per attribute set and clipped to the municipality "
        "by the data preparation, so a row is not one OSM way.",
    ],
)


# -- helpers ---------------------------------------------------------------------------
def _require(frame: pd.DataFrame, columns: list[str], what: str) -> gpd.GeoDataFrame:
    if not isinstance(frame, gpd.GeoDataFrame):
        raise InvalidInputError(f"{what} must be a GeoDataFrame")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InvalidInputError(f"{what} lacks column(s) {missing}; it has {list(frame.columns)}")
    if frame.crs is None:
        raise InvalidInputError(f"{what} has no CRS; expected EPSG:{STORE_EPSG}")
    if frame.crs.to_epsg() != STORE_EPSG:
        return frame.to_crs(STORE_EPSG)
    return frame


def _text(value: object) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _texts(frame: pd.DataFrame, column: str) -> list[str | None]:
    if column not in frame.columns:
        return [None] * len(frame)
    return [_text(v) for v in frame[column]]


def repair_polygons(geometries: Iterable[object]) -> tuple[np.ndarray, np.ndarray]:
    """Valid MultiPolygons for polygonal geometries, and a mask of those that had to be repaired.

    Invalid geometries go through ``shapely.make_valid``; only their polygonal parts are kept
    (slivers that collapse to lines or points are dropped). Every result is a MultiPolygon;
    missing geometries become empty MultiPolygons.
    """
    geoms = np.asarray(list(geometries), dtype=object)
    empty = shapely.MultiPolygon()
    present = ~shapely.is_missing(geoms)
    invalid = present & ~shapely.is_valid(np.where(present, geoms, empty))
    fixed = geoms.copy()
    if invalid.any():
        fixed[invalid] = shapely.make_valid(geoms[invalid])
    out = np.empty(len(geoms), dtype=object)
    for i, geom in enumerate(fixed):
        out[i] = _as_multipolygon(geom)
    return out, invalid


def _as_multipolygon(geom: object) -> shapely.MultiPolygon:
    if geom is None or not isinstance(geom, shapely.Geometry) or geom.is_empty:
        return shapely.MultiPolygon()
    if isinstance(geom, shapely.Polygon):
        return shapely.MultiPolygon([geom])
    if isinstance(geom, shapely.MultiPolygon):
        return geom
    if isinstance(geom, shapely.GeometryCollection):
        parts: list[shapely.Polygon] = []
        for part in geom.geoms:
            parts.extend(_as_multipolygon(part).geoms)
        return shapely.MultiPolygon(parts)
    return shapely.MultiPolygon()


def _log_repairs(layer: str, repaired: np.ndarray) -> None:
    count = int(repaired.sum())
    if count:
        logger.warning("%s: repaired %d invalid polygon(s) with shapely.make_valid", layer, count)
    else:
        logger.info("%s: all polygons valid, none repaired", layer)


def green_type_of(source_layer: str, osm_class: str | None, osm_subclass: str | None) -> str | None:
    """The green_type of one source polygon, or None when it is not green space."""
    if osm_class is None:
        return None
    if osm_subclass is not None and (source_layer, osm_class, osm_subclass) in GREEN_TYPES:
        return GREEN_TYPES[(source_layer, osm_class, osm_subclass)]
    return GREEN_TYPES.get((source_layer, osm_class, ANY))


# -- builders --------------------------------------------------------------------------
def build_green(
    landcover: gpd.GeoDataFrame, landuse: gpd.GeoDataFrame, park: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """Green-space polygons from the landcover, landuse and park layers, in that order.

    Each input needs a ``class`` column (landcover also ``subclass``; park may have
    ``name:latin``). Returns a GeoDataFrame in EPSG:28992 with the columns of
    :data:`GREEN_SCHEMA` and MultiPolygon ``geometry``; ``green_id`` 1..n.
    """
    parts: list[pd.DataFrame] = []
    geoms: list[np.ndarray] = []
    for layer, frame, columns in (
        ("landcover", landcover, ["class", "subclass"]),
        ("landuse", landuse, ["class"]),
        ("park", park, ["class"]),
    ):
        frame = _require(frame, columns, f"{layer} frame")
        classes = _texts(frame, "class")
        subclasses = _texts(frame, "subclass")
        types = [green_type_of(layer, c, s) for c, s in zip(classes, subclasses, strict=True)]
        keep = np.array([t is not None for t in types], dtype=bool)
        parts.append(
            pd.DataFrame(
                {
                    "green_type": [t for t in types if t is not None],
                    "source_layer": layer,
                    "osm_class": [c for c, k in zip(classes, keep, strict=True) if k],
                    "osm_subclass": [s for s, k in zip(subclasses, keep, strict=True) if k],
                    "name": [n for n, k in zip(_texts(frame, "name:latin"), keep, strict=True) if k],
                }
            )
        )
        geoms.append(frame.geometry.to_numpy()[keep])
        dropped = int((~keep).sum())
        if dropped:
            logger.info("green: %d %s polygon(s) are not green space and were left out", dropped, layer)
    out = pd.concat(parts, ignore_index=True)
    geometry, repaired = repair_polygons(np.concatenate(geoms) if geoms else [])
    _log_repairs("green", repaired)
    out.insert(0, "green_id", pd.Series(range(1, len(out) + 1), dtype="int64"))
    out["area_m2"] = shapely.area(geometry).astype("float64")
    out["public_access"] = pd.array([pd.NA] * len(out), dtype="boolean")
    out["geometry_repaired"] = repaired.astype(bool)
    out["osm_subclass"] = out["osm_subclass"].astype("object")
    out["name"] = out["name"].astype("object")
    return gpd.GeoDataFrame(out[GREEN_COLUMNS], geometry=geometry, crs=STORE_EPSG)


def build_water(water: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Water polygons (``class`` column) as a GeoDataFrame with the columns of :data:`WATER_SCHEMA`."""
    water = _require(water, ["class"], "water frame")
    geometry, repaired = repair_polygons(water.geometry.to_numpy())
    _log_repairs("water", repaired)
    out = pd.DataFrame(
        {
            "water_id": pd.Series(range(1, len(water) + 1), dtype="int64"),
            "water_type": _texts(water, "class"),
            "area_m2": shapely.area(geometry).astype("float64"),
            "geometry_repaired": repaired.astype(bool),
        }
    )
    return gpd.GeoDataFrame(out[WATER_COLUMNS], geometry=geometry, crs=STORE_EPSG)


def _flag(value: object) -> bool | None:
    """OSM/OpenMapTiles 0/1 (or yes/no) flags as booleans; None when missing."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, str):
        text = value.strip().lower()
        if text in {"1", "1.0", "yes", "true"}:
            return True
        if text in {"0", "0.0", "no", "false", ""}:
            return False
        return None
    if isinstance(value, bool | int | float | np.number):
        return bool(value)
    return None


def build_waterways(waterway: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Waterway lines (``class``; optional ``name:latin``, ``intermittent``, ``brunnel``).

    Returns a GeoDataFrame in EPSG:28992 with the columns of :data:`WATERWAYS_SCHEMA`.
    """
    waterway = _require(waterway, ["class"], "waterway frame")
    count = len(waterway)
    if "intermittent" in waterway.columns:
        intermittent = pd.array([_flag(v) for v in waterway["intermittent"]], dtype="boolean")
    else:
        intermittent = pd.array([pd.NA] * count, dtype="boolean")
    out = pd.DataFrame(
        {
            "waterway_id": pd.Series(range(1, count + 1), dtype="int64"),
            "waterway_type": _texts(waterway, "class"),
            "name": pd.Series(_texts(waterway, "name:latin"), dtype="object"),
            "intermittent": intermittent,
            "brunnel": pd.Series(_texts(waterway, "brunnel"), dtype="object"),
            "length_m": shapely.length(waterway.geometry.to_numpy()).astype("float64"),
        }
    )
    return gpd.GeoDataFrame(out[WATERWAY_COLUMNS], geometry=waterway.geometry.to_numpy(), crs=STORE_EPSG)


# -- areas without double counting -------------------------------------------------------
def dissolved_green_area_m2(green: gpd.GeoDataFrame, types: Iterable[str] | None = None) -> float:
    """Area (m²) of the union of the green polygons, optionally of the given green types only.

    Overlapping polygons are counted once, so this is at most ``green.area_m2.sum()``.
    """
    selected = green if types is None else green[green["green_type"].isin(list(types))]
    if selected.empty:
        return 0.0
    return float(shapely.union_all(selected.geometry.to_numpy()).area)


def green_area_by_type(green: gpd.GeoDataFrame) -> pd.DataFrame:
    """Per green_type: number of polygons, sum of polygon areas and area of their union (m²).

    Columns ``green_type``, ``polygons``, ``area_m2_sum``, ``area_m2_dissolved``. The dissolved
    area removes overlaps *within* a type; overlaps between types remain (use
    :func:`dissolved_green_area_m2` for a total).
    """
    rows = []
    for green_type, group in green.groupby("green_type", sort=True):
        rows.append(
            {
                "green_type": str(green_type),
                "polygons": len(group),
                "area_m2_sum": float(group["area_m2"].sum()),
                "area_m2_dissolved": float(shapely.union_all(group.geometry.to_numpy()).area),
            }
        )
    return pd.DataFrame(rows, columns=["green_type", "polygons", "area_m2_sum", "area_m2_dissolved"])
