"""Generic raster helpers for impact models: a regular RD grid, polygon rasterisation, window means.

Polygons are burned by cell-centre sampling: a cell belongs to a polygon when its centre lies inside
it (even-odd rule over all rings, so holes and multipolygons work). The rasteriser is a vectorised
scanline in numpy + shapely 2: every edge is intersected with the horizontal lines through the
centres of the rows it spans, the crossings are sorted per (feature, row) and paired into runs of
cells. The cost grows with edges x rows crossed plus cells filled, not with cells x polygons
(65,796 Dordrecht footprints on a 10 m grid take about 0.1 s). rasterio is not needed.

All float arithmetic is done in the coordinates of the whole grid and only integer offsets differ
between a window and the whole grid, so a window burns exactly the cells the whole grid does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from scipy.ndimage import uniform_filter


@dataclass(frozen=True)
class Grid:
    """A window of a regular grid in EPSG:28992; row 0 of the whole grid is its northern edge.

    ``x0``/``y0`` (m) are the west and north edges of the whole grid; ``row0``/``col0`` place this
    window in it (0, 0 for the whole grid); ``rows``/``cols`` are the window's size.
    """

    x0: float
    y0: float
    cell_m: float
    rows: int
    cols: int
    row0: int = 0
    col0: int = 0

    @classmethod
    def covering(cls, bounds: Sequence[float], cell_m: float) -> Grid:
        """The smallest grid with cell edges on multiples of ``cell_m`` that covers ``bounds`` (m)."""
        x_min, y_min, x_max, y_max = (float(v) for v in bounds)
        x0 = math.floor(x_min / cell_m) * cell_m
        y0 = math.ceil(y_max / cell_m) * cell_m
        cols = max(1, math.ceil((x_max - x0) / cell_m))
        rows = max(1, math.ceil((y0 - y_min) / cell_m))
        return cls(x0, y0, cell_m, rows, cols)

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols) of the window."""
        return (self.rows, self.cols)

    @property
    def x_min(self) -> float:
        """West edge of the window (m)."""
        return self.x0 + self.col0 * self.cell_m

    @property
    def y_max(self) -> float:
        """North edge of the window (m)."""
        return self.y0 - self.row0 * self.cell_m

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(x_min, y_min, x_max, y_max) of the window (m)."""
        return (
            self.x_min,
            self.y_max - self.rows * self.cell_m,
            self.x_min + self.cols * self.cell_m,
            self.y_max,
        )

    def window(self, row0: int, col0: int, rows: int, cols: int) -> Grid:
        """A window of the same whole grid; offsets are in the whole grid's rows and columns."""
        return Grid(self.x0, self.y0, self.cell_m, rows, cols, row0, col0)

    def window_around(self, bbox: Sequence[float], margin_m: float) -> Grid:
        """The window of this grid's cells within ``margin_m`` of ``bbox`` (m), clipped to this grid."""
        x_min, y_min, x_max, y_max = (float(v) for v in bbox)
        c_lo = math.floor((x_min - margin_m - self.x0) / self.cell_m)
        c_hi = math.ceil((x_max + margin_m - self.x0) / self.cell_m)
        r_lo = math.floor((self.y0 - y_max - margin_m) / self.cell_m)
        r_hi = math.ceil((self.y0 - y_min + margin_m) / self.cell_m)
        r_lo, r_hi = max(r_lo, self.row0), min(r_hi, self.row0 + self.rows)
        c_lo, c_hi = max(c_lo, self.col0), min(c_hi, self.col0 + self.cols)
        return self.window(r_lo, c_lo, max(0, r_hi - r_lo), max(0, c_hi - c_lo))

    def slices(self, inner: Grid) -> tuple[slice, slice]:
        """Where window ``inner`` lies in this window's arrays."""
        r, c = inner.row0 - self.row0, inner.col0 - self.col0
        return slice(r, r + inner.rows), slice(c, c + inner.cols)

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """x of the column centres and y of the row centres (m), 1-D."""
        xs = self.x0 + (np.arange(self.cols) + self.col0 + 0.5) * self.cell_m
        ys = self.y0 - (np.arange(self.rows) + self.row0 + 0.5) * self.cell_m
        return xs, ys


