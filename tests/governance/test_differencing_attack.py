"""Property-based differencing attack on the published statistics.

An attacker collects every public answer: all buurten, all wijken, the gemeente, custom areas
(random rectangles and polygons, and every buurt and wijk outline drawn as a custom area). Each
answer is a linear combination of the true per-buurt totals; a suppressed cell is revealed when
its vector lies in the row space of the answers (found with a rank-revealing QR). The tests
check, for random counts and thresholds on the real Dordrecht buurten (and on a synthetic grid
city), that no suppressed buurt or wijk is in that row space, that every published number covers
at least the threshold of units (or is an empty area), and that no answer depends on how units
are spread inside a safe area (so single buildings cannot be isolated by differencing custom
areas). A naive publisher that suppresses only the small buurten must fail the same check.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pytest
import scipy.linalg
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry.base import BaseGeometry

from tests.governance.grid_city import CELL_M, grid_geography, scattered_buildings
from tweeling.core.errors import InvalidInputError
from tweeling.governance.disclosure import (
    LEVELS,
    Apportionment,
    Geography,
    Partition,
    PublicWeights,
    inside,
    publish,
    safe_partition,
)
from tweeling.services.statistics import (
    Measure,
    PersonalDataset,
    PreparedDataset,
    PublicGeography,
    UnitRecords,
    area_document,
    load_public_geography,
    prepare_dataset,
    table_document,
)
from tweeling.store import Store, open_store

TOLERANCE = 1e-7
EXAMPLES = 200


# -- the attacker's algebra -----------------------------------------------------------------


def row_space(rows: list[np.ndarray], size: int) -> np.ndarray:
    """An orthonormal basis (columns) of the row space of ``rows`` (vectors of ``size``), by a
    rank-revealing QR decomposition (column pivoting) of the rows as columns."""
    if not rows:
        return np.zeros((size, 0))
    matrix = np.array(rows)
    scaled = matrix / np.maximum(np.abs(matrix).max(axis=1, keepdims=True), 1e-300)
    distinct = np.unique(np.round(scaled, 12), axis=0)  # many answers repeat (a buurt and its outline)
    q, r, _ = scipy.linalg.qr(distinct.T, mode="economic", pivoting=True)
    diagonal = np.abs(np.diag(r))
    rank = int((diagonal > TOLERANCE * max(1.0, float(diagonal[0]))).sum())
    basis: np.ndarray = q[:, :rank]
    return basis


def recoverable(answers: Answers, size: int) -> list[str]:
    """The targets (vectors over ``size`` buurten) that some combination of the rows gives exactly."""
    basis = row_space(answers.rows, size)
    leaked = []
    for name, vector in answers.targets.items():
        residual = vector - basis @ (basis.T @ vector)
        if np.linalg.norm(residual) <= 1e-6 * max(1.0, float(np.linalg.norm(vector))):
            leaked.append(name)
    return leaked


def indicator(size: int, members: Any) -> np.ndarray:
    vector = np.zeros(size)
    vector[list(members)] = 1.0
    return vector


@dataclass
class Answers:
    """The public answers as linear rows over buurten, and the cells they must not reveal."""

    rows: list[np.ndarray]
    targets: dict[str, np.ndarray]


def published_tables(partition: Partition, values: np.ndarray) -> Answers:
    """Rows of every published buurt, wijk and gemeente cell; targets: the suppressed ones. Also
    checks that every published number covers at least the threshold (or an empty area)."""
    size = len(partition.geography)
    answers = Answers([], {})
    for level in LEVELS:
        for cell in publish(partition, values[:, None], level):
            vector = indicator(size, cell.members)
            if cell.suppressed is None:
                assert cell.values[0] is not None
                assert cell.values[0] == pytest.approx(float(vector @ values))
                empty = cell.units == 0 and partition.dwellings[list(cell.members)].sum() == 0
                assert cell.units >= partition.threshold or empty, f"{cell.code} publishes {cell.units}"
                answers.rows.append(vector)
            else:
                assert cell.values == (None,), "a suppressed cell must be null, never 0"
                answers.targets[cell.code] = vector
    return answers


def naive_answers(geography: Geography, values: np.ndarray, threshold: int) -> Answers:
    """What a naive publisher gives away: every buurt except those with 1 to ``threshold`` - 1
    units (primary suppression only), all wijk totals and the gemeente total."""
    size = len(geography)
    answers = Answers([], {})
    for position, code in enumerate(geography.codes):
        vector = indicator(size, [position])
        if not 0 < values[position] < threshold:
            answers.rows.append(vector)
        else:
            answers.targets[code] = vector
    for wijk in geography.wijken:
        answers.rows.append(indicator(size, geography.members(wijk)))
    answers.rows.append(np.ones(size))
    return answers


# -- Dordrecht --------------------------------------------------------------------------------


class City:
    """The Dordrecht geography, public weights and the attacker's outline queries."""

    def __init__(
        self,
        public: PublicGeography,
        outline_hits: list[np.ndarray],
        bounds: tuple[float, float, float, float],
        buildings_of: list[np.ndarray],
    ) -> None:
        self.public = public
        self.outline_hits = outline_hits
        """Buildings inside each buurt and wijk outline (drawn as custom areas by the attacker)."""
        self.bounds = bounds
        self.buildings_of = buildings_of
        """Building positions (in the public weights) per buurt."""

    def __repr__(self) -> str:
        return f"City({self.public.geography.gemeente_name})"


