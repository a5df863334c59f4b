"""Statistics of personal datasets per area, with disclosure control for roles below analyst.

A *personal dataset* is a table of unit-level records (one row per unit or per address: a
building's residents today, the households of a synthetic panel later), each with its buurt, a
location (EPSG:28992) and measures to sum. Datasets are registered by id
(:class:`PersonalDataset`: id, title, unit kind, loader), so new ones plug in without touching
the API. Answers come from ``tweeling.governance.disclosure``: principals whose policy decision
allows detail (analyst, data owner, admin) get exact totals and the access is audited; everyone
else gets the safe answers (small-cell and secondary suppression, custom areas apportioned from
safe-area totals by public dwelling counts).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import orjson
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from tweeling.core.crs import STORE_EPSG, transformer
from tweeling.core.errors import InvalidInputError, NotFoundError, TweelingError
from tweeling.governance.audit import AuditLog
from tweeling.governance.disclosure import (
    APPORTIONMENT_METHOD,
    LEVELS,
    PARTITION_METHOD,
    Apportionment,
    AreaShares,
    Cell,
    Geography,
    Level,
    Partition,
    PublicWeights,
    area_values,
    describe,
    inside,
    positions,
    publish,
    safe_partition,
)
from tweeling.governance.roles import Principal
from tweeling.services.settings import Settings
from tweeling.services.status import StoreHandle
from tweeling.store import LayerInfo, Store

UnitKind = Literal["persons", "households"]

MAX_AREA_VERTICES = 10_000
"""Largest custom area accepted (vertices over all rings)."""
MAX_AREA_BYTES = 2_000_000
"""Largest request body of a custom area (bytes of GeoJSON)."""
AREA_CRS = {
    "epsg:4326": 4326,
    "crs84": 4326,
    "ogc:crs84": 4326,
    "http://www.opengis.net/def/crs/ogc/1.3/crs84": 4326,
    "http://www.opengis.net/def/crs/epsg/0/4326": 4326,
    "epsg:28992": STORE_EPSG,
    "http://www.opengis.net/def/crs/epsg/0/28992": STORE_EPSG,
}
"""CRS names accepted for a custom area. GeoJSON coordinates are always x/y (lon/lat, RFC 7946)."""


# -- datasets -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    """A value summed per area."""

    id: str
    title: str
    unit: str
    description: str
    decimals: int = 0
    """Published values are rounded to this many decimals (0: whole persons or households)."""


@dataclass(frozen=True, eq=False)
class UnitRecords:
    """Unit-level records of a personal dataset (one row per unit, or per address with its units)."""

    bu_code: np.ndarray
    """Buurt code of each record."""
    x: np.ndarray
    y: np.ndarray
    """Location (EPSG:28992, m)."""
    units: np.ndarray
    """Units each record counts toward the threshold (persons at the address; 1 per household)."""
    measures: Mapping[str, np.ndarray]
    """Measure id -> value per record."""


@dataclass(frozen=True)
class PersonalDataset:
    """A registered personal dataset: what it is, which threshold applies, how to load it."""

    id: str
    title: str
    description: str
    unit_kind: UnitKind
    measures: tuple[Measure, ...]
    layers: tuple[str, ...]
    """Store layers the loader reads (a change in one of them rebuilds the safe partition)."""
    loader: Callable[[Store], UnitRecords]
    source: str


def _centroids(store: Store, layer: str, columns: Sequence[str]) -> tuple[Any, np.ndarray, np.ndarray]:
    frame = store.read_layer(layer, columns=list(columns))
    points = shapely.centroid(frame.geometry.to_numpy())
    return frame, shapely.get_x(points), shapely.get_y(points)


def load_residents(store: Store) -> UnitRecords:
    """Residents per building (``buildings.residents_est``; in a real deployment the BRP)."""
    frame, x, y = _centroids(store, "buildings", ["bu_code", "residents_est"])
    residents = frame["residents_est"].to_numpy(dtype=float, na_value=0.0)
    return UnitRecords(
        bu_code=frame["bu_code"].astype(str).to_numpy(),
        x=x,
        y=y,
        units=residents,
        measures={"residents": residents},
    )


RESIDENTS = PersonalDataset(
    id="residents",
    title="Residents per area",
    description=(
        "Registered residents summed per buurt, wijk, the gemeente or a drawn area. The records are "
        "residents per building (here: the CBS population of each buurt spread over its dwellings; in "
        "a real deployment the Basisregistratie Personen), which is personal data."
    ),
    unit_kind="persons",
    measures=(
        Measure(
            "residents",
            "Residents",
            "persons",
            "Residents living in the area (sum of residents per building).",
        ),
    ),
    layers=("buildings",),
    loader=load_residents,
    source=(
        "buildings.residents_est (CBS Wijk- en buurtkaart 2020 spread over BAG dwellings; "
        "stands in for the BRP)"
    ),
)

DEFAULT_DATASETS: tuple[PersonalDataset, ...] = (RESIDENTS,)
"""Datasets every deployment serves; others register with :meth:`StatisticsService.register`."""


# -- public geography -----------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PublicGeography:
    """Buurten, wijken and the public per-building weights (BAG dwellings, addresses)."""

    geography: Geography
    outline: BaseGeometry
    """The municipality (union of the buurten)."""
    weights: PublicWeights
    dwellings: np.ndarray
    """Public dwellings per buurt (decides what is safe-empty)."""


def load_public_geography(store: Store) -> PublicGeography:
    """The geography and public weights of the store's ``buurten`` and ``buildings`` layers."""
    buurten = store.read_layer(
        "buurten", columns=["bu_code", "bu_naam", "wk_code", "wk_naam", "gm_code", "gm_naam"]
    )
    buurten = buurten.sort_values("bu_code").reset_index(drop=True)
    buurten["bu_naam"] = (
        buurten["bu_naam"].astype(object).where(buurten["bu_naam"].notna(), buurten["bu_code"])
    )
    buurten["wk_naam"] = (
        buurten["wk_naam"].astype(object).where(buurten["wk_naam"].notna(), buurten["wk_code"])
    )
    wijk_names = dict(zip(buurten["wk_code"].astype(str), buurten["wk_naam"].astype(str), strict=True))
    if any(info.name == "wijken" for info in store.list_layers()):
        wijken = store.read_layer("wijken", columns=["wk_code", "wk_naam"]).dropna()
        wijk_names.update(zip(wijken["wk_code"].astype(str), wijken["wk_naam"].astype(str), strict=True))
    geography = Geography.from_polygons(
        buurten["bu_code"].astype(str).tolist(),
        buurten["bu_naam"].astype(str).tolist(),
        buurten["wk_code"].astype(str).tolist(),
        wijk_names,
        buurten.geometry.to_numpy(),
        gemeente_code=str(buurten["gm_code"].iloc[0]),
        gemeente_name=str(buurten["gm_naam"].iloc[0]),
    )
    buildings, x, y = _centroids(store, "buildings", ["bu_code", "dwellings_est", "address_count"])
    weights = PublicWeights.of(
        geography,
        buildings["bu_code"].astype(str).to_numpy(),
        x,
        y,
        {
            "dwellings_est": buildings["dwellings_est"].to_numpy(dtype=float, na_value=0.0),
            "address_count": buildings["address_count"].to_numpy(dtype=float, na_value=0.0),
        },
    )
    located = weights.buurt >= 0
    dwellings = np.bincount(
        weights.buurt[located], weights=weights.values[located, 0], minlength=len(geography)
    )
    outline = shapely.union_all(buurten.geometry.to_numpy())
    shapely.prepare(outline)
    return PublicGeography(geography, outline, weights, dwellings)


