"""A synthetic city for disclosure tests: square buurten on a grid, grouped into rectangular wijken."""

from __future__ import annotations

import numpy as np
import shapely

from tweeling.governance.disclosure import Geography, PublicWeights

CELL_M = 100.0
"""Side of a buurt (m)."""


def grid_geography(columns: int, rows: int, wijk_columns: int, wijk_rows: int) -> Geography:
    """``columns`` x ``rows`` square buurten; wijken are blocks of ``wijk_columns`` x ``wijk_rows``.

    Buurt codes are ``BU0999WWBB`` (WW: wijk number, BB: buurt number in the wijk), positions
    run row by row from the south-west corner.
    """
    codes, names, wijken, polygons = [], [], [], []
    counters: dict[int, int] = {}
    blocks_across = -(-columns // wijk_columns)
    for row in range(rows):
        for column in range(columns):
            wijk = (row // wijk_rows) * blocks_across + column // wijk_columns
            number = counters.get(wijk, 0)
            counters[wijk] = number + 1
            codes.append(f"BU0999{wijk:02d}{number:02d}")
            names.append(f"Buurt {column},{row}")
            wijken.append(f"WK0999{wijk:02d}")
            polygons.append(
                shapely.box(column * CELL_M, row * CELL_M, (column + 1) * CELL_M, (row + 1) * CELL_M)
            )
    wijk_names = {code: f"Wijk {code[-2:]}" for code in set(wijken)}
    return Geography.from_polygons(
        codes, names, wijken, wijk_names, polygons, gemeente_code="GM0999", gemeente_name="Rasterstad"
    )


def grid_position(geography: Geography, column: int, row: int, columns: int) -> int:
    """Position of the buurt in ``column``, ``row`` of a grid ``columns`` wide."""
    return row * columns + column


def scattered_buildings(
    geography: Geography, per_buurt: int, seed: int, *, dwellings: np.ndarray | None = None
) -> PublicWeights:
    """``per_buurt`` building centroids at random in each buurt's square, with random dwellings
    (0-5 each) unless ``dwellings`` (one value per building) is given."""
    generator = np.random.default_rng(seed)
    codes, xs, ys = [], [], []
    for position, code in enumerate(geography.codes):
        cx, cy = geography.centroids[position]
        xs.extend(cx + generator.uniform(-CELL_M / 2 + 1, CELL_M / 2 - 1, per_buurt))
        ys.extend(cy + generator.uniform(-CELL_M / 2 + 1, CELL_M / 2 - 1, per_buurt))
        codes.extend([code] * per_buurt)
    if dwellings is None:
        dwellings = generator.integers(0, 6, len(codes)).astype(float)
    addresses = np.ones(len(codes))
    return PublicWeights.of(
        geography,
        np.array(codes),
        np.array(xs),
        np.array(ys),
        {"dwellings_est": dwellings, "address_count": addresses},
    )
