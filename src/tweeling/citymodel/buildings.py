"""The ``buildings`` layer: OSM footprints with estimated height, dwellings, use and residents.

OpenStreetMap (via OpenMapTiles) gives footprints but almost no heights: only a few
buildings carry real ``height``/``building:levels`` tags, the rest got a default of one
storey (3.66 m). This module turns the footprints into a layer that a digital twin can
use, with every estimated value flagged per row and every assumed number in
:class:`BuildingParams`. It is a pure function of its inputs (no file I/O), vectorised
with ``geopandas.sjoin`` and ``groupby`` so that the whole city takes a few seconds.

Outline of the method (``docs/buildings-method.md`` has the details and the measured
validation figures):

1. *Joins.* Each address point is given to the smallest footprint that contains it
   (so it is counted once), each building to the CBS buurt and the OSM landuse polygon
   that contain its point-on-surface, and each OSM POI (shops, schools, ...; no street
   furniture) to the smallest footprint containing it.
2. *Main use.* An ordered rule: no address point -> non-residential; buurt with a low
   share of BAG dwelling units (business park, harbour) -> non-residential; non-residential
   OSM landuse -> non-residential; very large footprint per address (hall),
   tiny one-address footprint or a narrow row of tiny units (garage/storage boxes)
   -> non-residential; POIs inside -> mixed (or non-residential when every address can be
   a POI); otherwise residential.
3. *Raw dwellings*, independent of the BAG dwelling counts (the BAG enters only through
   the buurt share of rule 2): the address count of a residential building, the address
   count minus the POIs of a mixed one, zero otherwise.
4. *Calibration.* Per buurt the raw dwellings are scaled so that they add up to the BAG
   count of units with a woonfunctie; the errors before and after are reported.
5. *Residents.* The CBS 2020 buurt population is spread over the buurt's buildings in
   proportion to the calibrated dwellings.
6. *Floors and height.* Gross floor area = units x typical BAG usable area x gross/usable
   factor, where the typical area of an apartment and of a house comes from quantile
   matching of the buurt's BAG dwelling areas; floors = round(gross area / footprint)
   within [1, max]; height = floors x storey height. Buildings without addresses and
   garage boxes get one storey. The OSM heights that exist are kept and also used to
   validate the estimator.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from tweeling.citymodel.provenance import BAG_SOURCE, CBS_BUURTEN_SOURCE, OSM_SOURCE
from tweeling.core.errors import InvalidInputError
from tweeling.core.schema import FieldSpec, LayerSchema

WOONFUNCTIE = "woonfunctie"
OVERIGE_GEBRUIKSFUNCTIE = "overige gebruiksfunctie"

MAIN_USES = ("residential", "mixed", "non-residential")

NON_RESIDENTIAL_LANDUSE: frozenset[str] = frozenset(
    {
        "industrial",
        "retail",
        "commercial",
        "school",
        "college",
        "university",
        "kindergarten",
        "hospital",
        "railway",
        "stadium",
        "cemetery",
        "zoo",
        "military",
        "playground",
    }
)
"""OpenMapTiles landuse classes where a building is taken as non-residential."""

STREET_POI_SUBCLASSES: frozenset[str] = frozenset(
    {
        "parking",
        "bicycle_parking",
        "bicycle_rental",
        "waste_basket",
        "information",
        "shelter",
        "playground",
        "pitch",
        "garden",
        "park",
        "post_box",
        "telephone",
        "recycling",
        "toilets",
        "toll_booth",
        "attraction",
        "viewpoint",
        "artwork",
        "picnic_site",
        "brownfield",
        "gate",
        "dog_park",
        "vacant",
        "camp_site",
        "caravan_site",
        "cemetery",
        "bench",
        "drinking_water",
    }
)
"""POI subclasses that are street furniture or open space, not an activity inside a building."""

SINGLE_STOREY_SOURCES: frozenset[str] = frozenset({"no_address", "small_footprint", "garage_row"})
"""main_use_source values whose buildings get one storey (no address, garage/storage boxes)."""

OSM_LEVEL_HEIGHT_M = 3.66
"""Height per storey that OpenMapTiles uses to turn ``building:levels`` into a height (m)."""


@dataclass(frozen=True)
class BuildingParams:
    """Every assumed number of the building estimator.

    Attributes (unit; source):
        storey_height_residential_m: floor-to-floor height of a dwelling storey (m; assumed:
            Dutch housing has 2.6 m clear height plus a 0.3-0.4 m floor, so 2.8-3.0 m).
        storey_height_non_residential_m: floor-to-floor height of a shop, office or workshop
            storey (m; assumed, offices and shops are typically 3.5-4.5 m).
        gross_to_usable_factor: gross floor area (BVO) / usable floor area (GBO, the BAG
            ``oppervlakteverblijfsobject``, measured after NEN 2580) (-; assumed, GBO is
            commonly 75-85 % of BVO in housing).
        max_floors: upper clip of the estimated number of floors (storeys; assumed, a guard
            for the few footprints that hold the address points of a whole complex).
        max_floors_house: upper clip for a building with a single dwelling (storeys; assumed,
            large old town houses have 3-4 storeys below the roof).
        min_buurt_dwelling_units: fewest BAG dwellings a buurt needs for its own unit areas;
            smaller buurten use the city's (units; assumed).
        min_dwelling_footprint_m2: a one-address footprint smaller than this is a garage or
            storage box, not a dwelling (m2; assumed).
        garage_row_max_footprint_per_address_m2: a building with 2+ addresses and less
            footprint per address than this ... (m2; assumed, a garage box is 15-20 m2) ...
        garage_row_max_depth_m: ... and narrower than this (short side of its minimum
            rotated rectangle) is a row of garage/storage boxes (m; assumed, apartment
            blocks are 9 m or deeper, garage boxes 5-6 m).
        hall_min_footprint_per_address_m2: more footprint per address than this means a
            hall, shop, school or farm rather than dwellings (m2; assumed).
        business_buurt_max_residential_share: buurten where fewer than this share of BAG
            units has a woonfunctie (business parks, harbours, the Biesbosch recreation area)
            are taken as non-residential (-; assumed, chosen from the bimodal distribution
            of the share: 28 of the 130 Dordrecht buurten lie below 0.3, two at 0.38-0.40,
            the rest above 0.55).
        annex_max_area_m2: a footprint without address smaller than this is a shed, garden
            house, carport or annex (m2; assumed).
        annex_height_m: height of such an annex (m; assumed, one low storey).
        hall_min_area_m2: a one-storey non-residential footprint of at least this size is a
            hall (m2; assumed).
        hall_height_m: height of a hall (m; assumed, typical industrial hall 6-10 m).
    """

    storey_height_residential_m: float = 3.0
    storey_height_non_residential_m: float = 4.0
    gross_to_usable_factor: float = 1.25
    max_floors: int = 20
    max_floors_house: int = 4
    min_buurt_dwelling_units: int = 20
    min_dwelling_footprint_m2: float = 30.0
    garage_row_max_footprint_per_address_m2: float = 25.0
    garage_row_max_depth_m: float = 7.0
    hall_min_footprint_per_address_m2: float = 300.0
    business_buurt_max_residential_share: float = 0.3
    annex_max_area_m2: float = 50.0
    annex_height_m: float = 2.7
    hall_min_area_m2: float = 1000.0
    hall_height_m: float = 8.0

    def __post_init__(self) -> None:
        positive = {k: v for k, v in asdict(self).items() if k != "business_buurt_max_residential_share"}
        bad = [k for k, v in positive.items() if not (isinstance(v, int | float) and v > 0)]
        share = self.business_buurt_max_residential_share
        if not 0 <= share <= 1:
            bad.append("business_buurt_max_residential_share")
        if bad:
            raise InvalidInputError(
                f"BuildingParams out of range: {', '.join(bad)} (all must be > 0, the share in [0, 1])",
                invalid_params=[{"name": k, "reason": "out of range"} for k in bad],
            )


@dataclass
class HeightValidation:
    """Estimated versus OSM-tagged heights for the buildings that have both.

    ``mae_m``, ``median_abs_error_m`` and ``bias_m`` (estimate - OSM) are in metres;
    ``floors_mae`` and ``floors_exact_share`` compare the estimated floors with the OSM
    height / 3.66 m (the OpenMapTiles storey), rounded.
    """

    n: int
    mae_m: float | None
    median_abs_error_m: float | None
    bias_m: float | None
    floors_mae: float | None
    floors_exact_share: float | None
    note: str = (
        "Small, biased sample: the OSM-tagged buildings are a few clusters of terraced houses "
        "and flats plus some landmarks, mostly heights derived from building:levels x 3.66 m."
    )


@dataclass
class DwellingErrors:
    """Estimated dwellings per buurt against BAG units with a woonfunctie (2021).

    Over the ``n_buurten`` buurten with BAG dwellings: totals (dwellings), mean absolute
    error per buurt (dwellings), median absolute percentage error (%), Pearson correlation
    across buurten (None when undefined) and the number of buurten within +-10 %.
    """

    n_buurten: int
    total_estimated: float
    total_bag: int
    mae: float
    median_abs_pct_error: float
    correlation: float | None
    within_10pct: int


@dataclass
class BuildingReport:
    """What the estimator did, and how well it matches the references it can be checked with.

    Counts are buildings unless named otherwise. ``dwellings_*`` compare per buurt with the
    BAG units that have a woonfunctie; ``fallback_buurten`` had BAG dwellings but no building
    with raw dwellings, so their dwellings were spread over their addressed buildings;
    ``unallocated_buurten`` had BAG dwellings and no addressed building at all.
    ``residents_total`` is the CBS 2020 population of the buurten that publish it, of which
    ``residents_unallocated`` found no building; ``population_suppressed_buurten`` have no
    published population and get no residents. Shares are fractions (0..1).
    """

    n_buildings: int
    n_osm_height: int
    n_osm_height_flag_without_value: int
    n_estimated_height: int
    n_addresses: int
    n_addresses_in_buildings: int
    n_buildings_with_addresses: int
    n_buildings_outside_buurten: int
    height_validation: HeightValidation
    dwellings_raw_total: int
    dwellings_bag_total: int
    dwellings_pre_calibration: DwellingErrors
    dwellings_post_calibration: DwellingErrors
    dwellings_unallocated: int
    unallocated_buurten: list[str]
    fallback_buurten: list[str]
    raw_dwellings_in_buurten_without_bag_dwellings: int
    residents_total: int
    residents_allocated: float
    residents_unallocated: int
    residents_fallback_buurten: list[str]
    population_suppressed_buurten: list[str]
    main_use_share: dict[str, float] = field(default_factory=dict)
    main_use_share_addressed: dict[str, float] = field(default_factory=dict)
    main_use_footprint_share: dict[str, float] = field(default_factory=dict)
    main_use_source_counts: dict[str, int] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (nested dataclasses become dicts)."""
        return asdict(self)


