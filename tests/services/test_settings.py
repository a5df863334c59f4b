"""Settings from environment and YAML; road-class overrides; insecure production refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from tweeling.core.errors import ConfigurationError, InvalidInputError
from tweeling.services.citymodel import road_classes
from tweeling.services.settings import load_settings


def test_defaults_use_embedded_store_in_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.resolved_store_url == f"duckdb://{tmp_path / 'var' / 'tweeling.duckdb'}"
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)


def test_yaml_file_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = tmp_path / "tw.yaml"
    file.write_text("port: 9001\nstore_url: postgresql://u@h/db\n")
    monkeypatch.setenv("TWEELING_SETTINGS_FILE", str(file))
    assert load_settings().port == 9001
    monkeypatch.setenv("TWEELING_PORT", "9002")
    settings = load_settings()
    assert settings.port == 9002 and settings.resolved_store_url == "postgresql://u@h/db"


def test_invalid_settings_are_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWEELING_PORT", "99999")
    with pytest.raises(ConfigurationError, match="port"):
        load_settings()


def test_production_refuses_implicit_store_and_open_cors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWEELING_ENVIRONMENT", "production")
    with pytest.raises(ConfigurationError, match="explicit store_url"):
        load_settings()
    with pytest.raises(ConfigurationError, match="cors_origins"):
        load_settings(store_url="postgresql://u@h/db", cors_origins=["*"])


def test_road_classes_file_overrides_defaults(tmp_path: Path) -> None:
    file = tmp_path / "roads.yaml"
    file.write_text("minor: {free_speed_kmh: 50}\ntrack: null\n")
    classes = road_classes(load_settings(road_classes_file=file))
    assert classes["minor"].free_speed_kmh == 50
    assert classes["minor"].capacity_veh_per_h == 600  # unchanged default
    assert classes["motorway"].free_speed_kmh == 100  # classes not named keep their defaults
    assert "track" not in classes


def test_bad_road_classes_file(tmp_path: Path) -> None:
    file = tmp_path / "roads.yaml"
    file.write_text("minor: {free_speed_kmh: -5}\n")
    with pytest.raises(InvalidInputError):
        road_classes(load_settings(road_classes_file=file))
    file.write_text("- just a list\n")
    with pytest.raises(InvalidInputError, match="mapping"):
        road_classes(load_settings(road_classes_file=file))
