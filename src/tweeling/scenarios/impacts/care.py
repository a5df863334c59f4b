"""Care demand per buurt and the capacity of GP practices and nursing homes within reach (2SFCA).

Method (see ``docs/models/care.md``):

1. **Demand** = residents by age group (from the demography model, at its time horizon) x use rate
   per age group: GP patients, home nursing (wijkverpleging) clients per year, Wmo clients
   (maatwerkvoorziening) per year and nursing-home places (Wlz, intramural).
2. **Supply**: a GP practice location serves ``capacity`` patients if given (scenario facilities),
   else ``gp_fte_per_practice x patients_per_gp_fte``; a care home has ``capacity`` places if given,
   else ``places_per_care_home`` (both flagged "assumed" in ``data["facilities"]``).
3. **Within reach**: two-step floating catchment (Luo & Wang 2003). Demand points are the homes:
   the buurt's residents are spread over its existing residential buildings by ``residents_est``,
   residents of new housing sit at their new building. With ``d`` the walking-network distance
   (undirected foot links, plus the straight line to the nearest node at both ends; or Euclidean):
   ``R_j = S_j / sum_{k: d_kj <= d0} D_k`` per facility, ``A_k = sum_{j: d_kj <= d0} R_j`` per home,
   capacity within reach ``A_k x D_k`` and shortfall ``D_k x max(0, 1 - A_k)``, summed per buurt.
   Capacity within reach adds up to the capacity of the facilities that have demand within reach.

Pure: no I/O, the city state is not modified.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from scipy.sparse.csgraph import dijkstra

from tweeling.scenarios.city import CityState
from tweeling.scenarios.impacts._network import build_mode_graph
from tweeling.scenarios.impacts.demography import AGE_GROUPS, POP_COLUMNS, group_vector
from tweeling.scenarios.model import (
    AlgorithmRegisterEntry,
    Better,
    ImpactModel,
    Indicator,
    Level,
    ModelInfo,
    ModelResult,
    param,
)

SERVICES = ("gp", "nursing_home")
"""Services with a capacity compared against demand (2SFCA)."""


@dataclass(frozen=True)
class CareParams:
    """Use rates, capacities and the catchment (defaults cite a source or say assumed)."""

    gp_registration_rate: float = param(
        1.0,
        unit="patients per resident",
        source="RIVM Toolkit regionale VTV: every Dutch resident is expected to be registered with a GP",
        description="Share of residents registered with a GP practice",
    )
    home_care_rate: dict[str, float] = param(
        {
            "0_14": 0.003,
            "15_24": 0.003,
            "25_44": 0.005,
            "45_64": 0.015,
            "65_74": 0.06,
            "75_84": 0.17,
            "85_plus": 0.42,
        },
        unit="clients per resident per year",
        source="approximate, calibrated to Vektis factsheet wijkverpleging 2018 (589,000 clients in the "
        "year, 75 % older than 67, mean age 75); age profile assumed",
        description="Home nursing (wijkverpleging, Zvw) clients per resident in a year, by age group",
    )
    wmo_rate: dict[str, float] = param(
        {
            "0_14": 0.005,
            "15_24": 0.015,
            "25_44": 0.025,
            "45_64": 0.05,
            "65_74": 0.09,
            "75_84": 0.25,
            "85_plus": 0.55,
        },
        unit="clients per resident per year",
        source="approximate, calibrated to CBS Landelijke Monitor Wmo: 1.1 million clients with a "
        "maatwerkvoorziening in 2019, one in three residents aged 75+; age profile assumed",
        description="Wmo clients (any maatwerkvoorziening) per resident in a year, by age group",
    )
    nursing_home_rate: dict[str, float] = param(
        {
            "0_14": 0.0,
            "15_24": 0.0,
            "25_44": 0.0,
            "45_64": 0.0005,
            "65_74": 0.006,
            "75_84": 0.03,
            "85_plus": 0.17,
        },
        unit="places per resident",
        source="approximate: CBS (7.6 % of residents aged 75+ lived in a care or nursing home in 2020) and "
        "CBS Huishoudensprognose 2015-2060 (institutional shares 80-89 and 90+); about 113,000 places "
        "nationally; age profile assumed",
        description="Nursing-home places (Wlz, intramural) needed per resident, by age group",
    )
    patients_per_gp_fte: float = param(
        2095.0,
        unit="patients per FTE GP",
        source="NZa beleidsregel huisartsenzorg 2018: normpraktijk 2,095 registered patients per FTE GP",
        description="Patients a full-time GP serves (normpraktijk)",
    )
    gp_fte_per_practice: float = param(
        2.5,
        unit="FTE GP per practice location",
        source="assumed; Nivel 2018: 5.3 FTE GP per 10,000 residents (about 9,200 FTE) on about 3,800 "
        "practice addresses (2017), i.e. 2.4 FTE per address",
        description="GP capacity of a practice location whose capacity is not given",
    )
    places_per_care_home: float = param(
        80.0,
        unit="places per care home",
        source="assumed",
        description="Places of a care home whose capacity is not given",
    )
    gp_catchment_m: float = param(
        1500.0,
        unit="m",
        source="assumed (walking distance; CBS Nabijheid voorzieningen: the mean road distance to the "
        "nearest GP practice in the Netherlands is about 1 km)",
        description="Distance within which a GP practice counts as within reach",
    )
    nursing_home_catchment_m: float = param(
        3000.0,
        unit="m",
        source="assumed (a care home in or near one's own district)",
        description="Distance within which a care home counts as within reach",
    )
    distance: str = param(
        "network",
        unit="'network' or 'euclidean'",
        source="assumed",
        description="Walking-network distance over foot links, or straight-line distance",
    )
    gp_facility_types: tuple[str, ...] = param(
        ("gp",),
        unit="facility_type values",
        source="assumed",
        description="Facility types that are GP practices",
    )
    nursing_home_facility_types: tuple[str, ...] = param(
        ("care_home",),
        unit="facility_type values",
        source="assumed",
        description="Facility types that are nursing or care homes",
    )


def two_step_fca(
    demand: np.ndarray, supply: np.ndarray, distance_m: np.ndarray, catchment_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """Two-step floating catchment area (Luo & Wang 2003).

    ``demand`` (n_points,), ``supply`` (n_facilities,), ``distance_m`` (n_facilities, n_points).
    Returns the supply-to-demand ratio of every facility ``R_j`` (0 where no demand is within reach)
    and the capacity within reach of every demand point ``A_k x D_k`` (same unit as ``supply``).
    """
    demand = np.asarray(demand, dtype=float)
    supply = np.asarray(supply, dtype=float)
    within = (np.asarray(distance_m, dtype=float) <= catchment_m).astype(float)
    reached = within @ demand
    ratio = np.divide(supply, reached, out=np.zeros_like(supply), where=reached > 0)
    access = ratio @ within
    return ratio, access * demand


def network_distances(
    city: CityState, facilities_xy: np.ndarray, points_xy: np.ndarray, limit_m: float
) -> np.ndarray | None:
    """Walking distances (m) from facilities to points (n_facilities, n_points); inf beyond ``limit_m``.

    Links with ``foot`` are undirected edges weighted by ``length_m``; points and facilities snap to the
    nearest node of the largest connected part, and the snap distances are added. None when the city
    has no usable foot network (the caller falls back to Euclidean distance).
    """
    if len(city.roads) == 0 or len(city.road_nodes) == 0:
        return None
    graph = build_mode_graph(city.roads, city.road_nodes, "walk")
    if graph.size == 0:
        return None
    facility_vertex, facility_snap = graph.snap(facilities_xy[:, 0], facilities_xy[:, 1])
    point_vertex, point_snap = graph.snap(points_xy[:, 0], points_xy[:, 1])
    sources, source_of = np.unique(facility_vertex, return_inverse=True)
    reach = dijkstra(graph.matrix, directed=False, indices=sources, limit=limit_m)
    along = reach[source_of][:, point_vertex]
    return along + facility_snap[:, None] + point_snap[None, :]


def _demand_points(city: CityState, demography: ModelResult) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Homes as demand points: xy (n, 2), buurt position (n,), persons by age group (n, 7)."""
    buurten = city.buurten
    total = demography.data["population_by_age"].reindex(buurten.index).fillna(0.0)[list(POP_COLUMNS)]
    new = demography.data.get("new_residents_by_age")
    if new is None or len(new) == 0:
        new = pd.DataFrame(columns=["bu_code", "building_id", *POP_COLUMNS])
    new = new[new["bu_code"].isin(buurten.index)]
    buildings = city.buildings
    with_shape = buildings.index[_has_shape(buildings.geometry.to_numpy())]
    new_building = new["building_id"].isin(with_shape).to_numpy()

    existing_total = total.to_numpy(float).copy()
    new_groups = new[list(POP_COLUMNS)].to_numpy(float)
    new_position = buurten.index.get_indexer(new["bu_code"])
    np.add.at(existing_total, new_position, -new_groups)
    spread = existing_total.copy()
    np.add.at(spread, new_position[~new_building], new_groups[~new_building])
    spread = np.maximum(spread, 0.0)

    residents = pd.to_numeric(buildings["residents_est"], errors="coerce").fillna(0.0).to_numpy(float)
    shapes = buildings.geometry.to_numpy()
    is_home = (residents > 0) & ~buildings["scenario_added"].to_numpy(bool) & _has_shape(shapes)
    home_position = buurten.index.get_indexer(buildings["bu_code"])[is_home]
    placed = home_position >= 0
    home_position = home_position[placed]
    weight = residents[is_home][placed]
    buurt_weight = np.bincount(home_position, weights=weight, minlength=len(buurten))
    home_share = weight / buurt_weight[home_position]
    home_xy = _centres(shapes[is_home][placed])

    empty = (buurt_weight <= 0) & (spread.sum(axis=1) > 0)
    fallback_xy = shapely.get_coordinates(
        shapely.point_on_surface(buurten.geometry.to_numpy()[empty])
    ).reshape(-1, 2)
    fallback_position = np.flatnonzero(empty)

    site_xy = _centres(buildings.geometry.loc[new["building_id"][new_building].astype("int64")].to_numpy())

    xy = np.vstack([home_xy, fallback_xy, site_xy])
    position = np.concatenate([home_position, fallback_position, new_position[new_building]])
    persons = np.vstack(
        [spread[home_position] * home_share[:, None], spread[fallback_position], new_groups[new_building]]
    )
    return xy, position, persons