@pytest.fixture(scope="module")
def dordrecht(demo_store_url: str) -> City:
    with open_store(demo_store_url, read_only=True) as store:
        public = load_public_geography(store)
        buurten = store.read_layer("buurten", columns=["bu_code", "wk_code"]).sort_values("bu_code")
    geography = public.geography
    assert buurten["bu_code"].tolist() == list(geography.codes)
    outlines = list(buurten.geometry)
    outlines += [
        shapely.union_all(buurten.geometry[buurten["wk_code"] == w].to_numpy()) for w in geography.wijken
    ]
    weights = public.weights
    hits = [inside(outline, weights.x, weights.y) for outline in outlines]
    buildings_of = [np.flatnonzero(weights.buurt == i) for i in range(len(geography))]
    minx, miny, maxx, maxy = public.outline.bounds
    return City(public, hits, (minx, miny, maxx, maxy), buildings_of)


def spread(city: City, counts: np.ndarray, seed: int) -> np.ndarray:
    """Whole units per building: each buurt's count spread at random over its buildings (more to
    buildings with more dwellings)."""
    generator = np.random.default_rng(seed)
    weights = city.public.weights
    per_building = np.zeros(len(weights.buurt), dtype=np.int64)
    for position, members in enumerate(city.buildings_of):
        if len(members) == 0 or counts[position] == 0:
            continue
        chance = weights.values[members, 0] + 0.05
        per_building[members] = generator.multinomial(int(counts[position]), chance / chance.sum())
    return per_building


def dataset_of(city: City, per_building: np.ndarray) -> PersonalDataset:
    """A persons dataset whose records are ``per_building`` units at the buildings' centroids."""
    weights = city.public.weights
    codes = np.array((*city.public.geography.codes, ""))[weights.buurt]
    units = per_building.astype(float)
    records = UnitRecords(codes, weights.x, weights.y, units, {"residents": units})
    return PersonalDataset(
        id="random_residents",
        title="Random residents",
        description="Random counts for the differencing test.",
        unit_kind="persons",
        measures=(Measure("residents", "Residents", "persons", "Random residents per building."),),
        layers=(),
        loader=lambda _store: records,
        source="test",
    )


def fraction_box(bounds: tuple[float, float, float, float], corners: tuple[float, ...]) -> BaseGeometry:
    minx, miny, maxx, maxy = bounds
    x0, x1 = sorted(corners[:2])
    y0, y1 = sorted(corners[2:])
    return shapely.box(
        minx + x0 * (maxx - minx),
        miny + y0 * (maxy - miny),
        minx + x1 * (maxx - minx),
        miny + y1 * (maxy - miny),
    )


def fraction_hull(
    bounds: tuple[float, float, float, float], points: list[tuple[float, float]]
) -> BaseGeometry:
    minx, miny, maxx, maxy = bounds
    scaled = [(minx + x * (maxx - minx), miny + y * (maxy - miny)) for x, y in points]
    return shapely.MultiPoint(scaled).convex_hull


