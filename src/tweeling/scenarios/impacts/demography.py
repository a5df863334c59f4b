"""Demography: a cohort-component projection of the population of every buurt by age group.

Method (see ``docs/models/demography.md``):

1. **Start population** (persons, CBS Kerncijfers Wijken en Buurten 2020). Group counts are
   ``aant_inw x p_group / 100``, rescaled so that they add up to ``aant_inw`` (the percentages are
   rounded). CBS gives only 65+; it is split into 65-74 / 75-84 / 85+ with the national shares of
   1 January 2020 (estimated for every buurt). Buurten whose percentages are suppressed get the
   city-average age structure; where ``aant_inw`` is missing too, the total is the sum of
   ``residents_est`` of the buurt's buildings (column ``method``; ``estimated`` = True).
2. **Scenario housing**: residents of demolished homes leave (buurt total x the share of the
   buurt's ``residents_est`` still standing); new dwellings (``new_households``) add
   ``dwellings x share_type x persons_type_group`` persons, moving in at the start (t = 0).
3. **Yearly steps** over single years of age 0..84 and an open 85+ (at t = 0 uniform within each
   CBS group, except 65-74 and 75-84 which follow the national 5-year profile): deaths
   ``q_group x P``, net migration ``m_group x P``, everyone one year older, and births
   ``sum_a ASFR_a x female_share x P_a`` at age 0 (surviving with the 0-14 probability).
   ``ASFR = TFR x share_15_24 / 10`` for ages 15-24 and ``TFR x (1 - share_15_24) / 20`` for 25-44
   (``share_15_24 = 1/3`` gives the flat ``TFR / 30``).

The projection is linear in the start population, so each new-housing row is projected as a row
of its own and reported in ``data["new_residents_by_age"]`` (used by the care model to place new
residents at their building). Pure: no I/O, the city state is not modified.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tweeling.scenarios.city import HOUSEHOLD_TYPES, CityState
from tweeling.scenarios.model import (
    AlgorithmRegisterEntry,
    ImpactModel,
    Indicator,
    Level,
    ModelInfo,
    ModelResult,
    param,
)

AGE_GROUPS = ("0_14", "15_24", "25_44", "45_64", "65_74", "75_84", "85_plus")
"""Age groups reported (keys of the rate parameters); output columns are ``pop_<group>``."""

GROUP_BOUNDS = ((0, 14), (15, 24), (25, 44), (45, 64), (65, 74), (75, 84), (85, 85))
"""First and last single year of age of each group; 85 stands for the open group 85+."""

OPEN_AGE = 85
"""Index of the open age class 85+; single years 0..84 below it."""

CBS_PERCENT_COLUMNS = ("p_00_14_jr", "p_15_24_jr", "p_25_44_jr", "p_45_64_jr", "p_65_eo_jr")
"""CBS KWB 2020 age percentages: 0-14, 15-24, 25-44, 45-64, 65+."""

POP_COLUMNS = tuple(f"pop_{group}" for group in AGE_GROUPS)

NATIONAL_AGE_STRUCTURE = np.array([0.158, 0.122, 0.244, 0.277, 0.114, 0.063, 0.022])
"""Share of each age group in the Netherlands on 1 January 2020 (CBS StatLine, approximate); used only
when no buurt of the city has CBS age percentages."""

METHOD_CBS = "cbs"
METHOD_CBS_TOTAL = "cbs_total_city_age_structure"
METHOD_BUILDINGS = "buildings_city_age_structure"


@dataclass(frozen=True)
class DemographyParams:
    """Rates of the projection and the make-up of new households (defaults cite a source or say assumed)."""

    death_probability: dict[str, float] = param(
        {
            "0_14": 0.0003,
            "15_24": 0.0003,
            "25_44": 0.0006,
            "45_64": 0.0037,
            "65_74": 0.014,
            "75_84": 0.040,
            "85_plus": 0.140,
        },
        unit="probability per person per year",
        source=(
            "CBS doodsoorzakenstatistiek 2019 (151,885 deaths by 5-year age group) divided by CBS "
            "population 2019/2020 by age, death probability q = m / (1 + m/2); 2019 rather than 2020 "
            "to leave out COVID-19 excess mortality; approximate"
        ),
        description="Probability of dying within a year, by age group",
    )
    total_fertility_rate: float = param(
        1.55,
        unit="children per woman",
        source="CBS StatLine Geboorte; kerncijfers (TFR 1.57 in 2019, 1.54 in 2020)",
        description="Total fertility rate, spread over women aged 15-44",
    )
    births_share_15_24: float = param(
        0.08,
        unit="share (0-1)",
        source="CBS StatLine Geboorte naar leeftijd moeder 2019 (about 8 % of births to mothers under 25; "
        "approximate); 1/3 gives the flat TFR/30 for every age 15-44",
        description="Share of the TFR born to women aged 15-24 (the rest to women aged 25-44)",
    )
    female_share_15_44: float = param(
        0.495,
        unit="share (0-1)",
        source="CBS StatLine Bevolking op 1 januari 2020 (a few more men than women at 15-44; approximate)",
        description="Share of women among persons aged 15-44",
    )
    net_migration_rate: dict[str, float] = param(
        dict.fromkeys(AGE_GROUPS, 0.0),
        unit="net migrants per person per year",
        source="assumed 0: a closed population shows the effect of ageing and births alone; "
        "the PBL/CBS regional projection includes migration",
        description="Net migration (in minus out) per resident per year, by age group",
    )
    split_65_plus: dict[str, float] = param(
        {"65_74": 0.571, "75_84": 0.316, "85_plus": 0.113},
        unit="share of 65+ (0-1)",
        source="CBS StatLine Bevolking op 1 januari 2020, Nederland: 65-74 1,974,814; 75-84 1,093,183; "
        "85+ 389,538 persons (estimated for each buurt)",
        description="Split of the CBS group 65+ into 65-74, 75-84 and 85+",
    )
    age_profile_65_84: dict[str, float] = param(
        {"65_69": 1_003_778, "70_74": 971_036, "75_79": 644_060, "80_84": 449_123},
        unit="persons (relative weights)",
        source="CBS StatLine Bevolking op 1 januari 2020, Nederland, by 5-year age group",
        description="Spread of 65-74 and 75-84 over their two 5-year bands (other groups: uniform)",
    )
    household_persons: dict[str, dict[str, float]] = param(
        {
            "starters": {"15_24": 0.5, "25_44": 1.0},
            "families": {"0_14": 1.8, "25_44": 2.0},
            "seniors": {"65_74": 0.9, "75_84": 0.6},
        },
        unit="persons per dwelling by age group",
        source="assumed: starters 1.5 persons aged 20-34, families 2 adults 25-44 and 1.8 children 0-14 "
        "(3.8 persons), seniors 1.5 persons 65-84; same totals as the housing intervention "
        "(scenarios.apply.HOUSEHOLD_SIZE)",
        description="Persons per new dwelling by household type and age group",
    )
    demolished_residents_leave: bool = param(
        True,
        unit="flag",
        source="assumed: residents of demolished homes move out of the buurt (relies on residents_est "
        "adding up to the CBS population of each buurt, as in the shipped data)",
        description="Take the residents of buildings removed by a scenario out of the start population",
    )


def group_vector(values: Mapping[str, float], name: str) -> np.ndarray:
    """A per-group parameter as an array in :data:`AGE_GROUPS` order; raises if a group is missing."""
    missing = [group for group in AGE_GROUPS if group not in values]
    if missing:
        raise ValueError(
            f"{name} lacks age group(s) {', '.join(missing)}; give a value for each of {AGE_GROUPS}"
        )
    return np.array([float(values[group]) for group in AGE_GROUPS])


def _age_to_group() -> np.ndarray:
    groups = np.zeros(OPEN_AGE + 1, dtype=int)
    for index, (low, high) in enumerate(GROUP_BOUNDS):
        groups[low : high + 1] = index
    return groups


AGE_GROUP_OF = _age_to_group()
"""Group index of every single year of age 0..85 (85 = 85+)."""


def within_group_weights(params: DemographyParams | None = None) -> np.ndarray:
    """Share of its group that each single year of age 0..85 holds (86,): uniform, except 65-74 and 75-84
    which follow ``age_profile_65_84`` (uniform within each 5-year band)."""
    widths = np.array([high - low + 1 for low, high in GROUP_BOUNDS], dtype=float)
    weights = 1.0 / widths[AGE_GROUP_OF]
    if params is None:
        return weights
    profile = params.age_profile_65_84
    for first, bands in ((65, ("65_69", "70_74")), (75, ("75_79", "80_84"))):
        values = np.array([float(profile.get(band, np.nan)) for band in bands])
        if np.isnan(values).any() or (values < 0).any() or values.sum() <= 0:
            raise ValueError(f"age_profile_65_84 needs non-negative weights for {bands[0]} and {bands[1]}")
        shares = values / values.sum()
        weights[first : first + 5] = shares[0] / 5.0
        weights[first + 5 : first + 10] = shares[1] / 5.0
    return weights


def ages_from_groups(groups: np.ndarray, params: DemographyParams | None = None) -> np.ndarray:
    """Persons by single year of age (n, 86) from persons by group (n, 7), spread with
    :func:`within_group_weights` (uniform within each group when ``params`` is None)."""
    groups = np.asarray(groups, dtype=float)
    return groups[:, AGE_GROUP_OF] * within_group_weights(params)[None, :]


def groups_from_ages(ages: np.ndarray) -> np.ndarray:
    """Persons by group (n, 7) from persons by single year of age (n, 86)."""
    out = np.zeros((ages.shape[0], len(AGE_GROUPS)))
    np.add.at(out.T, AGE_GROUP_OF, ages.T)
    return out


def fertility_by_age(params: DemographyParams) -> np.ndarray:
    """Births per person (women and men) per year by single year of age (86,)."""
    rate = np.zeros(OPEN_AGE + 1)
    tfr, share = params.total_fertility_rate, params.births_share_15_24
    rate[15:25] = tfr * share / 10.0
    rate[25:45] = tfr * (1.0 - share) / 20.0
    return rate * params.female_share_15_44


def project_population(
    start: np.ndarray, years: int, params: DemographyParams
) -> tuple[np.ndarray, pd.DataFrame]:
    """Project persons by single year of age (n, 86) ``years`` ahead; also births, deaths, migrants per year.

    Each step: deaths ``q x P`` and net migration ``m x P`` (rates of the age group at the start of the
    year), survivors one year older (84 and 85+ into 85+), births at age 0 surviving with ``1 - q_0_14``.
    """
    if years < 0:
        raise ValueError(f"horizon_years must be 0 or more, got {years}")
    death = group_vector(params.death_probability, "death_probability")[AGE_GROUP_OF]
    migration = group_vector(params.net_migration_rate, "net_migration_rate")[AGE_GROUP_OF]
    fertility = fertility_by_age(params)
    population = np.asarray(start, dtype=float).copy()
    rows = []
    for year in range(1, years + 1):
        births = population @ fertility
        deaths = population * death
        migrants = population * migration
        moved = population - deaths + migrants
        following = np.zeros_like(population)
        following[:, 1:OPEN_AGE] = moved[:, : OPEN_AGE - 1]
        following[:, OPEN_AGE] = moved[:, OPEN_AGE - 1] + moved[:, OPEN_AGE]
        following[:, 0] = births * (1.0 - death[0])
        population = np.maximum(following, 0.0)
        rows.append(
            {
                "year": year,
                "births": float(births.sum()),
                "deaths": float(deaths.sum() + births.sum() * death[0]),
                "net_migration": float(migrants.sum()),
                "population": float(population.sum()),
            }
        )
    components = pd.DataFrame(rows, columns=["year", "births", "deaths", "net_migration", "population"])
    return population, components.set_index("year")


def _split_65_plus(params: DemographyParams) -> np.ndarray:
    shares = np.array([float(params.split_65_plus.get(group, np.nan)) for group in AGE_GROUPS[4:]])
    if np.isnan(shares).any() or shares.sum() <= 0:
        raise ValueError("split_65_plus needs positive shares for 65_74, 75_84 and 85_plus")
    return shares / shares.sum()


def start_population(city: CityState, params: DemographyParams) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Persons by age group per buurt now (before scenario changes), the method per buurt, and the
    share of the buurt's residents whose homes still stand (1 without demolition)."""
    buurten = city.buurten
    population = pd.to_numeric(buurten["aant_inw"], errors="coerce").astype(float)
    percent = buurten[list(CBS_PERCENT_COLUMNS)].apply(pd.to_numeric, errors="coerce").astype(float)
    five = percent.to_numpy() * population.to_numpy()[:, None] / 100.0
    split = _split_65_plus(params)
    groups = np.column_stack([five[:, :4], five[:, 4:5] * split[None, :]])
    has_ages = ~np.isnan(groups).any(axis=1) & (np.nansum(groups, axis=1) > 0)
    totals = groups[has_ages].sum(axis=1)
    groups[has_ages] *= (population.to_numpy()[has_ages] / totals)[:, None]
    if has_ages.any():
        city_structure = groups[has_ages].sum(axis=0) / groups[has_ages].sum()
    else:
        city_structure = NATIONAL_AGE_STRUCTURE

    buildings = city.buildings
    residents = pd.to_numeric(buildings["residents_est"], errors="coerce")
    existing = ~buildings["scenario_added"].astype(bool)
    standing = residents[existing].groupby(buildings.loc[existing, "bu_code"]).sum().reindex(buurten.index)
    standing = standing.fillna(0.0).astype(float)

    has_total = population.notna().to_numpy()
    method = np.where(has_ages, METHOD_CBS, np.where(has_total, METHOD_CBS_TOTAL, METHOD_BUILDINGS))
    total = np.where(has_total, population.fillna(0.0).to_numpy(), standing.to_numpy())
    fallback = ~has_ages
    groups[fallback] = total[fallback, None] * city_structure[None, :]

    retained = np.ones(len(buurten))
    if params.demolished_residents_leave and residents.fillna(0).sum() > 0:
        base = population.to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(has_total & (base > 0), standing.to_numpy() / base, 1.0)
        retained = np.clip(share, 0.0, 1.0)
    frame = pd.DataFrame(groups, index=buurten.index, columns=list(POP_COLUMNS))
    return (
        frame,
        pd.Series(method, index=buurten.index, name="method"),
        pd.Series(retained, index=buurten.index, name="retained_share"),
    )


