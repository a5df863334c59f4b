"""The impact-model plugin contract: metadata as data, a pure ``run`` function, a result with levels.

A model is an :class:`ImpactModel`: its :class:`ModelInfo` (id, version, indicators with units,
parameters with sources, method, limitations, algorithm-register entry) and a pure function
``run(city, upstream, params) -> ModelResult``. ``upstream`` holds the results of the models named in
``ModelInfo.requires`` for the same city state (traffic before air and noise). Models do no I/O and
keep no globals; the engine passes everything in.

Parameters are a frozen dataclass per model; each field carries ``unit`` and ``source`` in its
metadata (use :func:`param`), and ``source`` either cites a publication or says "assumed".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

import numpy as np
import pandas as pd

from tweeling.scenarios.city import CityChange, CityState

Level = Literal["city", "buurt", "grid", "roads", "buildings"]
"""Where an indicator is reported: citywide, per CBS buurt, per cell of the 100 m grid, per road
link (index ``edge_id``), per building (index ``building_id``)."""

Better = Literal["lower", "higher", "neutral"]
"""Which direction of change is an improvement, so that reports can colour a difference."""

DOMAINS = (
    "traffic",
    "air",
    "noise",
    "heat",
    "proximity",
    "demography",
    "care",
    "liveability",
)


def param(default: Any, *, unit: str, source: str, description: str) -> Any:
    """A model parameter with its unit and source ("assumed" when there is none)."""
    metadata = {"unit": unit, "source": source, "description": description}
    if isinstance(default, (dict, list, set)):
        frozen = default
        return field(default_factory=lambda: type(frozen)(frozen), metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class Indicator:
    """One output a model reports, with its unit and the levels it is reported at."""

    id: str
    title: str
    unit: str
    domain: str
    better: Better
    levels: tuple[Level, ...]
    description: str


@dataclass(frozen=True)
class ParameterInfo:
    """A parameter as shown in the API, the docs and the algorithm register."""

    name: str
    default: Any
    unit: str
    source: str
    description: str


@dataclass(frozen=True)
class AlgorithmRegisterEntry:
    """Algoritmeregister publicatiestandaard 1.0.0 fields (see STANDARDS.md); Dutch where required.

    The required fields come first; the optional ones default to "" (left out of :meth:`as_dict`).
    ``status`` here is only the default: the algorithm register keeps the status of each model
    (``tweeling.governance.algorithm_register``), and fills ``source_link`` (the entry in the
    twin's own register) and ``source_id`` (the model id) itself.
    """

    name: str
    description_short: str
    theme: str
    purpose_and_impact: str
    considerations: str
    human_intervention: str
    risk_management: str
    data: str
    technical_operation: str
    publication_category: str = "Overige algoritmes"
    status: str = "In ontwikkeling"
    start_date: str = "2026-11"
    organization: str = "Gemeente Dordrecht"
    contact: str = "digitaletweeling@dordrecht.nl"
    impact_assessments: str = "Geen DPIA nodig: het model verwerkt geen persoonsgegevens"
    legal_basis: str = ""
    supplier: str = "Intern ontwikkeld (Tweeling, open source)"
    source_code_link: str = "https://github.com/tweeling/tweeling"
    language: str = "nld"
    schema: str = "1.0.0"
    end_date: str = ""
    link: str = ""
    """A public page about the model (its documentation)."""
    source_link: str = ""
    legal_basis_link: str = ""
    legal_basis_title: str = ""
    processing_register_link: str = ""
    impact_assessment_link: str = ""
    impact_assessment_explanation: str = (
        "Geen DPIA: het model verwerkt geen persoonsgegevens. Geen IAMA: het model is een verkennend "
        "hulpmiddel en neemt geen besluiten over personen. Voordat het model 'In gebruik' gaat, "
        "beoordeelt de ethische commissie van de tweeling het (review 'model-in-use')."
    )
    data_source_link: str = ""
    data_source_title: str = ""
    source_id: str = ""
    search_terms: str = ""

    def as_dict(self) -> dict[str, str]:
        """The entry as register fields, for the API and the docs; optional fields left empty are left out."""
        return {key: value for key, value in dataclasses.asdict(self).items() if value}


@dataclass(frozen=True)
class ModelInfo:
    """What a model is, reads and reports: drives the API docs, the viewer forms and the register."""

    id: str
    version: str
    title: str
    description: str
    requires: tuple[str, ...]
    reads: frozenset[str]
    indicators: tuple[Indicator, ...]
    method: str
    sources: tuple[str, ...]
    limitations: tuple[str, ...]
    register: AlgorithmRegisterEntry


@dataclass(frozen=True)
class Raster:
    """A regular grid in EPSG:28992: row 0 is the northern edge, ``values`` arrays are (rows, cols)."""

    x_min: float
    y_max: float
    cell_m: float
    values: Mapping[str, np.ndarray]

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols) of the grid."""
        first = next(iter(self.values.values()))
        return (int(first.shape[0]), int(first.shape[1]))

    def cell_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """x and y (m, RD) of every cell centre, each shaped like the grid."""
        rows, cols = self.shape
        xs = self.x_min + (np.arange(cols) + 0.5) * self.cell_m
        ys = self.y_max - (np.arange(rows) + 0.5) * self.cell_m
        return np.meshgrid(xs, ys)


@dataclass
class ModelResult:
    """What one model computed for one city state.

    ``city``: citywide scalars; ``buurt``: one row per bu_code (index ``bu_code``); ``objects``:
    frames keyed "roads" (index ``edge_id``) or "buildings" (index ``building_id``); ``raster``: a
    fine grid (heat); ``data``: intermediate values for downstream models, never reported.
    Column names are indicator ids.
    """

    city: dict[str, float] = field(default_factory=dict)
    buurt: pd.DataFrame = field(default_factory=pd.DataFrame)
    objects: dict[str, pd.DataFrame] = field(default_factory=dict)
    raster: Raster | None = None
    data: dict[str, Any] = field(default_factory=dict)


P = TypeVar("P")

RunFunction = Callable[[CityState, Mapping[str, ModelResult], Any], ModelResult]
UpdateFunction = Callable[[CityState, Mapping[str, ModelResult], Any, ModelResult, CityChange], ModelResult]


@dataclass(frozen=True)
class ImpactModel(Generic[P]):
    """A registered model: metadata, its parameter type and the pure functions.

    ``update`` (optional) recomputes a scenario from the baseline result, reusing what the change
    leaves valid (the heat raster outside ``CityChange.bbox``, the noise receptors when the
    buildings are unchanged); it must give the same numbers as ``run`` and falls back to ``run``
    when it cannot reuse anything. The engine calls it instead of ``run`` whenever it has one.
    """

    info: ModelInfo
    params_type: type[P]
    run: RunFunction
    update: UpdateFunction | None = None

    def parameters(self) -> tuple[ParameterInfo, ...]:
        """The parameters with defaults, units and sources, read from the dataclass fields."""
        infos = []
        for item in dataclasses.fields(self.params_type):  # type: ignore[arg-type]
            if item.default is not dataclasses.MISSING:
                default = item.default
            elif item.default_factory is not dataclasses.MISSING:
                default = item.default_factory()
            else:
                default = None
            meta = item.metadata
            unit, source, text = meta.get("unit", ""), meta.get("source", ""), meta.get("description", "")
            infos.append(ParameterInfo(item.name, default, unit, source, text))
        return tuple(infos)

    def make_params(self, overrides: Mapping[str, Any] | None = None) -> P:
        """Default parameters with ``overrides`` applied; unknown names raise ``KeyError``."""
        names = {item.name for item in dataclasses.fields(self.params_type)}  # type: ignore[arg-type]
        unknown = set(overrides or {}) - names
        if unknown:
            raise KeyError(", ".join(sorted(unknown)))
        return self.params_type(**dict(overrides or {}))
