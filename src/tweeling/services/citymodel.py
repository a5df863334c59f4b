"""City-model services: load the demo city, import a file, describe what the store holds."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

import tweeling
from tweeling.citymodel.demo import DEMO_DIR, DEMO_LAYER_NAMES, build_demo_layers, read_demo_sources
from tweeling.citymodel.importer import read_layer_file
from tweeling.citymodel.roads import DEFAULT_ROAD_CLASSES, RoadClassParams, road_classes_from_mapping
from tweeling.core.crs import STORE_EPSG, bbox_to_wgs84
from tweeling.core.errors import InvalidInputError
from tweeling.services.settings import Settings
from tweeling.store import Store, open_store


def connect(settings: Settings, *, read_only: bool = False) -> Store:
    """Open the store the settings name."""
    return open_store(settings.resolved_store_url, read_only=read_only)


def road_classes(settings: Settings) -> dict[str, RoadClassParams]:
    """Road-class parameters: the defaults, overridden per class by the YAML file in the settings.

    Classes the file does not name keep their defaults; a class set to null is not routable.
    """
    if settings.road_classes_file is None:
        return dict(DEFAULT_ROAD_CLASSES)
    path = settings.road_classes_file
    try:
        loaded = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidInputError(f"{path}: cannot read road classes: {str(exc).splitlines()[0]}") from exc
    if not isinstance(loaded, dict):
        raise InvalidInputError(f"{path}: road classes must be a mapping of class name to parameters")
    dropped = {name for name, params in loaded.items() if params is None}
    overrides = road_classes_from_mapping({k: v for k, v in loaded.items() if k not in dropped})
    merged = {**DEFAULT_ROAD_CLASSES, **overrides}
    return {name: params for name, params in merged.items() if name not in dropped}


@dataclass
class DemoImportResult:
    """What ``import_demo`` did."""

    imported: bool
    layers: list[str]
    seconds: float
    fingerprint: str
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)


def demo_fingerprint(demo_dir: Path, classes: dict[str, RoadClassParams]) -> str:
    """Identity of a demo import: shipped data manifest, code version and road parameters."""
    digest = hashlib.sha256()
    digest.update((demo_dir / "manifest.json").read_bytes())
    digest.update(tweeling.__version__.encode())
    digest.update(repr(sorted(classes.items())).encode())
    return digest.hexdigest()


def import_demo(
    store: Store,
    *,
    demo_dir: Path = DEMO_DIR,
    classes: dict[str, RoadClassParams] | None = None,
    force: bool = False,
) -> DemoImportResult:
    """Build every demo layer from the shipped Dordrecht data and store them in one transaction.

    Idempotent: when the store already holds all demo layers made from the same data,
    code version and parameters, nothing is done (unless ``force``).
    """
    classes = dict(classes or DEFAULT_ROAD_CLASSES)
    fingerprint = demo_fingerprint(demo_dir, classes)
    stored = {info.name: info.fingerprint for info in store.list_layers()}
    if not force and all(stored.get(name) == fingerprint for name in DEMO_LAYER_NAMES):
        return DemoImportResult(False, list(DEMO_LAYER_NAMES), 0.0, fingerprint)
    started = time.perf_counter()
    layers = build_demo_layers(read_demo_sources(demo_dir), classes)
    for layer in layers:
        layer.fingerprint = fingerprint
    store.write_layers(layers, replace=True)
    return DemoImportResult(
        True,
        [layer.name for layer in layers],
        time.perf_counter() - started,
        fingerprint,
        {layer.name: layer.report for layer in layers},
    )


@dataclass
class FileImportResult:
    """What ``import_file`` stored."""

    layer: str
    features: int
    report: dict[str, Any]


def import_file(
    store: Store,
    path: Path,
    layer: str,
    *,
    replace: bool = False,
    crs: str | None = None,
    source_layer: str | None = None,
    title: str | None = None,
    licence: str | None = None,
) -> FileImportResult:
    """Import one file (or folder) as layer ``layer``, in one transaction.

    An existing layer of that name is only overwritten with ``replace``; on any error
    the store is left as it was.
    """
    from tweeling.store.base import check_identifier

    check_identifier(layer)
    if not replace and store.has_layer(layer):
        raise InvalidInputError(
            f"layer {layer!r} already exists; pass --replace to overwrite it or choose another name"
        )
    data = read_layer_file(path, layer, crs=crs, source_layer=source_layer, title=title, licence=licence)
    store.write_layers([data], replace=replace)
    return FileImportResult(layer, len(data.frame), data.report)


@dataclass
class LayerSummary:
    """One line of ``tweeling info``: a layer as the store holds it."""

    name: str
    title: str
    geometry_type: str | None
    feature_count: int
    crs: str | None
    extent: tuple[float, float, float, float] | None
    extent_wgs84: tuple[float, float, float, float] | None
    estimated_fields: list[str]
    source: str
    licence: str
    imported_at: str
    report: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return dict(self.__dict__)


def describe_store(store: Store) -> list[LayerSummary]:
    """Every layer with its count, CRS, extent, estimated columns and import report."""
    summaries = []
    for info in store.list_layers():
        summaries.append(
            LayerSummary(
                name=info.name,
                title=info.title,
                geometry_type=info.geometry_type,
                feature_count=info.feature_count,
                crs=f"EPSG:{STORE_EPSG}" if info.srid else None,
                extent=info.extent,
                extent_wgs84=bbox_to_wgs84(info.extent) if info.extent else None,
                estimated_fields=info.schema.estimated_fields,
                source=info.schema.source,
                licence=info.schema.licence,
                imported_at=info.imported_at.isoformat(timespec="seconds"),
                report=info.report,
            )
        )
    return summaries