def new_household_persons(city: CityState, params: DemographyParams) -> pd.DataFrame:
    """Persons by age group moving into the new dwellings, one row per ``new_households`` row.

    Columns ``bu_code`` (from the row, else from its building; missing when neither is known),
    ``building_id`` and ``pop_<group>``; index as ``city.new_households``.
    """
    households = city.new_households
    composition = np.zeros((len(HOUSEHOLD_TYPES), len(AGE_GROUPS)))
    for index, kind in enumerate(HOUSEHOLD_TYPES):
        if kind not in params.household_persons:
            raise ValueError(
                f"household_persons lacks household type {kind!r}; give one for each of {HOUSEHOLD_TYPES}"
            )
        per_type = params.household_persons[kind]
        unknown = set(per_type) - set(AGE_GROUPS)
        if unknown:
            raise ValueError(f"household_persons[{kind!r}] has unknown age group(s) {sorted(unknown)}")
        composition[index] = [float(per_type.get(group, 0.0)) for group in AGE_GROUPS]
    dwellings = _numeric_column(households, "dwellings")
    shares = np.column_stack([_numeric_column(households, f"share_{kind}") for kind in HOUSEHOLD_TYPES])
    persons = dwellings[:, None] * (shares @ composition)
    building_id = households.get("building_id", pd.Series(pd.NA, index=households.index))
    bu_code = households.get("bu_code", pd.Series(pd.NA, index=households.index)).astype(object)
    known = bu_code.where(bu_code.isin(city.buurten.index))
    from_building = pd.Series(building_id.to_numpy(), index=households.index).map(city.buildings["bu_code"])
    bu_code = known.fillna(from_building.where(from_building.isin(city.buurten.index)))
    frame = pd.DataFrame(persons, index=households.index, columns=list(POP_COLUMNS))
    frame.insert(0, "building_id", building_id.to_numpy())
    frame.insert(0, "bu_code", bu_code.to_numpy())
    return frame


