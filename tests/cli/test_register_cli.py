"""`tweeling register export | check`: a validated export of every built-in model; an incomplete
entry is one error line naming model and field (export) or a list of problems (check), exit 1."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from tweeling.cli import main
from tweeling.cli import register as register_cli
from tweeling.governance.algorithm_register import register_schema
from tweeling.scenarios.registry import BUILTIN_MODELS, Registry, load_registry


@pytest.fixture(scope="module")
def builtin() -> Registry:
    return load_registry(with_entry_points=False)


@pytest.fixture
def broken(builtin: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    """The built-in models with the traffic model's entry broken: no purpose, a name too long."""
    traffic = builtin.models["traffic"]
    register = dataclasses.replace(traffic.info.register, purpose_and_impact="", name="Verkeersmodel " * 8)
    models = dict(builtin.models)
    models["traffic"] = dataclasses.replace(
        traffic, info=dataclasses.replace(traffic.info, register=register)
    )
    monkeypatch.setattr(register_cli, "load_registry", lambda: Registry(models=models))


def test_export_to_a_file_validates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "algoritmeregister.json"
    assert main(["register", "export", "--data-dir", str(tmp_path), "--out", str(out)]) == 0
    assert capsys.readouterr().out == f"Wrote 8 algorithm register entries to {out}\n"
    export = json.loads(out.read_text(encoding="utf-8"))
    Draft202012Validator(register_schema(), format_checker=FormatChecker()).validate(export)
    assert [entry["source_id"] for entry in export] == list(BUILTIN_MODELS)


def test_export_to_standard_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["register", "export", "--data-dir", str(tmp_path)]) == 0
    export = json.loads(capsys.readouterr().out)
    assert export[3]["name"] == "Hittestress (gevoelstemperatuur PET) op een hete zomermiddag"


def test_check_passes_for_the_builtin_models(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["register", "check", "--data-dir", str(tmp_path)]) == 0
    assert "8 entries meet the Algoritmeregister standard 1.0.0" in capsys.readouterr().out


@pytest.mark.usefixtures("broken")
def test_export_of_a_broken_entry_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "export.json"
    assert main(["register", "export", "--data-dir", str(tmp_path), "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and not out.exists()
    assert captured.err == (
        "tweeling: error: the algorithm register does not meet the standard: traffic: name: too long: "
        "112 characters; the standard allows fewer than 100 (and 1 more)\n"
    )


@pytest.mark.usefixtures("broken")
def test_check_lists_incomplete_entries(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["register", "check", "--data-dir", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [
        "traffic: name: too long: 112 characters; the standard allows fewer than 100",
        "traffic: purpose_and_impact: missing; the standard requires it",
    ]
    assert captured.err == "tweeling: error: 1 of 8 register entries incomplete: traffic\n"
