"""The Dordrecht demo sensor network as SensorThings deep-insert payloads, and its alert rules.

Two parts:

- **Real air-quality stations** from the shipped RIVM station list (December 2013): every
  station still active then and within :data:`DEFAULT_STATION_RADIUS_KM` of the centre gets NO2,
  PM10 and PM2.5 Datastreams. The stations and their places are real; their observations are
  *simulated* (the list holds no measurements) and say so, naming the station as ``source``.
  The Luchtmeetnet connector fetches real measurements into Things of their own (``lml-`` keys).
- **City sensors that do not exist**: low-cost air sensors, noise meters, crowd counters,
  traffic counters and a weather station, each at a real place in Dordrecht taken from the
  shipped OpenStreetMap data (``CITY_SITES`` names the OSM feature each one lies on; a test
  checks the coordinates against the shipped files). Their Things say ``real_device: false``.

Every Datastream carries ``properties.tweeling_key`` (stable, e.g. ``aq-NL00442-no2``) so the
simulator and the connectors find it again after it is stored, ``simulated`` with a
``simulation_method`` and the simulation parameters (:class:`~tweeling.sensors.simulate.SimulatedStream`).
Parameters are assumed unless a source is named; see ``docs/sensors-simulation.md``.
"""

from __future__ import annotations

import gzip
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from tweeling.citymodel.datadir import DEMO_DIR
from tweeling.citymodel.sensor_sites import build_sensor_sites
from tweeling.citymodel.weather import parse_knmi_daily
from tweeling.core.errors import InvalidInputError
from tweeling.sensors.simulate import Quantity, SimulatedStream
from tweeling.store.sta_schema import OBSERVATION_TYPES

STATIONS_FILE = "rivm_lml_airquality_stations_near_dordrecht_2013.csv"
KNMI_FILE = "knmi_daily_etmgeg_348_cabauw.txt.gz"

OM_MEASUREMENT = next(uri for uri in OBSERVATION_TYPES if uri.endswith("/OM_Measurement"))
GEOJSON = "application/geo+json"
SENSOR_ENCODING = "text/html"

DEFAULT_STATION_RADIUS_KM = 12.0
"""Stations within this distance of the centre join the demo: Dordrecht-Bamendaweg,
Ridderkerk-Hogeweg and Moerdijk-Julianastraat (the next one, Westmaas, is 15.6 km away)."""

SIMULATION_DOC = "docs/sensors-simulation.md"

SensorKind = Literal["air_quality_station", "low_cost_air", "noise", "crowd", "traffic", "weather"]
SENSOR_KINDS: tuple[SensorKind, ...] = (
    "air_quality_station",
    "low_cost_air",
    "noise",
    "crowd",
    "traffic",
    "weather",
)


@dataclass(frozen=True)
class ObservedQuantity:
    """The ObservedProperty and unit of measurement of one quantity."""

    name: str
    definition: str
    description: str
    unit_name: str
    unit_symbol: str
    unit_definition: str

    def datastream_fields(self) -> dict[str, Any]:
        """``unitOfMeasurement``, ``observationType`` and the inline ``ObservedProperty`` of a Datastream."""
        return {
            "unitOfMeasurement": {
                "name": self.unit_name,
                "symbol": self.unit_symbol,
                "definition": self.unit_definition,
            },
            "observationType": OM_MEASUREMENT,
            "ObservedProperty": {
                "name": self.name,
                "definition": self.definition,
                "description": self.description,
            },
        }


_EIONET = "http://dd.eionet.europa.eu/vocabulary/aq/pollutant/"
_QUDT = "http://qudt.org/vocab/unit/"
_CF = "http://vocab.nerc.ac.uk/standard_name/"
_UG_M3 = ("microgram per cubic metre", "µg/m³", f"{_QUDT}MicroGM-PER-M3")

