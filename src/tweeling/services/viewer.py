"""What the 3D viewer reads: buildings and scenario results as Arrow, and the layer catalogue.

Binary transfer for the browser: Apache Arrow IPC *streams* (not IPC-compressed: apache-arrow JS
cannot decompress; HTTP gzip does that job). Coordinates are float32 offsets in degrees from an
origin ``[lon0, lat0]`` in the schema metadata (``tweeling:origin``), as deck.gl draws them with
``COORDINATE_SYSTEM.LNGLAT_OFFSETS``: float32 keeps about 1 cm at the city's extent, where
float32 absolute longitudes would keep only about 0.5 m. Every field carries metadata ``title``
(English), ``title_nl``, ``unit``, ``estimated`` ("true"/"false"), ``method`` and ``source``, so
the viewer can say for every value where it comes from.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from tweeling.core.crs import STORE_EPSG, transformer
from tweeling.core.errors import InvalidInputError, NotFoundError
from tweeling.core.schema import FieldSpec, LayerSchema
from tweeling.governance.disclosure import with_provenance
from tweeling.scenarios.interventions import Scenario
from tweeling.scenarios.model import ImpactModel, Indicator
from tweeling.services.scenarios import ScenarioRun, ScenarioService
from tweeling.store import LayerInfo, Store
from tweeling.store.documents import write_atomic

ARROW_STREAM = "application/vnd.apache.arrow.stream"
LEVELS = ("buildings", "grid", "roads", "buurt")
"""Levels of a scenario result the viewer draws (``/v1/jobs/{id}/layers/{level}.arrow``)."""
GZIP_LEVEL = 6
"""HTTP gzip level of the cached buildings payload: level 9 takes twice as long for 1 % less."""
MODELLED_METHOD = "computed by the impact model {model}: see /v1/models/{model} and docs/models/"


# -- Arrow building blocks ----------------------------------------------------------------


@dataclass(frozen=True)
class ArrowPayload:
    """An Arrow IPC stream, its gzip-compressed form and an ETag, built once and served many times."""

    body: bytes
    gzipped: bytes
    etag: str
    rows: int
    build_seconds: float

    @classmethod
    def of(cls, table: pa.Table, started: float | None = None) -> ArrowPayload:
        """Serialise ``table``; ``started`` (perf_counter) dates the build time from before the table."""
        started = time.perf_counter() if started is None else started
        body = ipc_stream(table)
        digest = hashlib.blake2b(body, digest_size=12).hexdigest()
        gzipped = gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)
        return cls(body, gzipped, f'"{digest}"', table.num_rows, time.perf_counter() - started)


def ipc_stream(table: pa.Table) -> bytes:
    """``table`` as an uncompressed Arrow IPC stream."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def field(
    name: str,
    kind: pa.DataType,
    *,
    title: str,
    title_nl: str | None = None,
    unit: str | None = None,
    estimated: bool = False,
    method: str | None = None,
    source: str | None = None,
    describes: str | None = None,
    nullable: bool = True,
) -> pa.Field:
    """An Arrow field with the viewer's provenance metadata (``describes``: the column a flag is about)."""
    metadata = {
        "title": title,
        "title_nl": title_nl or title,
        "unit": unit or "",
        "estimated": "true" if estimated else "false",
        "method": method or "",
        "source": source or "",
    }
    if describes:
        metadata["describes"] = describes
    return pa.field(name, kind, nullable=nullable, metadata=metadata)


def _dictionary(values: pd.Series) -> pa.DictionaryArray:
    """Strings as a dictionary array with the narrowest index type (int8 or int16)."""
    encoded = pa.array(values.astype(object).where(values.notna(), None), type=pa.utf8()).dictionary_encode()
    index = pa.int8() if len(encoded.dictionary) <= 127 else pa.int16()
    result: pa.DictionaryArray = encoded.cast(pa.dictionary(index, pa.utf8()))
    return result


def _numbers(values: pd.Series, kind: pa.DataType) -> pa.Array:
    return pa.array(pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64"), from_pandas=True).cast(
        kind, safe=False
    )


def _integers(values: pd.Series, kind: pa.DataType) -> pa.Array:
    return pa.array(values.astype("Int64"), type=pa.int64(), from_pandas=True).cast(kind)