def run(city: CityState, upstream: Mapping[str, ModelResult], params: DemographyParams) -> ModelResult:
    """Population by age group per buurt ``city.horizon_years`` ahead, with new housing (persons, %)."""
    years = int(city.horizon_years)
    buurten = city.buurten
    now, method, retained = start_population(city, params)
    start = now.to_numpy() * retained.to_numpy()[:, None]
    demolished = now.sum(axis=1).to_numpy() - start.sum(axis=1)
    newcomers = new_household_persons(city, params)
    placed = newcomers["bu_code"].notna().to_numpy()
    new_groups = newcomers[list(POP_COLUMNS)].to_numpy(float)

    stacked = ages_from_groups(np.vstack([start, new_groups]), params)
    projected, components = project_population(stacked, years, params)
    by_group = groups_from_ages(projected)
    n_buurten = len(buurten)
    existing, new_rows = by_group[:n_buurten], by_group[n_buurten:]
    position = buurten.index.get_indexer(newcomers["bu_code"].where(placed, None))
    total_groups = existing.copy()
    np.add.at(total_groups, position[placed], new_rows[placed])
    moved_in = np.zeros(n_buurten)
    np.add.at(moved_in, position[placed], new_groups[placed].sum(axis=1))

    buurt = pd.DataFrame(total_groups, index=buurten.index, columns=list(POP_COLUMNS))
    buurt.insert(0, "pop_total", buurt.sum(axis=1))
    buurt["share_65_plus"] = _share(buurt, ("pop_65_74", "pop_75_84", "pop_85_plus"))
    buurt["share_75_plus"] = _share(buurt, ("pop_75_84", "pop_85_plus"))
    buurt["pop_change"] = buurt["pop_total"] - now.sum(axis=1)
    buurt["new_residents"] = moved_in
    buurt["demolished_residents"] = demolished
    buurt["estimated"] = method != METHOD_CBS
    buurt["method"] = method

    city_totals = {name: float(buurt[name].sum()) for name in ("pop_total", *POP_COLUMNS)}
    total = city_totals["pop_total"]
    older = city_totals["pop_65_74"] + city_totals["pop_75_84"] + city_totals["pop_85_plus"]
    city_totals["share_65_plus"] = 100.0 * older / total if total > 0 else float("nan")
    city_totals["share_75_plus"] = (
        100.0 * (city_totals["pop_75_84"] + city_totals["pop_85_plus"]) / total if total > 0 else float("nan")
    )
    for name in ("pop_change", "new_residents", "demolished_residents"):
        city_totals[name] = float(buurt[name].sum())

    new_by_age = pd.DataFrame(new_rows, index=newcomers.index, columns=list(POP_COLUMNS))
    new_by_age.insert(0, "building_id", newcomers["building_id"])
    new_by_age.insert(0, "bu_code", newcomers["bu_code"])
    components.index = components.index + int(city.year)
    return ModelResult(
        city=city_totals,
        buurt=buurt,
        data={
            "population_by_age": buurt[list(POP_COLUMNS)].copy(),
            "population_now_by_age": now,
            "new_residents_by_age": new_by_age,
            "unplaced_new_residents": float(new_groups[~placed].sum()),
            "components": components,
            "horizon_years": years,
        },
    )