# -- prepared answers -----------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PreparedDataset:
    """A dataset's per-buurt totals, its safe partition and the region totals answers come from."""

    dataset: PersonalDataset
    public: PublicGeography
    records: UnitRecords
    record_buurt: np.ndarray
    """Buurt position of each record (-1: outside every buurt, left out of the totals)."""
    buurt_values: np.ndarray
    """(buurten, measures) totals."""
    partition: Partition
    region_totals: np.ndarray
    apportionment: Apportionment
    """Shares of the safe areas by public weights, for custom areas."""
    load_seconds: float
    partition_seconds: float
    """Time to build the safe partition (and its apportionment), seconds."""

    @property
    def threshold(self) -> float:
        """Units an area needs before its total is published."""
        return self.partition.threshold


def prepare_dataset(
    dataset: PersonalDataset, public: PublicGeography, store: Store, threshold: int
) -> PreparedDataset:
    """Load ``dataset``'s records and build its safe partition at ``threshold``."""
    started = time.perf_counter()
    records = dataset.loader(store)
    geography = public.geography
    record_buurt = positions(geography, records.bu_code)
    located = record_buurt >= 0
    count = len(geography)
    units = np.bincount(record_buurt[located], weights=records.units[located], minlength=count)
    buurt_values = np.column_stack(
        [
            np.bincount(record_buurt[located], weights=records.measures[m.id][located], minlength=count)
            for m in dataset.measures
        ]
    )
    loaded = time.perf_counter()
    partition = safe_partition(geography, units, public.dwellings, threshold)
    apportionment = Apportionment.of(partition, public.weights)
    finished = time.perf_counter()
    return PreparedDataset(
        dataset=dataset,
        public=public,
        records=records,
        record_buurt=record_buurt,
        buurt_values=buurt_values,
        partition=partition,
        region_totals=partition.region_totals(buurt_values),
        apportionment=apportionment,
        load_seconds=loaded - started,
        partition_seconds=finished - loaded,
    )