def lnglat_origin(bounds: Sequence[float], source_epsg: int = STORE_EPSG) -> tuple[float, float]:
    """The centre of ``bounds`` (minx, miny, maxx, maxy) in lon/lat degrees, rounded to 1e-4°."""
    lon, lat = transformer(source_epsg, 4326).transform(
        (bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2
    )
    return round(float(lon), 4), round(float(lat), 4)


def _offsets_lnglat(coords: np.ndarray, origin: tuple[float, float]) -> np.ndarray:
    """(n, 2) RD coordinates as float32 lon/lat offsets from ``origin`` (flat, interleaved)."""
    lon, lat = transformer(STORE_EPSG, 4326).transform(coords[:, 0], coords[:, 1])
    offsets = np.column_stack([np.asarray(lon) - origin[0], np.asarray(lat) - origin[1]])
    return offsets.astype(np.float32).ravel()


VERTEX = pa.list_(pa.field("xy", pa.float32(), nullable=False), 2)
RING = pa.list_(pa.field("vertices", VERTEX, nullable=False))
POLYGON = pa.list_(pa.field("rings", RING, nullable=False))
PATH = pa.list_(pa.field("vertices", VERTEX, nullable=False))


def _largest_part(geometry: Any) -> Any:
    if geometry is None or geometry.geom_type == "Polygon":
        return geometry
    return max(shapely.get_parts(geometry), key=lambda part: part.area, default=None)


def polygon_array(geometries: np.ndarray, origin: tuple[float, float]) -> pa.ListArray:
    """Polygons (EPSG:28992) as list<rings: list<vertices: [dlon, dlat] float32>>.

    Outer ring first, then holes, each ring without its repeated closing vertex. A None or empty
    geometry gives a null; a MultiPolygon keeps its largest part (footprints are single polygons).
    """
    if len(geometries) == 0:
        return pa.array([], type=POLYGON)
    parts = np.array([_largest_part(g) for g in geometries], dtype=object)
    missing = shapely.is_missing(parts) | shapely.is_empty(parts)
    filled = np.where(missing, shapely.box(0, 0, 1, 1), parts)
    _, coords, (ring_offsets, polygon_offsets) = shapely.to_ragged_array(filled)
    keep = np.ones(len(coords), dtype=bool)
    keep[ring_offsets[1:] - 1] = False
    ring_offsets = ring_offsets - np.arange(len(ring_offsets))
    vertices = pa.FixedSizeListArray.from_arrays(pa.array(_offsets_lnglat(coords[keep], origin)), type=VERTEX)
    rings = pa.ListArray.from_arrays(pa.array(ring_offsets.astype(np.int32)), vertices, type=RING)
    mask = pa.array(missing) if missing.any() else None
    return pa.ListArray.from_arrays(
        pa.array(polygon_offsets.astype(np.int32)), rings, type=POLYGON, mask=mask
    )


def path_array(geometries: np.ndarray, origin: tuple[float, float]) -> pa.ListArray:
    """LineStrings (EPSG:28992) as list<vertices: [dlon, dlat] float32>; None/empty give a null."""
    if len(geometries) == 0:
        return pa.array([], type=PATH)
    missing = shapely.is_missing(geometries) | shapely.is_empty(geometries)
    filled = np.where(missing, shapely.linestrings([[0, 0], [1, 1]]), geometries)
    _, coords, (offsets,) = shapely.to_ragged_array(filled)
    vertices = pa.FixedSizeListArray.from_arrays(pa.array(_offsets_lnglat(coords, origin)), type=VERTEX)
    mask = pa.array(missing) if missing.any() else None
    return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), vertices, type=PATH, mask=mask)


def _metadata(origin: tuple[float, float] | None = None, **entries: Any) -> dict[str, str]:
    """Schema metadata ``tweeling:<key>``: text as it is, anything else as JSON."""
    metadata = {
        f"tweeling:{key}": value if isinstance(value, str) else json.dumps(value)
        for key, value in entries.items()
    }
    if origin is not None:
        metadata["tweeling:origin"] = json.dumps(list(origin))
    return metadata


# -- buildings ------------------------------------------------------------------------------

BUILDING_COLUMNS: tuple[tuple[str, str, str], ...] = (
    # (store column, English title, Dutch title)
    ("height_m", "Height", "Hoogte"),
    ("min_height_m", "Height of the underside", "Hoogte onderkant"),
    ("floors", "Storeys", "Bouwlagen"),
    ("main_use", "Main use", "Hoofdgebruik"),
    ("footprint_area_m2", "Footprint area", "Oppervlakte footprint"),
    ("address_count", "Addresses", "Adressen"),
    ("dwellings_est", "Dwellings (expected)", "Woningen (verwacht)"),
    ("residents_est", "Residents (expected)", "Inwoners (verwacht)"),
    ("bu_code", "Buurt (CBS 2020)", "Buurt (CBS 2020)"),
    ("wk_code", "Wijk (CBS)", "Wijk (CBS)"),
)
ROW_SOURCES: tuple[tuple[str, str, str, str], ...] = (
    # (store column, column it describes, English title, Dutch title)
    ("floors_source", "floors", "How the storeys were found", "Herkomst bouwlagen"),
    ("main_use_source", "main_use", "Rule that decided the main use", "Regel hoofdgebruik"),
    ("dwellings_source", "dwellings_est", "How the dwellings were estimated", "Herkomst woningen"),
    ("residents_source", "residents_est", "How the residents were estimated", "Herkomst inwoners"),
)
_BUILDING_ATTRIBUTES = {name for name, _, _ in BUILDING_COLUMNS}
_FLOAT_COLUMNS = {"height_m", "min_height_m", "footprint_area_m2", "dwellings_est", "residents_est"}
_DICTIONARY_COLUMNS = {"main_use", "bu_code", "wk_code"}