@dataclass
class BuildingEstimate:
    """The buildings layer (EPSG:28992, input order) and the report on how it was made."""

    frame: gpd.GeoDataFrame
    report: BuildingReport


_OSM_SOURCE = OSM_SOURCE
_BAG_SOURCE = BAG_SOURCE
_CBS_SOURCE = CBS_BUURTEN_SOURCE

BUILDINGS_SCHEMA = LayerSchema(
    name="buildings",
    title="Buildings",
    description=(
        "OSM building footprints of Dordrecht with estimated floors, height, dwellings, main use "
        "and residents. Heights are real only where height_source = 'osm'; everything else is "
        "estimated from address points, BAG unit areas and CBS population (see the *_source "
        "columns and docs/buildings-method.md)."
    ),
    geometry_type="Polygon",
    fields=[
        FieldSpec(
            name="building_id",
            type="integer",
            description="Building number 1..n in the order of the input footprints.",
            nullable=False,
        ),
        FieldSpec(
            name="bu_code",
            type="string",
            description="CBS buurt (2020) containing the footprint's point-on-surface; null outside.",
            source=_CBS_SOURCE,
        ),
        FieldSpec(
            name="wk_code",
            type="string",
            description="CBS wijk of that buurt; null outside.",
            source=_CBS_SOURCE,
        ),
        FieldSpec(
            name="footprint_area_m2",
            type="number",
            description="Area of the footprint polygon.",
            unit="m2",
            source=_OSM_SOURCE,
            nullable=False,
        ),
        FieldSpec(
            name="height_m",
            type="number",
            description="Height of the building (top); OSM where tagged, otherwise estimated.",
            unit="m",
            source=_OSM_SOURCE,
            estimated=True,
            method="floors x storey height (residential 3.0 m, non-residential 4.0 m); annexes/halls fixed.",
            nullable=False,
        ),
        FieldSpec(
            name="min_height_m",
            type="number",
            description="Height of the underside (building parts over a passage); 0 when not tagged.",
            unit="m",
            source=_OSM_SOURCE,
            nullable=False,
        ),
        FieldSpec(
            name="height_source",
            type="string",
            description="'osm': OSM height/building:levels tag; 'estimated': height_m is estimated.",
            nullable=False,
        ),
        FieldSpec(
            name="floors",
            type="integer",
            description="Number of storeys above ground.",
            unit="storeys",
            estimated=True,
            method="round(units x typical BAG unit area x 1.25 / footprint) in [1, 20]; 1 without address.",
            nullable=False,
        ),
        FieldSpec(
            name="floors_source",
            type="string",
            description=(
                "'osm_height': OSM height / 3.66 m; 'address_floor_area': from address count and BAG "
                "unit areas; 'default_one_storey': no address point, one storey assumed."
            ),
            nullable=False,
        ),
        FieldSpec(
            name="address_count",
            type="integer",
            description="OSM address points inside the footprint (each point counted in one building only).",
            unit="addresses",
            source=_OSM_SOURCE,
            nullable=False,
        ),
        FieldSpec(
            name="poi_count",
            type="integer",
            description="OSM POIs inside the footprint that mark an activity (shops, schools, ...).",
            source=_OSM_SOURCE,
            nullable=False,
        ),
        FieldSpec(
            name="landuse_class",
            type="string",
            description="OSM landuse class at the point-on-surface (non-residential wins); null if none.",
            source=_OSM_SOURCE,
        ),
        FieldSpec(
            name="main_use",
            type="string",
            description="'residential', 'mixed' or 'non-residential'.",
            estimated=True,
            method="ordered rule on address count, BAG buurt use mix, OSM landuse, POIs and footprint size.",
            nullable=False,
        ),
        FieldSpec(
            name="main_use_source",
            type="string",
            description=(
                "Rule that decided main_use: no_address, bag_buurt_mix, osm_landuse, large_footprint, "
                "small_footprint, garage_row, osm_poi, addresses."
            ),
            nullable=False,
        ),
        FieldSpec(
            name="dwellings_raw",
            type="integer",
            description="Dwellings before calibration: addresses if residential, minus POIs if mixed, else 0",
            unit="dwellings",
            estimated=True,
            method="address count by main use; independent of the BAG dwelling counts.",
            nullable=False,
        ),
        FieldSpec(
            name="dwellings_est",
            type="number",
            description="Expected dwellings (fractional), calibrated to the BAG woonfunctie units per buurt.",
            unit="dwellings",
            source=_BAG_SOURCE,
            estimated=True,
            method="dwellings_raw x (BAG woonfunctie units / sum of dwellings_raw) of the buurt.",
            nullable=False,
        ),
        FieldSpec(
            name="dwellings_source",
            type="string",
            description=(
                "'calibrated': scaled raw estimate; 'calibration_fallback': buurt had BAG dwellings but "
                "no residential candidate, spread over its addressed buildings; 'none': zero."
            ),
            nullable=False,
        ),
        FieldSpec(
            name="residents_est",
            type="number",
            description="Expected number of residents: buurt population spread over dwellings_est.",
            unit="persons",
            source=_CBS_SOURCE,
            estimated=True,
            method="CBS aant_inw 2020 of the buurt x dwellings_est / buurt sum of dwellings_est.",
            nullable=False,
        ),
        FieldSpec(
            name="residents_source",
            type="string",
            description=(
                "'dwellings': spread over dwellings_est; 'addresses_fallback': buurt has population but no "
                "estimated dwellings, spread over address counts; 'none': zero."
            ),
            nullable=False,
        ),
    ],
    source=f"{_OSM_SOURCE}; {_BAG_SOURCE}; {_CBS_SOURCE}",
    licence=(
        "ODbL-1.0 (footprints, addresses, landuse, POIs: OpenStreetMap); BAG: CC0-1.0; "
        "CBS buurten: CC-BY-4.0. The layer as a whole is an ODbL derived database."
    ),
    attribution="© OpenStreetMap contributors; Kadaster (BAG, CC0); CBS, Kadaster (CC BY 4.0)",
    primary_key="building_id",
    notes=[
        "Only height_source = 'osm' heights are observed; all other heights, floors, dwellings, "
        "main uses and residents are estimates (see docs/buildings-method.md for the errors).",
        "OSM footprints are not BAG panden: terraced houses are often one polygon per house, but "
        "annexes, garages and building parts are separate polygons.",
        "dwellings_est and residents_est are expectations (fractional), calibrated to the BAG 2021 "
        "dwelling count and the CBS 2020 population of each buurt.",
    ],
)