def _layer_key(info: LayerInfo) -> tuple[Any, ...]:
    return (info.name, info.fingerprint, str(info.imported_at), info.feature_count)


# -- custom areas ---------------------------------------------------------------------------


def _invalid_area(reason: str) -> InvalidInputError:
    return InvalidInputError(reason, invalid_params=[{"name": "geometry", "reason": reason}])


def area_epsg(crs: str | None) -> int:
    """The EPSG code of a custom area's ``crs`` (default EPSG:4326, lon/lat as GeoJSON has it)."""
    if crs is None or not crs.strip():
        return 4326
    epsg = AREA_CRS.get(crs.strip().strip("<>").replace("https://", "http://").lower())
    if epsg is None:
        reason = f"unsupported crs {crs!r}; use EPSG:4326 (default, lon/lat) or EPSG:28992"
        raise InvalidInputError(reason, invalid_params=[{"name": "crs", "reason": reason}])
    return epsg


def parse_area(body: bytes | Mapping[str, Any], crs: str | None = None) -> BaseGeometry:
    """A GeoJSON Polygon or MultiPolygon (or a Feature with one) as a valid geometry in EPSG:28992.

    ``crs`` (query parameter, or a ``crs`` member of the body) is EPSG:4326 by default.
    InvalidInputError for anything else: not JSON, another geometry type, more than
    MAX_AREA_VERTICES vertices, coordinates outside lon/lat, a self-intersecting polygon.
    """
    if isinstance(body, bytes | bytearray):
        if len(body) > MAX_AREA_BYTES:
            raise _invalid_area(
                f"the area is larger than {MAX_AREA_BYTES // 1_000_000} MB of GeoJSON; simplify it"
            )
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise _invalid_area("the body must be a GeoJSON Polygon or MultiPolygon (JSON)") from None
    else:
        document = body
    if not isinstance(document, dict):
        raise _invalid_area("the body must be a GeoJSON Polygon or MultiPolygon object")
    body_crs = document.get("crs")
    if crs is None and isinstance(body_crs, str):
        crs = body_crs
    epsg = area_epsg(crs)
    geometry = document.get("geometry") if document.get("type") == "Feature" else document
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        raise _invalid_area("the area must be a GeoJSON Polygon or MultiPolygon (or a Feature with one)")
    coordinates = geometry.get("coordinates")
    vertices = _count_vertices(coordinates)
    if vertices > MAX_AREA_VERTICES:
        raise _invalid_area(
            f"the area has {vertices} vertices; at most {MAX_AREA_VERTICES} are accepted: simplify it"
        )
    try:
        area = shape({"type": geometry["type"], "coordinates": coordinates})
    except (TypeError, ValueError, IndexError, KeyError, AttributeError, shapely.errors.ShapelyError):
        raise _invalid_area(
            "the area's coordinates are not a valid GeoJSON polygon (rings of [x, y] pairs)"
        ) from None
    coords = shapely.get_coordinates(area)
    if area.is_empty or len(coords) == 0 or not np.isfinite(coords).all():
        raise _invalid_area("the area is empty or has coordinates that are not numbers")
    if epsg == 4326:
        if (np.abs(coords[:, 0]) > 180).any() or (np.abs(coords[:, 1]) > 90).any():
            raise _invalid_area("coordinates must be longitude, latitude in degrees (or pass crs=EPSG:28992)")
        area = shapely.transform(
            area, lambda xy: np.column_stack(transformer(4326, STORE_EPSG).transform(xy[:, 0], xy[:, 1]))
        )
    if not area.is_valid:
        reason = shapely.is_valid_reason(area)
        raise _invalid_area(
            f"the area is not a valid polygon ({reason}): rings need at least 4 positions, the last "
            "equal to the first, and must not cross themselves"
        )
    if area.area <= 0:
        raise _invalid_area("the area has no surface")
    return area