def _numeric_column(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A column as floats (missing values and a missing column: 0)."""
    if name not in frame.columns:
        return np.zeros(len(frame))
    return pd.to_numeric(frame[name], errors="coerce").fillna(0.0).to_numpy(float)


def _share(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.Series:
    total = frame["pop_total"]
    return (100.0 * frame[list(columns)].sum(axis=1) / total).where(total > 0)


def _indicator(id_: str, title: str, unit: str, description: str, *, city: bool = True) -> Indicator:
    levels: tuple[Level, ...] = ("city", "buurt") if city else ("buurt",)
    return Indicator(id_, title, unit, "demography", "neutral", levels, description)


_GROUP_TITLES = {
    "0_14": "0-14",
    "15_24": "15-24",
    "25_44": "25-44",
    "45_64": "45-64",
    "65_74": "65-74",
    "75_84": "75-84",
    "85_plus": "85+",
}

INDICATORS = (
    _indicator(
        "pop_total", "Residents", "persons", "Residents at the time horizon (expected value, not rounded)"
    ),
    *(
        _indicator(
            f"pop_{group}",
            f"Residents aged {title}",
            "persons",
            f"Residents aged {title} at the time horizon"
            + (
                " (65+ split with national shares: estimated)"
                if group in ("65_74", "75_84", "85_plus")
                else ""
            ),
        )
        for group, title in _GROUP_TITLES.items()
    ),
    _indicator(
        "share_65_plus", "Share aged 65+", "%", "Residents aged 65 or over as a share of all residents"
    ),
    _indicator(
        "share_75_plus", "Share aged 75+", "%", "Residents aged 75 or over as a share of all residents"
    ),
    _indicator(
        "pop_change",
        "Change in residents",
        "persons",
        "Residents at the horizon minus residents now (CBS 2020), including new housing and demolition",
    ),
    _indicator(
        "new_residents",
        "Residents of new housing",
        "persons",
        "Persons moving into the scenario's new dwellings (at move-in, before ageing)",
    ),
    _indicator(
        "demolished_residents",
        "Residents of demolished homes",
        "persons",
        "Residents whose homes the scenario demolishes; they leave the buurt",
    ),
)

REGISTER = AlgorithmRegisterEntry(
    name="Tweeling bevolkingsprognose per buurt (demografie)",
    description_short=(
        "Berekent hoeveel inwoners elke buurt van Dordrecht over een gekozen aantal jaren heeft, per "
        "leeftijdsgroep, en hoeveel mensen nieuwe woningen erbij brengen. Het model werkt met "
        "CBS-tellingen per buurt, niet met gegevens over personen."
    ),
    theme="Wonen",
    purpose_and_impact=(
        "Doel: beleidsadviseurs laten zien hoe de leeftijdsopbouw van buurten verandert door vergrijzing, "
        "geboorte en nieuwbouw, zodat de gemeente op tijd kan plannen voor zorg, ontmoetingsplekken en "
        "voorzieningen ('waar zijn extra voorzieningen nodig als een buurt vergrijst?'). De uitkomst is een "
        "verwachte waarde per buurt en leeftijdsgroep, geen voorspelling over personen of huishoudens. Het "
        "model neemt geen besluiten; de uitkomsten zijn een van de bronnen voor een verkenning."
    ),
    considerations=(
        "Een eenvoudig cohort-componentenmodel is uitlegbaar en controleerbaar: elke stap (sterfte, "
        "geboorte, verhuizing, ouder worden) is een vermenigvuldiging met een gepubliceerd landelijk "
        "cijfer. Nadelen: het CBS geeft per buurt maar vijf leeftijdsgroepen (65+ wordt met landelijke "
        "verhoudingen gesplitst), standaard is er geen verhuizing naar of uit de stad, en landelijke kansen "
        "gelden voor elke buurt. Voor officiele aantallen blijft de PBL/CBS-regionale prognose en de "
        "gemeentelijke prognose leidend; dit model is bedoeld om scenario's onderling te vergelijken."
    ),
    human_intervention=(
        "Een beleidsadviseur kiest het scenario, de tijdshorizon en eventueel andere kansen, en beoordeelt "
        "de uitkomst. Alle parameters staan met bron in de documentatie en kunnen per berekening worden "
        "aangepast."
    ),
    risk_management=(
        "Uitkomsten zijn verwachte waarden met onzekerheid en worden zo getoond. Buurten met door het CBS "
        "geheimgehouden cijfers krijgen de stedelijke leeftijdsopbouw en zijn gemarkeerd als geschat. Het "
        "model gebruikt geen kenmerken als herkomst of inkomen en wordt getest op bekende uitkomsten (totaal "
        "119.030 inwoners, handberekende projecties). Code en tests zijn openbaar."
    ),
    data=(
        "Geaggregeerde CBS Kerncijfers Wijken en Buurten 2020 (inwoners en leeftijdspercentages per buurt), "
        "geschatte bewoners per gebouw (afgeleid van BAG en CBS), landelijke CBS-cijfers over sterfte, "
        "geboorte en leeftijdsopbouw, en de woningen die een scenario toevoegt. Geen persoonsgegevens."
    ),
    technical_operation=(
        "Per buurt wordt de bevolking in enkele leeftijdsjaren (0 tot en met 84 en 85+) bijgehouden. Elk "
        "jaar: sterfte (kans per leeftijdsgroep), netto migratie (standaard 0), iedereen een jaar ouder, en "
        "geboorten uit het aantal vrouwen van 15-44 jaar maal het vruchtbaarheidscijfer. Nieuwe woningen "
        "brengen per type huishouden een vast aantal personen per leeftijdsgroep. Het model is niet "
        "zelflerend: de regels en cijfers liggen vast en veranderen alleen als iemand de parameters aanpast."
    ),
    impact_assessments=(
        "Geen DPIA nodig: het model verwerkt alleen geaggregeerde CBS-tellingen, geen persoonsgegevens"
    ),
    legal_basis=(
        "Geen aparte wettelijke grondslag nodig: het model ondersteunt de voorbereiding van "
        "plannen, neemt geen besluiten en verwerkt geen persoonsgegevens (alleen geaggregeerde "
        "CBS-tellingen). Kader: de omgevingsvisie en woningbouwplannen van de gemeente onder de "
        "Omgevingswet."
    ),
    legal_basis_title="Omgevingswet",
    legal_basis_link="https://wetten.overheid.nl/BWBR0037885",
    link="https://github.com/tweeling/tweeling/blob/main/docs/models/demography.md",
    source_code_link="https://github.com/tweeling/tweeling/blob/main/src/tweeling/scenarios/impacts/demography.py",
)

INFO = ModelInfo(
    id="demography",
    version="1.0.0",
    title="Population by age per buurt (cohort-component projection)",
    description=(
        "Projects the residents of each buurt by age group (0-14 ... 85+) a number of years ahead with "
        "survival, births, net migration and the households that new housing brings."
    ),
    requires=(),
    reads=frozenset({"buurten", "buildings", "new_households", "horizon_years"}),
    indicators=INDICATORS,
    method=__doc__ or "",
    sources=(
        "CBS Kerncijfers Wijken en Buurten 2020 (aant_inw, p_00_14_jr ... p_65_eo_jr)",
        "CBS StatLine Bevolking op 1 januari 2020 naar leeftijd (split of 65+)",
        "CBS doodsoorzakenstatistiek 2019: overledenen naar leeftijd (151,885)",
        "CBS StatLine Geboorte; kerncijfers (total fertility rate 2019-2020)",
    ),
    limitations=(
        "CBS gives five age groups per buurt; single years are spread uniformly within each group.",
        "65-74 / 75-84 / 85+ use national shares for every buurt: buurten with a nursing home have more 85+.",
        "National death and birth rates for every buurt; no differences by sex, income or origin.",
        "No migration by default (closed population), so young adults are not replaced as they age.",
        "CBS counts are for 1 January 2020; the projection starts there, whatever the city state's year.",
        "Results are expected values (fractions of persons), not counts, and carry uncertainty.",
    ),
    register=REGISTER,
)

MODEL = ImpactModel(info=INFO, params_type=DemographyParams, run=run)
