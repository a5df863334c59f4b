"""A scenario: a named baseline plus an ordered list of typed, validated interventions.

Scenario documents are JSON or YAML. Geometry is GeoJSON in the scenario's ``crs`` (default
EPSG:4326 lon/lat, as a map viewer draws it; EPSG:28992 RD metres is accepted too). The checks
here are the ones that need no city: types, ranges, shapes. The checks against the city (inside
the municipality, known roads and facilities) are in :mod:`tweeling.scenarios.apply`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tweeling.scenarios.city import HOUSEHOLD_TYPES

SCENARIO_CRS = ("EPSG:4326", "EPSG:28992")

FACILITY_TYPES = ("gp", "pharmacy", "supermarket", "school", "care_home")
"""Facility types a scenario can add or remove (the types the proximity and care models read)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Geometry(_Strict):
    """A GeoJSON geometry (Polygon, MultiPolygon, Point or MultiPoint)."""

    type: Literal["Polygon", "MultiPolygon", "Point", "MultiPoint"]
    coordinates: list[Any]


class HouseholdMix(_Strict):
    """Shares of new dwellings by household type; they must add up to 1."""

    starters: float = Field(default=0.4, ge=0, le=1)
    families: float = Field(default=0.4, ge=0, le=1)
    seniors: float = Field(default=0.2, ge=0, le=1)

    @model_validator(mode="after")
    def _sums_to_one(self) -> HouseholdMix:
        total = sum(getattr(self, kind) for kind in HOUSEHOLD_TYPES)
        if abs(total - 1.0) > 0.01:
            raise ValueError(f"household shares must add up to 1, they add up to {total:.2f}")
        return self


class HousingProject(_Strict):
    """New housing on a site (a polygon), optionally replacing the buildings there."""

    type: Literal["housing_project"]
    name: str = Field(default="housing project", max_length=200)
    geometry: Geometry | None = Field(default=None, description="Site footprint (Polygon/MultiPolygon)")
    replace_buildings: list[int] = Field(default_factory=list, description="building_id values to demolish")
    replace_existing: bool = Field(
        default=False, description="Demolish every building whose centroid is on the site"
    )
    dwellings: int = Field(ge=0, le=20_000, description="Number of new dwellings")
    household_mix: HouseholdMix = Field(default_factory=lambda: HouseholdMix())
    height_m: float = Field(default=15.0, gt=0, le=200, description="Building height (m)")
    parking_per_dwelling: float = Field(
        default=1.2, ge=0, le=5, description="Parking norm (places per dwelling)"
    )
    nonresidential_floor_m2: float = Field(default=0.0, ge=0, le=1_000_000, description="Shops, offices (m2)")

    @model_validator(mode="after")
    def _has_site(self) -> HousingProject:
        if self.geometry is None and not self.replace_buildings:
            raise ValueError("give the site as geometry (a polygon) or list replace_buildings")
        if self.geometry is not None and self.geometry.type not in ("Polygon", "MultiPolygon"):
            raise ValueError("geometry of a housing project must be a Polygon or MultiPolygon")
        return self


class TrafficMeasure(_Strict):
    """Close road links, make a zone car-free, set a speed limit, or cut car trips to/from a zone."""

    type: Literal["traffic_measure"]
    name: str = Field(default="traffic measure", max_length=200)
    measure: Literal["close_roads", "car_free_zone", "speed_limit", "trip_reduction"]
    roads: list[int] = Field(default_factory=list, description="edge_id values of road links")
    zone: Geometry | None = Field(default=None, description="Polygon of the zone")
    speed_limit_kmh: float | None = Field(default=None, gt=0, le=130)
    reduction: float | None = Field(default=None, gt=0, le=1, description="Share of car trips removed (0-1)")

    @model_validator(mode="after")
    def _complete(self) -> TrafficMeasure:
        if self.zone is not None and self.zone.type not in ("Polygon", "MultiPolygon"):
            raise ValueError("zone must be a Polygon or MultiPolygon")
        needs = {
            "close_roads": self.roads or None,
            "car_free_zone": self.zone,
            "speed_limit": self.speed_limit_kmh if (self.roads or self.zone) else None,
            "trip_reduction": self.reduction if self.zone else None,
        }
        if needs[self.measure] is None:
            what = {
                "close_roads": "roads (a list of edge_id)",
                "car_free_zone": "zone (a polygon)",
                "speed_limit": "speed_limit_kmh and roads or zone",
                "trip_reduction": "reduction (0-1) and zone (a polygon)",
            }[self.measure]
            raise ValueError(f"measure {self.measure} needs {what}")
        return self


class Greening(_Strict):
    """Turn an area into green, remove paving, or plant trees."""

    type: Literal["greening"]
    name: str = Field(default="greening", max_length=200)
    action: Literal["green", "depave", "trees"]
    geometry: Geometry
    surface: Literal["grass", "trees", "water"] = Field(
        default="grass", description="New surface (green, depave)"
    )
    crown_diameter_m: float = Field(
        default=8.0, gt=0, le=40, description="Crown diameter of planted trees (m)"
    )

    @model_validator(mode="after")
    def _shape(self) -> Greening:
        points = self.geometry.type in ("Point", "MultiPoint")
        if self.action == "trees" and not points:
            raise ValueError("action trees needs Point or MultiPoint geometry (one point per tree)")
        if self.action != "trees" and points:
            raise ValueError(f"action {self.action} needs a Polygon or MultiPolygon")
        return self


class FacilityChange(_Strict):
    """Add a facility at a point with a capacity, or remove an existing one."""

    type: Literal["facility"]
    name: str = Field(default="facility", max_length=200)
    action: Literal["add", "remove"]
    facility_type: Literal["gp", "pharmacy", "supermarket", "school", "care_home"] | None = None
    location: Geometry | None = Field(default=None, description="Point where the facility is added")
    capacity: float | None = Field(default=None, gt=0, description="Places (care home) or patients (GP)")
    facility_id: int | None = Field(default=None, description="facility_id to remove")

    @model_validator(mode="after")
    def _complete(self) -> FacilityChange:
        if self.action == "add":
            if self.facility_type is None or self.location is None:
                raise ValueError("adding a facility needs facility_type and location (a Point)")
            if self.location.type != "Point":
                raise ValueError("location must be a Point")
        elif self.facility_id is None:
            raise ValueError("removing a facility needs facility_id")
        return self


class TimeHorizon(_Strict):
    """Project demography this many years ahead of the baseline year."""

    type: Literal["time_horizon"]
    name: str = Field(default="time horizon", max_length=200)
    years: int = Field(ge=1, le=30)


Intervention = Annotated[
    HousingProject | TrafficMeasure | Greening | FacilityChange | TimeHorizon,
    Field(discriminator="type"),
]


class Baseline(_Strict):
    """The current city of a year (the twin's stored layers)."""

    year: int = Field(default=2021, ge=2000, le=2100)


class Scenario(_Strict):
    """A scenario document: what a policy advisor writes, stores, copies and compares."""

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    author: str = Field(default="", max_length=200)
    baseline: Baseline = Field(default_factory=lambda: Baseline())
    crs: Literal["EPSG:4326", "EPSG:28992"] = "EPSG:4326"
    interventions: list[Intervention] = Field(default_factory=list, max_length=50)
    parameters: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Model parameter overrides: {model_id: {name: value}}"
    )

    @field_validator("interventions")
    @classmethod
    def _one_horizon(cls, value: list[Any]) -> list[Any]:
        if sum(1 for item in value if isinstance(item, TimeHorizon)) > 1:
            raise ValueError("a scenario has at most one time_horizon")
        return value