def _has_shape(geometries: np.ndarray) -> np.ndarray:
    """Whether each geometry is present and not empty."""
    return ~(shapely.is_missing(geometries) | shapely.is_empty(geometries))


def _centres(geometries: np.ndarray) -> np.ndarray:
    """x, y (m) of the bounding-box centres of shapely geometries, shaped (n, 2); for building
    footprints within a few metres of the centroid, and about ten times faster."""
    bounds = shapely.bounds(geometries).reshape(-1, 4)
    return np.column_stack([(bounds[:, 0] + bounds[:, 2]) / 2.0, (bounds[:, 1] + bounds[:, 3]) / 2.0])


def _capacity(facilities: pd.DataFrame, default: float) -> tuple[np.ndarray, np.ndarray]:
    given = pd.to_numeric(facilities["capacity"], errors="coerce").astype(float).to_numpy()
    has = np.isfinite(given) & (given > 0)
    return np.where(has, given, default), has


def run(city: CityState, upstream: Mapping[str, ModelResult], params: CareParams) -> ModelResult:
    """Care demand per buurt and GP / nursing-home capacity within reach (patients, clients, places)."""
    if "demography" not in upstream:
        raise KeyError("the care model needs the demography model's result (upstream['demography'])")
    if params.distance not in ("network", "euclidean"):
        raise ValueError(f"distance must be 'network' or 'euclidean', got {params.distance!r}")
    demography = upstream["demography"]
    buurten = city.buurten
    population = demography.data["population_by_age"].reindex(buurten.index).fillna(0.0)[list(POP_COLUMNS)]
    groups = population.to_numpy(float)
    rates = {
        "gp": np.full(len(AGE_GROUPS), params.gp_registration_rate),
        "home_care": group_vector(params.home_care_rate, "home_care_rate"),
        "wmo": group_vector(params.wmo_rate, "wmo_rate"),
        "nursing_home": group_vector(params.nursing_home_rate, "nursing_home_rate"),
    }
    buurt = pd.DataFrame(index=buurten.index)
    buurt["gp_patients"] = groups @ rates["gp"]
    buurt["home_care_clients"] = groups @ rates["home_care"]
    buurt["wmo_clients"] = groups @ rates["wmo"]
    buurt["nursing_home_places_needed"] = groups @ rates["nursing_home"]

    xy, position, persons = _demand_points(city, demography)
    facilities = city.facilities
    facilities = facilities[_has_shape(facilities.geometry.to_numpy())]
    kinds = facilities["facility_type"].astype(str)
    chosen = {
        "gp": facilities[kinds.isin(params.gp_facility_types).to_numpy()],
        "nursing_home": facilities[kinds.isin(params.nursing_home_facility_types).to_numpy()],
    }
    catchment = {"gp": params.gp_catchment_m, "nursing_home": params.nursing_home_catchment_m}
    default_capacity = {
        "gp": params.gp_fte_per_practice * params.patients_per_gp_fte,
        "nursing_home": params.places_per_care_home,
    }
    everything = pd.concat([chosen["gp"], chosen["nursing_home"]])
    facility_xy = shapely.get_coordinates(shapely.point_on_surface(everything.geometry.to_numpy())).reshape(
        -1, 2
    )
    distances = None
    if params.distance == "network" and len(everything) and len(xy):
        distances = network_distances(city, facility_xy, xy, max(catchment.values()))
    method = "network" if distances is not None else "euclidean"
    if distances is None:
        distances = np.hypot(
            facility_xy[:, None, 0] - xy[None, :, 0], facility_xy[:, None, 1] - xy[None, :, 1]
        )

    city_totals: dict[str, float] = {}
    facility_rows = []
    offset = 0
    for service in SERVICES:
        chosen_here = chosen[service]
        count = len(chosen_here)
        supply, given = _capacity(chosen_here, default_capacity[service])
        demand = persons @ rates[service]
        ratio, within = two_step_fca(demand, supply, distances[offset : offset + count], catchment[service])
        offset += count
        short = np.maximum(demand - within, 0.0)
        label = "gp_capacity" if service == "gp" else "nursing_home_places"
        needed = buurt["gp_patients" if service == "gp" else "nursing_home_places_needed"]
        buurt[f"{label}_within_reach"] = np.bincount(position, weights=within, minlength=len(buurten))
        buurt[f"{service}_shortfall"] = np.bincount(position, weights=short, minlength=len(buurten))
        buurt[f"{service}_capacity_ratio"] = (buurt[f"{label}_within_reach"] / needed).where(needed > 0)
        city_totals[label] = float(supply.sum())
        facility_rows.append(
            pd.DataFrame(
                {
                    "facility_type": chosen_here["facility_type"].astype(str).to_numpy(),
                    "service": service,
                    "capacity": supply,
                    "capacity_source": np.where(given, "given", "assumed"),
                    "demand_within_reach": np.divide(
                        supply, ratio, out=np.zeros_like(supply), where=ratio > 0
                    ),
                    "supply_demand_ratio": ratio,
                },
                index=chosen_here.index,
            )
        )
    buurt["gp_fte_shortfall"] = buurt["gp_shortfall"] / params.patients_per_gp_fte
    buurt = buurt[[column for column in OUTPUT_COLUMNS if column in buurt.columns]]

    for name in OUTPUT_COLUMNS:
        if not name.endswith("_ratio"):
            city_totals[name] = float(buurt[name].sum())
    for service, label, need in (
        ("gp", "gp_capacity", "gp_patients"),
        ("nursing_home", "nursing_home_places", "nursing_home_places_needed"),
    ):
        city_totals[f"{service}_capacity_ratio"] = (
            city_totals[label] / city_totals[need] if city_totals[need] > 0 else float("nan")
        )
    table = pd.concat(facility_rows)
    table.index.name = "facility_id"
    return ModelResult(
        city=city_totals,
        buurt=buurt,
        data={"facilities": table, "distance_method": method, "demand_points": len(xy)},
    )