QUANTITIES: Mapping[str, ObservedQuantity] = {
    "no2": ObservedQuantity(
        "NO2", f"{_EIONET}8", "Nitrogen dioxide mass concentration in ambient air.", *_UG_M3
    ),
    "pm10": ObservedQuantity(
        "PM10", f"{_EIONET}5", "Mass concentration of particles smaller than 10 µm in ambient air.", *_UG_M3
    ),
    "pm25": ObservedQuantity(
        "PM2.5",
        f"{_EIONET}6001",
        "Mass concentration of particles smaller than 2.5 µm in ambient air.",
        *_UG_M3,
    ),
    "noise_laeq": ObservedQuantity(
        "LAeq",
        "http://qudt.org/vocab/quantitykind/SoundPressureLevel",
        "A-weighted equivalent continuous sound level over the 5 minutes before the phenomenon time.",
        "A-weighted decibel",
        "dB(A)",
        f"{_QUDT}DeciB_A",
    ),
    "people_count": ObservedQuantity(
        "People count",
        "urn:tweeling:observed-property:people-count",
        "People passing the counting line in the 5 minutes before the phenomenon time, both directions.",
        "people per 5 minutes",
        "people/5 min",
        f"{_QUDT}NUM",
    ),
    "traffic_flow": ObservedQuantity(
        "Traffic flow",
        "urn:tweeling:observed-property:traffic-flow",
        "Motor vehicles passing, both directions, counted over 15 minutes and expressed per hour.",
        "vehicles per hour",
        "veh/h",
        f"{_QUDT}PER-HR",
    ),
    "air_temperature": ObservedQuantity(
        "Air temperature",
        f"{_CF}air_temperature/",
        "Air temperature at 1.5 m.",
        "degree Celsius",
        "°C",
        f"{_QUDT}DEG_C",
    ),
    "wind_speed": ObservedQuantity(
        "Wind speed",
        f"{_CF}wind_speed/",
        "Wind speed at 10 m.",
        "metre per second",
        "m/s",
        f"{_QUDT}M-PER-SEC",
    ),
    "precipitation_rate": ObservedQuantity(
        "Precipitation rate",
        f"{_CF}lwe_precipitation_rate/",
        "Rain rate (liquid water equivalent).",
        "millimetre per hour",
        "mm/h",
        f"{_QUDT}MilliM-PER-HR",
    ),
    "relative_humidity": ObservedQuantity(
        "Relative humidity",
        f"{_CF}relative_humidity/",
        "Relative humidity of the air at 1.5 m.",
        "percent",
        "%",
        f"{_QUDT}PERCENT",
    ),
}

SIMULATION_METHODS: Mapping[str, str] = {
    "no2": "background + traffic increment x diurnal/weekly traffic index, diluted by KNMI daily wind",
    "pm10": "background (rain washout, winter excess) + traffic increment x traffic index, diluted by wind",
    "pm25": "background (rain washout, winter excess) + traffic increment x traffic index, diluted by wind",
    "noise_laeq": "peak-hour LAeq + 10 lg(traffic index), combined with a 45 dB(A) ambient level",
    "people_count": "Poisson counts around a shop-hours (or commuter) profile, fewer on rainy days",
    "traffic_flow": "Poisson counts around peak-hour flow x diurnal/weekly traffic index",
    "air_temperature": "KNMI Cabauw daily min/max joined by a sunrise-to-afternoon diurnal curve",
    "wind_speed": "KNMI Cabauw daily mean wind with an afternoon maximum and log-normal gusts",
    "precipitation_rate": "KNMI Cabauw daily rain spread over random hours of the day's rain duration",
    "relative_humidity": "KNMI Cabauw daily min/max humidity, lowest in the afternoon",
}
"""One line per quantity for ``properties.simulation_method``; the full method is in the doc."""

SENSOR_MODELS: Mapping[SensorKind, tuple[str, str]] = {
    "air_quality_station": (
        "Reference air-quality monitor",
        "Reference monitors of the Landelijk Meetnet Luchtkwaliteit (values here simulated).",
    ),
    "low_cost_air": (
        "Low-cost air sensor",
        "Electrochemical NO2 and optical particle sensor, uncalibrated (simulated).",
    ),
    "noise": ("Sound level meter", "Class 1 sound level meter logging 5-minute LAeq (simulated)."),
    "crowd": ("People counter", "Camera-based counting line, anonymous counts only (simulated)."),
    "traffic": ("Traffic counter", "Induction loops in every lane, 15-minute counts (simulated)."),
    "weather": ("Weather station", "Automatic weather station (simulated from KNMI Cabauw daily data)."),
}


