"""Coordinate reference systems the twin uses.

All layers are stored in EPSG:28992 (Amersfoort / RD New, metres), the Dutch national
grid, so lengths and areas are in metres without projection. Clients get WGS84 (CRS84).
"""

from __future__ import annotations

from functools import lru_cache

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
