"""`tweeling scenario run | validate | models`: files written, one-line errors, nothing half-written."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from tweeling.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_run_writes_every_format_and_a_summary(demo_store_url: str, tmp_path: Path, capsys) -> None:
    out = tmp_path / "greening"
    code = main(
        [
            "scenario",
            "run",
            str(EXAMPLES / "e-greening-statenplein.yaml"),
            "--store-url",
            demo_store_url,
            "--data-dir",
            str(tmp_path),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "Scenario: Greening Statenplein" in printed
    assert "files written to" in printed
    names = {path.name for path in out.iterdir()}
    for level in ("buurten", "grid"):
        assert {f"{level}.parquet", f"{level}.geojson", f"{level}.csv"} <= names
    assert {"summary.txt", "city.csv", "effects.csv"} <= names
    buurten = gpd.read_parquet(out / "buurten.parquet")
    assert len(buurten) == 130 and buurten.crs.to_epsg() == 28992
    city = pd.read_csv(out / "city.csv", index_col=0)
    assert {"baseline", "scenario", "difference", "unit"} <= set(city.columns)
    heat = city[city["domain"] == "heat"]
    assert (heat["difference"] <= 0).all() and (heat["difference"] < 0).any()
    grid = gpd.read_file(out / "grid.geojson")
    assert grid.crs.to_epsg() == 4326


def test_validate_accepts_every_example(demo_store_url: str, capsys) -> None:
    for path in sorted(EXAMPLES.glob("*.yaml")):
        assert main(["scenario", "validate", str(path), "--store-url", demo_store_url]) == 0, path
    assert capsys.readouterr().out.count(": valid;") == 5


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (
            "name: x\ninterventions:\n  - {type: housing_project, dwellings: -1, replace_buildings: [1]}\n",
            "interventions[0].housing_project.dwellings",
        ),
        (
            "name: x\ncrs: EPSG:28992\ninterventions:\n"
            "  - {type: facility, action: remove, facility_id: 99999}\n",
            "intervention 0 (facility 'facility'): facility_id: unknown facility_id 99999",
        ),
        ("name: x\nparameters: {traffic: {no_such_parameter: 1}}\n", "parameters.traffic: unknown parameter"),
        ("name: [unclosed\n", "not valid YAML or JSON"),
    ],
)
def test_bad_scenarios_are_one_line_errors(
    demo_store_url: str, tmp_path: Path, capsys, text: str, words: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    out = tmp_path / "out"
    assert main(["scenario", "run", str(path), "--store-url", demo_store_url, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err
    assert not out.exists(), "a failed run writes nothing"


def test_missing_file_and_unknown_format(demo_store_url: str, tmp_path: Path, capsys) -> None:
    assert main(["scenario", "run", str(tmp_path / "none.yaml"), "--store-url", demo_store_url]) == 1
    assert "cannot read" in capsys.readouterr().err
    path = EXAMPLES / "b-ageing-10-years.yaml"
    assert main(["scenario", "run", str(path), "--store-url", demo_store_url, "--format", "shp"]) == 1
    assert "unknown output format(s) shp" in capsys.readouterr().err


def test_models_lists_every_model(capsys) -> None:
    assert main(["scenario", "models"]) == 0
    out = capsys.readouterr().out
    for model_id in (
        "traffic",
        "air_no2",
        "noise_road",
        "heat_pet",
        "proximity",
        "demography",
        "care",
        "liveability",
    ):
        assert model_id in out
    assert "unavailable" not in out