@dataclass(frozen=True)
class CitySite:
    """A real place in Dordrecht where a demo sensor stands, and where it was read off.

    ``lon``/``lat`` (WGS84, degrees, rounded to 1e-6) lie on the OSM way called ``way`` whose
    OpenMapTiles class in the shipped ``osm_transportation.parquet`` is ``road_class`` (both None
    for a point taken from a POI), within ``near_poi_m`` metres of the POI ``near_poi`` of the
    shipped ``osm_poi.parquet``. The way names come from the OpenMapTiles ``transportation_name``
    layer of the same 2021 extract (not shipped).
    """

    key: str
    name: str
    lon: float
    lat: float
    way: str | None
    road_class: str | None
    near_poi: str
    near_poi_m: float

    @property
    def osm_feature(self) -> str:
        """Where the site lies, in words."""
        if self.way is None:
            return f"OSM point of interest {self.near_poi}"
        return f"OSM {self.road_class} way {self.way}, within {self.near_poi_m:g} m of {self.near_poi}"


# fmt: off
CITY_SITES: Mapping[str, CitySite] = {
    site.key: site
    for site in (
        CitySite("spuiboulevard", "Spuiboulevard", 4.660801, 51.812133, "Spuiboulevard", "tertiary",
                 "Spuihaven", 90.0),
        CitySite("stationsplein", "Stationsplein", 4.668680, 51.807703, "Stationsplein", "secondary",
                 "Centraal Station", 55.0),
        CitySite("raadtsingel", "Burgemeester de Raadtsingel", 4.669406, 51.807622,
                 "Burgemeester de Raadtsingel", "secondary", "Centraal Station", 15.0),
        CitySite("laan-vn", "Laan der Verenigde Naties", 4.654244, 51.797384, "Laan der Verenigde Naties",
                 "secondary", "Schapenkoppenmonument", 120.0),
        CitySite("rondweg-n3", "Rondweg N3", 4.698877, 51.804557, "Rondweg", "trunk",
                 "Sportpark Reeweg", 220.0),
        CitySite("merwedestraat", "Merwedestraat", 4.698384, 51.818121, "Merwedestraat", "secondary",
                 "Staart-West", 115.0),
        CitySite("oranjelaan", "Oranjelaan", 4.684187, 51.813198, "Oranjelaan", "secondary",
                 "Noorderkerk", 135.0),
        CitySite("statenplein", "Statenplein", 4.668487, 51.814482, "Statenplein", "pedestrian",
                 "Statenplein", 15.0),
        CitySite("visstraat", "Visstraat", 4.666411, 51.813351, "Visstraat", "minor",
                 "Parkeergarage Visstraat", 60.0),
        CitySite("sarisgang", "Sarisgang", 4.667971, 51.813376, "Sarisgang", "pedestrian",
                 "Avenue Sarisgang", 10.0),
        CitySite("scheffersplein", "Scheffersplein", 4.667494, 51.815246, "Scheffersplein", "pedestrian",
                 "Scheffersplein", 30.0),
        CitySite("grote-kerk", "Grote Kerk", 4.660562, 51.813950, "Pottenkade", "pedestrian",
                 "Grote of Onze-Lieve-Vrouwekerk", 25.0),
        CitySite("centraal-station", "Dordrecht Centraal", 4.669383, 51.807537, None, None,
                 "Centraal Station", 1.0),
        CitySite("stadhuis", "Stadhuis", 4.664356, 51.813944, None, None, "Stadhuis", 1.0),
    )
}
# fmt: on
"""Places of the city sensors, read off the OSM 2021 data of the demo."""


COMFORT_FLOW_PER_MIN_M = 10.0
"""People per minute per metre of walkable width at which a zone counts as full (assumed; well
below Fruin's level-of-service A limit of about 23 people/min/m, because shoppers linger)."""


@dataclass(frozen=True)
class CrowdZone:
    """A counting zone: walkable width (m, assumed, estimated from the map) and its busiest 5 min."""

    site: str
    width_m: float
    peak_per_5min: float
    pattern: Literal["shopping", "commuter"] = "shopping"

    @property
    def capacity(self) -> int:
        """People per 5 minutes at which the zone is full: width x comfort flow x 5 min."""
        return round(self.width_m * COMFORT_FLOW_PER_MIN_M * 5)