OUTPUT_COLUMNS = (
    "gp_patients",
    "gp_capacity_within_reach",
    "gp_shortfall",
    "gp_fte_shortfall",
    "gp_capacity_ratio",
    "home_care_clients",
    "wmo_clients",
    "nursing_home_places_needed",
    "nursing_home_places_within_reach",
    "nursing_home_shortfall",
    "nursing_home_capacity_ratio",
)


def _indicator(
    id_: str,
    title: str,
    unit: str,
    better: Better,
    description: str,
    levels: tuple[Level, ...] = ("city", "buurt"),
) -> Indicator:
    return Indicator(id_, title, unit, "care", better, levels, description)


INDICATORS = (
    _indicator(
        "gp_patients", "GP patients", "patients", "neutral", "Residents registered with a GP practice"
    ),
    _indicator(
        "gp_capacity_within_reach",
        "GP capacity within reach",
        "patients",
        "higher",
        "Share of GP practice capacity within the catchment that falls to the buurt's residents (2SFCA)",
    ),
    _indicator(
        "gp_shortfall",
        "Patients without GP capacity within reach",
        "patients",
        "lower",
        "GP patients for whom the practices within reach have no capacity left (2SFCA, at least 0)",
    ),
    _indicator(
        "gp_fte_shortfall",
        "Extra GP capacity needed",
        "FTE GP",
        "lower",
        "Patients without capacity within reach divided by the normpraktijk (patients per FTE GP)",
    ),
    _indicator(
        "gp_capacity_ratio",
        "GP capacity within reach per patient",
        "ratio",
        "higher",
        "GP capacity within reach divided by GP patients (1 = enough); city: all capacity / all patients",
    ),
    _indicator(
        "home_care_clients",
        "Home nursing clients",
        "clients per year",
        "neutral",
        "Expected clients of wijkverpleging (home nursing) in a year",
    ),
    _indicator(
        "wmo_clients",
        "Wmo clients",
        "clients per year",
        "neutral",
        "Expected clients of a Wmo maatwerkvoorziening",
    ),
    _indicator(
        "nursing_home_places_needed",
        "Nursing-home places needed",
        "places",
        "neutral",
        "Expected residents in a nursing or care home (Wlz, intramural)",
    ),
    _indicator(
        "nursing_home_places_within_reach",
        "Nursing-home places within reach",
        "places",
        "higher",
        "Share of care-home places within the catchment that falls to the buurt's residents (2SFCA)",
    ),
    _indicator(
        "nursing_home_shortfall",
        "Nursing-home places short within reach",
        "places",
        "lower",
        "Nursing-home places needed that the care homes within reach cannot offer (2SFCA, at least 0)",
    ),
    _indicator(
        "nursing_home_capacity_ratio",
        "Nursing-home places within reach per place needed",
        "ratio",
        "higher",
        "Places within reach divided by places needed (1 = enough); city: all places / all places needed",
    ),
    _indicator("gp_capacity", "GP capacity", "patients", "higher", "Capacity of all GP practices", ("city",)),
    _indicator(
        "nursing_home_places",
        "Nursing-home places",
        "places",
        "higher",
        "Places in all care homes",
        ("city",),
    ),
)