OUTPUT_COLUMNS = [*BUILDINGS_SCHEMA.field_names, "geometry"]


def _require(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InvalidInputError(f"{what} lacks column(s) {', '.join(missing)}")


def _to_store_crs(frame: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    if frame.crs is None:
        raise InvalidInputError(f"{what} has no CRS; expected EPSG:28992")
    if frame.crs.to_epsg() != 28992:
        return frame.to_crs(28992)
    return frame


def assign_points_to_smallest(
    points: gpd.GeoDataFrame, polygons: gpd.GeoSeries, polygon_area: np.ndarray
) -> pd.Series:
    """Position (0..n-1) of the smallest polygon containing each point, indexed like ``points``.

    Points on a boundary count as inside; points in no polygon are left out. Where
    polygons overlap, the smallest one wins (ties: the first), so each point is counted once.
    """
    if len(points) == 0 or len(polygons) == 0:
        return pd.Series(dtype="int64")
    left = gpd.GeoDataFrame({"_pt": np.arange(len(points))}, geometry=points.geometry.values, crs=points.crs)
    right = gpd.GeoDataFrame(
        {"_poly": np.arange(len(polygons)), "_area": polygon_area}, geometry=polygons.values, crs=polygons.crs
    )
    hits = gpd.sjoin(left, right, predicate="intersects", how="inner")
    hits = hits.sort_values(["_pt", "_area", "_poly"]).drop_duplicates("_pt")
    return pd.Series(hits["_poly"].to_numpy(), index=points.index[hits["_pt"].to_numpy()], name="building")


def minimum_width(geoms: gpd.GeoSeries) -> np.ndarray:
    """Short side (m) of each geometry's minimum rotated rectangle (0 for degenerate shapes)."""
    env = shapely.oriented_envelope(geoms.values)
    out = np.zeros(len(env))
    is_poly = shapely.get_type_id(env) == 3
    if not is_poly.any():
        return out
    rings = shapely.get_exterior_ring(env[is_poly])
    xy, idx = shapely.get_coordinates(rings, return_index=True)
    first = np.searchsorted(idx, np.arange(len(rings)))
    side_a = np.hypot(*(xy[first + 1] - xy[first]).T)
    side_b = np.hypot(*(xy[first + 2] - xy[first + 1]).T)
    out[is_poly] = np.minimum(side_a, side_b)
    return out


def bag_unit_table(bag_units: pd.DataFrame) -> pd.DataFrame:
    """One row per BAG unit (verblijfsobject): ``bu_code``, ``area_m2``, ``is_dwelling``, ``only_overige``.

    A unit with several uses appears once per use in the input; it is counted once here
    and is a dwelling when one of its uses is woonfunctie. ``only_overige`` marks units
    whose only use is 'overige gebruiksfunctie' (mostly storage and garage boxes).
    """
    _require(
        bag_units,
        ["bu_code", "identificatie", "oppervlakteverblijfsobject", "gebruiksdoelverblijfsobject"],
        "bag_units",
    )
    use = bag_units["gebruiksdoelverblijfsobject"].astype("string")
    rows = pd.DataFrame(
        {
            "identificatie": bag_units["identificatie"].to_numpy(),
            "bu_code": bag_units["bu_code"].to_numpy(),
            "area_m2": pd.to_numeric(bag_units["oppervlakteverblijfsobject"], errors="coerce").to_numpy(),
            "is_dwelling": use.eq(WOONFUNCTIE).fillna(False).to_numpy(dtype=bool),
            "is_overige": use.eq(OVERIGE_GEBRUIKSFUNCTIE).fillna(False).to_numpy(dtype=bool),
        }
    )
    return rows.groupby("identificatie", sort=False).agg(
        bu_code=("bu_code", "first"),
        area_m2=("area_m2", "first"),
        is_dwelling=("is_dwelling", "any"),
        only_overige=("is_overige", "all"),
    )


def bag_buurt_statistics(units: pd.DataFrame) -> pd.DataFrame:
    """Per buurt (index ``bu_code``): ``units``, ``dwellings`` (units with a woonfunctie) and
    ``residential_share`` = dwellings / units, from :func:`bag_unit_table`."""
    stats = pd.DataFrame(
        {
            "units": units.groupby("bu_code").size(),
            "dwellings": units[units["is_dwelling"]].groupby("bu_code").size(),
        }
    )
    stats = stats.fillna(0).astype("int64")
    stats["residential_share"] = stats["dwellings"] / stats["units"].where(stats["units"] > 0)
    stats.index.name = "bu_code"
    return stats


def _quantile_lower(sorted_values: np.ndarray, q: np.ndarray) -> np.ndarray:
    """The value at rank floor(q x n) of an ascending array, for each q in [0, 1]."""
    if len(sorted_values) == 0:
        return np.full(len(q), np.nan)
    pos = np.clip(np.floor(np.asarray(q, dtype="float64") * len(sorted_values)), 0, len(sorted_values) - 1)
    return sorted_values[pos.astype("int64")]


def dwelling_unit_areas(units: pd.DataFrame, apartment_share: pd.Series, min_units: int = 20) -> pd.DataFrame:
    """Typical usable area (m2) of an apartment and of a house, per buurt, by quantile matching.

    The BAG does not say which dwelling is in which building, but it gives the areas of
    all dwellings of the buurt, and the addresses say which share ``k`` of the buurt's
    dwellings lies in multi-dwelling buildings. Taking the smallest ``k`` of the BAG
    dwellings to be the apartments, a typical apartment has the area at quantile ``k/2``
    and a typical house the area at quantile ``(1 + k)/2``. Buurten with fewer than
    ``min_units`` BAG dwellings use the areas of the whole city at the same quantiles.

    Args:
        units: :func:`bag_unit_table`.
        apartment_share: per ``bu_code``, share (0..1) of the estimated dwellings in
            buildings with 2 or more dwellings.
        min_units: fewest BAG dwellings for a buurt's own areas.

    Returns:
        DataFrame indexed like ``apartment_share`` with ``apartment_area_m2`` and ``house_area_m2``.
    """
    dwellings = units.loc[units["is_dwelling"] & units["area_m2"].notna(), ["bu_code", "area_m2"]]
    dwellings = dwellings.sort_values(["bu_code", "area_m2"])
    k = apartment_share.astype("float64").clip(0, 1).fillna(0.0)
    q_apt = (k / 2).to_numpy()
    q_house = ((1 + k) / 2).to_numpy()
    city = np.sort(dwellings["area_m2"].to_numpy(dtype="float64"))
    apt = _quantile_lower(city, q_apt)
    house = _quantile_lower(city, q_house)
    counts = dwellings.groupby("bu_code").size()
    count = counts.reindex(k.index).fillna(0).to_numpy(dtype="int64")
    start = (counts.cumsum() - counts).reindex(k.index).fillna(0).to_numpy(dtype="int64")
    own = count >= max(min_units, 1)
    values = dwellings["area_m2"].to_numpy(dtype="float64")
    for q, out in ((q_apt, apt), (q_house, house)):
        pos = start + np.clip(np.floor(q * count), 0, np.maximum(count - 1, 0)).astype("int64")
        out[own] = values[pos[own]]
    return pd.DataFrame({"apartment_area_m2": apt, "house_area_m2": house}, index=k.index)


def other_unit_area(units: pd.DataFrame) -> float:
    """Median usable area (m2) of the city's non-dwelling units, storage boxes excluded.

    One city-wide figure: non-residential units range from a 15 m2 kiosk to a 38,000 m2
    plant, so a buurt's median says little about one building.
    """
    other = units.loc[~units["is_dwelling"] & ~units["only_overige"], "area_m2"].dropna()
    return float(other.median()) if len(other) else 150.0


def classify_main_use(
    address_count: np.ndarray,
    poi_count: np.ndarray,
    footprint_area_m2: np.ndarray,
    width_m: np.ndarray,
    non_residential_landuse: np.ndarray,
    buurt_residential_share: np.ndarray,
    params: BuildingParams = BuildingParams(),
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Main use, the deciding rule and the raw (uncalibrated) dwellings of each building.

    The first matching rule wins:

    ==================  ===============================================================  ===============
    main_use_source     condition                                                        main_use
    ==================  ===============================================================  ===============
    no_address          no address point inside                                          non-residential
    bag_buurt_mix       buurt share of BAG dwelling units < business_buurt_max_...       non-residential
    osm_landuse         point-on-surface in a non-residential OSM landuse                non-residential
    large_footprint     footprint per address > hall_min_footprint_per_address_m2        non-residential
    small_footprint     one address, footprint < min_dwelling_footprint_m2               non-residential
    garage_row          2+ addresses, footprint/address and width below garage limits    non-residential
    osm_poi             POIs inside: mixed if addresses > POIs, else non-residential      (see left)
    addresses           otherwise                                                        residential
    ==================  ===============================================================  ===============

    Raw dwellings: residential -> address count; mixed -> address count - POI count;
    non-residential -> 0. NaN buurt shares (outside buurten) never trigger bag_buurt_mix.
    """
    n = np.asarray(address_count, dtype="int64")
    npoi = np.asarray(poi_count, dtype="int64")
    area = np.asarray(footprint_area_m2, dtype="float64")
    width = np.asarray(width_m, dtype="float64")
    share = np.asarray(buurt_residential_share, dtype="float64")
    per_address = np.divide(area, n, out=np.full(len(n), np.inf), where=n > 0)
    rules: list[tuple[str, np.ndarray, str]] = [
        ("no_address", n == 0, "non-residential"),
        (
            "bag_buurt_mix",
            np.nan_to_num(share, nan=1.0) < params.business_buurt_max_residential_share,
            "non-residential",
        ),
        ("osm_landuse", np.asarray(non_residential_landuse, dtype=bool), "non-residential"),
        ("large_footprint", per_address > params.hall_min_footprint_per_address_m2, "non-residential"),
        ("small_footprint", (n == 1) & (area < params.min_dwelling_footprint_m2), "non-residential"),
        (
            "garage_row",
            (n >= 2)
            & (per_address < params.garage_row_max_footprint_per_address_m2)
            & (width < params.garage_row_max_depth_m),
            "non-residential",
        ),
        ("osm_poi", (npoi > 0) & (n > npoi), "mixed"),
        ("osm_poi", npoi > 0, "non-residential"),
    ]
    source = np.full(len(n), "addresses", dtype=object)
    use = np.full(len(n), "residential", dtype=object)
    decided = np.zeros(len(n), dtype=bool)
    for name, condition, value in rules:
        hit = condition & ~decided
        source[hit] = name
        use[hit] = value
        decided |= hit
    raw = np.where(use == "residential", n, np.where(use == "mixed", n - npoi, 0)).astype("int64")
    return use, source, raw


def estimate_floors(
    address_count: np.ndarray,
    dwellings_raw: np.ndarray,
    footprint_area_m2: np.ndarray,
    dwelling_area_m2: np.ndarray,
    other_area_m2: float | np.ndarray,
    main_use_source: np.ndarray,
    params: BuildingParams = BuildingParams(),
) -> np.ndarray:
    """Floors from the floor area the addresses need: round(gross area / footprint) in [1, max].

    Gross floor area = (dwellings x dwelling unit area + other addresses x other unit area)
    x gross/usable factor. Rounding is half-up (2.5 -> 3). A one-dwelling building has at most
    ``max_floors_house`` storeys. One storey for: buildings without address, the
    garage/storage boxes of :data:`SINGLE_STOREY_SOURCES` and any other non-residential
    building with less footprint per address than a garage box, and buildings with one
    non-residential unit (its size is unknown, so one storey is the best guess).
    """
    n = np.asarray(address_count, dtype="float64")
    dwellings = np.asarray(dwellings_raw, dtype="float64")
    area = np.asarray(footprint_area_m2, dtype="float64")
    usable = dwellings * np.asarray(dwelling_area_m2, dtype="float64") + (n - dwellings) * np.asarray(
        other_area_m2, dtype="float64"
    )
    ratio = np.divide(usable * params.gross_to_usable_factor, area, out=np.ones(len(n)), where=area > 0)
    floors = np.clip(np.floor(np.nan_to_num(ratio, nan=1.0) + 0.5), 1, params.max_floors)
    house = dwellings == 1
    floors[house] = np.minimum(floors[house], params.max_floors_house)
    single = np.isin(np.asarray(main_use_source, dtype=object), list(SINGLE_STOREY_SOURCES))
    per_address = np.divide(area, n, out=np.full(len(n), np.inf), where=n > 0)
    boxes = (dwellings == 0) & (per_address < params.garage_row_max_footprint_per_address_m2)
    floors[single | boxes | (n == 0) | ((dwellings == 0) & (n <= 1))] = 1
    return floors.astype("int64")


def estimate_height(
    floors: np.ndarray,
    main_use: np.ndarray,
    main_use_source: np.ndarray,
    footprint_area_m2: np.ndarray,
    params: BuildingParams = BuildingParams(),
) -> np.ndarray:
    """Height (m) from floors and use.

    Residential: floors x residential storey; mixed: one non-residential ground storey plus
    residential storeys; non-residential: floors x non-residential storey. Then two
    overrides for one-storey non-residential buildings: below ``annex_max_area_m2`` (and
    every garage/storage box) an annex of ``annex_height_m``; from ``hall_min_area_m2`` a
    hall of ``hall_height_m``.
    """
    f = np.asarray(floors, dtype="float64")
    use = np.asarray(main_use, dtype=object)
    source = np.asarray(main_use_source, dtype=object)
    area = np.asarray(footprint_area_m2, dtype="float64")
    res = params.storey_height_residential_m
    non = params.storey_height_non_residential_m
    height = np.where(
        use == "residential", f * res, np.where(use == "mixed", non + (f - 1) * res, f * non)
    ).astype("float64")
    one_storey_non_res = (use == "non-residential") & (f == 1)
    height[one_storey_non_res & (area >= params.hall_min_area_m2)] = params.hall_height_m
    boxes = np.isin(source, ["small_footprint", "garage_row"])
    height[(one_storey_non_res & (area < params.annex_max_area_m2)) | boxes] = params.annex_height_m
    return height


def dwelling_errors(estimated: pd.Series, bag: pd.Series) -> DwellingErrors:
    """Compare dwellings per buurt with BAG, over the buurten that have BAG dwellings."""
    bag = bag[bag > 0].astype("float64")
    est = estimated.reindex(bag.index).fillna(0.0).astype("float64")
    err = est - bag
    pct = (err.abs() / bag) * 100
    varies = len(bag) > 1 and est.std() > 0 and bag.std() > 0
    corr = round(float(np.corrcoef(est, bag)[0, 1]), 5) if varies else None
    return DwellingErrors(
        n_buurten=len(bag),
        total_estimated=round(float(est.sum()), 3),
        total_bag=int(bag.sum()),
        mae=round(float(err.abs().mean()), 3) if len(bag) else 0.0,
        median_abs_pct_error=round(float(pct.median()), 3) if len(bag) else 0.0,
        correlation=corr,
        within_10pct=int((pct <= 10).sum()),
    )


def _height_validation(est: np.ndarray, osm: np.ndarray, est_floors: np.ndarray) -> HeightValidation:
    if len(osm) == 0:
        return HeightValidation(0, None, None, None, None, None)
    err = est - osm
    osm_floors = np.maximum(1, np.floor(osm / OSM_LEVEL_HEIGHT_M + 0.5))
    return HeightValidation(
        n=len(osm),
        mae_m=round(float(np.abs(err).mean()), 3),
        median_abs_error_m=round(float(np.median(np.abs(err))), 3),
        bias_m=round(float(err.mean()), 3),
        floors_mae=round(float(np.abs(est_floors - osm_floors).mean()), 3),
        floors_exact_share=round(float((est_floors == osm_floors).mean()), 3),
    )


def _share(values: pd.Series, weights: pd.Series | None = None) -> dict[str, float]:
    w = pd.Series(1.0, index=values.index) if weights is None else weights
    total = float(w.sum())
    sums = w.groupby(values).sum()
    return {use: round(float(sums.get(use, 0.0)) / total, 5) if total else 0.0 for use in MAIN_USES}


def estimate_buildings(
    buildings: gpd.GeoDataFrame,
    addresses: gpd.GeoDataFrame,
    buurten: gpd.GeoDataFrame,
    bag_units: pd.DataFrame,
    landuse: gpd.GeoDataFrame,
    poi: gpd.GeoDataFrame,
    params: BuildingParams = BuildingParams(),
) -> BuildingEstimate:
    """Build the ``buildings`` layer from OSM footprints, addresses, BAG units and CBS buurten.

    Args:
        buildings: footprints (Polygon/MultiPolygon) with ``render_height``,
            ``render_min_height`` (m) and ``height_from_osm_tags`` (bool).
        addresses: address points (one per OSM housenumber).
        buurten: CBS buurt polygons with ``bu_code``, ``wk_code`` and ``aant_inw``
            (-99999999 = suppressed).
        bag_units: BAG verblijfsobjecten with ``bu_code``, ``identificatie``,
            ``oppervlakteverblijfsobject`` (m2) and ``gebruiksdoelverblijfsobject``.
        landuse: OSM landuse polygons with ``class``.
        poi: OSM POI points with ``subclass`` (``class`` used where subclass is empty).
        params: the assumed numbers.

    Returns:
        The layer (one row per input footprint, input order, RangeIndex, EPSG:28992,
        columns of :data:`BUILDINGS_SCHEMA`) and a :class:`BuildingReport`.
    """
    _require(buildings, ["geometry"], "buildings")
    _require(buurten, ["bu_code", "wk_code", "aant_inw", "geometry"], "buurten")
    _require(landuse, ["class", "geometry"], "landuse")
    buildings = _to_store_crs(buildings, "buildings").reset_index(drop=True)
    addresses = _to_store_crs(addresses, "addresses")
    buurten = _to_store_crs(buurten, "buurten").reset_index(drop=True)
    landuse = _to_store_crs(landuse, "landuse").reset_index(drop=True)
    poi = _to_store_crs(poi, "poi")
    n_total = len(buildings)
    geoms = buildings.geometry
    area = geoms.area.to_numpy(dtype="float64")
    pos = gpd.GeoSeries(geoms.representative_point().values, crs=buildings.crs)
    pos_frame = gpd.GeoDataFrame({"_b": np.arange(n_total)}, geometry=pos.values, crs=buildings.crs)

    # 1. Joins: buurt and landuse of the point-on-surface, addresses and POIs in the footprint.
    in_buurt = gpd.sjoin(pos_frame, buurten[["bu_code", "wk_code", "geometry"]], predicate="within")
    in_buurt = in_buurt.sort_values(["_b", "index_right"]).drop_duplicates("_b").set_index("_b")
    bu_code = in_buurt["bu_code"].reindex(np.arange(n_total))
    wk_code = in_buurt["wk_code"].reindex(np.arange(n_total))

    lu = landuse[["class", "geometry"]].copy()
    lu["_nonres"] = lu["class"].isin(NON_RESIDENTIAL_LANDUSE)
    in_lu = gpd.sjoin(pos_frame, lu, predicate="within")
    in_lu = (
        in_lu.sort_values(["_b", "_nonres"], ascending=[True, False]).drop_duplicates("_b").set_index("_b")
    )
    landuse_class = in_lu["class"].reindex(np.arange(n_total))
    nonres_landuse = in_lu["_nonres"].reindex(np.arange(n_total)).fillna(False).to_numpy(dtype=bool)

    address_of = assign_points_to_smallest(addresses, geoms, area)
    address_count = np.bincount(address_of.to_numpy(), minlength=n_total).astype("int64")

    if "subclass" in poi.columns or "class" in poi.columns:
        sub = poi["subclass"] if "subclass" in poi.columns else pd.Series(pd.NA, index=poi.index)
        kind = sub.fillna(poi["class"]) if "class" in poi.columns else sub
        activity = poi[kind.notna() & ~kind.isin(STREET_POI_SUBCLASSES)]
    else:
        activity = poi.iloc[0:0]
    poi_of = assign_points_to_smallest(activity, geoms, area)
    poi_count = np.bincount(poi_of.to_numpy(), minlength=n_total).astype("int64")

    # 2-3. BAG statistics per buurt, main use and raw dwellings.
    units = bag_unit_table(bag_units)
    stats = bag_buurt_statistics(units)
    share = bu_code.map(stats["residential_share"]).to_numpy(dtype="float64")
    width = minimum_width(geoms)
    main_use, main_use_source, dwellings_raw = classify_main_use(
        address_count, poi_count, area, width, nonres_landuse, share, params
    )

    # 4. Calibration of dwellings per buurt to the BAG woonfunctie count.
    frame = pd.DataFrame(
        {"bu_code": bu_code.to_numpy(), "raw": dwellings_raw, "n": address_count}, index=np.arange(n_total)
    )
    bag_dw = stats["dwellings"]
    raw_sum = frame.groupby("bu_code")["raw"].sum()
    n_sum = frame.groupby("bu_code")["n"].sum()
    target = bag_dw.reindex(raw_sum.index.union(bag_dw.index)).fillna(0)
    raw_sum = raw_sum.reindex(target.index).fillna(0)
    n_sum = n_sum.reindex(target.index).fillna(0)
    use_fallback = (raw_sum == 0) & (target > 0) & (n_sum > 0)
    unallocated = target[(target > 0) & (raw_sum == 0) & (n_sum == 0)]
    weight_is_n = frame["bu_code"].map(use_fallback).fillna(False).to_numpy(dtype=bool)
    weight = np.where(weight_is_n, frame["n"], frame["raw"]).astype("float64")
    frame["w"] = weight
    w_sum = frame.groupby("bu_code")["w"].sum()
    factor = (target / w_sum.reindex(target.index)).where(lambda s: np.isfinite(s), 0.0).fillna(0.0)
    dwellings_est = weight * frame["bu_code"].map(factor).fillna(0.0).to_numpy(dtype="float64")
    # Outside buurten there is no BAG count to calibrate to: keep the raw estimate.
    outside = frame["bu_code"].isna().to_numpy()
    dwellings_est[outside] = dwellings_raw[outside]
    dwellings_source = np.where(
        dwellings_est > 0, np.where(weight_is_n, "calibration_fallback", "calibrated"), "none"
    ).astype(object)
    dwellings_source[outside & (dwellings_est > 0)] = "raw_outside_buurten"

    # 5. Residents: CBS population spread over dwellings_est (fallback: addresses).
    pop = buurten.drop_duplicates("bu_code").set_index("bu_code")["aant_inw"]
    pop = pd.to_numeric(pop, errors="coerce")
    pop = pop.where(pop >= 0).dropna()
    frame["dw"] = dwellings_est
    dw_sum = frame.groupby("bu_code")["dw"].sum().reindex(pop.index).fillna(0)
    n_sum_pop = frame.groupby("bu_code")["n"].sum().reindex(pop.index).fillna(0)
    res_fallback = (dw_sum == 0) & (pop > 0) & (n_sum_pop > 0)
    res_by_n = frame["bu_code"].map(res_fallback).fillna(False).to_numpy(dtype=bool)
    res_weight = np.where(res_by_n, frame["n"], frame["dw"]).astype("float64")
    frame["rw"] = res_weight
    rw_sum = frame.groupby("bu_code")["rw"].sum().reindex(pop.index)
    pop_factor = (pop / rw_sum).where(lambda s: np.isfinite(s) & (rw_sum > 0), 0.0).fillna(0.0)
    residents_est = res_weight * frame["bu_code"].map(pop_factor).fillna(0.0).to_numpy(dtype="float64")
    residents_source = np.where(
        residents_est > 0, np.where(res_by_n, "addresses_fallback", "dwellings"), "none"
    ).astype(object)
    residents_unallocated = int(pop[(pop > 0) & ~(rw_sum > 0)].sum())
    all_codes = pd.to_numeric(
        buurten.drop_duplicates("bu_code").set_index("bu_code")["aant_inw"], errors="coerce"
    )
    suppressed = all_codes[~(all_codes >= 0)].index

    # 6. Floors and height.
    multi = dwellings_raw >= 2
    dw_frame = pd.DataFrame(
        {"bu_code": frame["bu_code"], "raw": dwellings_raw, "multi": multi * dwellings_raw}
    )
    by_buurt = dw_frame.groupby("bu_code")[["raw", "multi"]].sum()
    apartment_share = (by_buurt["multi"] / by_buurt["raw"].where(by_buurt["raw"] > 0)).fillna(0.0)
    all_buurten = apartment_share.index.union(pd.Index(stats.index))
    unit_areas = dwelling_unit_areas(
        units, apartment_share.reindex(all_buurten).fillna(0.0), params.min_buurt_dwelling_units
    )
    city_dwelling_areas = units.loc[units["is_dwelling"], "area_m2"].dropna()
    city_median = float(city_dwelling_areas.median()) if len(city_dwelling_areas) else 100.0
    apt_area = bu_code.map(unit_areas["apartment_area_m2"]).fillna(city_median)
    house_area = bu_code.map(unit_areas["house_area_m2"]).fillna(city_median)
    dwelling_area = np.where(multi, apt_area.to_numpy(dtype="float64"), house_area.to_numpy(dtype="float64"))
    other_area = other_unit_area(units)
    est_floors = estimate_floors(
        address_count, dwellings_raw, area, dwelling_area, other_area, main_use_source, params
    )
    est_height = estimate_height(est_floors, main_use, main_use_source, area, params)

    render_h = (
        pd.to_numeric(buildings["render_height"], errors="coerce").to_numpy(dtype="float64")
        if "render_height" in buildings.columns
        else np.full(n_total, np.nan)
    )
    render_min = (
        pd.to_numeric(buildings["render_min_height"], errors="coerce").fillna(0.0).to_numpy(dtype="float64")
        if "render_min_height" in buildings.columns
        else np.zeros(n_total)
    )
    tagged = (
        buildings["height_from_osm_tags"].fillna(False).to_numpy(dtype=bool)
        if "height_from_osm_tags" in buildings.columns
        else np.zeros(n_total, dtype=bool)
    )
    has_osm = tagged & np.isfinite(render_h) & (render_h > 0)
    osm_floors = np.maximum(1, np.floor(np.nan_to_num(render_h) / OSM_LEVEL_HEIGHT_M + 0.5)).astype("int64")
    height = np.where(has_osm, render_h, est_height)
    floors = np.where(has_osm, osm_floors, est_floors)
    floors_source = np.where(
        has_osm, "osm_height", np.where(address_count > 0, "address_floor_area", "default_one_storey")
    ).astype(object)

    out = gpd.GeoDataFrame(
        {
            "building_id": np.arange(1, n_total + 1, dtype="int64"),
            "bu_code": bu_code.astype(object).where(bu_code.notna(), None).to_numpy(),
            "wk_code": wk_code.astype(object).where(wk_code.notna(), None).to_numpy(),
            "footprint_area_m2": np.round(area, 2),
            "height_m": np.round(height, 2),
            "min_height_m": np.where(has_osm, render_min, 0.0),
            "height_source": np.where(has_osm, "osm", "estimated").astype(object),
            "floors": floors.astype("int64"),
            "floors_source": floors_source,
            "address_count": address_count,
            "poi_count": poi_count,
            "landuse_class": landuse_class.astype(object).where(landuse_class.notna(), None).to_numpy(),
            "main_use": main_use,
            "main_use_source": main_use_source,
            "dwellings_raw": dwellings_raw,
            "dwellings_est": dwellings_est,
            "residents_est": residents_est,
            "dwellings_source": dwellings_source,
            "residents_source": residents_source,
        },
        geometry=geoms.values,
        crs=buildings.crs,
    )[OUTPUT_COLUMNS]

    # Report.
    bag_by_buurt = stats["dwellings"]
    raw_by_buurt = pd.Series(dwellings_raw, index=frame.index).groupby(frame["bu_code"]).sum()
    est_by_buurt = pd.Series(dwellings_est, index=frame.index).groupby(frame["bu_code"]).sum()
    pop_total = int(pop.sum())
    report = BuildingReport(
        n_buildings=n_total,
        n_osm_height=int(has_osm.sum()),
        n_osm_height_flag_without_value=int((tagged & ~has_osm).sum()),
        n_estimated_height=int((~has_osm).sum()),
        n_addresses=len(addresses),
        n_addresses_in_buildings=len(address_of),
        n_buildings_with_addresses=int((address_count > 0).sum()),
        n_buildings_outside_buurten=int(outside.sum()),
        height_validation=_height_validation(est_height[has_osm], render_h[has_osm], est_floors[has_osm]),
        dwellings_raw_total=int(dwellings_raw.sum()),
        dwellings_bag_total=int(bag_by_buurt.sum()),
        dwellings_pre_calibration=dwelling_errors(raw_by_buurt, bag_by_buurt),
        dwellings_post_calibration=dwelling_errors(est_by_buurt, bag_by_buurt),
        dwellings_unallocated=int(unallocated.sum()),
        unallocated_buurten=sorted(str(b) for b in unallocated.index),
        fallback_buurten=sorted(str(b) for b in use_fallback[use_fallback].index),
        raw_dwellings_in_buurten_without_bag_dwellings=int(raw_sum[target == 0].sum()),
        residents_total=pop_total,
        residents_allocated=round(float(residents_est.sum()), 3),
        residents_unallocated=residents_unallocated,
        residents_fallback_buurten=sorted(str(b) for b in res_fallback[res_fallback].index),
        population_suppressed_buurten=sorted(str(b) for b in suppressed),
        main_use_share=_share(out["main_use"]),
        main_use_share_addressed=_share(out.loc[out["address_count"] > 0, "main_use"]),
        main_use_footprint_share=_share(out["main_use"], out["footprint_area_m2"]),
        main_use_source_counts={str(k): int(v) for k, v in out["main_use_source"].value_counts().items()},
        params=asdict(params),
    )
    return BuildingEstimate(frame=out, report=report)