CROWD_ZONES: tuple[CrowdZone, ...] = (
    CrowdZone("visstraat", 8.0, 300.0),
    CrowdZone("sarisgang", 6.0, 180.0),
    CrowdZone("statenplein", 20.0, 350.0),
    CrowdZone("scheffersplein", 20.0, 250.0),
    CrowdZone("grote-kerk", 6.0, 90.0),
    CrowdZone("centraal-station", 15.0, 450.0, "commuter"),
)
"""Crowd counters (assumed widths and peaks: King's Day lifts shopping zones 2.5-fold, which fills
Visstraat and Sarisgang; ordinary Saturdays stay below capacity)."""

ROAD_PEAK_SHARE = 0.6
"""Peak-hour flow as a share of the two-direction capacity of the road class (assumed)."""

ROAD_CLASS_CAPACITY = {"trunk": 3600.0, "secondary": 1500.0, "tertiary": 900.0}
"""Capacity per direction (vehicles/h) of the road classes, as in docs/roads.md (assumed there)."""

TRAFFIC_SITES = ("spuiboulevard", "raadtsingel", "laan-vn", "merwedestraat", "oranjelaan", "rondweg-n3")

NOISE_PEAK_DBA: Mapping[str, float] = {
    "spuiboulevard": 68.0,
    "raadtsingel": 70.0,
    "laan-vn": 71.0,
    "rondweg-n3": 74.0,
}
"""LAeq in the weekday peak hour at each noise meter (assumed, typical of façades along Dutch
urban main roads; higher by the N3 with its 80 km/h traffic)."""

LOW_COST_AIR: Mapping[str, tuple[float, float, float, float]] = {
    "spuiboulevard": (17.0, 16.0, 9.5, 2.0),
    "stationsplein": (17.0, 14.0, 9.5, 1.5),
    "laan-vn": (17.0, 18.0, 9.5, 2.0),
    "statenplein": (15.0, 5.0, 9.0, 0.5),
}
"""Low-cost air sensors: NO2 background, NO2 traffic increment, PM2.5 background, PM2.5 increment
(µg/m³, assumed; urban background around 15-20 µg/m³ NO2 and 9-10 µg/m³ PM2.5, larger
traffic increments by busy roads, small on the car-free Statenplein)."""

LOW_COST_MEASUREMENT_SD = 0.3
"""Log-normal error of uncalibrated low-cost sensors (assumed, twice a reference monitor's)."""

STATION_PARAMETERS: Mapping[str, Mapping[str, tuple[float, float]]] = {
    "urban": {"no2": (17.0, 8.0), "pm10": (17.0, 3.0), "pm25": (9.5, 1.5)},
    "suburban": {"no2": (15.0, 5.0), "pm10": (16.0, 2.0), "pm25": (9.0, 1.0)},
    "rural": {"no2": (11.0, 2.0), "pm10": (15.0, 1.0), "pm25": (8.5, 0.5)},
    "unknown": {"no2": (17.0, 8.0), "pm10": (17.0, 3.0), "pm25": (9.5, 1.5)},
}
"""(background, traffic increment) in µg/m³ by the station's EIONET area class (assumed)."""

WEATHER_SITE = "stadhuis"

STATION_POLLUTANTS: tuple[Quantity, ...] = ("no2", "pm10", "pm25")

WEATHER_STREAMS: tuple[tuple[str, Quantity], ...] = (
    ("temperature", "air_temperature"),
    ("wind", "wind_speed"),
    ("precipitation", "precipitation_rate"),
    ("humidity", "relative_humidity"),
)
"""Key suffix and quantity of the weather station's Datastreams."""


# --- sensor register ----------------------------------------------------------------------

CITY_OWNER = "Gemeente Dordrecht"

COUNTS_RETENTION_DAYS = 5 * 365 + 1
"""People counts are kept five years (assumed policy of the demo), as daily-scale evidence for
crowd management and events; the camera images they come from are never stored."""

NO_PERSONAL_DATA = "Not needed under the AVG/GDPR: the sensor captures no personal data"

OPEN_SERIES = "No limit: open data without personal data, kept as a long-term series"