REGISTER = AlgorithmRegisterEntry(
    name="Tweeling zorgvraag en zorgaanbod in de buurt",
    description_short=(
        "Schat per buurt van Dordrecht hoeveel mensen huisartsenzorg, wijkverpleging, Wmo-ondersteuning en "
        "een verpleeghuisplek nodig hebben, nu of over een aantal jaren, en of er huisartsen en "
        "verpleeghuizen binnen bereik zijn. Het model werkt met tellingen per buurt, niet met gegevens over "
        "personen."
    ),
    theme="Zorg en gezondheid",
    purpose_and_impact=(
        "Doel: beleidsadviseurs helpen bij vragen als 'waar zijn extra voorzieningen nodig als een buurt "
        "vergrijst?' en 'hoeveel zorg vraagt een nieuwe wijk?'. Het model vermenigvuldigt het verwachte "
        "aantal inwoners per leeftijdsgroep met landelijke gebruikscijfers en vergelijkt de vraag naar "
        "huisartsen en verpleeghuisplekken met het aanbod binnen loopafstand. De uitkomst is een signaal "
        "voor verkenning en gesprek met zorgaanbieders en zorgverzekeraar; het model neemt geen besluiten en "
        "zegt niets over individuele inwoners of over de kwaliteit van zorgaanbieders."
    ),
    considerations=(
        "De methode (vraag = inwoners x gebruikscijfer; aanbod binnen bereik met de 'two-step floating "
        "catchment'-methode) is gangbaar, uitlegbaar en narekenbaar. Nadelen: landelijke gebruikscijfers "
        "gelden voor elke buurt; de lijst van voorzieningen komt uit OpenStreetMap en is onvolledig; de "
        "capaciteit van een praktijk of verpleeghuis is meestal een aanname; voorzieningen buiten Dordrecht "
        "tellen niet mee. Absolute tekorten zijn daarom grof; het verschil tussen scenario's is "
        "betrouwbaarder."
    ),
    human_intervention=(
        "Een beleidsadviseur kiest scenario, tijdshorizon, loopafstanden en gebruikscijfers en beoordeelt de "
        "uitkomst samen met zorgaanbieders. Capaciteiten kunnen per voorziening worden ingevuld."
    ),
    risk_management=(
        "Aangenomen capaciteiten zijn per voorziening gemarkeerd. Het model gebruikt alleen leeftijd en "
        "afstand, geen herkomst, inkomen of andere kenmerken van personen. Uitkomsten worden getoond als "
        "verwachte waarden met hun aannames; handberekende tests en controles op landelijke totalen horen "
        "bij de code."
    ),
    data=(
        "Uitkomst van het demografiemodel (geaggregeerde CBS-tellingen per buurt), geschatte bewoners per "
        "gebouw, voorzieningen uit OpenStreetMap (huisartsen, verpleeg- en verzorgingshuizen), het wegen- en "
        "padennetwerk uit OpenStreetMap, en landelijke gebruikscijfers van CBS, Vektis, NZa en Nivel. Geen "
        "persoonsgegevens."
    ),
    technical_operation=(
        "Zorgvraag per buurt = inwoners per leeftijdsgroep x gebruikscijfer per leeftijdsgroep. Voor "
        "huisartsen en verpleeghuizen: per voorziening de capaciteit gedeeld door de vraag binnen "
        "loopafstand (stap 1), per woning de som van die verhoudingen van de voorzieningen binnen "
        "loopafstand (stap 2). Het tekort is de vraag waarvoor binnen bereik geen capaciteit over is. "
        "Afstanden over het voetgangersnetwerk. Het model is niet zelflerend: regels en cijfers liggen vast "
        "en veranderen alleen als iemand de parameters aanpast."
    ),
    impact_assessments=(
        "Geen DPIA nodig: het model verwerkt alleen geaggregeerde tellingen, geen persoonsgegevens"
    ),
    legal_basis=(
        "Geen aparte wettelijke grondslag nodig: het model ondersteunt de voorbereiding van "
        "plannen, neemt geen besluiten en verwerkt geen persoonsgegevens (alleen geaggregeerde "
        "tellingen). Kader: de taak van de gemeente om maatschappelijke ondersteuning te regelen "
        "(Wet maatschappelijke ondersteuning 2015)."
    ),
    legal_basis_title="Wet maatschappelijke ondersteuning 2015",
    legal_basis_link="https://wetten.overheid.nl/BWBR0035362",
    link="https://github.com/tweeling/tweeling/blob/main/docs/models/care.md",
    source_code_link="https://github.com/tweeling/tweeling/blob/main/src/tweeling/scenarios/impacts/care.py",
)

