"""Statistical areas: CBS buurten 2020 and the wijken they make up.

CBS marks secret or unavailable values with -99999999. Those become nulls here, and
each row lists its suppressed columns in ``suppressed_fields`` (comma-separated), so
"not published" never looks like zero. Wijken are the union of their buurten, with
2020 totals summed from the buurten and the 2024 key figures of CBS table 85984NED.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from tweeling.citymodel.provenance import (
    CBS_ATTRIBUTION,
    CBS_BUURTEN_SOURCE,
    CBS_KWB_2024_SOURCE,
    CBS_LICENCE,
    CBS_SUPPRESSED,
)
from tweeling.core.errors import InvalidInputError
from tweeling.core.schema import FieldSpec, LayerSchema

CBS_SOURCE = CBS_BUURTEN_SOURCE

# (column, type, unit, description) of the CBS buurt attributes kept in the twin.
_BUURT_COLUMNS: list[tuple[str, str, str | None, str]] = [
    ("bu_code", "string", None, "CBS buurt code: BU + gemeente (4) + wijk (2) + buurt (2)"),
    ("bu_naam", "string", None, "Buurt name"),
    ("wk_code", "string", None, "CBS wijk code the buurt belongs to"),
    ("wk_naam", "string", None, "Wijk name"),
    ("gm_code", "string", None, "CBS gemeente code (GM0505 = Dordrecht)"),
    ("gm_naam", "string", None, "Gemeente name"),
    ("jrstatcode", "string", None, "Year-qualified buurt code (2020BU...)"),
    ("ind_wbi", "integer", None, "1 = figures of this buurt are published by CBS"),
    ("h2o", "string", None, "JA for buurten that are mainly water"),
    ("postcode", "string", None, "Most frequent 4-digit postcode in the buurt"),
    ("dek_perc", "integer", None, "Coverage class of the most frequent postcode (1-6)"),
    ("oad", "integer", "addresses/km2", "Omgevingsadressendichtheid (surrounding address density)"),
    ("sted", "integer", None, "Stedelijkheid: 1 very strongly urban .. 5 not urban"),
    ("bev_dichth", "integer", "inhabitants/km2", "Population density on land"),
    ("aant_inw", "integer", "persons", "Number of inhabitants on 1 January 2020"),
    ("aant_man", "integer", "persons", "Men"),
    ("aant_vrouw", "integer", "persons", "Women"),
    ("p_00_14_jr", "integer", "%", "Share of inhabitants aged 0-14"),
    ("p_15_24_jr", "integer", "%", "Share aged 15-24"),
    ("p_25_44_jr", "integer", "%", "Share aged 25-44"),
    ("p_45_64_jr", "integer", "%", "Share aged 45-64"),
    ("p_65_eo_jr", "integer", "%", "Share aged 65 and over"),
    ("p_ongehuwd", "integer", "%", "Share never married"),
    ("p_gehuwd", "integer", "%", "Share married"),
    ("p_gescheid", "integer", "%", "Share divorced"),
    ("p_verweduw", "integer", "%", "Share widowed"),
    ("aantal_hh", "integer", "households", "Number of private households"),
    ("p_eenp_hh", "integer", "%", "Share of one-person households"),
    ("p_hh_z_k", "integer", "%", "Share of households without children"),
    ("p_hh_m_k", "integer", "%", "Share of households with children"),
    ("gem_hh_gr", "number", "persons/household", "Mean household size"),
    ("p_west_al", "integer", "%", "Share with a western migration background"),
    ("p_n_w_al", "integer", "%", "Share with a non-western migration background"),
    ("p_marokko", "integer", "%", "Share with a Moroccan background"),
    ("p_ant_aru", "integer", "%", "Share with an Antillean or Aruban background"),
    ("p_surinam", "integer", "%", "Share with a Surinamese background"),
    ("p_turkije", "integer", "%", "Share with a Turkish background"),
    ("p_over_nw", "integer", "%", "Share with another non-western background"),
    ("opp_tot", "integer", "ha", "Total area"),
    ("opp_land", "integer", "ha", "Land area"),
    ("opp_water", "integer", "ha", "Water area"),
]

_SUPPRESSED_SPEC = FieldSpec(
    name="suppressed_fields",
    type="string",
    description="Comma-separated columns that CBS did not publish (secret or unavailable); they are null",
    source="derived from the CBS -99999999 marker",
)

BUURTEN_SCHEMA = LayerSchema(
    name="buurten",
    title="Buurten (CBS 2020)",
    description="The 130 CBS neighbourhoods of Dordrecht with their 2020 demographic key figures.",
    geometry_type="MultiPolygon",
    fields=[
        *(
            FieldSpec(name=name, type=kind, unit=unit, description=text, source=CBS_SOURCE)  # type: ignore[arg-type]
            for name, kind, unit, text in _BUURT_COLUMNS
        ),
        _SUPPRESSED_SPEC,
    ],
    source=CBS_SOURCE,
    licence=CBS_LICENCE,
    attribution=CBS_ATTRIBUTION,
    primary_key="bu_code",
    notes=[
        "CBS value -99999999 (secret/unavailable) is stored as null and listed in suppressed_fields.",
        "BU05059997 is a water buurt without figures.",
    ],
)

KWB_2024_SOURCE = CBS_KWB_2024_SOURCE

WIJKEN_SCHEMA = LayerSchema(
    name="wijken",
    title="Wijken (CBS)",
    description=(
        "The 14 CBS districts of Dordrecht: union of their 2020 buurten, 2020 totals and 2024 key figures."
    ),
    geometry_type="MultiPolygon",
    fields=[
        FieldSpec(name="wk_code", type="string", description="CBS wijk code", source=CBS_SOURCE),
        FieldSpec(name="wk_naam", type="string", description="Wijk name", source=CBS_SOURCE),
        FieldSpec(name="gm_code", type="string", description="CBS gemeente code", source=CBS_SOURCE),
        FieldSpec(name="buurt_count", type="integer", description="Number of 2020 buurten in the wijk"),
        FieldSpec(
            name="aant_inw_2020",
            type="integer",
            unit="persons",
            description="Inhabitants 2020: sum over the wijk's buurten (null if any buurt is suppressed)",
            source=CBS_SOURCE,
        ),
        FieldSpec(
            name="aantal_hh_2020",
            type="integer",
            unit="households",
            description="Private households 2020: sum over the buurten (null if any buurt is suppressed)",
            source=CBS_SOURCE,
        ),
        FieldSpec(
            name="inwoners_2024",
            type="integer",
            unit="persons",
            description="Inhabitants 2024",
            source=KWB_2024_SOURCE,
        ),
        FieldSpec(
            name="woningvoorraad_2024",
            type="integer",
            unit="dwellings",
            description="Dwelling stock 2024",
            source=KWB_2024_SOURCE,
        ),
        FieldSpec(
            name="bev_dichth_2024",
            type="integer",
            unit="inhabitants/km2",
            description="Population density on land 2024",
            source=KWB_2024_SOURCE,
        ),
        FieldSpec(name="area_m2", type="number", unit="m2", description="Area of the wijk polygon"),
    ],
    source=f"{CBS_SOURCE}; {KWB_2024_SOURCE}",
    licence=CBS_LICENCE,
    attribution=CBS_ATTRIBUTION,
    primary_key="wk_code",
    notes=["Geometry is the 2020 buurt union; 2024 wijk boundaries may differ slightly."],
)


def build_buurten(raw: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """CBS buurten with -99999999 turned into nulls and listed per row in ``suppressed_fields``."""
    missing = [name for name, *_ in _BUURT_COLUMNS if name not in raw.columns]
    if missing:
        raise InvalidInputError(f"buurten: source lacks CBS columns {missing}")
    frame = raw[[name for name, *_ in _BUURT_COLUMNS]].copy()
    numeric = [name for name, kind, *_ in _BUURT_COLUMNS if kind in ("integer", "number")]
    suppressed = frame[numeric].eq(CBS_SUPPRESSED)
    for name in numeric:
        kind = BUURTEN_SCHEMA.field(name).type
        frame[name] = frame[name].mask(suppressed[name])
        frame[name] = frame[name].astype("Int64" if kind == "integer" else "float64")
    frame["suppressed_fields"] = [",".join(np.array(numeric)[row]) or None for row in suppressed.to_numpy()]
    geometry = shapely.make_valid(raw.geometry.values)
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=raw.crs).reset_index(drop=True)


def _sum_unless_suppressed(values: pd.Series) -> float:
    """Sum of a group, or NaN when any member is suppressed (so partial sums never pass as totals)."""
    return float("nan") if values.isna().any() else float(values.sum())


def build_wijken(buurten: gpd.GeoDataFrame, kwb_2024: pd.DataFrame) -> gpd.GeoDataFrame:
    """Dissolve buurten into wijken and join the 2024 CBS key figures by wijk code."""
    grouped = buurten.dissolve(
        by="wk_code",
        aggfunc={"wk_naam": "first", "gm_code": "first", "bu_code": "count"},
    ).rename(columns={"bu_code": "buurt_count"})
    totals = buurten.groupby("wk_code").agg(
        aant_inw_2020=("aant_inw", _sum_unless_suppressed),
        aantal_hh_2020=("aantal_hh", _sum_unless_suppressed),
    )
    kwb = kwb_2024.set_index("code").rename(
        columns={
            "AantalInwoners_5": "inwoners_2024",
            "Woningvoorraad_35": "woningvoorraad_2024",
            "Bevolkingsdichtheid_34": "bev_dichth_2024",
        }
    )[["inwoners_2024", "woningvoorraad_2024", "bev_dichth_2024"]]
    frame = grouped.join(totals).join(kwb).reset_index()
    for name in (
        "aant_inw_2020",
        "aantal_hh_2020",
        "inwoners_2024",
        "woningvoorraad_2024",
        "bev_dichth_2024",
    ):
        frame[name] = frame[name].round().astype("Int64")
    frame["area_m2"] = frame.geometry.area
    frame["wk_naam"] = frame["wk_naam"].where(frame["wk_naam"].notna(), None)
    return gpd.GeoDataFrame(frame[[*WIJKEN_SCHEMA.field_names, "geometry"]], crs=buurten.crs)