SENSOR_PURPOSES: Mapping[SensorKind, str] = {
    "air_quality_station": (
        "Air-quality monitoring (NO2, PM10, PM2.5) for the official network that checks the EU limit values"
    ),
    "low_cost_air": (
        "Indicative air-quality monitoring (NO2, PM2.5) along busy streets, between official stations"
    ),
    "noise": "Road-traffic noise monitoring (5-minute LAeq levels only; no sound is recorded)",
    "crowd": (
        "Crowd monitoring: counting people passing a line in the city centre to manage crowding at "
        "events and busy days and to warn when a zone is full"
    ),
    "traffic": "Counting motor vehicles per lane (induction loops) for traffic management and planning",
    "weather": "Local weather (temperature, wind, rain, humidity) for heat and air-quality analyses",
}
"""Why each kind of demo sensor is there, in the words of the sensor register."""


def sensor_register_entry(kind: SensorKind, *, owner: str = CITY_OWNER) -> dict[str, Any]:
    """``properties.register`` of a demo Thing: purpose, owner, personal data, legal basis, retention.

    Only the crowd counters can capture personal data: camera-based counting lines see the people
    passing. They count on the device and keep the counts, not the images; their legal basis is
    the municipality's public task (Gemeentewet art. 160, AVG art. 6(1)(e)).
    """
    entry: dict[str, Any] = {
        "purpose": SENSOR_PURPOSES[kind],
        "owner": owner,
        "personal_data": False,
        "personal_data_kinds": [],
        "legal_basis": NO_PERSONAL_DATA,
        "retention_days": None,
        "retention": OPEN_SERIES,
        "status": "public",
    }
    if kind == "air_quality_station":
        entry["legal_basis"] = (
            "EU Air Quality Directive 2008/50/EC: the State monitors air quality (no personal data)"
        )
    if kind == "crowd":
        entry |= {
            "personal_data": True,
            "personal_data_kinds": [
                "camera images of people passing (turned into counts on the device; not stored or sent)"
            ],
            "legal_basis": "Gemeentewet art. 160 / AVG art. 6(1)(e)",
            "retention_days": COUNTS_RETENTION_DAYS,
            "retention": (
                "Counts (people per 5 minutes) kept 5 years; camera images are never stored or sent"
            ),
        }
    return entry


def station_owner(national_code: str) -> str:
    """Who runs an official air-quality station: RIVM for the national network (numeric codes),
    DCMR for the regional Rijnmond stations the list carries with letter codes (Ridderkerk)."""
    if national_code.isdigit():
        return "RIVM (Landelijk Meetnet Luchtkwaliteit)"
    return "DCMR Milieudienst Rijnmond (regional network; data reported through RIVM)"


# --- payload builders ---------------------------------------------------------------------


def _location(name: str, description: str, lon: float, lat: float) -> dict[str, Any]:
    return {
        "name": name,
        "description": description,
        "encodingType": GEOJSON,
        "location": {"type": "Point", "coordinates": [lon, lat]},
    }


