"""Write a scenario run to files: GeoParquet, GeoJSON and CSV per level, plus a text summary.

Files in the output folder:
- ``summary.txt``: the short report; ``city.csv``: every citywide indicator (baseline, scenario,
  difference); ``effects.csv``: interventions x domains;
- ``buurten.*``, ``grid.*`` (100 m cells), ``roads.*``, ``buildings.*``: per level, columns
  ``<indicator>_baseline|_scenario|_difference``.
GeoParquet keeps EPSG:28992 (metres) and every object; GeoJSON is EPSG:4326 (RFC 7946) and, for
roads and buildings, holds only the objects whose values changed, to stay small; CSV has no
geometry (grid cells carry their centre x/y in RD).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from tweeling.core.errors import InvalidInputError
from tweeling.scenarios.city import CRS
from tweeling.scenarios.engine import GridSpec
from tweeling.services.scenarios import ScenarioRun

FORMATS = ("geoparquet", "geojson", "csv")


def check_formats(formats: Iterable[str]) -> tuple[str, ...]:
    """The requested output formats, checked against :data:`FORMATS`."""
    chosen = tuple(dict.fromkeys(name.strip().lower() for name in formats if name.strip()))
    unknown = [name for name in chosen if name not in FORMATS]
    if unknown or not chosen:
        raise InvalidInputError(
            f"unknown output format(s) {', '.join(unknown) or '(none)'}; use {', '.join(FORMATS)}"
        )
    return chosen


def grid_cells(frame: pd.DataFrame, spec: GridSpec) -> gpd.GeoDataFrame:
    """The common-grid comparison frame with one square polygon per cell and its centre x/y."""
    rows = frame.index.get_level_values("row").to_numpy()
    cols = frame.index.get_level_values("col").to_numpy()
    x0 = spec.x_min + cols * spec.cell_m
    y0 = spec.y_min + rows * spec.cell_m
    boxes = shapely.box(x0, y0, x0 + spec.cell_m, y0 + spec.cell_m)
    cells = frame.reset_index()
    cells.insert(2, "x", x0 + spec.cell_m / 2)
    cells.insert(3, "y", y0 + spec.cell_m / 2)
    return gpd.GeoDataFrame(cells, geometry=boxes, crs=CRS)


def _changed(frame: pd.DataFrame) -> pd.Series:
    differences = frame[[c for c in frame.columns if c.endswith("_difference")]]
    baseline_missing = frame[[c for c in frame.columns if c.endswith("_baseline")]].isna().all(axis=1)
    scenario_missing = frame[[c for c in frame.columns if c.endswith("_scenario")]].isna().all(axis=1)
    return (differences.abs() > 1e-9).any(axis=1) | (baseline_missing != scenario_missing)


def level_frames(run: ScenarioRun, baseline_buildings: gpd.GeoDataFrame) -> dict[str, gpd.GeoDataFrame]:
    """The comparison of every level as GeoDataFrames in EPSG:28992."""
    comparison = run.comparison
    city = run.applied.city
    buurten = city.buurten[["bu_naam", "wk_code"]].join(comparison.buurt, how="right")
    buurten = gpd.GeoDataFrame(buurten, geometry=city.buurten.geometry.reindex(buurten.index), crs=CRS)
    roads = gpd.GeoDataFrame(
        city.roads[["road_class"]].join(comparison.roads, how="right"),
        geometry=city.roads.geometry.reindex(comparison.roads.index),
        crs=CRS,
    )
    shapes = pd.concat([baseline_buildings.geometry, city.buildings.geometry])
    shapes = shapes[~shapes.index.duplicated(keep="last")]
    buildings = gpd.GeoDataFrame(
        comparison.buildings, geometry=shapes.reindex(comparison.buildings.index), crs=CRS
    )
    return {
        "buurten": buurten,
        "grid": grid_cells(comparison.grid, comparison.grid_spec),
        "roads": roads,
        "buildings": buildings,
    }


def write_outputs(
    run: ScenarioRun, baseline_buildings: gpd.GeoDataFrame, folder: Path, formats: Iterable[str] = FORMATS
) -> list[Path]:
    """Write the run to ``folder`` in ``formats``; returns the files written."""
    chosen = check_formats(formats)
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / "summary.txt", folder / "city.csv", folder / "effects.csv"]
    written[0].write_text(run.summary(), encoding="utf-8")
    run.comparison.city.to_csv(written[1])
    run.effects.to_csv(written[2])
    for name, frame in level_frames(run, baseline_buildings).items():
        if frame.empty:
            continue
        if "geoparquet" in chosen:
            path = folder / f"{name}.parquet"
            frame.to_parquet(path, index=True)
            written.append(path)
        small = frame[_changed(frame)] if name in ("roads", "buildings") else frame
        if "geojson" in chosen:
            path = folder / f"{name}.geojson"
            path.unlink(missing_ok=True)
            export = gpd.GeoDataFrame(small.reset_index().replace({np.nan: None}), geometry="geometry")
            if export.crs is None:  # every geometry of the twin is in the store's CRS
                export = export.set_crs(CRS)
            export.to_crs("EPSG:4326").to_file(path, driver="GeoJSON")
            written.append(path)
        if "csv" in chosen:
            path = folder / f"{name}.csv"
            pd.DataFrame(small.drop(columns="geometry")).to_csv(path)
            written.append(path)
    return written