def intersecting(geometries: np.ndarray, grid: Grid) -> np.ndarray:
    """Positions of the geometries whose bounding box meets the window (bounds test only)."""
    if len(geometries) == 0:
        return np.zeros(0, dtype=np.int64)
    b = shapely.bounds(geometries)
    x_min, y_min, x_max, y_max = grid.bounds
    keep = (b[:, 0] <= x_max) & (b[:, 2] >= x_min) & (b[:, 1] <= y_max) & (b[:, 3] >= y_min)
    return np.flatnonzero(keep)


def _ring_coordinates(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coordinates of all polygon rings, the ring of each coordinate and the feature of each ring.

    Polygons without holes are read directly (their only ring is the feature); others are split
    into rings, which creates geometry objects and is slower.
    """
    type_id = shapely.get_type_id(geoms)
    simple = (type_id == 3) & (shapely.get_num_interior_rings(geoms) == 0)
    simple_at = np.flatnonzero(simple)
    coords, coord_ring = shapely.get_coordinates(geoms[simple_at], return_index=True)
    ring_feature = simple_at
    complex_at = np.flatnonzero(~simple & np.isin(type_id, (3, 6)))
    if len(complex_at):
        parts, part_feature = shapely.get_parts(geoms[complex_at], return_index=True)
        polygons = shapely.get_type_id(parts) == 3
        rings, ring_part = shapely.get_rings(parts[polygons], return_index=True)
        more, more_ring = shapely.get_coordinates(rings, return_index=True)
        coords = np.concatenate([coords, more])
        coord_ring = np.concatenate([coord_ring, more_ring + len(simple_at)])
        ring_feature = np.concatenate([simple_at, complex_at[part_feature[polygons][ring_part]]])
    return coords, coord_ring, ring_feature


def polygon_spans(
    geometries: np.ndarray, grid: Grid
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Runs of cells whose centres lie inside each polygon: (feature, row, col_start, col_stop).

    ``geometries`` are (multi)polygons (other types are skipped); ``feature`` is the position in
    ``geometries``; rows and columns are local to the window, ``col_stop`` exclusive.
    """
    empty = np.zeros(0, dtype=np.int64)
    geoms = np.asarray(geometries, dtype=object)
    if len(geoms) == 0 or grid.rows == 0 or grid.cols == 0:
        return empty, empty, empty, empty
    coords, coord_ring, ring_feature = _ring_coordinates(geoms)
    if len(coords) < 2:
        return empty, empty, empty, empty
    start = np.flatnonzero(coord_ring[1:] == coord_ring[:-1])
    u = (coords[:, 0] - grid.x0) / grid.cell_m
    v = (grid.y0 - coords[:, 1]) / grid.cell_m
    u0, u1, v0, v1 = u[start], u[start + 1], v[start], v[start + 1]
    v_lo, v_hi = np.minimum(v0, v1), np.maximum(v0, v1)
    r_first = np.clip(np.ceil(v_lo - 0.5).astype(np.int64), grid.row0, grid.row0 + grid.rows)
    r_stop = np.clip(np.ceil(v_hi - 0.5).astype(np.int64), grid.row0, grid.row0 + grid.rows)
    count = np.maximum(r_stop - r_first, 0)
    crossing = np.flatnonzero(count)
    count = count[crossing]
    if len(crossing) == 0:
        return empty, empty, empty, empty
    edge = np.repeat(crossing, count)
    first = np.cumsum(count) - count
    row = r_first[edge] + (np.arange(int(count.sum())) - np.repeat(first, count))
    slope = (u1[edge] - u0[edge]) / (v1[edge] - v0[edge])
    x = u0[edge] + (row + 0.5 - v0[edge]) * slope
    feature = ring_feature[coord_ring[start[edge]]]
    order = np.lexsort((x, row, feature))
    feature, row, x = feature[order], row[order], x[order]
    x_in, x_out = x[0::2], x[1::2]
    feature, row = feature[0::2], row[0::2]
    c_first = np.clip(np.ceil(x_in - 0.5).astype(np.int64), grid.col0, grid.col0 + grid.cols)
    c_stop = np.clip(np.ceil(x_out - 0.5).astype(np.int64), grid.col0, grid.col0 + grid.cols)
    keep = c_stop > c_first
    return (
        feature[keep],
        row[keep] - grid.row0,
        c_first[keep] - grid.col0,
        c_stop[keep] - grid.col0,
    )


def _span_cells(
    feature: np.ndarray, row: np.ndarray, c_first: np.ndarray, c_stop: np.ndarray, cols: int
) -> tuple[np.ndarray, np.ndarray]:
    """Flat cell index and feature of every cell in the runs."""
    length = c_stop - c_first
    total = int(length.sum())
    first = np.cumsum(length) - length
    flat = np.repeat(row * cols + c_first - first, length) + np.arange(total)
    return flat, np.repeat(feature, length)


def rasterize_mask(geometries: np.ndarray, grid: Grid) -> np.ndarray:
    """Boolean (rows, cols): cells whose centre lies in any of the polygons."""
    out = np.zeros(grid.rows * grid.cols, dtype=bool)
    spans = polygon_spans(geometries, grid)
    flat, _ = _span_cells(*spans, grid.cols)
    out[flat] = True
    return out.reshape(grid.shape)


def rasterize_values(geometries: np.ndarray, values: np.ndarray, grid: Grid, fill: float | int) -> np.ndarray:
    """(rows, cols) of ``values``' dtype: the largest value of the polygons covering each cell centre.

    Cells covered by none get ``fill``. Taking the largest makes the result independent of order.
    """
    values = np.asarray(values)
    lowest = np.iinfo(values.dtype).min if values.dtype.kind in "iu" else -np.inf
    out = np.full(grid.rows * grid.cols, lowest, dtype=values.dtype)
    spans = polygon_spans(geometries, grid)
    flat, feature = _span_cells(*spans, grid.cols)
    np.maximum.at(out, flat, values[feature])
    out[out == lowest] = fill
    return out.reshape(grid.shape)


def window_mean(values: np.ndarray, weights: np.ndarray, radius_cells: int) -> np.ndarray:
    """Weighted mean of ``values`` over the square window of side 2r+1 cells around each cell.

    Cells outside the array weigh zero; where the window holds no weight the result is 0. float32.
    """
    size = 2 * int(radius_cells) + 1
    w = weights.astype(np.float32)
    numerator = uniform_filter(values.astype(np.float32) * w, size=size, mode="constant", cval=0.0)
    denominator = uniform_filter(w, size=size, mode="constant", cval=0.0)
    out = np.zeros_like(numerator)
    np.divide(numerator, denominator, out=out, where=denominator > 1e-6)
    return out


def box_sums(
    values: np.ndarray, r_lo: np.ndarray, r_hi: np.ndarray, c_lo: np.ndarray, c_hi: np.ndarray
) -> np.ndarray:
    """Sum of ``values`` over rows [r_lo, r_hi) x cols [c_lo, c_hi) for each box (summed-area table)."""
    table = np.zeros((values.shape[0] + 1, values.shape[1] + 1), dtype=np.float64)
    np.cumsum(np.cumsum(values, axis=0, dtype=np.float64), axis=1, out=table[1:, 1:])
    return table[r_hi, c_hi] - table[r_lo, c_hi] - table[r_hi, c_lo] + table[r_lo, c_lo]