def _datastream(
    thing_name: str,
    kind: SensorKind,
    stream: SimulatedStream,
    source: str,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    quantity = QUANTITIES[stream.quantity]
    sensor_name, sensor_description = SENSOR_MODELS[kind]
    properties: dict[str, Any] = {
        "tweeling_key": stream.key,
        "simulated": True,
        "simulation_method": f"{SIMULATION_METHODS[stream.quantity]} (see {SIMULATION_DOC})",
        "simulation": stream.to_properties(),
        "sampling_interval_s": stream.sampling_interval_s,
        "source": source,
    }
    properties.update(extra or {})
    return {
        "name": f"{thing_name}: {quantity.name}",
        "description": f"{quantity.description} Simulated values.",
        **quantity.datastream_fields(),
        "Sensor": {
            "name": sensor_name,
            "description": sensor_description,
            "encodingType": SENSOR_ENCODING,
            "metadata": SIMULATION_DOC,
        },
        "properties": properties,
    }


def station_things(
    stations: pd.DataFrame, *, max_distance_km: float = DEFAULT_STATION_RADIUS_KM
) -> list[dict[str, Any]]:
    """Things of the active RIVM stations within ``max_distance_km`` of Dordrecht centre.

    ``stations`` is the shipped RIVM list (columns EUStationCode, Name, Lat, Lon, ...). Each
    Thing has the station's own coordinates (ETRS89, within a metre of WGS84) and NO2, PM10
    and PM2.5 Datastreams keyed ``aq-<EU code>-<pollutant>``, nearest station first.
    """
    sites = build_sensor_sites(stations).reset_index(drop=True)
    coordinates = stations.reset_index(drop=True)
    chosen = sites[sites["active"] & (sites["distance_to_centre_km"] <= max_distance_km)]
    things = []
    for row in chosen.sort_values("distance_to_centre_km").itertuples():
        source_row = coordinates.loc[row.Index]
        lon, lat = float(source_row["Lon"]), float(source_row["Lat"])
        code, name = str(row.site_id), str(row.name)
        area = str(row.area_classification or "unknown")
        national = str(row.national_code or "")
        network = (
            "RIVM Landelijk Meetnet Luchtkwaliteit"
            if national.isdigit()
            else f"regional network (national code {national}), reported by RIVM"
        )
        parameters = STATION_PARAMETERS.get(area, STATION_PARAMETERS["unknown"])
        luchtmeetnet = row.luchtmeetnet_code if isinstance(row.luchtmeetnet_code, str) else None
        source = f"RIVM station {code} {name}" + (f" (Luchtmeetnet {luchtmeetnet})" if luchtmeetnet else "")
        source += ": real station and location, simulated values"
        properties: dict[str, Any] = {
            "kind": "air_quality_station",
            "tweeling_key": f"aq-{code}",
            "station_code": code,
            "national_code": row.national_code,
            "area_classification": area,
            "network": network,
            "real_device": True,
            "location_source": "RIVM EIONET e-Reporting station list, December 2013 (shipped)",
            "register": sensor_register_entry("air_quality_station", owner=station_owner(national)),
        }
        if luchtmeetnet:
            properties["luchtmeetnet_code"] = luchtmeetnet
        datastreams = []
        for pollutant in STATION_POLLUTANTS:
            background, increment = parameters[pollutant]
            stream = SimulatedStream(
                f"aq-{code}-{pollutant}",
                pollutant,
                background=background,
                traffic_increment=increment,
            )
            datastreams.append(_datastream(name, "air_quality_station", stream, source))
        things.append(
            {
                "name": name,
                "description": (
                    f"Air-quality monitoring station (area class {area}) of the {network}, "
                    f"{row.distance_to_centre_km:.1f} km from Dordrecht centre. Real station; the demo's "
                    "observations are simulated."
                ),
                "properties": properties,
                "Locations": [_location(name, f"Station {code} as listed by RIVM (2013)", lon, lat)],
                "Datastreams": datastreams,
            }
        )
    return things


_CITY_SOURCE = "Tweeling demo: simulated sensor at a real place (the sensor itself does not exist)"


def _city_thing(
    kind: SensorKind, site_key: str, title: str, datastreams: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    site = CITY_SITES[site_key]
    name = f"{title} {site.name}"
    return {
        "name": name,
        "description": (
            f"{SENSOR_MODELS[kind][1]} Demo sensor of the Tweeling twin: the place is real "
            f"({site.osm_feature}), the sensor is not."
        ),
        "properties": {
            "kind": kind,
            "tweeling_key": f"{_KIND_PREFIX[kind]}-{site_key}",
            "site": site_key,
            "real_device": False,
            **extra,
            "register": sensor_register_entry(kind),
        },
        "Locations": [
            _location(
                site.name,
                f"{site.osm_feature} (OpenStreetMap contributors, 2021; shipped demo data)",
                site.lon,
                site.lat,
            )
        ],
        "Datastreams": datastreams,
    }


_KIND_PREFIX: Mapping[SensorKind, str] = {
    "air_quality_station": "aq",
    "low_cost_air": "air",
    "noise": "noise",
    "crowd": "crowd",
    "traffic": "traffic",
    "weather": "weather",
}


def city_things() -> list[dict[str, Any]]:
    """Things of the simulated city sensors: air, noise, crowd, traffic and weather."""
    things = []
    for site_key, (no2_bg, no2_inc, pm_bg, pm_inc) in LOW_COST_AIR.items():
        title = f"Air sensor {CITY_SITES[site_key].name}"
        streams = [
            SimulatedStream(
                f"air-{site_key}-no2",
                "no2",
                background=no2_bg,
                traffic_increment=no2_inc,
                measurement_sd=LOW_COST_MEASUREMENT_SD,
                interval_s=600,
            ),
            SimulatedStream(
                f"air-{site_key}-pm25",
                "pm25",
                background=pm_bg,
                traffic_increment=pm_inc,
                measurement_sd=LOW_COST_MEASUREMENT_SD,
                interval_s=600,
            ),
        ]
        datastreams = [_datastream(title, "low_cost_air", s, _CITY_SOURCE) for s in streams]
        things.append(_city_thing("low_cost_air", site_key, "Air sensor", datastreams))
    for site_key, peak in NOISE_PEAK_DBA.items():
        stream = SimulatedStream(f"noise-{site_key}-laeq", "noise_laeq", peak=peak)
        title = f"Noise meter {CITY_SITES[site_key].name}"
        things.append(
            _city_thing("noise", site_key, "Noise meter", [_datastream(title, "noise", stream, _CITY_SOURCE)])
        )
    for zone in CROWD_ZONES:
        site = CITY_SITES[zone.site]
        stream = SimulatedStream(
            f"crowd-{zone.site}-count", "people_count", peak=zone.peak_per_5min, pattern=zone.pattern
        )
        extra = {
            "zone": site.name,
            "capacity": zone.capacity,
            "capacity_unit": "people per 5 minutes",
            "capacity_method": (
                f"assumed walkable width {zone.width_m:g} m x {COMFORT_FLOW_PER_MIN_M:g} people/min/m x 5 min"
            ),
        }
        title = f"People counter {site.name}"
        datastream = _datastream(title, "crowd", stream, _CITY_SOURCE, extra)
        things.append(_city_thing("crowd", zone.site, "People counter", [datastream], zone=site.name))
    for site_key in TRAFFIC_SITES:
        site = CITY_SITES[site_key]
        road_class = site.road_class or "secondary"
        peak = round(ROAD_PEAK_SHARE * 2 * ROAD_CLASS_CAPACITY[road_class])
        stream = SimulatedStream(f"traffic-{site_key}-flow", "traffic_flow", peak=float(peak))
        extra = {
            "road_class": road_class,
            "peak_method": f"{ROAD_PEAK_SHARE:g} x 2 directions x class capacity",
        }
        title = f"Traffic counter {site.name}"
        datastream = _datastream(title, "traffic", stream, _CITY_SOURCE, extra)
        things.append(_city_thing("traffic", site_key, "Traffic counter", [datastream]))
    weather_source = (
        "KNMI daily weather of station 348 Cabauw (shipped; about 25 km north-east), spread over the day"
    )
    weather_streams = [
        SimulatedStream(f"weather-{WEATHER_SITE}-{suffix}", quantity) for suffix, quantity in WEATHER_STREAMS
    ]
    title = f"Weather station {CITY_SITES[WEATHER_SITE].name}"
    things.append(
        _city_thing(
            "weather",
            WEATHER_SITE,
            "Weather station",
            [_datastream(title, "weather", s, weather_source) for s in weather_streams],
        )
    )
    return things


def demo_things(
    stations: pd.DataFrame, *, max_station_distance_km: float = DEFAULT_STATION_RADIUS_KM
) -> list[dict[str, Any]]:
    """The whole demo network: RIVM stations first, then the city sensors."""
    things = station_things(stations, max_distance_km=max_station_distance_km) + city_things()
    keys = [ds["properties"]["tweeling_key"] for thing in things for ds in thing["Datastreams"]]
    if len(set(keys)) != len(keys):
        raise InvalidInputError("demo network: two Datastreams share a tweeling_key")
    return things


def iter_datastreams(
    things: Sequence[Mapping[str, Any]],
) -> list[tuple[Mapping[str, Any], Mapping[str, Any]]]:
    """(Thing, Datastream) pairs of deep-insert payloads, in order."""
    return [(thing, datastream) for thing in things for datastream in thing.get("Datastreams", [])]


PM25_RISE_PER_HOUR = 50.0
"""Rate of rise (µg/m³ per hour) of the demo's PM2.5 alert (assumed)."""


def resolve_alert_rules(
    rules: Sequence[Mapping[str, Any]], datastream_ids: Mapping[str, int]
) -> list[dict[str, Any]]:
    """Rules ready for the hub: each ``datastream_key`` replaced by ``datastream_id``.

    InvalidInputError names keys that have no stored Datastream.
    """
    missing = sorted(
        str(rule["datastream_key"])
        for rule in rules
        if "datastream_key" in rule and rule["datastream_key"] not in datastream_ids
    )
    if missing:
        raise InvalidInputError(f"alert rules name Datastream(s) not stored yet: {', '.join(missing)}")
    resolved = []
    for rule in rules:
        rule = dict(rule)
        if "datastream_key" in rule:
            rule["datastream_id"] = datastream_ids[rule.pop("datastream_key")]
        resolved.append(rule)
    return resolved


def demo_alert_rules(things: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Default alert rules of the demo as plain dicts (the lead maps ``datastream_key`` to ids).

    - NO2 hourly mean above 200 µg/m³: the EU limit value for the protection of human
      health, Directive 2008/50/EC Annex XI (not to be exceeded more than 18 times a year).
    - PM2.5 rising faster than :data:`PM25_RISE_PER_HOUR` between observations at most an
      hour apart: assumed threshold (no legal basis) that flags a local source such as a fire
      or fireworks; simulated reference stations cross it only at New Year, low-cost sensors by
      busy roads also about ten times a year from their own noise.
    - One rule per crowd counter: count above the zone's ``capacity`` (people per 5 min),
      naming the Datastream by ``datastream_key``; :func:`resolve_alert_rules` turns that into
      the stored Datastream's id.
    """
    rules: list[dict[str, Any]] = [
        {
            "name": "NO2 hourly mean above EU limit",
            "observed_property": "NO2",
            "kind": "threshold",
            "statistic": "hourly_mean",
            "operator": ">",
            "threshold": 200.0,
            "severity": "warning",
            "message": (
                "Hourly mean NO2 above 200 µg/m³, the EU limit value for human health "
                "(Directive 2008/50/EC, Annex XI; at most 18 hours a calendar year)."
            ),
        },
        {
            "name": "PM2.5 rising fast",
            "observed_property": "PM2.5",
            "kind": "rate_of_change",
            "statistic": "value",
            "operator": ">",
            "threshold": PM25_RISE_PER_HOUR,
            "window_seconds": 3600,
            "severity": "info",
            "message": (
                f"PM2.5 rising faster than {PM25_RISE_PER_HOUR:g} µg/m³ per hour: a local source such as a "
                "fire or fireworks? (Assumed threshold, no legal limit.)"
            ),
        },
    ]
    for _, datastream in iter_datastreams(things):
        properties = datastream.get("properties", {})
        if "capacity" not in properties:
            continue
        zone = properties.get("zone", properties["tweeling_key"])
        rules.append(
            {
                "name": f"Crowd above capacity: {zone}",
                "datastream_key": properties["tweeling_key"],
                "kind": "threshold",
                "statistic": "value",
                "operator": ">",
                "threshold": float(properties["capacity"]),
                "severity": "warning",
                "message": (
                    f"More than {properties['capacity']} people in 5 minutes at {zone}: the zone is full "
                    f"({properties['capacity_method']})."
                ),
            }
        )
    return rules


# --- the shipped files ---------------------------------------------------------------------


def read_demo_stations(demo_dir: Path = DEMO_DIR) -> pd.DataFrame:
    """The shipped RIVM station list; InvalidInputError when the file is missing."""
    path = demo_dir / STATIONS_FILE
    if not path.exists():
        raise InvalidInputError(
            f"{STATIONS_FILE} missing from {demo_dir}; rebuild with scripts/build_demo_data.py"
        )
    return pd.read_csv(path)


def read_demo_weather(demo_dir: Path = DEMO_DIR) -> pd.DataFrame:
    """The shipped KNMI daily series (station 348 Cabauw), parsed."""
    path = demo_dir / KNMI_FILE
    if not path.exists():
        raise InvalidInputError(
            f"{KNMI_FILE} missing from {demo_dir}; rebuild with scripts/build_demo_data.py"
        )
    with gzip.open(path, "rt", encoding="latin-1") as handle:
        return parse_knmi_daily(handle.read())


def read_demo_things(demo_dir: Path = DEMO_DIR) -> list[dict[str, Any]]:
    """The demo network built from the shipped station list."""
    return demo_things(read_demo_stations(demo_dir))
