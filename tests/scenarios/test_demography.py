"""Demography model: hand-computed projections, new housing, and golden numbers on Dordrecht."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tweeling.scenarios.city import CityState
from tweeling.scenarios.impacts import demography
from tweeling.scenarios.impacts.demography import (
    AGE_GROUPS,
    MODEL,
    POP_COLUMNS,
    ages_from_groups,
    groups_from_ages,
    project_population,
)

NO_DEATHS = dict.fromkeys(AGE_GROUPS, 0.0)
UNIFORM_PROFILE = {"65_69": 1.0, "70_74": 1.0, "75_79": 1.0, "80_84": 1.0}


def params(**overrides: object) -> demography.DemographyParams:
    """Default parameters with overrides."""
    return MODEL.make_params(overrides)


def one_buurt_city(demo_city: CityState, percent: tuple[int, ...], population: int = 1000) -> CityState:
    """The demo city cut down to one buurt with the given population and CBS age percentages."""
    code = "BU05050100"
    buurten = demo_city.buurten.loc[[code]].copy()
    buurten["aant_inw"] = pd.array([population], dtype="Int64")
    for column, value in zip(demography.CBS_PERCENT_COLUMNS, percent, strict=True):
        buurten[column] = pd.array([value], dtype="Int64")
    buildings = demo_city.buildings[demo_city.buildings["bu_code"] == code]
    return demo_city.replace(buurten=buurten, buildings=buildings)


def households(
    bu_code: object, building_id: int, dwellings: float, mix: tuple[float, float, float]
) -> pd.DataFrame:
    """A new_households frame with one row."""
    return pd.DataFrame(
        {
            "intervention": ["test"],
            "bu_code": [bu_code],
            "building_id": [building_id],
            "dwellings": [dwellings],
            "share_starters": [mix[0]],
            "share_families": [mix[1]],
            "share_seniors": [mix[2]],
        }
    )


def test_children_age_and_die_by_hand() -> None:
    # 1,500 children (100 per year of age), 10 % die each year, nobody else dies, no births.
    death = NO_DEATHS | {"0_14": 0.1}
    rates = params(death_probability=death, total_fertility_rate=0.0)
    start = ages_from_groups(np.array([[1500.0, 0, 0, 0, 0, 0, 0]]))
    one, components = project_population(start, 1, rates)
    # ages 0..13 survive (90 each) to 1..14; age 14 survives (90) to 15.
    assert groups_from_ages(one)[0] == pytest.approx([1260.0, 90.0, 0, 0, 0, 0, 0])
    assert components["deaths"].loc[1] == pytest.approx(150.0)
    two, _ = project_population(start, 2, rates)
    # 0-14: 13 single years of 81; 15-24: 81 (from 14, child rate) + 90 (15-year-olds, no deaths).
    assert groups_from_ages(two)[0] == pytest.approx([1053.0, 171.0, 0, 0, 0, 0, 0])


def test_births_by_hand() -> None:
    # 1,000 persons aged 25-44 (50 per year), half women, TFR 1.5 all born to women 25-44: 1.5 / 20 a year.
    rates = params(
        death_probability=NO_DEATHS, total_fertility_rate=1.5, births_share_15_24=0.0, female_share_15_44=0.5
    )
    start = ages_from_groups(np.array([[0, 0, 1000.0, 0, 0, 0, 0]]))
    one, components = project_population(start, 1, rates)
    assert components["births"].loc[1] == pytest.approx(1000 * 0.5 * 1.5 / 20)
    assert groups_from_ages(one)[0] == pytest.approx([37.5, 0, 950.0, 50.0, 0, 0, 0])
    two, _ = project_population(start, 2, rates)
    # year 2: 950 persons aged 26-44 give 950 x 0.5 x 0.075 = 35.625 births.
    assert groups_from_ages(two)[0] == pytest.approx([73.125, 0, 900.0, 100.0, 0, 0, 0])


def test_net_migration_and_open_age_group() -> None:
    rates = params(
        death_probability=NO_DEATHS | {"85_plus": 0.2},
        net_migration_rate=NO_DEATHS | {"85_plus": 0.1},
        total_fertility_rate=0.0,
    )
    start = ages_from_groups(np.array([[0, 0, 0, 0, 0, 100.0, 1000.0]]))
    one, components = project_population(start, 1, rates)
    # 85+: 1000 - 200 deaths + 100 migrants, plus the 10 aged 84 (a tenth of 75-84).
    assert groups_from_ages(one)[0][-1] == pytest.approx(910.0)
    assert components["net_migration"].loc[1] == pytest.approx(100.0)


def test_one_buurt_through_run_by_hand(demo_city: CityState) -> None:
    city = one_buurt_city(demo_city, (20, 10, 30, 25, 15))
    rates = params(demolished_residents_leave=False)
    now = demography.run(city, {}, rates).buurt.iloc[0]
    split = rates.split_65_plus
    assert now["pop_total"] == pytest.approx(1000.0)
    assert now[["pop_0_14", "pop_15_24", "pop_25_44", "pop_45_64"]].to_list() == pytest.approx(
        [200, 100, 300, 250]
    )
    assert now["pop_85_plus"] == pytest.approx(150 * split["85_plus"] / sum(split.values()))
    assert now["share_65_plus"] == pytest.approx(15.0)
    assert now["method"] == "cbs" and not now["estimated"]

    simple = params(
        demolished_residents_leave=False,
        death_probability=NO_DEATHS,
        total_fertility_rate=0.0,
        split_65_plus={"65_74": 0.6, "75_84": 0.3, "85_plus": 0.1},
        age_profile_65_84=UNIFORM_PROFILE,
    )
    later = demography.run(city.replace(horizon_years=1), {}, simple).buurt.iloc[0]
    expected = {
        "pop_0_14": 200 - 200 / 15,
        "pop_15_24": 100 - 10 + 200 / 15,
        "pop_25_44": 300 - 15 + 10,
        "pop_45_64": 250 - 12.5 + 15,
        "pop_65_74": 90 - 9 + 12.5,
        "pop_75_84": 45 - 4.5 + 9,
        "pop_85_plus": 15 + 4.5,
    }
    assert later[list(expected)].to_list() == pytest.approx(list(expected.values()))
    assert later["pop_total"] == pytest.approx(1000.0)


def test_rounded_percentages_are_rescaled_to_the_cbs_total(demo_city: CityState) -> None:
    city = one_buurt_city(demo_city, (20, 10, 30, 25, 16))  # adds up to 101 %
    result = demography.run(city, {}, params(demolished_residents_leave=False)).buurt.iloc[0]
    assert result["pop_total"] == pytest.approx(1000.0)
    assert result["pop_0_14"] == pytest.approx(200 / 1.01)


def test_new_households_add_the_right_persons(demo_city: CityState) -> None:
    code = "BU05050100"
    building = int(demo_city.buildings.index[demo_city.buildings["bu_code"] == code][0])
    city = demo_city.replace(new_households=households(code, building, 100, (0.5, 0.3, 0.2)))
    base = demography.run(demo_city, {}, params())
    result = demography.run(city, {}, params())
    added = result.buurt[list(POP_COLUMNS)].loc[code] - base.buurt[list(POP_COLUMNS)].loc[code]
    # starters 50 x (0.5 + 1.0), families 30 x (1.8 + 2.0), seniors 20 x (0.9 + 0.6)
    assert added.to_numpy(float) == pytest.approx([54.0, 25.0, 110.0, 0.0, 18.0, 12.0, 0.0])
    assert result.buurt["new_residents"].loc[code] == pytest.approx(219.0)
    assert result.city["pop_total"] - base.city["pop_total"] == pytest.approx(219.0)
    rows = result.data["new_residents_by_age"]
    assert rows["bu_code"].loc[0] == code and rows["building_id"].loc[0] == building


def test_new_households_buurt_from_building_when_missing(demo_city: CityState) -> None:
    building = int(demo_city.buildings.index[demo_city.buildings["bu_code"] == "BU05050909"][0])
    city = demo_city.replace(new_households=households(None, building, 10, (0.0, 1.0, 0.0)))
    result = demography.run(city, {}, params())
    assert result.buurt["new_residents"].loc["BU05050909"] == pytest.approx(38.0)
    lost = demo_city.replace(new_households=households(None, 10**9, 10, (0.0, 1.0, 0.0)))
    result = demography.run(lost, {}, params())
    assert result.data["unplaced_new_residents"] == pytest.approx(38.0)
    assert result.city["new_residents"] == 0.0


def test_thousand_family_dwellings_add_about_household_size_persons(demo_city: CityState) -> None:
    code = "BU05051007"
    building = int(demo_city.buildings.index[demo_city.buildings["bu_code"] == code][0])
    project = households(code, building, 1000, (0.0, 1.0, 0.0))
    for years, low, high in ((0, 3800.0, 3800.0), (10, 3800.0, 3800.0 * 1.25)):
        base = demography.run(demo_city.replace(horizon_years=years), {}, params())
        city = demo_city.replace(horizon_years=years, new_households=project)
        added = (
            demography.run(city, {}, params()).buurt["pop_total"].loc[code]
            - base.buurt["pop_total"].loc[code]
        )
        assert low - 1e-6 <= added <= high + 1e-6


def test_demolished_homes_take_their_residents_away(demo_city: CityState) -> None:
    code = "BU05050909"
    buildings = demo_city.buildings
    in_buurt = buildings.index[(buildings["bu_code"] == code) & (buildings["residents_est"] > 0)]
    gone = in_buurt[: len(in_buurt) // 2]
    removed = float(buildings["residents_est"].loc[gone].sum())
    result = demography.run(demo_city.replace(buildings=buildings.drop(index=gone)), {}, params())
    assert result.buurt["demolished_residents"].loc[code] == pytest.approx(removed)
    assert result.city["pop_total"] == pytest.approx(119_030 - removed)
    kept = demography.run(
        demo_city.replace(buildings=buildings.drop(index=gone)), {}, params(demolished_residents_leave=False)
    )
    assert kept.city["pop_total"] == pytest.approx(119_030)


def test_dordrecht_baseline(demo_city: CityState) -> None:
    result = demography.run(demo_city, {}, params())
    buurt = result.buurt
    assert list(buurt.index) == list(demo_city.buurten.index)
    assert result.city["pop_total"] == pytest.approx(119_030, abs=1e-6)
    assert result.city["share_65_plus"] == pytest.approx(
        19.2, abs=0.05
    )  # gemeente: 22,973 of 119,284 = 19.3 %
    assert result.city["pop_65_74"] + result.city["pop_75_84"] + result.city["pop_85_plus"] == pytest.approx(
        22_900, abs=50
    )
    assert buurt["method"].value_counts().to_dict() == {
        "cbs": 100,
        "cbs_total_city_age_structure": 29,
        "buildings_city_age_structure": 1,
    }
    assert buurt["pop_total"].loc["BU05059997"] == 0.0 and bool(buurt["estimated"].loc["BU05059997"])
    assert np.isnan(buurt["share_65_plus"].loc["BU05059997"])
    pd.testing.assert_frame_equal(result.data["population_by_age"], buurt[list(POP_COLUMNS)])


def test_dordrecht_ages_in_ten_years(demo_city: CityState) -> None:
    now = demography.run(demo_city, {}, params())
    later = demography.run(demo_city.replace(horizon_years=10), {}, params())
    # closed population: 65+ share 19.2 % -> 24.6 % (documented band 23-26 %)
    assert 23.0 <= later.city["share_65_plus"] <= 26.0
    assert later.city["share_75_plus"] > now.city["share_75_plus"] + 2.0
    assert later.city["pop_85_plus"] > now.city["pop_85_plus"] * 1.3
    assert later.city["pop_total"] == pytest.approx(119_030, rel=0.03)
    components = later.data["components"]
    assert list(components.index) == list(range(2022, 2032))
    assert 1000 <= components["births"].iloc[0] <= 1300
    assert 900 <= components["deaths"].iloc[0] <= 1300
    older = later.buurt["share_75_plus"] >= now.buurt["share_75_plus"]
    assert older[now.buurt["pop_total"] > 500].mean() > 0.8


def test_run_is_pure(demo_city: CityState) -> None:
    city = demo_city.replace(horizon_years=3, new_households=households("BU05050100", 1, 10, (0.4, 0.4, 0.2)))
    before = (city.buurten.copy(), city.buildings.drop(columns="geometry").copy(), city.new_households.copy())
    demography.run(city, {}, params())
    pd.testing.assert_frame_equal(city.buurten, before[0])
    pd.testing.assert_frame_equal(city.buildings.drop(columns="geometry"), before[1])
    pd.testing.assert_frame_equal(city.new_households, before[2])


def test_bad_parameters_say_how_to_fix_them(demo_city: CityState) -> None:
    with pytest.raises(ValueError, match="death_probability lacks age group"):
        demography.run(demo_city.replace(horizon_years=1), {}, params(death_probability={"0_14": 0.1}))
    with pytest.raises(ValueError, match="horizon_years must be 0 or more"):
        demography.run(demo_city.replace(horizon_years=-1), {}, params())
    with pytest.raises(ValueError, match="household_persons lacks household type"):
        demography.run(demo_city, {}, params(household_persons={"starters": {"25_44": 1.0}}))


def test_model_metadata() -> None:
    info = MODEL.info
    assert info.id == "demography" and info.requires == ()
    assert info.reads == frozenset({"buurten", "buildings", "new_households", "horizon_years"})
    for item in MODEL.parameters():
        assert item.source and item.unit
    assert {indicator.id for indicator in info.indicators} >= {"pop_total", *POP_COLUMNS, "share_65_plus"}
    assert "geen persoonsgegevens" in info.register.data.lower()