def _spec_field(spec: FieldSpec, kind: pa.DataType, title: str, title_nl: str, source: str) -> pa.Field:
    return field(
        spec.name,
        kind,
        title=title,
        title_nl=title_nl,
        unit=spec.unit,
        estimated=spec.estimated,
        method=spec.method if spec.estimated else None,
        source=spec.source or source,
    )


def without_fields(table: pa.Table, hidden: Iterable[str]) -> pa.Table:
    """``table`` without the ``hidden`` columns, their ``<stem>_source`` provenance columns and the
    flags that describe them (field metadata ``describes``): what a principal may not see."""
    names = with_provenance(table.column_names, hidden)
    if not names:
        return table
    drop = [
        f.name
        for f in table.schema
        if f.name in names or (f.metadata or {}).get(b"describes", b"").decode() in names
    ]
    return table.drop_columns(drop)


def buildings_table(frame: gpd.GeoDataFrame, schema: LayerSchema, hidden: Iterable[str] = ()) -> pa.Table:
    """The buildings layer in viewer form: one row per building in the layer's row order.

    ``id`` is the feature id of ``/v1/collections/buildings/items/{id}``; ``polygon`` the footprint
    as lon/lat offsets; ``height_estimated``/``floors_estimated`` the per-row flags (a height is
    observed only where ``height_source`` is 'osm'); ``*_source`` the rule that produced a value.
    ``hidden`` fields (personal data for the caller) are left out with their provenance.
    """
    if frame.crs is None or frame.crs.to_epsg() != STORE_EPSG:
        raise InvalidInputError(f"buildings must be in EPSG:{STORE_EPSG}")
    origin = lnglat_origin(frame.total_bounds)
    key = schema.primary_key or "building_id"
    layer_source = schema.source
    arrays: list[pa.Array] = [
        pa.array(frame[key].astype(str).to_numpy(), type=pa.utf8()),
        polygon_array(frame.geometry.to_numpy(), origin),
    ]
    fields = [
        field(
            "id",
            pa.utf8(),
            title="Feature id",
            title_nl="Objectnummer",
            source="/v1/collections/buildings/items/{id}",
            nullable=False,
        ),
        field(
            "polygon",
            POLYGON,
            title="Footprint (lon/lat offsets from tweeling:origin)",
            title_nl="Footprint (lengte/breedte t.o.v. tweeling:origin)",
            unit="degree",
            source=schema.field("footprint_area_m2").source or layer_source,
        ),
    ]
    for name, title, title_nl in BUILDING_COLUMNS:
        spec = schema.field(name)
        if name in _FLOAT_COLUMNS:
            array = _numbers(frame[name], pa.float32())
        elif name in _DICTIONARY_COLUMNS:
            array = _dictionary(frame[name])
        elif name == "floors":
            array = _integers(frame[name], pa.int16())
        else:
            array = _integers(frame[name], pa.int32())
        arrays.append(array)
        fields.append(_spec_field(spec, array.type, title, title_nl, layer_source))
        if name == "height_m":
            arrays.append(pa.array((frame["height_source"] != "osm").to_numpy(dtype=bool)))
            fields.append(
                field(
                    "height_estimated",
                    pa.bool_(),
                    title="Height estimated",
                    title_nl="Hoogte geschat",
                    estimated=False,
                    method="false only where height_source = 'osm' (an OSM height or levels tag)",
                    source=layer_source,
                    describes="height_m",
                )
            )
        if name == "floors":
            arrays.append(pa.array((frame["floors_source"] != "osm_height").to_numpy(dtype=bool)))
            fields.append(
                field(
                    "floors_estimated",
                    pa.bool_(),
                    title="Storeys estimated",
                    title_nl="Bouwlagen geschat",
                    method="false only where floors_source = 'osm_height'",
                    source=layer_source,
                    describes="floors",
                )
            )
    for name, describes, title, title_nl in ROW_SOURCES:
        spec = schema.field(name)
        arrays.append(_dictionary(frame[name]))
        fields.append(
            field(
                name,
                arrays[-1].type,
                title=title,
                title_nl=title_nl,
                method=spec.description,
                source=layer_source,
                describes=describes,
            )
        )
    metadata = _metadata(
        origin,
        layer="buildings",
        crs="OGC:CRS84 offsets from tweeling:origin (deck.gl LNGLAT_OFFSETS)",
        attribution=schema.attribution,
        licence=schema.licence,
    )
    table = pa.Table.from_arrays(arrays, schema=pa.schema(fields, metadata=metadata))
    return without_fields(table, hidden)


