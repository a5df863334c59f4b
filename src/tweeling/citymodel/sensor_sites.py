"""Air-quality monitoring sites in and around Dordrecht (station metadata, no measurements).

Built from the RIVM EIONET e-Reporting station list of December 2013
(REP_D-NL_RIVM_20131220_D-001), cut to the 32 stations within 30 km of Dordrecht. The
layer holds where the stations are and when they were active *according to that list*;
it holds no measurements (``observes`` is empty: "metadata only").

Luchtmeetnet codes: Luchtmeetnet names the Dordrecht-Bamendaweg station (EIONET NL00442)
NL10442. For the other stations of the RIVM national network (numeric national code) the
same pattern ``NL10`` + national number is *derived*, not checked against Luchtmeetnet;
stations of regional networks (letter codes such as RID, RZW of DCMR Rijnmond) get none,
because their Luchtmeetnet prefix differs and is not known here.
"""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from tweeling.core.crs import STORE_EPSG, transformer
from tweeling.core.errors import InvalidInputError
from tweeling.core.schema import FieldSpec, LayerSchema

SOURCE_EPSG = 4258
"""ETRS89 lat/lon, the CRS of the RIVM station list (within a metre of WGS84 here)."""

DORDRECHT_CENTRE_RD: tuple[float, float] = (106000.0, 423500.0)
"""Dordrecht centre in RD New (m), the point the source's distances were measured from."""

SENSOR_SITE_COLUMNS = [
    "site_id",
    "name",
    "national_code",
    "luchtmeetnet_code",
    "municipality",
    "area_classification",
    "active",
    "activity_begin",
    "activity_end",
    "altitude_m",
    "distance_to_centre_km",
    "in_dordrecht",
    "observes",
]

_REQUIRED = ["EUStationCode", "Name", "NatlStationCode", "Lat", "Lon", "ActivityBegin", "ActivityEnd"]
_SOURCE = "RIVM EIONET e-Reporting station list REP_D-NL_RIVM_20131220_D-001 (via Geonovum/sospilot)"

SENSOR_SITES_SCHEMA = LayerSchema(
    name="sensor_sites",
    title="Air-quality monitoring sites",
    description=(
        "Locations and activity periods of official air-quality monitoring stations within 30 km of "
        "Dordrecht (station metadata only, no measurements)."
    ),
    geometry_type="Point",
    fields=[
        FieldSpec(
            name="site_id",
            type="string",
            description="EIONET station code (e.g. NL00442).",
            source="RIVM",
            nullable=False,
        ),
        FieldSpec(name="name", type="string", description="Station name (place-street).", source="RIVM"),
        FieldSpec(
            name="national_code",
            type="string",
            description="National station code: a number for RIVM LML stations, letters for regional ones.",
            source="RIVM",
        ),
        FieldSpec(
            name="luchtmeetnet_code",
            type="string",
            description="Station number on luchtmeetnet.nl (e.g. NL10442); empty where not known.",
            estimated=True,
            method=(
                "'NL10' + three-digit national code for RIVM stations with a numeric national code. "
                "Confirmed only for NL00442 -> NL10442 (Dordrecht-Bamendaweg); derived by the same "
                "pattern for the others. Regional-network stations (letter codes) get none."
            ),
        ),
        FieldSpec(
            name="municipality",
            type="string",
            description="Municipality as given in the list (often empty).",
            source="RIVM",
        ),
        FieldSpec(
            name="area_classification",
            type="string",
            description="EIONET area classification: urban, suburban, rural or unknown.",
            source="RIVM",
        ),
        FieldSpec(
            name="active",
            type="boolean",
            description="True when the station had no end of activity in the December 2013 list.",
            source="RIVM",
            nullable=False,
        ),
        FieldSpec(name="activity_begin", type="date", description="Start of activity.", source="RIVM"),
        FieldSpec(
            name="activity_end",
            type="date",
            description="End of activity; empty while active (as of the 2013 list).",
            source="RIVM",
        ),
        FieldSpec(
            name="altitude_m",
            type="number",
            description="Altitude of the station as given in the list.",
            unit="m",
            source="RIVM",
        ),
        FieldSpec(
            name="distance_to_centre_km",
            type="number",
            description="Straight-line distance from Dordrecht centre (RD 106000, 423500).",
            unit="km",
            method="Planar distance in RD New between the station and the centre point.",
        ),
        FieldSpec(
            name="in_dordrecht",
            type="boolean",
            description=(
                "True when the station lies inside the municipality outline given to the builder; "
                "empty when no outline was given."
            ),
            method="Point in polygon (covers) against the union of the CBS 2020 buurten.",
        ),
        FieldSpec(
            name="observes",
            type="string",
            description="Pollutants measured; empty: the source list is metadata only.",
        ),
    ],
    source=_SOURCE,
    licence="RIVM / EIONET e-Reporting open data (no explicit licence stated in the source)",
    attribution="RIVM, Landelijk Meetnet Luchtkwaliteit",
    primary_key="site_id",
    notes=[
        "Metadata only: no measurements and no list of measured pollutants (observes is empty).",
        "Activity state is as of December 2013; stations opened or closed since are not reflected.",
        "Coordinates transformed from EPSG:4258 (ETRS89) to EPSG:28992 with pyproj (always_xy).",
        "luchtmeetnet_code is derived (see its method); only NL10442 for Dordrecht-Bamendaweg is "
        "documented in the data provenance.",
    ],
)


