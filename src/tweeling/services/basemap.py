"""The offline basemap: shipped OpenMapTiles vector tiles, their TileJSON and a MapLibre style.

The tiles are OpenStreetMap (August 2021) in the OpenMapTiles schema, zoom 0–14, every tile that
intersects Dordrecht, stored gzip-compressed as MBTiles stores them (``scripts/build_demo_data.py``
copies them from the originals). Nothing is fetched from the internet: the style has no glyphs or
sprites, so it draws fills and lines only (no labels); buildings are left to the viewer's 3D layer.
"""

from __future__ import annotations

import gzip
import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from tweeling.citymodel.datadir import DEMO_DIR
from tweeling.core.errors import InvalidInputError

BASEMAP_DIR = DEMO_DIR / "basemap"
"""Shipped tiles (``tiles/{z}/{x}/{y}.pbf``) and the tile generator's ``metadata.json``."""

TILE_MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
MIN_ZOOM = 0
MAX_ZOOM = 14
"""Zoom levels shipped; map clients over-zoom the z14 tiles beyond it."""
ATTRIBUTION = "© OpenStreetMap contributors, OpenMapTiles"
SOURCE_ID = "openmaptiles"
GZIP_MAGIC = b"\x1f\x8b"

Theme = Literal["light", "dark"]


@dataclass(frozen=True)
class Tile:
    """One stored tile: its bytes as stored and whether they are gzip-compressed."""

    data: bytes
    gzipped: bool

    def decompressed(self) -> bytes:
        """The raw Mapbox Vector Tile (for clients that do not accept gzip)."""
        return gzip.decompress(self.data) if self.gzipped else self.data


def read_tile(z: int, x: int, y: int, root: Path = BASEMAP_DIR) -> Tile | None:
    """The stored tile z/x/y (XYZ scheme); None when it is not shipped or empty.

    InvalidInputError for coordinates no tile can have (x or y outside 0 .. 2^z - 1, z > 30).
    """
    if not 0 <= z <= 30 or not (0 <= x < 2**z and 0 <= y < 2**z):
        raise InvalidInputError(
            f"no tile {z}/{x}/{y}: zoom is 0..30 and x, y are 0..2^zoom-1 (XYZ scheme, y from the north)"
        )
    path = root / "tiles" / str(z) / str(x) / f"{y}.pbf"
    try:
        data = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None
    if not data:
        return None
    return Tile(data, data[:2] == GZIP_MAGIC)


def _tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """West, south, east, north (degrees) of an XYZ tile (Web Mercator)."""

    def lat(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / 2**z))))

    return x / 2**z * 360 - 180, lat(y + 1), (x + 1) / 2**z * 360 - 180, lat(y)


@lru_cache(maxsize=4)
def shipped_bounds(root: Path = BASEMAP_DIR) -> tuple[float, float, float, float]:
    """West, south, east, north (degrees) covered by the shipped tiles of the highest zoom."""
    tiles = [
        (int(path.parent.name), int(path.stem))
        for path in (root / "tiles" / str(MAX_ZOOM)).glob("*/*.pbf")
        if path.stat().st_size
    ]
    if not tiles:
        raise InvalidInputError(f"no basemap tiles in {root}: rebuild them with scripts/build_demo_data.py")
    corners = [_tile_bounds(MAX_ZOOM, x, y) for x, y in tiles]
    return (
        round(min(c[0] for c in corners), 6),
        round(min(c[1] for c in corners), 6),
        round(max(c[2] for c in corners), 6),
        round(max(c[3] for c in corners), 6),
    )


@lru_cache(maxsize=4)
def _metadata(root: Path = BASEMAP_DIR) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((root / "metadata.json").read_text(encoding="utf-8"))
    return document


def tilejson(tiles_url: str, root: Path = BASEMAP_DIR) -> dict[str, Any]:
    """TileJSON 3.0.0 of the shipped tiles, served from ``tiles_url`` (a ``{z}/{x}/{y}`` template)."""
    metadata = _metadata(root)
    west, south, east, north = shipped_bounds(root)
    return {
        "tilejson": "3.0.0",
        "name": "Dordrecht basemap (OpenStreetMap, OpenMapTiles schema)",
        "description": (
            "OpenStreetMap data of August 2021 as OpenMapTiles vector tiles, zoom 0-14, the tiles that "
            "intersect the municipality of Dordrecht; shipped with Tweeling for offline use."
        ),
        "version": "2021.8.0",
        "attribution": ATTRIBUTION,
        "scheme": "xyz",
        "tiles": [tiles_url],
        "minzoom": MIN_ZOOM,
        "maxzoom": MAX_ZOOM,
        "bounds": [west, south, east, north],
        "center": [round((west + east) / 2, 6), round((south + north) / 2, 6), 13],
        "vector_layers": [
            {
                "id": layer["id"],
                "fields": layer.get("fields", {}),
                "minzoom": layer.get("minzoom", MIN_ZOOM),
                "maxzoom": layer.get("maxzoom", MAX_ZOOM),
            }
            for layer in metadata["vector_layers"]
        ],
    }


