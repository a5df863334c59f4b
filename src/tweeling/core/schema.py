"""Layer schemas: what every column of a city-model layer means.

A schema travels with the data into the store's catalogue, so that the API, the CLI
and the viewer can say for every value its unit, its source, its licence and whether
it is measured or estimated (and by which method).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field

FieldType = Literal["string", "integer", "number", "boolean", "date", "datetime"]
GeometryType = Literal["Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon"]

_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def is_identifier(name: str) -> bool:
    """True when ``name`` is a safe lower-case SQL identifier (layer or column name)."""
    return bool(_IDENTIFIER.match(name))


def to_identifier(name: str) -> str:
    """Turn a source column name (``name:latin``, ``AANT_INW``) into a safe identifier."""
    cleaned = re.sub(r"[^a-z0-9_]+", "_", name.strip().lower()).strip("_") or "field"
    if not cleaned[0].isalpha():
        cleaned = f"f_{cleaned}"
    return cleaned[:63]


class FieldSpec(BaseModel):
    """One column: type, unit, meaning and provenance."""

    name: str
    type: FieldType
    description: str
    unit: str | None = None
    source: str | None = None
    estimated: bool = False
    method: str | None = Field(default=None, description="How an estimated value is derived.")
    nullable: bool = True


class LayerSchema(BaseModel):
    """A layer of the city model: its columns and where the data comes from."""

    name: str
    title: str
    description: str
    geometry_type: GeometryType | None
    fields: list[FieldSpec]
    source: str
    licence: str
    attribution: str
    primary_key: str | None = None
    temporal_field: str | None = None
    notes: list[str] = Field(default_factory=list)

    def field(self, name: str) -> FieldSpec:
        """The spec of column ``name``; KeyError if the layer has no such column."""
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(name)

    @property
    def field_names(self) -> list[str]:
        """Column names in schema order (without the geometry)."""
        return [spec.name for spec in self.fields]

    @property
    def estimated_fields(self) -> list[str]:
        """Columns whose values are estimated rather than observed."""
        return [spec.name for spec in self.fields if spec.estimated]