class BuildingsArrow:
    """The buildings payloads, built on first request and rebuilt only when the store's layer changed.

    One payload per set of hidden fields (the public's without personal fields, the full one for
    cleared roles), all cut from one table read from the store.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[Any, ...] | None = None
        self._table: pa.Table | None = None
        self._payloads: dict[frozenset[str], ArrowPayload] = {}

    def get(self, store: Store, hidden: Iterable[str] = ()) -> ArrowPayload:
        """The payload for the buildings layer of ``store`` without the ``hidden`` fields
        (NotFoundError when there is no buildings layer)."""
        info = store.layer("buildings")
        key = (store.url, info.fingerprint, str(info.imported_at), info.feature_count)
        variant = with_provenance(info.schema.field_names, hidden)
        with self._lock:
            started = time.perf_counter()
            if self._table is None or self._key != key:
                self._table = buildings_table(store.read_layer("buildings"), info.schema)
                self._payloads = {}
                self._key = key
            payload = self._payloads.get(variant)
            if payload is None:
                payload = ArrowPayload.of(without_fields(self._table, variant), started)
                self._payloads[variant] = payload
            return payload


# -- scenario results ------------------------------------------------------------------------


def _better(indicator: Indicator) -> str | None:
    return indicator.better if indicator.better in ("lower", "higher") else None


def _level_indicators(run: ScenarioRun, frame: pd.DataFrame) -> list[tuple[str, Indicator]]:
    return [
        (model_id, indicator)
        for model_id, indicator in run.comparison.indicators
        if f"{indicator.id}_difference" in frame.columns
    ]


def _indicator_columns(
    frame: pd.DataFrame, indicators: list[tuple[str, Indicator]], parts: Sequence[str]
) -> tuple[list[pa.Array], list[pa.Field]]:
    arrays: list[pa.Array] = []
    fields: list[pa.Field] = []
    for model_id, indicator in indicators:
        method = MODELLED_METHOD.format(model=model_id)
        for part in parts:
            name = f"{indicator.id}_{part}"
            arrays.append(_numbers(frame[name], pa.float32()))
            fields.append(
                field(
                    name,
                    pa.float32(),
                    title=f"{indicator.title} ({part})",
                    unit=indicator.unit,
                    estimated=True,
                    method=method,
                    source=f"/v1/models/{model_id}",
                )
            )
    return arrays, fields


def changed_rows(frame: pd.DataFrame) -> pd.Series:
    """Rows where any indicator differs between baseline and scenario (or exists in only one)."""
    differences = frame[[c for c in frame.columns if c.endswith("_difference")]]
    baseline_missing = frame[[c for c in frame.columns if c.endswith("_baseline")]].isna().all(axis=1)
    scenario_missing = frame[[c for c in frame.columns if c.endswith("_scenario")]].isna().all(axis=1)
    return (differences.abs() > 1e-9).any(axis=1) | (baseline_missing != scenario_missing)


def scenario_layer_tables(
    run: ScenarioRun,
    baseline_buildings: gpd.GeoDataFrame,
    *,
    parts: Sequence[str] = ("baseline", "scenario", "difference"),
    only_changed: bool = True,
) -> dict[str, pa.Table]:
    """A scenario run's comparison per level in viewer form (``LEVELS``).

    ``buildings`` and ``roads`` hold only the rows whose values changed (all rows when not
    ``only_changed``); ``grid`` (every 100 m cell with a value, its centre as lon/lat) and
    ``buurt`` hold every row. Indicator columns are ``<indicator>_<part>`` (float32); the schema
    metadata ``tweeling:indicators`` lists the indicators with title, unit, domain and which
    direction is better.
    """
    comparison = run.comparison
    city = run.applied.city
    origin = lnglat_origin(baseline_buildings.total_bounds)
    tables: dict[str, pa.Table] = {}

    def table(
        level: str, frame: pd.DataFrame, keys: list[pa.Array], key_fields: list[pa.Field], **meta: Any
    ) -> None:
        indicators = _level_indicators(run, frame)
        arrays, fields = _indicator_columns(frame, indicators, parts)
        listed = [
            {
                "id": indicator.id,
                "title": indicator.title,
                "unit": indicator.unit,
                "domain": indicator.domain,
                "better": _better(indicator),
                "model": model_id,
            }
            for model_id, indicator in indicators
        ]
        metadata = _metadata(meta.pop("origin", None), level=level, indicators=listed, **meta)
        tables[level] = pa.Table.from_arrays(keys + arrays, schema=pa.schema(key_fields + fields, metadata))

    buildings = comparison.buildings
    changed = changed_rows(buildings) if not buildings.empty else pd.Series(dtype=bool)
    if only_changed:
        buildings, changed = buildings[changed], changed[changed]
    ids = buildings.index
    added = ~ids.isin(baseline_buildings.index)
    removed = ~ids.isin(city.buildings.index)
    change = np.where(
        added, "added", np.where(removed, "removed", np.where(changed.to_numpy(), "changed", "unchanged"))
    )
    shapes = np.asarray(city.buildings.geometry.reindex(ids).to_numpy(), dtype=object)
    shapes[~added] = None
    heights = city.buildings["height_m"].reindex(ids).where(added)
    table(
        "buildings",
        buildings,
        [
            pa.array([str(i) for i in ids], type=pa.utf8()),
            _dictionary(pd.Series(change, dtype=object)),
            polygon_array(shapes, origin),
            _numbers(heights, pa.float32()),
        ],
        [
            field("id", pa.utf8(), title="Building id (as in buildings.arrow)", title_nl="Gebouwnummer"),
            field(
                "change",
                pa.dictionary(pa.int8(), pa.utf8()),
                title="changed, added, removed (or unchanged, in the baseline layers)",
            ),
            field(
                "polygon",
                POLYGON,
                title="Footprint of an added building (null for existing ones)",
                unit="degree",
                source="scenario intervention",
            ),
            field("height_m", pa.float32(), title="Height of an added building", unit="m"),
        ],
        origin=origin,
    )

    grid = comparison.grid
    spec = comparison.grid_spec
    rows = grid.index.get_level_values("row").to_numpy() if not grid.empty else np.array([], dtype=int)
    cols = grid.index.get_level_values("col").to_numpy() if not grid.empty else np.array([], dtype=int)
    lon, lat = transformer(STORE_EPSG, 4326).transform(
        spec.x_min + (cols + 0.5) * spec.cell_m, spec.y_min + (rows + 0.5) * spec.cell_m
    )
    table(
        "grid",
        grid,
        [pa.array(np.asarray(lon, dtype=np.float64)), pa.array(np.asarray(lat, dtype=np.float64))],
        [
            field("lon", pa.float64(), title="Cell centre longitude", unit="degree"),
            field("lat", pa.float64(), title="Cell centre latitude", unit="degree"),
        ],
        cell_size_m=spec.cell_m,
        grid={"crs": "EPSG:28992", "x_min": spec.x_min, "y_min": spec.y_min, "cell_m": spec.cell_m},
    )

    roads = comparison.roads
    if only_changed and not roads.empty:
        roads = roads[changed_rows(roads)]
    road_ids = roads.index.to_numpy()
    table(
        "roads",
        roads,
        [
            pa.array([str(i) for i in road_ids], type=pa.utf8()),
            path_array(city.roads.geometry.reindex(road_ids).to_numpy(), origin),
        ],
        [
            field("id", pa.utf8(), title="Road link id", source="/v1/collections/roads/items/{id}"),
            field("path", PATH, title="Road link (lon/lat offsets from tweeling:origin)", unit="degree"),
        ],
        origin=origin,
    )

    buurt = comparison.buurt
    names = city.buurten["bu_naam"].reindex(buurt.index) if "bu_naam" in city.buurten else None
    table(
        "buurt",
        buurt,
        [
            pa.array([str(code) for code in buurt.index], type=pa.utf8()),
            pa.array(
                [None if names is None or pd.isna(names[c]) else str(names[c]) for c in buurt.index],
                type=pa.utf8(),
            ),
        ],
        [
            field("code", pa.utf8(), title="CBS buurt code", source="/v1/collections/buurten/items/{code}"),
            field("name", pa.utf8(), title="Buurt name", title_nl="Buurtnaam"),
        ],
    )
    return tables


def layer_file_name(level: str) -> str:
    """File name of a level's Arrow stream in a job's folder; InvalidInputError for unknown levels."""
    if level not in LEVELS:
        raise InvalidInputError(
            f"unknown level {level!r}; levels: {', '.join(LEVELS)}",
            invalid_params=[{"name": "level", "reason": f"one of {', '.join(LEVELS)}"}],
        )
    return f"layer-{level}.arrow"


def write_scenario_layers(run: ScenarioRun, baseline_buildings: gpd.GeoDataFrame, folder: Path) -> list[Path]:
    """Write every level's Arrow stream into a job's ``folder``; returns the files."""
    written = []
    for level, table in scenario_layer_tables(run, baseline_buildings).items():
        path = folder / layer_file_name(level)
        write_atomic(path, ipc_stream(table))
        written.append(path)
    return written


class BaselineIndicators:
    """Baseline indicator values per level in viewer form (an empty scenario's comparison).

    Built on first request (the models' baseline run, a few seconds) and kept for the process.
    """

    def __init__(self, service: ScenarioService) -> None:
        self.service = service
        self._lock = threading.Lock()
        self._payloads: dict[str, ArrowPayload] | None = None

    def get(self, level: str) -> ArrowPayload:
        """The payload of ``level`` (every row; columns ``<indicator>_baseline``)."""
        layer_file_name(level)
        with self._lock:
            if self._payloads is None:
                started = time.perf_counter()
                run = self.service.run(Scenario(name="baseline", interventions=[]), effects=False)
                tables = scenario_layer_tables(
                    run, self.service.city().buildings, parts=("baseline",), only_changed=False
                )
                self._payloads = {name: ArrowPayload.of(table, started) for name, table in tables.items()}
            return self._payloads[level]


# -- layer catalogue --------------------------------------------------------------------------

LAYER_TITLES: dict[str, tuple[str, str]] = {
    # layer: (Dutch, English)
    "buildings": ("Gebouwen", "Buildings"),
    "buurten": ("Buurten (CBS 2020)", "Neighbourhoods (CBS 2020)"),
    "wijken": ("Wijken (CBS)", "Districts (CBS)"),
    "facilities": ("Voorzieningen", "Facilities"),
    "green": ("Groen", "Green space"),
    "water": ("Water", "Water"),
    "waterways": ("Waterlopen", "Waterways"),
    "roads": ("Wegennet", "Road network"),
    "road_nodes": ("Knooppunten wegennet", "Road network nodes"),
    "sensor_sites": ("Meetstations luchtkwaliteit", "Air-quality monitoring sites"),
}
FIELD_TITLES: dict[str, tuple[str, str]] = {
    "bu_code": ("Buurtcode", "Buurt code"),
    "bu_naam": ("Buurtnaam", "Buurt name"),
    "wk_code": ("Wijkcode", "Wijk code"),
    "wk_naam": ("Wijknaam", "Wijk name"),
    "aant_inw": ("Inwoners", "Residents"),
    "aant_inw_2020": ("Inwoners 2020", "Residents 2020"),
    "inwoners_2024": ("Inwoners 2024", "Residents 2024"),
    "bev_dichth": ("Bevolkingsdichtheid", "Population density"),
    "p_65_eo_jr": ("Aandeel 65+", "Share aged 65+"),
    "aantal_hh": ("Huishoudens", "Households"),
    "height_m": ("Hoogte", "Height"),
    "floors": ("Bouwlagen", "Storeys"),
    "main_use": ("Hoofdgebruik", "Main use"),
    "dwellings_est": ("Woningen (verwacht)", "Dwellings (expected)"),
    "residents_est": ("Inwoners (verwacht)", "Residents (expected)"),
    "footprint_area_m2": ("Oppervlakte footprint", "Footprint area"),
    "address_count": ("Adressen", "Addresses"),
    "facility_type": ("Soort voorziening", "Facility type"),
    "name": ("Naam", "Name"),
    "capacity": ("Capaciteit", "Capacity"),
    "green_type": ("Soort groen", "Green type"),
    "area_m2": ("Oppervlakte", "Area"),
    "public_access": ("Openbaar toegankelijk", "Public access"),
    "water_type": ("Soort water", "Water type"),
    "waterway_type": ("Soort waterloop", "Waterway type"),
    "road_class": ("Wegklasse", "Road class"),
    "length_m": ("Lengte", "Length"),
    "free_speed_kmh": ("Snelheid vrije doorstroming", "Free-flow speed"),
    "capacity_veh_per_h": ("Capaciteit", "Capacity"),
}
_LAYER_KINDS = {"Polygon": "polygons", "MultiPolygon": "polygons", "LineString": "lines", "Point": "points"}
_LAYER_KINDS.update({"MultiLineString": "lines", "MultiPoint": "points"})
_DEFAULT_VISIBLE = {"buildings", "buurten"}
_DEFAULT_OPACITY = {"buildings": 1.0, "buurten": 0.35, "wijken": 0.35, "green": 0.6, "water": 0.6}
_HIDDEN_FIELDS = {"suppressed_fields", "geometry_repaired", "jrstatcode", "ind_wbi", "h2o", "component"}
SENSOR_TITLES_NL = {
    "LAeq": "Geluid (LAeq)",
    "People count": "Passanten",
    "Traffic flow": "Verkeersintensiteit",
    "Air temperature": "Luchttemperatuur",
    "Wind speed": "Windsnelheid",
    "Precipitation rate": "Neerslagintensiteit",
    "Relative humidity": "Relatieve luchtvochtigheid",
}


def _title(nl: str, en: str) -> dict[str, str]:
    return {"nl": nl, "en": en}


def _field_title(spec: FieldSpec) -> dict[str, str]:
    if spec.name in FIELD_TITLES:
        return _title(*FIELD_TITLES[spec.name])
    plain = spec.name.replace("_", " ")
    return _title(plain, plain)


def _attribute(spec: FieldSpec, layer_source: str) -> dict[str, Any]:
    return {
        "name": spec.name,
        "title": _field_title(spec),
        "description": spec.description,
        "unit": spec.unit,
        "estimated": spec.estimated,
        "method": spec.method if spec.estimated else None,
        "source": spec.source or layer_source,
    }


def _city_layers(
    layers: Iterable[LayerInfo], base: str, hidden_of: Callable[[str], Iterable[str]] | None = None
) -> list[dict[str, Any]]:
    out = []
    for info in layers:
        if info.geometry_type is None:
            continue
        schema = info.schema
        hidden = with_provenance(schema.field_names, hidden_of(info.name) if hidden_of else ())
        is_buildings = info.name == "buildings"
        items = f"{base}/collections/{info.name}/items?limit=10000"
        entry = {
            "id": info.name,
            "title": _title(*LAYER_TITLES.get(info.name, (info.title, info.title))),
            "group": "sensors" if info.name == "sensor_sites" else "city",
            "kind": "buildings" if is_buildings else _LAYER_KINDS.get(info.geometry_type, "polygons"),
            "source": f"{base}/viewer/buildings.arrow" if is_buildings else items,
            "format": "arrow" if is_buildings else "geojson",
            "feature_count": info.feature_count,
            "paged": not is_buildings and info.feature_count > 10_000,
            "collection": f"{base}/collections/{info.name}",
            "attributes": [
                _attribute(spec, schema.source)
                for spec in schema.fields
                if spec.name != schema.primary_key
                and spec.name not in _HIDDEN_FIELDS
                and spec.name not in hidden
                and (not is_buildings or spec.name in _BUILDING_ATTRIBUTES)
            ],
            "licence": schema.licence,
            "attribution": schema.attribution,
            "default_visible": info.name in _DEFAULT_VISIBLE,
            "default_opacity": _DEFAULT_OPACITY.get(info.name, 0.8),
        }
        out.append(entry)
    return out


def _indicator_kind(indicator: Indicator) -> tuple[str, str]:
    """(viewer kind, level) to draw a baseline indicator: grid first, then buurt, then roads."""
    if "grid" in indicator.levels or "buildings" in indicator.levels:
        return "grid", "grid"
    if "buurt" in indicator.levels:
        return "polygons", "buurt"
    if "roads" in indicator.levels:
        return "lines", "roads"
    return "", ""


def _indicator_layers(models: Iterable[ImpactModel], base: str) -> list[dict[str, Any]]:
    out = []
    for model in models:
        info = model.info
        for indicator in info.indicators:
            kind, level = _indicator_kind(indicator)
            if not kind:
                continue
            out.append(
                {
                    "id": f"indicator:{indicator.id}",
                    "title": _title(indicator.title, indicator.title),
                    "group": "indicators",
                    "kind": kind,
                    "source": f"{base}/viewer/indicators/{level}.arrow",
                    "format": "arrow",
                    "level": level,
                    "levels": [lvl for lvl in indicator.levels if lvl != "city"],
                    "column": f"{indicator.id}_baseline",
                    "domain": indicator.domain,
                    "better": _better(indicator),
                    "model": info.id,
                    "attributes": [
                        {
                            "name": f"{indicator.id}_baseline",
                            "title": _title(indicator.title, indicator.title),
                            "description": indicator.description,
                            "unit": indicator.unit,
                            "estimated": True,
                            "method": MODELLED_METHOD.format(model=info.id),
                            "source": f"{base}/models/{info.id}",
                        }
                    ],
                    "default_visible": False,
                    "default_opacity": 0.7,
                }
            )
    return out


def sensor_datastreams(read: Any) -> list[dict[str, Any]]:
    """The hub's Datastreams with unit, properties and ObservedProperty (``read``: SensorHub.read)."""
    document = read(
        "Datastreams",
        {
            "$select": "id,name,unitOfMeasurement,properties",
            "$expand": "ObservedProperty($select=id,name,description,definition)",
            "$top": "10000",
        },
    )
    streams: list[dict[str, Any]] = document.get("value", [])
    return streams


def _sensor_layers(datastreams: Sequence[Mapping[str, Any]], root: str, base: str) -> list[dict[str, Any]]:
    """One layer per observed property (NO2, noise, people count, ...), over all its Datastreams."""
    by_property: dict[str, list[Mapping[str, Any]]] = {}
    for stream in datastreams:
        name = str((stream.get("ObservedProperty") or {}).get("name", "sensors"))
        by_property.setdefault(name, []).append(stream)
    out = []
    for number, (name, streams) in enumerate(by_property.items(), start=1):
        prop = streams[0].get("ObservedProperty") or {}
        unit = (streams[0].get("unitOfMeasurement") or {}).get("symbol")
        properties = [s.get("properties") or {} for s in streams]
        simulated = any(bool(p.get("simulated")) for p in properties)
        method = next((str(p["simulation_method"]) for p in properties if p.get("simulation_method")), None)
        stream_ids = [int(s["@iot.id"]) for s in streams]
        literal = name.replace("'", "''")
        query = quote(
            f"$filter=ObservedProperty/name eq '{literal}'"
            "&$expand=Thing($expand=Locations),Observations($orderby=phenomenonTime desc;$top=1)"
            "&$top=1000",
            safe="$=&,;()/'",
        )
        out.append(
            {
                "id": f"sensors:{number}",
                "title": _title(SENSOR_TITLES_NL.get(name, name), name),
                "group": "sensors",
                "kind": "sensors",
                "source": f"{root}/v1.1/Datastreams?{query}",
                "format": "sensorthings",
                "observed_property": name,
                "live": f"{base}/sensors/live?datastream={','.join(map(str, stream_ids))}",
                "aggregates": f"{base}/sensors/aggregates",
                "alerts": f"{base}/sensors/alerts",
                "datastreams": stream_ids,
                "attributes": [
                    {
                        "name": "result",
                        "title": _title(SENSOR_TITLES_NL.get(name, name), name),
                        "description": str(prop.get("description", "")),
                        "unit": unit,
                        "estimated": simulated,
                        "method": f"simulated: {method}" if simulated and method else None,
                        "source": str(properties[0].get("source", "Tweeling sensor hub")),
                    }
                ],
                "default_visible": True,
                "default_opacity": 1.0,
            }
        )
    return out


def layer_catalogue(
    layers: Iterable[LayerInfo],
    models: Iterable[ImpactModel],
    datastreams: Sequence[Mapping[str, Any]],
    root: str,
    base_path: str = "/v1",
    hidden_of: Callable[[str], Iterable[str]] | None = None,
) -> dict[str, Any]:
    """The viewer's layer catalogue: basemap, city layers, baseline indicators, live sensors.

    ``root`` is the server's address as the client sees it (absolute URLs in ``source``);
    ``hidden_of(layer)`` names the fields the caller may not see (left out of ``attributes``).
    """
    base = root.rstrip("/") + base_path
    basemap = {
        "id": "basemap",
        "title": _title("Basiskaart (OpenStreetMap)", "Basemap (OpenStreetMap)"),
        "group": "basemap",
        "kind": "polygons",
        "source": f"{base}/basemap/style.json?theme=light",
        "format": "maplibre-style",
        "styles": {
            "light": f"{base}/basemap/style.json?theme=light",
            "dark": f"{base}/basemap/style.json?theme=dark",
        },
        "tilejson": f"{base}/basemap/tiles.json",
        "attributes": [],
        "attribution": "© OpenStreetMap contributors, OpenMapTiles",
        "licence": "ODbL-1.0 (data), CC-BY-4.0 (OpenMapTiles schema)",
        "default_visible": True,
        "default_opacity": 1.0,
    }
    return {
        "layers": [
            basemap,
            *_city_layers(layers, base, hidden_of),
            *_indicator_layers(models, base),
            *_sensor_layers(datastreams, root.rstrip("/"), base),
        ]
    }


def require_level(level: str) -> str:
    """``level`` if it is one of LEVELS (else InvalidInputError)."""
    layer_file_name(level)
    return level


def job_layer(folder: Path, job_id: str, level: str) -> Path:
    """The Arrow stream of ``level`` in a finished job's ``folder``; NotFoundError when absent."""
    path = folder / layer_file_name(level)
    if not path.is_file():
        raise NotFoundError(
            f"job {job_id} has no viewer layers (it ran before they were written); run the scenario again"
        )
    return path


def select_indicators(stream: bytes, indicators: Sequence[str]) -> bytes:
    """A layer's Arrow stream with only the columns of ``indicators`` (and its key columns).

    InvalidInputError naming the layer's indicators when one is unknown.
    """
    table = pa.ipc.open_stream(stream).read_all()
    metadata = dict(table.schema.metadata or {})
    listed = json.loads(metadata.get(b"tweeling:indicators", b"[]"))
    known = [item["id"] for item in listed]
    unknown = [name for name in indicators if name not in known]
    if unknown:
        raise InvalidInputError(
            f"unknown indicator(s) {', '.join(unknown)} at this level; indicators: {', '.join(known)}",
            invalid_params=[{"name": "indicators", "reason": "unknown indicator"}],
        )
    suffixes = ("_baseline", "_scenario", "_difference")
    keep = [
        name
        for name in table.column_names
        if not name.endswith(suffixes) or name.rsplit("_", 1)[0] in indicators
    ]
    metadata[b"tweeling:indicators"] = json.dumps([i for i in listed if i["id"] in indicators]).encode()
    selected = table.select(keep)
    return ipc_stream(selected.replace_schema_metadata(metadata))