@dataclass(frozen=True)
class Palette:
    """Colours of one theme (CSS hex)."""

    background: str
    residential: str
    industrial: str
    farmland: str
    grass: str
    wood: str
    sand: str
    park_outline: str
    water: str
    waterway: str
    boundary: str
    road_casing: str
    motorway: str
    trunk: str
    primary: str
    secondary: str
    minor: str
    path: str
    rail: str
    ferry: str


PALETTES: dict[str, Palette] = {
    "light": Palette(
        background="#f3f1ec",
        residential="#e9e5de",
        industrial="#e6e0e8",
        farmland="#eef0d6",
        grass="#cfe6b8",
        wood="#a8d08d",
        sand="#f2e8c4",
        park_outline="#7fb069",
        water="#9ecae9",
        waterway="#7fb6de",
        boundary="#9a8fa8",
        road_casing="#c9c2b8",
        motorway="#f2b56b",
        trunk="#f6cd8b",
        primary="#fbe3a6",
        secondary="#fdf2c8",
        minor="#ffffff",
        path="#9b8e7d",
        rail="#8a8a8a",
        ferry="#5b8fc7",
    ),
    "dark": Palette(
        background="#1b1f24",
        residential="#23282e",
        industrial="#27242c",
        farmland="#22271f",
        grass="#263823",
        wood="#2d4a2a",
        sand="#3a3526",
        park_outline="#3f6b3a",
        water="#1f4566",
        waterway="#2c5d86",
        boundary="#6e6680",
        road_casing="#14171b",
        motorway="#a8743a",
        trunk="#8f6a3c",
        primary="#6f6444",
        secondary="#575246",
        minor="#454a52",
        path="#5f5a52",
        rail="#6c6c6c",
        ferry="#3d6e9e",
    ),
}

# (layer id part, OpenMapTiles classes, line width in px at zoom 10, 14 and 18, palette colour)
ROAD_CLASSES: tuple[tuple[str, tuple[str, ...], tuple[float, float, float], str], ...] = (
    ("service", ("service", "track"), (0.0, 1.0, 6.0), "minor"),
    ("minor", ("minor", "pedestrian", "raceway"), (0.3, 2.0, 10.0), "minor"),
    ("tertiary", ("tertiary",), (0.6, 3.0, 14.0), "secondary"),
    ("secondary", ("secondary",), (0.8, 4.0, 18.0), "secondary"),
    ("primary", ("primary",), (1.0, 5.0, 20.0), "primary"),
    ("trunk", ("trunk",), (1.2, 5.5, 22.0), "trunk"),
    ("motorway", ("motorway",), (1.5, 6.0, 24.0), "motorway"),
)


def _width(at10: float, at14: float, at18: float) -> list[Any]:
    return ["interpolate", ["exponential", 1.5], ["zoom"], 10, at10, 14, at14, 18, at18]


def _fill(
    layer_id: str, source_layer: str, classes: list[str] | None, colour: str, **extra: Any
) -> dict[str, Any]:
    layer: dict[str, Any] = {
        "id": layer_id,
        "type": "fill",
        "source": SOURCE_ID,
        "source-layer": source_layer,
        "paint": {"fill-color": colour, **extra},
    }
    if classes is not None:
        layer["filter"] = ["match", ["get", "class"], classes, True, False]
    return layer


def _roads(palette: Palette) -> list[dict[str, Any]]:
    """Road casings below, fills above, by class; tunnels faded; paths dashed; rail and ferry dashed."""
    layers: list[dict[str, Any]] = []
    not_tunnel = ["!=", ["get", "brunnel"], "tunnel"]
    for part, classes, widths, _ in ROAD_CLASSES:
        layers.append(
            {
                "id": f"road-{part}-casing",
                "type": "line",
                "source": SOURCE_ID,
                "source-layer": "transportation",
                "filter": ["all", ["match", ["get", "class"], list(classes), True, False], not_tunnel],
                "layout": {"line-cap": "round", "line-join": "round"},
                "paint": {
                    "line-color": palette.road_casing,
                    "line-width": _width(*(w * 1.35 + 0.6 for w in widths)),
                    "line-opacity": ["interpolate", ["linear"], ["zoom"], 11, 0, 13, 1],
                },
            }
        )
    for part, classes, widths, colour in ROAD_CLASSES:
        layers.append(
            {
                "id": f"road-{part}",
                "type": "line",
                "source": SOURCE_ID,
                "source-layer": "transportation",
                "filter": ["match", ["get", "class"], list(classes), True, False],
                "layout": {"line-cap": "round", "line-join": "round"},
                "paint": {
                    "line-color": getattr(palette, colour),
                    "line-width": _width(*widths),
                    "line-opacity": ["case", ["==", ["get", "brunnel"], "tunnel"], 0.4, 1],
                },
            }
        )
    layers += [
        {
            "id": "road-path",
            "type": "line",
            "source": SOURCE_ID,
            "source-layer": "transportation",
            "minzoom": 13,
            "filter": ["match", ["get", "class"], ["path"], True, False],
            "paint": {
                "line-color": palette.path,
                "line-width": _width(0.0, 0.8, 2.5),
                "line-dasharray": [2, 1.5],
            },
        },
        {
            "id": "rail",
            "type": "line",
            "source": SOURCE_ID,
            "source-layer": "transportation",
            "filter": ["match", ["get", "class"], ["rail", "transit"], True, False],
            "paint": {
                "line-color": palette.rail,
                "line-width": _width(0.6, 1.5, 4.0),
                "line-dasharray": [3, 2],
            },
        },
        {
            "id": "ferry",
            "type": "line",
            "source": SOURCE_ID,
            "source-layer": "transportation",
            "filter": ["match", ["get", "class"], ["ferry"], True, False],
            "paint": {"line-color": palette.ferry, "line-width": 1.2, "line-dasharray": [4, 3]},
        },
    ]
    return layers


