"""Statistical disclosure control for personal data per area (pure: numpy, pandas, shapely).

What leaves the platform about persons or households is a total per area. A total over fewer
units than a threshold (10 persons, 5 households) could say something about identifiable people,
so it is suppressed (primary suppression). Suppressing small cells alone is not enough: a wijk
total minus its published buurten gives the suppressed buurt back, and so does the difference of
two overlapping custom areas. This module therefore publishes from a *safe partition*:

1. Each buurt starts as a region. A region is unsafe when it holds fewer units than the
   threshold, unless it is *safe-empty* (no units and no dwellings: water, industry; a 0 there
   says nothing about any person, and the public dwelling register already says nobody lives
   there).
2. An unsafe region merges with a neighbouring region (polygons touching) of the same wijk, the
   smallest first, until every region of the wijk is safe or the wijk is one region; a wijk that
   is still unsafe as a whole merges with an adjacent region of another wijk the same way.
3. Every public number is a linear function of the region totals: a buurt is published only
   when its region is the buurt alone, a wijk only when it is a union of whole regions, the
   gemeente always (when it is safe), and a custom area as the sum of region totals apportioned
   by a public weight (dwellings of the buildings whose centroid lies inside). So no combination
   of public answers can isolate a part of a region, and every region holds at least the
   threshold of units.

Everything here works on arrays indexed by buurt position in a :class:`Geography`; loading data
from the store is the job of ``tweeling.services.statistics``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

Suppression = Literal["primary", "secondary"]
Level = Literal["buurt", "wijk", "gemeente"]
LEVELS: tuple[Level, ...] = ("buurt", "wijk", "gemeente")

ADJACENCY_TOLERANCE_M = 1.0
"""Buurt polygons closer than this (m) count as touching (CBS boundaries have sub-metre slivers)."""

EPSILON = 1e-6
"""Tolerance on unit counts: estimated counts are fractional and sums carry rounding noise."""

APPORTIONMENT_METHOD = (
    "apportioned from safe area totals by dwellings: each safe area's total x (dwellings of its "
    "buildings whose centroid lies in the area / all its dwellings); address counts, then building "
    "counts, where a safe area has no dwellings (all public BAG data)"
)
PARTITION_METHOD = (
    "small-cell suppression with secondary suppression: buurten with fewer units than the threshold "
    "are merged with neighbouring buurten of the same wijk (then across wijken) into safe areas; a "
    "buurt is published only when it is a safe area on its own, a wijk only when it is a union of "
    "whole safe areas, custom areas only as apportioned safe-area totals"
)


# -- geography ------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Geography:
    """The buurten of a gemeente with their wijk and which buurten touch (the partition's graph)."""

    codes: tuple[str, ...]
    """Buurt codes (BU + gemeente + wijk + buurt), in the order of every per-buurt array."""
    names: tuple[str, ...]
    wijk_codes: tuple[str, ...]
    """The wijk (WK...) of each buurt."""
    wijk_names: Mapping[str, str]
    neighbours: tuple[frozenset[int], ...]
    """Positions of the buurten that touch each buurt."""
    centroids: np.ndarray
    """(n, 2) representative points of the buurten, for the nearest-region fallback."""
    gemeente_code: str
    gemeente_name: str

    @classmethod
    def from_polygons(
        cls,
        codes: Sequence[str],
        names: Sequence[str],
        wijk_codes: Sequence[str],
        wijk_names: Mapping[str, str],
        polygons: Sequence[BaseGeometry | None] | np.ndarray,
        *,
        gemeente_code: str,
        gemeente_name: str,
        tolerance_m: float = ADJACENCY_TOLERANCE_M,
    ) -> Geography:
        """The geography of buurt polygons (metres); two buurten are neighbours within ``tolerance_m``."""
        shapes = np.asarray(polygons, dtype=object)
        count = len(codes)
        if not (len(names) == len(wijk_codes) == len(shapes) == count):
            raise ValueError("codes, names, wijk codes and polygons must have the same length")
        if len(set(codes)) != count:
            raise ValueError("buurt codes must be unique")
        missing = shapely.is_missing(shapes) | shapely.is_empty(shapes)
        filled = np.where(missing, shapely.Point(), shapes)
        tree = shapely.STRtree(filled)
        left, right = tree.query(filled, predicate="dwithin", distance=tolerance_m)
        adjacent: list[set[int]] = [set() for _ in range(count)]
        for a, b in zip(left.tolist(), right.tolist(), strict=True):
            if a != b:
                adjacent[a].add(b)
                adjacent[b].add(a)
        points = shapely.point_on_surface(filled)
        centroids = np.column_stack([shapely.get_x(points), shapely.get_y(points)])
        return cls(
            codes=tuple(codes),
            names=tuple(names),
            wijk_codes=tuple(wijk_codes),
            wijk_names=dict(wijk_names),
            neighbours=tuple(frozenset(n) for n in adjacent),
            centroids=centroids,
            gemeente_code=gemeente_code,
            gemeente_name=gemeente_name,
        )

    def __len__(self) -> int:
        return len(self.codes)

    @property
    def wijken(self) -> tuple[str, ...]:
        """Wijk codes, sorted."""
        return tuple(sorted(set(self.wijk_codes)))

    def position(self, code: str) -> int:
        """Position of buurt ``code`` (KeyError when unknown)."""
        return self.codes.index(code)

    def members(self, wijk: str) -> list[int]:
        """Positions of the buurten of ``wijk``."""
        return [i for i, w in enumerate(self.wijk_codes) if w == wijk]


def positions(geography: Geography, codes: Sequence[str] | np.ndarray) -> np.ndarray:
    """The buurt position of each code (-1 for codes of no buurt of ``geography``)."""
    index = pd.Index(geography.codes)
    return np.asarray(
        index.get_indexer(pd.Index(np.asarray(codes, dtype=object).astype(str))), dtype=np.int64
    )


# -- the safe partition ---------------------------------------------------------------------


@dataclass(frozen=True)
class Region:
    """A safe area: buurten whose totals are only ever published together."""

    id: str
    members: tuple[int, ...]
    """Buurt positions, ascending."""
    units: float
    dwellings: float

    @property
    def is_empty(self) -> bool:
        """No units and no dwellings: publishing 0 reveals nothing about any person."""
        return self.units <= EPSILON and self.dwellings <= EPSILON


@dataclass(frozen=True)
class Merge:
    """One step of building the partition, kept so that the result can be explained."""

    unsafe: tuple[str, ...]
    """Buurt codes of the region that was below the threshold."""
    units: float
    partner: tuple[str, ...]
    """Buurt codes of the region it was merged with."""
    scope: Literal["wijk", "gemeente"]
    """Merged inside its wijk, or across wijken (the whole wijk was below the threshold)."""


@dataclass(frozen=True, eq=False)
class Partition:
    """The buurten grouped into safe regions, with the counts it was built from."""

    geography: Geography
    threshold: float
    units: np.ndarray
    """Units per buurt (persons or households)."""
    dwellings: np.ndarray
    """Public dwelling count per buurt (decides what is safe-empty)."""
    region_of: np.ndarray
    """Region position per buurt."""
    regions: tuple[Region, ...]
    merges: tuple[Merge, ...]

    def is_small(self, units: float, dwellings: float) -> bool:
        """Whether a total of ``units`` is below the threshold (and not safe-empty)."""
        empty = units <= EPSILON and dwellings <= EPSILON
        return not empty and units < self.threshold - EPSILON

    def region_totals(self, values: np.ndarray) -> np.ndarray:
        """Per-region sums of per-buurt ``values`` ((n,) or (n, m))."""
        values = np.asarray(values, dtype=float)
        flat = values.reshape(len(self.geography), -1)
        out = np.zeros((len(self.regions), flat.shape[1]))
        np.add.at(out, self.region_of, flat)
        return out.reshape((len(self.regions), *values.shape[1:]))

    def region_indicator(self) -> np.ndarray:
        """(regions, buurten) 0/1 matrix: which buurten make up each region."""
        matrix = np.zeros((len(self.regions), len(self.geography)))
        matrix[self.region_of, np.arange(len(self.geography))] = 1.0
        return matrix


def _region_id(geography: Geography, members: Iterable[int]) -> str:
    ordered = sorted(members)
    first = geography.codes[ordered[0]]
    return first if len(ordered) == 1 else f"{first}+{len(ordered) - 1}"


def safe_partition(
    geography: Geography,
    units: Sequence[float] | np.ndarray,
    dwellings: Sequence[float] | np.ndarray,
    threshold: float,
) -> Partition:
    """Merge buurten into regions that each hold at least ``threshold`` units (or are safe-empty).

    Deterministic: the smallest unsafe region (fewest units, then fewest buurten, then code) is
    merged first, with its smallest adjacent region inside the same wijk; only when a whole wijk
    is one unsafe region does it merge across the wijk border. Where no adjacent region is left
    (islands), the nearest region of the same scope is taken. Stops when every region is safe or
    the gemeente is one region.
    """
    count = len(geography)
    unit_counts = np.asarray(units, dtype=float)
    dwelling_counts = np.asarray(dwellings, dtype=float)
    if unit_counts.shape != (count,) or dwelling_counts.shape != (count,):
        raise ValueError(f"units and dwellings need one value per buurt ({count})")
    if not (np.isfinite(unit_counts).all() and np.isfinite(dwelling_counts).all()):
        raise ValueError("units and dwellings must be finite")
    if (unit_counts < -EPSILON).any() or (dwelling_counts < -EPSILON).any():
        raise ValueError("units and dwellings must not be negative")
    if threshold < 1:
        raise ValueError(f"the threshold must be at least 1 unit, got {threshold}")

    members: dict[int, set[int]] = {i: {i} for i in range(count)}
    region_of = np.arange(count)
    merges: list[Merge] = []

    def total(region: int, values: np.ndarray) -> float:
        return float(values[list(members[region])].sum())

    def is_empty(region: int) -> bool:
        return total(region, unit_counts) <= EPSILON and total(region, dwelling_counts) <= EPSILON

    def is_unsafe(region: int) -> bool:
        return not is_empty(region) and total(region, unit_counts) < threshold - EPSILON

    def order(region: int) -> tuple[float, int, str]:
        first = geography.codes[min(members[region])]
        return (total(region, unit_counts), len(members[region]), first)

    def distance(first: int, second: int) -> float:
        a = geography.centroids[sorted(members[first])]
        b = geography.centroids[sorted(members[second])]
        return float(np.min(np.hypot(a[:, None, 0] - b[None, :, 0], a[:, None, 1] - b[None, :, 1])))

    def partner(region: int, pool: set[int]) -> int:
        touching = {int(region_of[n]) for i in members[region] for n in geography.neighbours[i]} & pool
        for candidates in (
            [r for r in touching if not is_empty(r)],
            list(touching),
        ):
            if candidates:
                return min(candidates, key=order)
        others = [r for r in pool if not is_empty(r)] or list(pool)
        return min(others, key=lambda r: (distance(region, r), *order(r)))

    def merge(region: int, other: int, scope: Literal["wijk", "gemeente"]) -> None:
        merges.append(
            Merge(
                unsafe=tuple(geography.codes[i] for i in sorted(members[region])),
                units=total(region, unit_counts),
                partner=tuple(geography.codes[i] for i in sorted(members[other])),
                scope=scope,
            )
        )
        keep, gone = min(region, other), max(region, other)
        members[keep] |= members.pop(gone)
        region_of[list(members[keep])] = keep

    for wijk in geography.wijken:
        while True:
            in_wijk = {int(region_of[i]) for i in geography.members(wijk)}
            unsafe = [r for r in in_wijk if is_unsafe(r)]
            if not unsafe or len(in_wijk) == 1:
                break
            smallest = min(unsafe, key=order)
            merge(smallest, partner(smallest, in_wijk - {smallest}), "wijk")
    while len(members) > 1:
        unsafe = [r for r in members if is_unsafe(r)]
        if not unsafe:
            break
        smallest = min(unsafe, key=order)
        merge(smallest, partner(smallest, set(members) - {smallest}), "gemeente")

    keys = sorted(members, key=lambda r: min(members[r]))
    position = {key: index for index, key in enumerate(keys)}
    regions = tuple(
        Region(
            id=_region_id(geography, members[key]),
            members=tuple(sorted(members[key])),
            units=total(key, unit_counts),
            dwellings=total(key, dwelling_counts),
        )
        for key in keys
    )
    return Partition(
        geography=geography,
        threshold=float(threshold),
        units=unit_counts,
        dwellings=dwelling_counts,
        region_of=np.array([position[int(r)] for r in region_of], dtype=np.int64),
        regions=regions,
        merges=tuple(merges),
    )


# -- published cells ------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One published row: an area with its values, or null values and why they are suppressed."""

    level: Level
    code: str
    name: str
    values: tuple[float | None, ...]
    """One value per measure; None (never 0) where suppressed."""
    suppressed: Suppression | None
    reason: str | None
    units: float
    """Units in the area (kept for checks and for detail readers; not published when suppressed)."""
    members: tuple[int, ...]
    """Buurt positions the area covers."""
    region: str | None = None
    """For a buurt: the safe area it belongs to."""
    wijk: str | None = None


def _unit_word(unit: str, threshold: float) -> str:
    return f"{threshold:g} {unit}"


def publish(
    partition: Partition,
    buurt_values: np.ndarray,
    level: Level,
    *,
    unit: str = "persons",
    detail: bool = False,
) -> list[Cell]:
    """The cells of ``level`` with per-buurt ``buurt_values`` ((n, m): one column per measure).

    Without ``detail``: a buurt is published iff its region is the buurt alone, a wijk iff it is a
    union of whole regions, the gemeente iff it is safe; every other cell has null values and
    ``suppressed`` = primary (itself below the threshold) or secondary (hidden to protect another).
    With ``detail`` every cell carries its exact values (the caller audits that access).
    """
    geography = partition.geography
    values = np.asarray(buurt_values, dtype=float).reshape(len(geography), -1)
    limit = _unit_word(unit, partition.threshold)
    groups: list[tuple[str, str, list[int], str | None]]
    if level == "buurt":
        groups = [
            (code, geography.names[i], [i], geography.wijk_codes[i]) for i, code in enumerate(geography.codes)
        ]
    elif level == "wijk":
        groups = [(w, geography.wijk_names.get(w, w), geography.members(w), w) for w in geography.wijken]
    elif level == "gemeente":
        groups = [(geography.gemeente_code, geography.gemeente_name, list(range(len(geography))), None)]
    else:
        raise ValueError(f"unknown level {level!r}; levels: {', '.join(LEVELS)}")
    cells = []
    for code, name, positions, wijk in groups:
        units = float(partition.units[positions].sum())
        small = partition.is_small(units, float(partition.dwellings[positions].sum()))
        regions = {int(partition.region_of[i]) for i in positions}
        whole = all(set(partition.regions[r].members) <= set(positions) for r in regions)
        region = partition.regions[partition.region_of[positions[0]]].id if level == "buurt" else None
        suppressed: Suppression | None = None
        reason = None
        if not detail:
            if small:
                suppressed = "primary"
                reason = f"fewer than {limit} in this {level}"
            elif not whole:
                suppressed = "secondary"
                reason = (
                    f"published only as part of a larger safe area ({region}) that protects a "
                    f"neighbouring area with fewer than {limit}"
                    if level == "buurt"
                    else f"its total would reveal a neighbouring area with fewer than {limit} "
                    "(a safe area crosses its border)"
                )
        total = values[positions].sum(axis=0)
        cells.append(
            Cell(
                level=level,
                code=code,
                name=name,
                values=tuple(None if suppressed else float(v) for v in total),
                suppressed=suppressed,
                reason=reason,
                units=units,
                members=tuple(positions),
                region=region,
                wijk=wijk,
            )
        )
    return cells


# -- custom areas ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PublicWeights:
    """Public per-building weights that apportion safe-area totals to a custom area.

    ``values[:, k]`` is weight column ``columns[k]``; for each region the first column with a
    positive total is used (dwellings, then addresses, then one per building).
    """

    buurt: np.ndarray
    """Buurt position of each building (-1: in no buurt)."""
    x: np.ndarray
    y: np.ndarray
    columns: tuple[str, ...]
    values: np.ndarray

    @classmethod
    def of(
        cls,
        geography: Geography,
        bu_codes: Sequence[str] | np.ndarray,
        x: Sequence[float] | np.ndarray,
        y: Sequence[float] | np.ndarray,
        weights: Mapping[str, Sequence[float] | np.ndarray],
    ) -> PublicWeights:
        """Weights of buildings at (x, y) in buurt ``bu_codes``; a ``buildings`` column (1 each) is
        added last."""
        buurt = positions(geography, bu_codes)
        columns = (*weights, "buildings")
        stacked = [np.nan_to_num(np.asarray(v, dtype=float)).clip(min=0) for v in weights.values()]
        values = (
            np.column_stack([*stacked, np.ones(len(buurt))]) if len(buurt) else np.zeros((0, len(columns)))
        )
        return cls(buurt, np.asarray(x, dtype=float), np.asarray(y, dtype=float), columns, values)


@dataclass(frozen=True)
class AreaShares:
    """Which share of each region's total a custom area gets, and by which weight."""

    shares: np.ndarray
    """Per region, 0..1."""
    partial: np.ndarray
    """Per region: some but not all of its buildings lie in the area."""
    weight: tuple[str, ...]
    """Per region: the weight column used."""
    unsafe: bool = False
    """The area touches a region below the threshold (only when the whole gemeente is): the
    answer must be suppressed."""

    @property
    def estimated(self) -> bool:
        """Whether any region is apportioned rather than counted whole."""
        return bool(self.partial.any())

    def buurt_row(self, partition: Partition) -> np.ndarray:
        """The area's answer as a linear combination of the true buurt totals (for audits/tests)."""
        row: np.ndarray = self.shares[partition.region_of]
        return row


def inside(area: BaseGeometry, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Which points (x, y) lie in ``area`` (boundary included)."""
    shapely.prepare(area)
    return np.asarray(shapely.intersects_xy(area, x, y), dtype=bool)


@dataclass(frozen=True, eq=False)
class Apportionment:
    """How custom areas take shares of the safe areas: per building its region and public weight.

    Each region uses the first weight column with a positive total over its buildings
    (dwellings, then addresses, then one per building); all of it is public data.
    """

    partition: Partition
    region: np.ndarray
    """Region position of each building (-1: in no buurt)."""
    weight: np.ndarray
    """Each building's weight in its region's chosen column."""
    totals: np.ndarray
    """Per region: the total of its chosen weight (1 where it has none, with no buildings either)."""
    buildings: np.ndarray
    """Per region: its number of buildings."""
    columns: tuple[str, ...]
    """Per region: the chosen weight column ('none' without any weight)."""
    small: np.ndarray
    """Per region: below the threshold (possible only when the whole gemeente is)."""
    x: np.ndarray
    y: np.ndarray
    """Building centroids (EPSG:28992)."""

    @classmethod
    def of(cls, partition: Partition, weights: PublicWeights) -> Apportionment:
        """The apportionment of ``partition``'s regions by ``weights``."""
        count = len(partition.regions)
        located = weights.buurt >= 0
        region = np.full(len(weights.buurt), -1, dtype=np.int64)
        region[located] = partition.region_of[weights.buurt[located]]
        values = weights.values[located]
        totals = np.column_stack(
            [
                np.bincount(region[located], weights=values[:, k], minlength=count)
                for k in range(values.shape[1])
            ]
        )
        positive = totals > EPSILON
        has_weight: np.ndarray = np.any(positive, axis=1)
        first = np.argmax(positive, axis=1)
        chosen = np.where(has_weight, totals[np.arange(count), first], 1.0)
        weight = np.zeros(len(weights.buurt))
        weight[located] = values[np.arange(len(values)), first[region[located]]]
        columns = tuple(
            weights.columns[k] if ok else "none"
            for k, ok in zip(first.tolist(), has_weight.tolist(), strict=True)
        )
        small = np.array([partition.is_small(r.units, r.dwellings) for r in partition.regions], dtype=bool)
        buildings = np.bincount(region[located], minlength=count)
        return cls(
            partition,
            region,
            weight,
            np.where(has_weight, chosen, 1.0),
            buildings,
            columns,
            small,
            weights.x,
            weights.y,
        )

    def shares(self, hit: np.ndarray) -> AreaShares:
        """The share of every region held by the buildings ``hit`` (a mask over the buildings)."""
        count = len(self.partition.regions)
        selected = np.asarray(hit, dtype=bool) & (self.region >= 0)
        region = self.region[selected]
        inner = np.bincount(region, weights=self.weight[selected], minlength=count)
        shares = np.minimum(1.0, inner / self.totals)
        shares[np.array([c == "none" for c in self.columns], dtype=bool)] = 0.0
        inside_buildings = np.bincount(region, minlength=count)
        partial = (inside_buildings > 0) & (inside_buildings < self.buildings)
        unsafe = bool((((shares > 0) | partial) & self.small).any())
        return AreaShares(shares=shares, partial=partial, weight=self.columns, unsafe=unsafe)

    def area(self, area: BaseGeometry) -> AreaShares:
        """The share of every region that falls in ``area`` (EPSG:28992): the buildings whose
        centroid lies in it."""
        return self.shares(inside(area, self.x, self.y))


def area_shares(partition: Partition, weights: PublicWeights, area: BaseGeometry) -> AreaShares:
    """The share of every region that falls in ``area`` (EPSG:28992), from public weights only."""
    return Apportionment.of(partition, weights).area(area)


def area_values(partition: Partition, region_totals: np.ndarray, shares: AreaShares) -> np.ndarray:
    """The public answer for an area: region totals ((regions, m)) weighted by the area's shares."""
    totals = np.asarray(region_totals, dtype=float).reshape(len(partition.regions), -1)
    answer: np.ndarray = shares.shares @ totals
    return answer


# -- field-level protection -----------------------------------------------------------------


def with_provenance(field_names: Iterable[str], hidden: Iterable[str]) -> frozenset[str]:
    """``hidden`` plus the columns that say how a hidden value was made.

    A provenance column ``<stem>_source`` describes ``<stem>`` or ``<stem>_est``; it can give the
    value away (``residents_source`` = 'none' means nobody lives there), so it is hidden with it.
    Only names present in ``field_names`` are returned.
    """
    names = set(field_names)
    hidden_names = set(hidden) & names
    stems = {name.removesuffix("_est") for name in hidden_names}
    return frozenset(hidden_names | {f"{stem}_source" for stem in stems if f"{stem}_source" in names})


def describe(partition: Partition) -> dict[str, Any]:
    """A summary of a partition for responses and logs."""
    merged = [r for r in partition.regions if len(r.members) > 1]
    return {
        "threshold": partition.threshold,
        "buurten": len(partition.geography),
        "safe_areas": len(partition.regions),
        "merged_safe_areas": len(merged),
        "safe_empty_buurten": sum(1 for r in partition.regions if r.is_empty),
        "cross_wijk_merges": sum(1 for m in partition.merges if m.scope == "gemeente"),
    }