def _count_vertices(coordinates: Any, depth: int = 0) -> int:
    """Vertices of nested GeoJSON coordinates, without building the geometry (stops past the limit)."""
    if not isinstance(coordinates, list) or depth > 4:
        return 0
    if coordinates and not isinstance(coordinates[0], list):
        return 1
    total = 0
    for part in coordinates:
        total += _count_vertices(part, depth + 1)
        if total > MAX_AREA_VERTICES:
            break
    return total


# -- the service ----------------------------------------------------------------------------


class StatisticsService:
    """Aggregates of personal datasets per buurt, wijk, gemeente or custom area.

    Safe answers for principals without detail clearance; exact, audited answers for the others.
    The public geography and each dataset's safe partition are built once and rebuilt when a
    layer they read changes.
    """

    def __init__(
        self,
        settings: Settings,
        store: StoreHandle,
        audit: AuditLog,
        datasets: Iterable[PersonalDataset] = DEFAULT_DATASETS,
    ) -> None:
        self.settings = settings
        self.store = store
        self.audit = audit
        self._datasets: dict[str, PersonalDataset] = {}
        self._lock = threading.Lock()
        self._public: tuple[tuple[Any, ...], PublicGeography] | None = None
        self._prepared: dict[str, tuple[tuple[Any, ...], PreparedDataset]] = {}
        for dataset in datasets:
            self.register(dataset)

    def register(self, dataset: PersonalDataset) -> None:
        """Serve ``dataset`` (ValueError when its id is taken or a unit kind is unknown)."""
        if dataset.id in self._datasets:
            raise ValueError(f"statistics dataset {dataset.id!r} is already registered")
        if dataset.unit_kind not in ("persons", "households"):
            raise ValueError(f"unit kind must be persons or households, got {dataset.unit_kind!r}")
        self._datasets[dataset.id] = dataset

    def threshold(self, unit_kind: UnitKind) -> int:
        """The configured minimum units of a published cell."""
        if unit_kind == "households":
            return int(self.settings.suppression_min_households)
        return int(self.settings.suppression_min_persons)

    def dataset(self, dataset_id: str) -> PersonalDataset:
        """A registered dataset; NotFoundError naming the known ones."""
        found = self._datasets.get(dataset_id)
        if found is None:
            known = ", ".join(sorted(self._datasets)) or "none"
            raise NotFoundError(f"no statistics dataset {dataset_id!r} (datasets: {known})")
        return found

    def list_datasets(self) -> list[dict[str, Any]]:
        """Every dataset with its unit, threshold and measures."""
        return [
            {
                "id": d.id,
                "title": d.title,
                "description": d.description,
                "classification": "personal",
                "unit": d.unit_kind,
                "threshold": self.threshold(d.unit_kind),
                "measures": [_measure(m) for m in d.measures],
                "levels": list(LEVELS),
                "source": d.source,
            }
            for d in self._datasets.values()
        ]

    def prepared(self, dataset_id: str) -> PreparedDataset:
        """The dataset's totals and safe partition, (re)built when the store's layers changed."""
        dataset = self.dataset(dataset_id)
        threshold = self.threshold(dataset.unit_kind)
        with self.store.use() as store, self._lock:
            try:
                layers = {info.name: info for info in store.list_layers()}
                needed = ("buurten", "buildings", *dataset.layers)
                missing = [name for name in needed if name not in layers]
                if missing:
                    raise NotFoundError(
                        f"statistics need the layers {', '.join(missing)}; import the city model first "
                        "(`tweeling demo` or `tweeling import`)"
                    )
                public_key = (store.url, _layer_key(layers["buurten"]), _layer_key(layers["buildings"]))
                if self._public is None or self._public[0] != public_key:
                    self._public = (public_key, load_public_geography(store))
                    self._prepared.clear()
                key = (*public_key, *(_layer_key(layers[name]) for name in dataset.layers), threshold)
                cached = self._prepared.get(dataset_id)
                if cached is None or cached[0] != key:
                    cached = (key, prepare_dataset(dataset, self._public[1], store, threshold))
                    self._prepared[dataset_id] = cached
                return cached[1]
            except TweelingError:
                raise
            except (KeyError, ValueError) as error:
                raise InvalidInputError(
                    f"statistics dataset {dataset_id!r} cannot be built: {error}"
                ) from None

    def table(self, dataset_id: str, level: str, *, principal: Principal, detail: bool) -> dict[str, Any]:
        """The dataset per ``level`` (buurt, wijk or gemeente); exact and audited with ``detail``."""
        checked = _level(level)
        prepared = self.prepared(dataset_id)
        if detail:
            self._audit(principal, f"statistics/{dataset_id}/{checked}", {"level": checked})
        return table_document(prepared, checked, detail=detail)

    def area(
        self,
        dataset_id: str,
        body: bytes | Mapping[str, Any],
        *,
        crs: str | None,
        principal: Principal,
        detail: bool,
    ) -> dict[str, Any]:
        """The dataset's total in a custom area (GeoJSON); exact and audited with ``detail``."""
        self.dataset(dataset_id)
        area = parse_area(body, crs)
        prepared = self.prepared(dataset_id)
        document = area_document(prepared, area, detail=detail)
        if detail:
            self._audit(principal, f"statistics/{dataset_id}/area", {"level": "area", **document["area"]})
        return document

    def _audit(self, principal: Principal, target: str, details: Mapping[str, Any]) -> None:
        """Record a detailed read before its answer leaves (an audit failure refuses the answer)."""
        self.audit.append(
            actor=principal.subject,
            roles=sorted(str(role) for role in principal.roles),
            action="data-access",
            target=target,
            details={"detail": True, **details},
        )