def style(tiles_url: str, theme: Theme = "light", root: Path = BASEMAP_DIR) -> dict[str, Any]:
    """A MapLibre style (v8) over the shipped tiles, for ``theme`` ``light`` or ``dark``.

    Background, land use, green (land cover, parks), water, waterways, boundaries and roads by
    class; no symbol layers (labels need glyphs from the internet) and no buildings (the viewer
    extrudes them itself).
    """
    if theme not in PALETTES:
        raise InvalidInputError(f"unknown theme {theme!r}; use light or dark")
    palette = PALETTES[theme]
    west, south, east, north = shipped_bounds(root)
    green_fill = {"fill-opacity": ["interpolate", ["linear"], ["zoom"], 8, 0.6, 13, 1.0]}
    layers: list[dict[str, Any]] = [
        {"id": "background", "type": "background", "paint": {"background-color": palette.background}},
        _fill("landuse-residential", "landuse", ["residential"], palette.residential),
        _fill(
            "landuse-industrial",
            "landuse",
            ["industrial", "commercial", "retail", "railway"],
            palette.industrial,
        ),
        _fill("landcover-farmland", "landcover", ["farmland"], palette.farmland),
        _fill("landcover-grass", "landcover", ["grass", "wetland"], palette.grass, **green_fill),
        _fill("landcover-wood", "landcover", ["wood"], palette.wood, **green_fill),
        _fill("landcover-sand", "landcover", ["sand"], palette.sand),
        _fill(
            "landuse-green",
            "landuse",
            ["cemetery", "pitch", "playground", "stadium", "zoo"],
            palette.grass,
            **green_fill,
        ),
        _fill("park", "park", None, palette.grass, **{"fill-opacity": 0.5}),
        {
            "id": "park-outline",
            "type": "line",
            "source": SOURCE_ID,
            "source-layer": "park",
            "paint": {"line-color": palette.park_outline, "line-width": 1.0, "line-dasharray": [3, 2]},
        },
        _fill("water", "water", None, palette.water),
        {
            "id": "waterway-river",
            "type": "line",
            "source": SOURCE_ID,
            "source-layer": "waterway",
            "filter": ["match", ["get", "class"], ["river", "canal"], True, False],
            "layout": {"line-cap": "round", "line-join": "round"},
            "paint": {"line-color": palette.waterway, "line-width": _width(0.8, 2.5, 8.0)},
        },
        {
            "id": "waterway-small",
            "type": "line",
            "source": SOURCE_ID,
            "source-layer": "waterway",
            "minzoom": 12,
            "filter": ["match", ["get", "class"], ["stream", "ditch", "drain"], True, False],
            "layout": {"line-cap": "round", "line-join": "round"},
            "paint": {"line-color": palette.waterway, "line-width": _width(0.0, 1.0, 3.0)},
        },
        {
            "id": "boundary-municipal",
            "type": "line",
            "source": SOURCE_ID,
            "source-layer": "boundary",
            "filter": ["<=", ["get", "admin_level"], 8],
            "paint": {"line-color": palette.boundary, "line-width": 1.2, "line-dasharray": [4, 2, 1, 2]},
        },
        *_roads(palette),
    ]
    return {
        "version": 8,
        "name": f"Tweeling Dordrecht ({theme})",
        "metadata": {"tweeling:theme": theme, "tweeling:attribution": ATTRIBUTION},
        "center": [round((west + east) / 2, 6), round((south + north) / 2, 6)],
        "zoom": 13,
        "sources": {
            SOURCE_ID: {
                "type": "vector",
                "tiles": [tiles_url],
                "minzoom": MIN_ZOOM,
                "maxzoom": MAX_ZOOM,
                "bounds": [west, south, east, north],
                "attribution": ATTRIBUTION,
            }
        },
        "layers": layers,
    }
