"""Coordinate reference systems the twin uses.

All layers are stored in EPSG:28992 (Amersfoort / RD New, metres), the Dutch national
grid, so lengths and areas are in metres without projection. Clients get WGS84 (CRS84).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from pyproj import CRS, Transformer

STORE_EPSG = 28992
"""EPSG code of every geometry in the store (RD New, metres)."""

CRS84_URI = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
RD_NEW_URI = "http://www.opengis.net/def/crs/EPSG/0/28992"


@lru_cache(maxsize=32)
def transformer(source_epsg: int, target_epsg: int) -> Transformer:
    """A cached pyproj transformer in x/y (lon/lat) axis order."""
    return Transformer.from_crs(CRS.from_epsg(source_epsg), CRS.from_epsg(target_epsg), always_xy=True)


def to_wgs84(x: float, y: float, source_epsg: int = STORE_EPSG) -> tuple[float, float]:
    """Transform one point to WGS84 lon/lat (degrees)."""
    lon, lat = transformer(source_epsg, 4326).transform(x, y)
    return float(lon), float(lat)


def bbox_to_wgs84(
    bbox: tuple[float, float, float, float], source_epsg: int = STORE_EPSG
) -> tuple[float, float, float, float]:
    """Transform a bbox [minx, miny, maxx, maxy] to WGS84, densified so edges stay inside."""
    minx, miny, maxx, maxy = transformer(source_epsg, 4326).transform_bounds(*bbox, densify_pts=21)
    return float(minx), float(miny), float(maxx), float(maxy)


EPSG4326_URI = "http://www.opengis.net/def/crs/EPSG/0/4326"


@dataclass(frozen=True)
class OutputCrs:
    """A CRS clients may ask for: its URI, EPSG code and whether axes are latitude first."""

    uri: str
    epsg: int
    lat_first: bool
    decimals: int


SUPPORTED_CRS: dict[str, OutputCrs] = {
    CRS84_URI: OutputCrs(CRS84_URI, 4326, lat_first=False, decimals=7),
    EPSG4326_URI: OutputCrs(EPSG4326_URI, 4326, lat_first=True, decimals=7),
    RD_NEW_URI: OutputCrs(RD_NEW_URI, STORE_EPSG, lat_first=False, decimals=3),
}
"""CRS84 (lon/lat, the default), EPSG:4326 (lat/lon axis order) and RD New (metres).
Coordinates are rounded to 7 decimals of a degree (about 1 cm) or to 1 mm."""

_ALIASES = {
    "crs84": CRS84_URI,
    "ogc:crs84": CRS84_URI,
    "urn:ogc:def:crs:ogc:1.3:crs84": CRS84_URI,
    "epsg:4326": EPSG4326_URI,
    "urn:ogc:def:crs:epsg::4326": EPSG4326_URI,
    "epsg:28992": RD_NEW_URI,
    "urn:ogc:def:crs:epsg::28992": RD_NEW_URI,
}


def output_crs(value: str | None) -> OutputCrs | None:
    """The supported CRS a URI (or a short form like EPSG:28992) names; None when unsupported."""
    if value is None:
        return SUPPORTED_CRS[CRS84_URI]
    text = value.strip().strip("<>")
    uri = _ALIASES.get(text.lower(), text.replace("https://", "http://"))
    return SUPPORTED_CRS.get(uri)


def transform_coordinates(coords: np.ndarray, source_epsg: int, target: OutputCrs) -> np.ndarray:
    """Transform an (n, 2) array of x/y coordinates into ``target``, axis order and rounding applied."""
    if source_epsg != target.epsg:
        x, y = transformer(source_epsg, target.epsg).transform(coords[:, 0], coords[:, 1])
        coords = np.column_stack([x, y])
    if target.lat_first:
        coords = coords[:, ::-1]
    return np.round(coords, target.decimals)
