"""The scenario engine: run the models in dependency order, reuse the baseline, compare.

The baseline results are computed once per parameter set and cached. For a scenario, a model is
recomputed only when the scenario changed a city field it reads or one of its upstream models was
recomputed; a model with an ``update`` function reuses what the change leaves valid. Every indicator
is reported as baseline, scenario and difference at the levels it is computed at, and building
and raster indicators are also aggregated to a common 100 m grid (as the Leefbaarometer's cells).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tweeling.scenarios.city import CityChange, CityState, building_centroids
from tweeling.scenarios.model import Indicator, ModelResult, Raster
from tweeling.scenarios.registry import Registry

GRID_CELL_M = 100.0
"""Cell size (m) of the common comparison grid."""

GRID_COLUMNS = 1_000_000
"""Cell numbers are row * GRID_COLUMNS + col (more columns than any city grid has)."""

ParameterSet = Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class Evaluation:
    """All model results for one city state, with which models ran and how long each took (s)."""

    results: dict[str, ModelResult]
    recomputed: tuple[str, ...]
    seconds: dict[str, float]


@dataclass(frozen=True)
class GridSpec:
    """The common grid: lower-left corner (m, RD) and cell size; cells are ``(row, col)`` from there."""

    x_min: float
    y_min: float
    cell_m: float

    def flat_cells(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The cell number (row * COLUMNS + col) of each point (x, y in m, RD; broadcast together)."""
        rows = np.floor((np.asarray(y) - self.y_min) / self.cell_m).astype(np.int64)
        cols = np.floor((np.asarray(x) - self.x_min) / self.cell_m).astype(np.int64)
        return np.asarray(rows * GRID_COLUMNS + cols)

    def row_col(self, cells: np.ndarray) -> pd.MultiIndex:
        """Cell numbers as a (row, col) index."""
        return pd.MultiIndex.from_arrays([cells // GRID_COLUMNS, cells % GRID_COLUMNS], names=["row", "col"])

    @staticmethod
    def cell_means(cells: np.ndarray, values: np.ndarray) -> pd.Series:
        """Mean of ``values`` per cell number (a Series indexed by cell number)."""
        found, inverse = np.unique(cells, return_inverse=True)
        sums = np.bincount(inverse, weights=values, minlength=found.size)
        counts = np.bincount(inverse, minlength=found.size)
        return pd.Series(sums / counts, index=found)


@dataclass
class Comparison:
    """Baseline, scenario and difference of every indicator, per level.

    ``city``: one row per indicator (columns model, unit, domain, better, baseline, scenario,
    difference). The other levels are wide frames with ``<indicator>_baseline``,
    ``<indicator>_scenario`` and ``<indicator>_difference`` columns, indexed by ``bu_code``,
    ``(row, col)`` of the 100 m grid, ``edge_id`` and ``building_id``.
    """

    indicators: list[tuple[str, Indicator]]
    city: pd.DataFrame
    buurt: pd.DataFrame
    grid: pd.DataFrame
    roads: pd.DataFrame
    buildings: pd.DataFrame
    grid_spec: GridSpec
    recomputed: tuple[str, ...] = ()
    seconds: dict[str, float] = field(default_factory=dict)


def _params_key(params: ParameterSet) -> str:
    return json.dumps({k: dict(v) for k, v in sorted(params.items())}, sort_keys=True, default=str)


class Engine:
    """Runs registered models over a baseline city and scenario states of it."""

    def __init__(self, registry: Registry, baseline: CityState, models: list[str] | None = None) -> None:
        self.registry = registry
        self.baseline_city = baseline
        self.order = registry.order(models)
        x_min, y_min, _, _ = baseline.buurten.total_bounds
        self.grid_spec = GridSpec(
            float(np.floor(x_min / GRID_CELL_M) * GRID_CELL_M),
            float(np.floor(y_min / GRID_CELL_M) * GRID_CELL_M),
            GRID_CELL_M,
        )
        self._baselines: dict[str, Evaluation] = {}
        self._cells: dict[int, tuple[object, pd.Series]] = {}
        self._baseline_grid: dict[tuple[int, str, str], tuple[Evaluation, pd.Series | None]] = {}

    def indicators(self) -> list[tuple[str, Indicator]]:
        """(model id, indicator) of every model in run order."""
        return [(mid, ind) for mid in self.order for ind in self.registry.models[mid].info.indicators]

    def _params(self, model_id: str, params: ParameterSet) -> Any:
        return self.registry.models[model_id].make_params(params.get(model_id))

    def baseline(self, params: ParameterSet | None = None) -> Evaluation:
        """All models on the baseline city (cached per parameter set)."""
        params = params or {}
        key = _params_key(params)
        if key not in self._baselines:
            self._baselines[key] = self._run_all(self.baseline_city, params)
        return self._baselines[key]

    def _run_all(self, city: CityState, params: ParameterSet) -> Evaluation:
        results: dict[str, ModelResult] = {}
        seconds: dict[str, float] = {}
        for model_id in self.order:
            model = self.registry.models[model_id]
            upstream = {need: results[need] for need in model.info.requires}
            started = time.perf_counter()
            results[model_id] = model.run(city, upstream, self._params(model_id, params))
            seconds[model_id] = time.perf_counter() - started
        return Evaluation(results, tuple(self.order), seconds)

    def evaluate(self, city: CityState, change: CityChange, params: ParameterSet | None = None) -> Evaluation:
        """All models on a scenario state, recomputing only what ``change`` touches."""
        params = params or {}
        base = self.baseline(params)
        results: dict[str, ModelResult] = {}
        seconds: dict[str, float] = {}
        recomputed: list[str] = []
        for model_id in self.order:
            model = self.registry.models[model_id]
            upstream_changed = any(need in recomputed for need in model.info.requires)
            if not upstream_changed and not change.touches(model.info.reads):
                results[model_id] = base.results[model_id]
                continue
            upstream = {need: results[need] for need in model.info.requires}
            model_params = self._params(model_id, params)
            started = time.perf_counter()
            if model.update is not None:
                results[model_id] = model.update(city, upstream, model_params, base.results[model_id], change)
            else:
                results[model_id] = model.run(city, upstream, model_params)
            seconds[model_id] = time.perf_counter() - started
            recomputed.append(model_id)
        return Evaluation(results, tuple(recomputed), seconds)

    def compare(
        self, scenario_city: CityState, scenario: Evaluation, params: ParameterSet | None = None
    ) -> Comparison:
        """Baseline, scenario and difference of every indicator at every level."""
        base = self.baseline(params)
        indicators = self.indicators()
        city_rows = []
        for model_id, indicator in indicators:
            if "city" not in indicator.levels:
                continue
            before = base.results[model_id].city.get(indicator.id, np.nan)
            after = scenario.results[model_id].city.get(indicator.id, np.nan)
            city_rows.append(
                {
                    "indicator": indicator.id,
                    "title": indicator.title,
                    "model": model_id,
                    "domain": indicator.domain,
                    "unit": indicator.unit,
                    "better": indicator.better,
                    "baseline": float(before),
                    "scenario": float(after),
                    "difference": float(after) - float(before),
                }
            )
        city = pd.DataFrame(city_rows).set_index("indicator") if city_rows else pd.DataFrame()
        return Comparison(
            indicators=indicators,
            city=city,
            buurt=self._level(base, scenario, "buurt", lambda r: r.buurt),
            grid=self._grid(base, scenario, scenario_city),
            roads=self._level(base, scenario, "roads", lambda r: r.objects.get("roads")),
            buildings=self._level(base, scenario, "buildings", lambda r: r.objects.get("buildings")),
            grid_spec=self.grid_spec,
            recomputed=scenario.recomputed,
            seconds=scenario.seconds,
        )

    def _level(self, base: Evaluation, scenario: Evaluation, level: str, pick: Any) -> pd.DataFrame:
        columns: dict[str, pd.Series] = {}
        for model_id, indicator in self.indicators():
            if level not in indicator.levels:
                continue
            before_frame, after_frame = pick(base.results[model_id]), pick(scenario.results[model_id])
            if before_frame is None or indicator.id not in getattr(before_frame, "columns", ()):
                continue
            before = before_frame[indicator.id].astype(float)
            after = after_frame[indicator.id].astype(float)
            if before_frame is after_frame:
                after = before
            before, after = before.align(after)
            columns[f"{indicator.id}_baseline"] = before
            columns[f"{indicator.id}_scenario"] = after
            columns[f"{indicator.id}_difference"] = after - before
        return pd.DataFrame(columns)

    def _building_cells(self, city: CityState) -> pd.Series:
        """The grid cell of every building's centroid, as a flat cell number (computed once per state)."""
        buildings = city.buildings
        cached = self._cells.get(id(buildings))
        if cached is not None and cached[0] is buildings:
            return cached[1]
        cells = pd.Series(self.grid_spec.flat_cells(*building_centroids(buildings)), index=buildings.index)
        self._cells = {
            key: value for key, value in self._cells.items() if value[0] is self.baseline_city.buildings
        }
        self._cells[id(buildings)] = (buildings, cells)
        return cells

    def _grid_values(self, result: ModelResult, city: CityState, indicator: Indicator) -> pd.Series | None:
        """An indicator on the 100 m grid: raster block means, or means over building centroids."""
        if result.raster is not None and indicator.id in result.raster.values:
            return raster_to_grid(result.raster, indicator.id, self.grid_spec)
        frame = result.objects.get("buildings")
        if frame is None or indicator.id not in frame.columns:
            return None
        values = frame[indicator.id].astype(float).dropna()
        cells = self._building_cells(city).reindex(values.index).to_numpy()
        return self.grid_spec.cell_means(cells, values.to_numpy())

    def _grid(self, base: Evaluation, scenario: Evaluation, scenario_city: CityState) -> pd.DataFrame:
        columns: dict[str, pd.Series] = {}
        for model_id, indicator in self.indicators():
            if "grid" not in indicator.levels and "buildings" not in indicator.levels:
                continue
            key = (id(base), model_id, indicator.id)
            if key not in self._baseline_grid:
                self._baseline_grid[key] = (
                    base,
                    self._grid_values(base.results[model_id], self.baseline_city, indicator),
                )
            before = self._baseline_grid[key][1]
            if before is None:
                continue
            after: pd.Series | None = before
            if scenario.results[model_id] is not base.results[model_id]:
                after = self._grid_values(scenario.results[model_id], scenario_city, indicator)
            if after is None:
                continue
            before, after = before.align(after)
            columns[f"{indicator.id}_baseline"] = before
            columns[f"{indicator.id}_scenario"] = after
            columns[f"{indicator.id}_difference"] = after - before
        frame = pd.DataFrame(columns)
        if not frame.empty:
            frame.index = self.grid_spec.row_col(frame.index.to_numpy())
        return frame

    def run(
        self, city: CityState, change: CityChange, params: ParameterSet | None = None
    ) -> tuple[Evaluation, Comparison]:
        """Evaluate a scenario state and compare it with the baseline."""
        evaluation = self.evaluate(city, change, params)
        return evaluation, self.compare(city, evaluation, params)


def raster_to_grid(raster: Raster, name: str, grid: GridSpec) -> pd.Series:
    """Mean of a fine raster's cells within each cell of the common grid (NaN cells ignored)."""
    values = np.asarray(raster.values[name], dtype=float)
    rows, cols = raster.shape
    xs = raster.x_min + (np.arange(cols) + 0.5) * raster.cell_m
    ys = raster.y_max - (np.arange(rows) + 0.5) * raster.cell_m
    cells = grid.flat_cells(xs[None, :], ys[:, None])
    mask = np.isfinite(values)
    return grid.cell_means(cells[mask], values[mask])