INFO = ModelInfo(
    id="care",
    version="1.0.0",
    title="Care demand and GP / nursing-home capacity within reach",
    description=(
        "Demand for GP care, home nursing, Wmo support and nursing-home places per buurt from the projected "
        "population, and the GP and nursing-home capacity within walking reach (two-step floating catchment)."
    ),
    requires=("demography",),
    reads=frozenset({"facilities", "buildings", "buurten", "roads.active", "road_nodes"}),
    indicators=INDICATORS,
    method=__doc__ or "",
    sources=(
        "Luo W, Wang F (2003). Measures of spatial accessibility to health care in a GIS environment. "
        "Environment and Planning B 30(6): 865-884 (2SFCA)",
        "NZa beleidsregel huisartsenzorg en multidisciplinaire zorg 2018 (normpraktijk 2,095 patients)",
        "Nivel, Cijfers uit de registratie van huisartsen, peiling 2017 and 2018",
        "Vektis, factsheet wijkverpleging (2018)",
        "CBS Landelijke Monitor Wmo / Gemeentelijke Monitor Sociaal Domein (2019)",
        "CBS, residents of care and nursing homes by age (2020); CBS Huishoudensprognose 2015-2060",
    ),
    limitations=(
        "Facilities come from OpenStreetMap: not every GP practice or care home of Dordrecht is in it, so "
        "the baseline shortfall is too high; compare scenarios with the baseline rather than reading "
        "absolutes.",
        "Capacities are assumed where the data has none (2.5 FTE per GP location, 80 places per care home).",
        "Use rates are national averages by age only; differences in health, income or household are "
        "ignored.",
        "Facilities outside Dordrecht (Zwijndrecht, Papendrecht, ...) are not counted: edge buurten look "
        "worse.",
        "A sharp catchment (in or out) without distance decay; people do not always use the nearest "
        "practice.",
        "Home nursing and Wmo demand have no capacity to compare with in the data.",
    ),
    register=REGISTER,
)

MODEL = ImpactModel(info=INFO, params_type=CareParams, run=run)
