"""Disclosure control: the safe partition, published cells, custom areas and field protection."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from tests.governance.grid_city import grid_geography
from tweeling.governance.disclosure import (
    LEVELS,
    Cell,
    Geography,
    Level,
    Partition,
    PublicWeights,
    area_shares,
    area_values,
    publish,
    safe_partition,
    with_provenance,
)
from tweeling.services.statistics import RESIDENTS, PreparedDataset, load_public_geography, prepare_dataset
from tweeling.store import open_store

# A 4 x 2 grid, two wijken of 2 x 2 buurten. Positions row by row from the south-west:
#   row 1:  4 5 | 6 7
#   row 0:  0 1 | 2 3     (wijk WK099900 left, WK099901 right)
GRID = grid_geography(4, 2, 2, 2)
LEFT, RIGHT = [0, 1, 4, 5], [2, 3, 6, 7]
DWELLINGS = np.full(8, 10.0)


def units(**by_position: float) -> np.ndarray:
    """Units per buurt: 40 everywhere unless ``p<position>=value`` says otherwise."""
    values = np.full(8, 40.0)
    for key, value in by_position.items():
        values[int(key[1:])] = value
    return values


def cells(partition: Partition, level: Level, values: np.ndarray | None = None) -> dict[str, Cell]:
    data = partition.units if values is None else values
    return {cell.code: cell for cell in publish(partition, data[:, None], level)}


def test_grid_geography_has_queen_adjacency_and_two_wijken() -> None:
    assert GRID.wijken == ("WK099900", "WK099901")
    assert GRID.members("WK099900") == LEFT
    assert GRID.neighbours[0] == {1, 4, 5}
    assert GRID.neighbours[1] == {0, 2, 4, 5, 6}


def test_small_buurt_merges_with_its_smallest_neighbour_in_the_wijk() -> None:
    partition = safe_partition(GRID, units(p0=3, p1=50, p4=20, p5=100), DWELLINGS, 10)
    assert partition.region_of[0] == partition.region_of[4]
    assert len(partition.regions) == 7
    merge = partition.merges[0]
    assert (merge.unsafe, merge.partner, merge.scope) == (("BU09990000",), ("BU09990002",), "wijk")
    buurten = cells(partition, "buurt")
    assert buurten["BU09990000"].suppressed == "primary" and buurten["BU09990000"].values == (None,)
    assert buurten["BU09990002"].suppressed == "secondary" and buurten["BU09990002"].values == (None,)
    assert "BU09990000+1" in (buurten["BU09990002"].reason or "")
    assert buurten["BU09990001"].values == (50.0,) and buurten["BU09990001"].suppressed is None
    wijken = cells(partition, "wijk")
    assert wijken["WK099900"].values == (173.0,) and wijken["WK099901"].values == (160.0,)
    assert cells(partition, "gemeente")["GM0999"].values == (333.0,)


def test_suppressed_cells_are_null_never_zero() -> None:
    partition = safe_partition(GRID, units(p0=0, p1=4), DWELLINGS, 10)
    for level in LEVELS:
        for cell in cells(partition, level).values():
            assert (cell.suppressed is None) == (cell.values[0] is not None)
    assert cells(partition, "buurt")["BU09990000"].suppressed == "primary"  # 0 persons but 10 dwellings


def test_empty_buurt_without_dwellings_is_published_as_zero_and_not_merged() -> None:
    dwellings = DWELLINGS.copy()
    dwellings[0] = 0
    partition = safe_partition(GRID, units(p0=0), dwellings, 10)
    assert len(partition.regions) == 8 and partition.regions[0].is_empty
    assert cells(partition, "buurt")["BU09990000"].values == (0.0,)


def test_unsafe_wijk_merges_across_the_wijk_border_and_both_wijken_are_suppressed() -> None:
    partition = safe_partition(GRID, units(p0=2, p1=1, p4=0, p5=3), DWELLINGS, 10)
    crossing = [m for m in partition.merges if m.scope == "gemeente"]
    assert len(crossing) == 1 and crossing[0].partner == ("BU09990100",)
    assert {int(partition.region_of[i]) for i in [*LEFT, 2]} == {int(partition.region_of[0])}
    wijken = cells(partition, "wijk")
    assert wijken["WK099900"].suppressed == "primary"
    assert wijken["WK099901"].suppressed == "secondary"
    assert cells(partition, "gemeente")["GM0999"].values == (166.0,)
    buurten = cells(partition, "buurt")
    assert [buurten[GRID.codes[i]].suppressed for i in LEFT] == ["primary"] * 4
    assert buurten["BU09990100"].suppressed == "secondary"
    assert buurten["BU09990101"].values == (40.0,)


def test_every_region_reaches_the_threshold() -> None:
    generator = np.random.default_rng(7)
    for threshold in (3, 5, 10, 20):
        values = generator.integers(0, 25, 8).astype(float)
        partition = safe_partition(GRID, values, DWELLINGS, threshold)
        assert (
            all(r.units >= threshold or r.is_empty for r in partition.regions) or len(partition.regions) == 1
        )


def test_detail_gives_exact_values_without_suppression() -> None:
    partition = safe_partition(GRID, units(p0=3), DWELLINGS, 10)
    detailed = {c.code: c for c in publish(partition, partition.units[:, None], "buurt", detail=True)}
    assert detailed["BU09990000"].values == (3.0,) and detailed["BU09990000"].suppressed is None


def test_the_partition_is_deterministic() -> None:
    values = units(p0=3, p1=3, p4=3, p5=3, p2=1)
    first, second = (safe_partition(GRID, values, DWELLINGS, 10) for _ in range(2))
    assert first.region_of.tolist() == second.region_of.tolist()
    assert first.merges == second.merges


@pytest.mark.parametrize(
    ("values", "dwellings", "threshold", "message"),
    [
        (np.full(7, 1.0), DWELLINGS, 10, "one value per buurt"),
        (units(p0=-1), DWELLINGS, 10, "must not be negative"),
        (units(p0=np.nan), DWELLINGS, 10, "finite"),
        (units(), DWELLINGS, 0, "at least 1"),
    ],
)
def test_bad_partition_input_is_refused(
    values: np.ndarray, dwellings: np.ndarray, threshold: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        safe_partition(GRID, values, dwellings, threshold)


# -- custom areas ---------------------------------------------------------------------------


def one_building_per_buurt(dwellings: list[float], addresses: list[float] | None = None) -> PublicWeights:
    return PublicWeights.of(
        GRID,
        np.array(GRID.codes),
        GRID.centroids[:, 0],
        GRID.centroids[:, 1],
        {"dwellings_est": np.array(dwellings), "address_count": np.array(addresses or [1.0] * 8)},
    )


def test_custom_area_apportions_safe_area_totals_by_dwellings() -> None:
    partition = safe_partition(GRID, units(p0=3, p1=50, p4=20, p5=100), DWELLINGS, 10)
    weights = one_building_per_buurt([2, 30, 4, 10, 6, 50, 10, 10])
    totals = partition.region_totals(partition.units)
    cell_0 = shapely.box(0, 0, 100, 100)
    shares = area_shares(partition, weights, cell_0)
    assert shares.estimated
    # safe area {0, 4} has 23 persons and 2 + 6 dwellings; buurt 0 holds 2 of them
    assert area_values(partition, totals, shares)[0] == pytest.approx(23 * 2 / 8)
    both = area_shares(partition, weights, shapely.box(0, 0, 100, 200))
    assert not both.estimated and area_values(partition, totals, both)[0] == pytest.approx(23)
    alone = area_shares(partition, weights, shapely.box(100, 0, 200, 100))
    assert not alone.estimated and area_values(partition, totals, alone)[0] == pytest.approx(50)
    row = shares.buurt_row(partition)
    assert row[0] == row[4] == pytest.approx(0.25) and row[1] == 0


def test_areas_without_dwellings_fall_back_to_addresses_then_buildings() -> None:
    partition = safe_partition(GRID, units(p0=3, p4=20), DWELLINGS, 10)
    no_dwellings = one_building_per_buurt([0.0] * 8, [3, 1, 1, 1, 1, 1, 1, 1])
    shares = area_shares(partition, no_dwellings, shapely.box(0, 0, 100, 100))
    region = int(partition.region_of[0])
    assert shares.weight[region] == "address_count" and shares.shares[region] == pytest.approx(3 / 4)
    nothing = one_building_per_buurt([0.0] * 8, [0.0] * 8)
    shares = area_shares(partition, nothing, shapely.box(0, 0, 100, 100))
    assert shares.weight[region] == "buildings" and shares.shares[region] == pytest.approx(1 / 2)


# -- field protection -----------------------------------------------------------------------


def test_hidden_fields_take_their_provenance_columns_with_them() -> None:
    fields = [
        "residents_est",
        "residents_source",
        "dwellings_est",
        "dwellings_source",
        "floors",
        "floors_source",
    ]
    assert with_provenance(fields, {"residents_est"}) == {"residents_est", "residents_source"}
    assert with_provenance(fields, {"floors", "not_a_field"}) == {"floors", "floors_source"}
    assert with_provenance(fields, set()) == frozenset()


# -- Dordrecht ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dordrecht(demo_store_url: str) -> tuple[Geography, PreparedDataset]:
    with open_store(demo_store_url, read_only=True) as store:
        public = load_public_geography(store)
        prepared = prepare_dataset(RESIDENTS, public, store, 10)
    return public.geography, prepared


def test_dordrecht_buurten_and_their_neighbours(dordrecht: tuple[Geography, PreparedDataset]) -> None:
    geography, _ = dordrecht
    assert len(geography) == 130 and len(geography.wijken) == 14
    assert geography.gemeente_code == "GM0505" and geography.gemeente_name == "Dordrecht"
    assert all(geography.neighbours[i] for i in range(len(geography)) if geography.codes[i] != "BU05059997")
    first = geography.position("BU05050100")
    assert geography.position("BU05050101") in geography.neighbours[first]


def test_dordrecht_residents_at_ten_persons(dordrecht: tuple[Geography, PreparedDataset]) -> None:
    """Golden numbers: 130 buurten become 118 safe areas; 13 buurten are below 10 persons."""
    _, prepared = dordrecht
    partition = prepared.partition
    buurten = publish(partition, prepared.buurt_values, "buurt")
    primary = {c.code for c in buurten if c.suppressed == "primary"}
    secondary = {c.code for c in buurten if c.suppressed == "secondary"}
    assert len(partition.regions) == 118 and len(primary) == 13
    assert secondary == {"BU05050608", "BU05051001", "BU05051100", "BU05051900"}
    assert {"BU05050607", "BU05051000", "BU05051104", "BU05051916"} <= primary
    assert not any(m.scope == "gemeente" for m in partition.merges)
    wijken = publish(partition, prepared.buurt_values, "wijk")
    assert all(c.suppressed is None for c in wijken)
    (gemeente,) = publish(partition, prepared.buurt_values, "gemeente")
    assert gemeente.values[0] == pytest.approx(119_030, abs=0.5)
    # hidden: 30 persons in the small buurten, 2,075 in the 4 buurten merged to protect them
    published = sum(c.values[0] for c in buurten if c.values[0] is not None)
    assert published == pytest.approx(119_030 - 30 - 2_075, abs=0.5)
    assert all(r.units >= 10 - 1e-6 or r.is_empty for r in partition.regions)


@pytest.mark.parametrize("threshold", [3, 5, 20, 50])
def test_dordrecht_regions_are_safe_at_any_threshold(
    dordrecht: tuple[Geography, PreparedDataset], threshold: int
) -> None:
    geography, prepared = dordrecht
    units_per_buurt = prepared.partition.units
    partition = safe_partition(geography, units_per_buurt, prepared.partition.dwellings, threshold)
    assert all(r.units >= threshold - 1e-6 or r.is_empty for r in partition.regions)
    for region in partition.regions:
        assert len({geography.wijk_codes[i] for i in region.members}) == 1  # no wijk is that small