# -- documents ------------------------------------------------------------------------------


def control_document(prepared: PreparedDataset, detail: bool) -> dict[str, Any]:
    """The ``disclosure_control`` member: whether suppression was applied, threshold, method."""
    unit = prepared.dataset.unit_kind
    if detail:
        return {
            "applied": False,
            "threshold": int(prepared.threshold),
            "unit": unit,
            "reason": "your role reads personal data in detail; this access is recorded in the audit trail",
        }
    return {
        "applied": True,
        "threshold": int(prepared.threshold),
        "unit": unit,
        "method": PARTITION_METHOD,
        **{k: v for k, v in describe(prepared.partition).items() if k != "threshold"},
    }


def table_document(prepared: PreparedDataset, level: Level, *, detail: bool) -> dict[str, Any]:
    """The answer of ``GET /statistics/{id}?level=``: one row per area, suppressed unless ``detail``."""
    dataset = prepared.dataset
    cells = publish(prepared.partition, prepared.buurt_values, level, unit=dataset.unit_kind, detail=detail)
    return {
        "dataset": dataset.id,
        "title": dataset.title,
        "level": level,
        "unit": dataset.unit_kind,
        "measures": [_measure(m) for m in dataset.measures],
        "disclosure_control": control_document(prepared, detail),
        "rows": [_row(cell, dataset.measures, prepared.partition, detail) for cell in cells],
    }


