"""Fixtures for the scenario engine and the impact models: the Dordrecht baseline city state."""

from __future__ import annotations

import pytest

from tweeling.scenarios.city import CityState, city_from_layers


@pytest.fixture(scope="session")
def demo_city() -> CityState:
    """The baseline city state of the shipped Dordrecht demo data (built once per session)."""
    from tweeling.citymodel.demo import build_demo_layers, read_demo_sources
    from tweeling.services.citymodel import road_classes
    from tweeling.services.settings import Settings

    layers = build_demo_layers(read_demo_sources(), road_classes(Settings()))
    return city_from_layers({layer.name: layer.frame for layer in layers})