def _text(value: object) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _date(value: object) -> pd.Timestamp | None:
    """The calendar date of a source timestamp such as '2010-10-01 00:00:00+01:00' (None if empty)."""
    text = _text(value)
    if text is None:
        return None
    match = re.match(r"^\d{4}-\d{2}-\d{2}", text)
    if not match:
        raise InvalidInputError(f"station list: cannot read the date {text!r} (expected YYYY-MM-DD...)")
    return pd.Timestamp(match.group(0))


def _area_class(value: object) -> str | None:
    """Last part of an EIONET vocabulary URL (…/areaclassification/urban -> urban)."""
    text = _text(value)
    if text is None:
        return None
    return text.rstrip("/").rsplit("/", 1)[-1]


def luchtmeetnet_code(eu_code: str | None, national_code: str | None) -> str | None:
    """Derived Luchtmeetnet number ('NL10' + national number) for RIVM stations, else None.

    Applies when the national code is numeric and equals the number in the EIONET code
    NL00xxx (so NL00442 / '442' -> NL10442). Regional-network stations return None.
    """
    if eu_code is None or national_code is None:
        return None
    match = re.fullmatch(r"NL00(\d{3})", eu_code)
    if not match or not national_code.isdigit() or int(national_code) != int(match.group(1)):
        return None
    return f"NL10{match.group(1)}"


def build_sensor_sites(
    stations: pd.DataFrame,
    municipality: shapely.Geometry | None = None,
    *,
    centre: tuple[float, float] = DORDRECHT_CENTRE_RD,
) -> gpd.GeoDataFrame:
    """Monitoring sites from the RIVM station list (columns EUStationCode, Name, Lat, Lon, ...).

    ``municipality`` is an outline in EPSG:28992 (e.g. the union of the CBS buurten); when
    given, ``in_dordrecht`` says whether each site lies inside it, else it is empty.
    Returns a GeoDataFrame in EPSG:28992 with the columns of :data:`SENSOR_SITES_SCHEMA`.
    """
    missing = [c for c in _REQUIRED if c not in stations.columns]
    if missing:
        raise InvalidInputError(f"station list lacks column(s) {missing}; it has {list(stations.columns)}")
    lat = pd.to_numeric(stations["Lat"], errors="coerce").to_numpy(dtype="float64")
    lon = pd.to_numeric(stations["Lon"], errors="coerce").to_numpy(dtype="float64")
    bad = np.isnan(lat) | np.isnan(lon) | (np.abs(lat) > 90) | (np.abs(lon) > 180)
    if bad.any():
        first = _text(stations["EUStationCode"].iloc[int(np.argmax(bad))])
        raise InvalidInputError(
            f"station list: {int(bad.sum())} station(s) without valid Lat/Lon (first: {first})"
        )
    x, y = transformer(SOURCE_EPSG, STORE_EPSG).transform(lon, lat)
    points = shapely.points(np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64"))

    site_ids = [_text(v) for v in stations["EUStationCode"]]
    if any(s is None for s in site_ids):
        raise InvalidInputError("station list: every station needs an EUStationCode")
    if len(set(site_ids)) != len(site_ids):
        raise InvalidInputError("station list: EUStationCode values are not unique")
    national = [_text(v) for v in stations["NatlStationCode"]]
    ends = [_date(v) for v in stations["ActivityEnd"]]

    if municipality is None:
        inside = pd.array([pd.NA] * len(stations), dtype="boolean")
    else:
        inside = pd.array(shapely.covers(municipality, points), dtype="boolean")

    altitude = (
        pd.to_numeric(stations["Altitude"], errors="coerce").astype("float64")
        if "Altitude" in stations.columns
        else pd.Series(np.nan, index=stations.index)
    )
    out = pd.DataFrame(
        {
            "site_id": site_ids,
            "name": [_text(v) for v in stations["Name"]],
            "national_code": national,
            "luchtmeetnet_code": [luchtmeetnet_code(s, n) for s, n in zip(site_ids, national, strict=True)],
            "municipality": pd.Series(
                [_text(v) for v in stations.get("Municipality", [None] * len(stations))], dtype="object"
            ),
            "area_classification": [
                _area_class(v) for v in stations.get("AreaClassification", [None] * len(stations))
            ],
            "active": [e is None for e in ends],
            "activity_begin": pd.to_datetime(
                pd.Series([_date(v) for v in stations["ActivityBegin"]], dtype="object")
            ),
            "activity_end": pd.to_datetime(pd.Series(ends, dtype="object")),
            "altitude_m": altitude.to_numpy(),
            "distance_to_centre_km": np.hypot(np.asarray(x) - centre[0], np.asarray(y) - centre[1]) / 1000.0,
            "in_dordrecht": inside,
            "observes": pd.Series([None] * len(stations), dtype="object"),
        }
    )
    out["active"] = out["active"].astype(bool)
    return gpd.GeoDataFrame(out[SENSOR_SITE_COLUMNS], geometry=points, crs=STORE_EPSG)