def area_document(prepared: PreparedDataset, area: BaseGeometry, *, detail: bool) -> dict[str, Any]:
    """The answer of ``POST /statistics/{id}/area`` for ``area`` (EPSG:28992).

    Without ``detail`` the value is a function of the safe-area totals and public weights only;
    with ``detail`` it is the exact sum of the records located in the area.
    """
    dataset = prepared.dataset
    if not prepared.public.outline.intersects(area):
        raise _invalid_area(
            f"the area lies outside the municipality ({prepared.public.geography.gemeente_name}); "
            "check the coordinates and crs (GeoJSON is longitude, latitude)"
        )
    described = {
        "area_m2": round(float(area.area), 1),
        "vertices": int(shapely.get_num_coordinates(area)),
        "bbox_rd": [round(float(v), 1) for v in area.bounds],
    }
    if detail:
        records = prepared.records
        hit = inside(area, records.x, records.y) & (prepared.record_buurt >= 0)
        values = np.array([float(records.measures[m.id][hit].sum()) for m in dataset.measures])
        result: dict[str, Any] = {
            "estimated": False,
            "method": "exact sum of the unit records located in the area",
            "units": _round(float(records.units[hit].sum()), 0),
        }
    else:
        shares = prepared.apportionment.area(area)
        values = area_values(prepared.partition, prepared.region_totals, shares)
        result = {
            "estimated": shares.estimated,
            "method": APPORTIONMENT_METHOD
            if shares.estimated
            else "sum of the totals of the safe areas wholly inside the area",
            "safe_areas": _touched(prepared.partition, shares),
        }
        if shares.unsafe:
            limit = f"{prepared.threshold:g} {dataset.unit_kind}"
            values = np.full(len(dataset.measures), np.nan)
            result["suppressed"] = "primary"
            result["reason"] = f"the area lies in a part of the municipality with fewer than {limit} in all"
    return {
        "dataset": dataset.id,
        "title": dataset.title,
        "level": "area",
        "unit": dataset.unit_kind,
        "measures": [_measure(m) for m in dataset.measures],
        "values": {
            m.id: None if np.isnan(v) else _round(float(v), m.decimals)
            for m, v in zip(dataset.measures, values, strict=True)
        },
        "suppressed": None,
        **result,
        "area": described,
        "disclosure_control": control_document(prepared, detail),
    }


def _level(level: str) -> Level:
    for known in LEVELS:
        if known == level:
            return known
    reason = f"level must be one of {', '.join(LEVELS)}, got {level!r}"
    raise InvalidInputError(reason, invalid_params=[{"name": "level", "reason": reason}])


def _round(value: float, decimals: int) -> float | int:
    rounded = round(value, decimals)
    return int(rounded) if decimals == 0 else rounded


def _measure(measure: Measure) -> dict[str, Any]:
    return {
        "id": measure.id,
        "title": measure.title,
        "unit": measure.unit,
        "description": measure.description,
    }


def _row(cell: Cell, measures: Sequence[Measure], partition: Partition, detail: bool) -> dict[str, Any]:
    row: dict[str, Any] = {"code": cell.code, "name": cell.name}
    if cell.level == "buurt":
        row["wijk"] = cell.wijk
        row["safe_area"] = cell.region
    row["values"] = {
        m.id: None if v is None else _round(v, m.decimals) for m, v in zip(measures, cell.values, strict=True)
    }
    row["suppressed"] = cell.suppressed
    if cell.suppressed:
        row["reason"] = cell.reason
    row["estimated"] = False
    if detail:
        row["units"] = _round(cell.units, 0)
        row["below_threshold"] = partition.is_small(
            cell.units, float(partition.dwellings[list(cell.members)].sum())
        )
    return row


def _touched(partition: Partition, shares: AreaShares) -> list[dict[str, Any]]:
    geography = partition.geography
    out = []
    for position in np.flatnonzero((shares.shares > 0) | shares.partial):
        region = partition.regions[int(position)]
        out.append(
            {
                "id": region.id,
                "buurten": [geography.codes[i] for i in region.members],
                "share": round(float(shares.shares[position]), 4),
                "weight": shares.weight[position],
                "partial": bool(shares.partial[position]),
            }
        )
    return out