unit = st.floats(0.0, 1.0, allow_nan=False)
rectangles = st.tuples(unit, unit, unit, unit).filter(
    lambda c: abs(c[0] - c[1]) > 0.01 and abs(c[2] - c[3]) > 0.01
)
polygons = st.lists(st.tuples(unit, unit), min_size=3, max_size=8)
areas = st.lists(
    st.one_of(rectangles.map(lambda c: ("box", c)), polygons.map(lambda p: ("hull", p))), max_size=6
)
buurt_counts = st.one_of(st.just(0), st.integers(1, 25), st.integers(26, 3000))


def shape_of(city: City, spec: tuple[str, Any]) -> BaseGeometry:
    kind, data = spec
    return fraction_box(city.bounds, data) if kind == "box" else fraction_hull(city.bounds, data)


def public_answers(prepared: PreparedDataset, custom: list[BaseGeometry]) -> tuple[list[Any], list[Any]]:
    """The documents the API serves (tables per level, custom areas) for ``prepared``."""
    tables = [table_document(prepared, level, detail=False) for level in LEVELS]
    documents = []
    for area in custom:
        try:
            documents.append(area_document(prepared, area, detail=False))
        except InvalidInputError:
            documents.append(None)  # outside the municipality: refused, reveals nothing
    return tables, documents


def values_of(tables: list[Any], documents: list[Any]) -> list[Any]:
    cells = [(row["code"], row["values"]["residents"]) for table in tables for row in table["rows"]]
    return cells + [None if d is None else d["values"]["residents"] for d in documents]


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    counts=st.lists(buurt_counts, min_size=130, max_size=130),
    threshold=st.integers(3, 20),
    custom=areas,
    seed=st.integers(0, 2**32 - 1),
)
def test_no_combination_of_public_answers_reveals_a_suppressed_cell(
    dordrecht: City, counts: list[int], threshold: int, custom: list[tuple[str, Any]], seed: int
) -> None:
    city = dordrecht
    geography = city.public.geography
    per_building = spread(city, np.array(counts), seed)
    dataset = dataset_of(city, per_building)
    prepared = prepare_dataset(dataset, city.public, cast(Store, None), threshold)
    partition = prepared.partition
    values = prepared.buurt_values[:, 0]

    # every safe area holds at least the threshold of units (or nobody and no dwellings)
    assert all(r.units >= threshold or r.is_empty for r in partition.regions) or len(partition.regions) == 1

    answers = published_tables(partition, values)
    shapes = [shape_of(city, spec) for spec in custom]
    tables, documents = public_answers(prepared, shapes)
    weights = city.public.weights
    for area, document in zip(shapes, documents, strict=True):
        if document is None or document["suppressed"]:
            assert document is None or document["values"]["residents"] is None
            continue
        row = prepared.apportionment.area(area).buurt_row(partition)
        assert document["values"]["residents"] == round(float(row @ values))
        answers.rows.append(row)
    for hit in city.outline_hits:
        drawn = prepared.apportionment.shares(hit)
        if not drawn.unsafe:  # the API suppresses those
            answers.rows.append(drawn.buurt_row(partition))

    assert recoverable(answers, len(geography)) == []

    # moving units between buildings inside a safe area changes no public answer: a single
    # building (or any part of a safe area) cannot be isolated by differencing custom areas
    generator = np.random.default_rng(seed)
    moved = per_building.copy()
    region_of_building = np.where(weights.buurt >= 0, partition.region_of[np.maximum(weights.buurt, 0)], -1)
    for region in range(len(partition.regions)):
        members = np.flatnonzero(region_of_building == region)
        if len(members) < 2 or moved[members].sum() == 0:
            continue
        donors = members[moved[members] > 0]
        for _ in range(3):
            donor, receiver = generator.choice(donors), generator.choice(members)
            amount = int(generator.integers(1, moved[donor] + 1)) if moved[donor] > 0 else 0
            moved[donor] -= amount
            moved[receiver] += amount
    assert moved.sum() == per_building.sum()
    shuffled = dataclasses.replace(
        prepared,
        records=dataset_of(city, moved).loader(cast(Store, None)),
        buurt_values=np.bincount(
            np.maximum(weights.buurt, 0), weights=moved.astype(float), minlength=len(geography)
        )[:, None],
    )
    shuffled = dataclasses.replace(shuffled, region_totals=partition.region_totals(shuffled.buurt_values))
    assert np.allclose(shuffled.region_totals, prepared.region_totals)
    assert values_of(*public_answers(shuffled, shapes)) == values_of(tables, documents)


def test_a_naive_publisher_fails_the_same_check_on_dordrecht(dordrecht: City, demo_store_url: str) -> None:
    """Suppressing only the buurten with 1-9 residents and publishing wijk totals gives them away."""
    from tweeling.services.statistics import RESIDENTS

    with open_store(demo_store_url, read_only=True) as store:
        prepared = prepare_dataset(RESIDENTS, dordrecht.public, store, 10)
    values = np.round(prepared.buurt_values[:, 0])
    naive = naive_answers(dordrecht.public.geography, values, 10)
    leaked = recoverable(naive, len(dordrecht.public.geography))
    # 5 residents each; the other small buurten of their wijken have nobody (published as 0)
    assert {"BU05051000", "BU05051104"} <= set(leaked)
    safe = published_tables(prepared.partition, values)
    assert recoverable(safe, len(dordrecht.public.geography)) == []


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    counts=st.lists(st.integers(20, 3000), min_size=130, max_size=130),
    threshold=st.integers(3, 20),
    choice=st.data(),
)
def test_a_naive_publisher_leaks_where_the_safe_one_does_not(
    dordrecht: City, counts: list[int], threshold: int, choice: st.DataObject
) -> None:
    """One small buurt in a wijk: wijk total minus its other buurten gives it back, unless merged."""
    geography = dordrecht.public.geography
    values = np.array(counts, dtype=float)
    wijk = choice.draw(st.sampled_from([w for w in geography.wijken if len(geography.members(w)) > 1]))
    small = choice.draw(st.sampled_from(geography.members(wijk)))
    values[small] = choice.draw(st.integers(1, threshold - 1))
    naive = naive_answers(geography, values, threshold)
    assert geography.codes[small] in recoverable(naive, len(geography))
    partition = safe_partition(geography, values, dordrecht.public.dwellings, threshold)
    safe = published_tables(partition, values)
    assert geography.codes[small] in safe.targets
    assert recoverable(safe, len(geography)) == []


# -- a synthetic city: small wijken that must merge across their borders ------------------------

GRID = grid_geography(8, 6, 2, 3)
"""48 buurten in 8 wijken of 2 x 3 buurten."""
GRID_WEIGHTS: PublicWeights = scattered_buildings(GRID, 5, seed=1)


@settings(max_examples=100, deadline=None)
@given(
    counts=st.lists(
        st.one_of(st.just(0), st.integers(1, 12), st.integers(13, 200)), min_size=48, max_size=48
    ),
    empty=st.lists(st.booleans(), min_size=48, max_size=48),
    threshold=st.integers(3, 20),
    custom=st.lists(rectangles, max_size=8),
)
def test_synthetic_city_never_reveals_a_suppressed_cell(
    counts: list[int], empty: list[bool], threshold: int, custom: list[tuple[float, ...]]
) -> None:
    values = np.array(counts, dtype=float)
    dwellings = np.bincount(GRID_WEIGHTS.buurt, weights=GRID_WEIGHTS.values[:, 0], minlength=len(GRID))
    # some buurten without units have no dwellings either (water, industry)
    dwellings = np.where(np.array(empty) & (values == 0), 0.0, dwellings + 1)
    partition = safe_partition(GRID, values, dwellings, threshold)
    assert all(r.units >= threshold or r.is_empty for r in partition.regions) or len(partition.regions) == 1
    answers = published_tables(partition, values)
    bounds = (0.0, 0.0, 8 * CELL_M, 6 * CELL_M)
    drawn = [fraction_box(bounds, corners) for corners in custom]
    drawn += [
        shapely.box(*(GRID.centroids[position] - CELL_M / 2), *(GRID.centroids[position] + CELL_M / 2))
        for position in range(len(GRID))
    ]
    apportionment = Apportionment.of(partition, GRID_WEIGHTS)
    for area in drawn:
        shares = apportionment.area(area)
        if not shares.unsafe:  # served as suppressed
            answers.rows.append(shares.buurt_row(partition))
    assert recoverable(answers, len(GRID)) == []
