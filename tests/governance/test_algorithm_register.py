"""The algorithm register: the export meets the Algoritmeregister 1.0.0 schema for every built-in
model; broken entries are named by model and field; "In gebruik" needs a complete entry and an
approved review, and every change is kept with its history and audited."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

import tweeling.governance
from tweeling.core.errors import ConflictError, InvalidInputError, NotFoundError
from tweeling.governance.algorithm_register import (
    IN_DEVELOPMENT,
    IN_USE,
    OUT_OF_USE,
    AlgorithmRegister,
    check_entry,
    register_schema,
    required_fields,
)
from tweeling.governance.audit import AuditLog
from tweeling.governance.roles import Principal, Role
from tweeling.scenarios.registry import BUILTIN_MODELS, Registry, load_registry

SCHEMA_PATH = Path(tweeling.governance.__file__).parent / "schemas" / "algoritmeregister-1.0.0.schema.json"
ADMIN = Principal("beheerder", frozenset({Role.ADMIN}), token_id="t-1")
REGISTER_URL = "https://tweeling.example.org/v1/algorithms"


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry(with_entry_points=False)


@pytest.fixture
def register(tmp_path: Path, registry: Registry) -> AlgorithmRegister:
    return AlgorithmRegister(tmp_path, registry, register_url=REGISTER_URL)


def _validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def test_export_validates_with_an_entry_for_every_builtin_model(register: AlgorithmRegister) -> None:
    export = register.export()
    _validator().validate(export)
    assert [entry["source_id"] for entry in export] == list(BUILTIN_MODELS)
    for entry in export:
        assert all(entry[name] for name in required_fields())
        assert entry["status"] == IN_DEVELOPMENT
        assert entry["language"] == "nld" and entry["schema"] == "1.0.0"
        assert entry["source_link"] == f"{REGISTER_URL}/{entry['source_id']}"
        assert entry["link"].startswith("https://") and entry["source_code_link"].startswith("https://")
        assert "niet zelflerend" in entry["technical_operation"]
        assert set(entry) <= set(register_schema()["$defs"]["algorithm"]["properties"])


def test_schema_is_the_file_in_the_repository_and_says_what_it_enforces() -> None:
    schema = register_schema()
    assert schema == json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    algorithm = schema["$defs"]["algorithm"]
    assert algorithm["additionalProperties"] is False
    limits = {name: algorithm["properties"][name]["maxLength"] for name in ("name", "description_short")}
    assert limits == {"name": 99, "description_short": 349}
    assert algorithm["properties"]["purpose_and_impact"]["maxLength"] == 2499
    assert algorithm["properties"]["technical_operation"]["maxLength"] == 4999
    assert algorithm["properties"]["status"]["enum"] == ["In ontwikkeling", "In gebruik", "Buiten gebruik"]
    assert algorithm["properties"]["publication_category"]["enum"][-1] == "Overige algoritmes"
    for name in algorithm["required"]:
        prop = algorithm["properties"][name]
        assert prop.get("minLength") == 1 or "enum" in prop or "const" in prop or "pattern" in prop, name


def _entry(register: AlgorithmRegister, model_id: str) -> dict[str, Any]:
    return dict(register.entry(model_id).fields)


def test_a_broken_entry_is_named_by_model_and_field(register: AlgorithmRegister) -> None:
    broken = _entry(register, "traffic")
    del broken["purpose_and_impact"]
    broken["name"] = "Verkeersmodel " * 8  # 112 characters
    broken["start_date"] = "november 2026"
    problems = {(p.model_id, p.field): p.message for p in check_entry("traffic", broken)}
    assert set(problems) == {
        ("traffic", "purpose_and_impact"),
        ("traffic", "name"),
        ("traffic", "start_date"),
    }
    assert problems[("traffic", "name")] == "too long: 112 characters; the standard allows fewer than 100"
    assert "missing" in problems[("traffic", "purpose_and_impact")]
    assert "YYYY-MM" in problems[("traffic", "start_date")]
    assert not list(_validator().iter_errors([_entry(register, "traffic")]))
    assert len(list(_validator().iter_errors([broken]))) == 3


def test_export_refuses_a_register_with_an_incomplete_entry(register: AlgorithmRegister) -> None:
    incomplete = _entry(register, "noise_road") | {"name": "Geluidsmeting fietspaden", "considerations": ""}
    register.add_source("predictive-model", lambda: {"cycle_noise": incomplete})
    assert register.ids()[-1] == "cycle_noise"
    with pytest.raises(InvalidInputError) as raised:
        register.export()
    assert "cycle_noise: considerations: missing" in raised.value.message
    assert raised.value.invalid_params == [
        {"name": "cycle_noise.considerations", "reason": "missing; the standard requires it"}
    ]
    assert [p.model_id for p in register.problems()] == ["cycle_noise"]


def test_in_use_needs_an_approved_review(register: AlgorithmRegister) -> None:
    with pytest.raises(ConflictError, match="approved ethics review"):
        register.set_status("heat_pet", IN_USE, actor=ADMIN)
    with pytest.raises(ConflictError, match="not an approved 'model-in-use' review"):
        register.set_status("heat_pet", IN_USE, actor=ADMIN, review_id="rev-7")  # nothing is approved yet
    assert register.entry("heat_pet").status == IN_DEVELOPMENT
    assert register.entry("heat_pet").history == ()


def test_an_approved_review_puts_a_model_in_use_with_history(tmp_path: Path, registry: Registry) -> None:
    audit = AuditLog(tmp_path / "audit" / "audit.jsonl", b"k" * 32)
    register = AlgorithmRegister(tmp_path, registry, audit=audit, register_url=REGISTER_URL)
    asked: list[tuple[str, str, str]] = []

    def approved(review_id: str, kind: str, subject: str) -> bool:
        asked.append((review_id, kind, subject))
        return (review_id, kind, subject) == ("rev-12", "model-in-use", "heat_pet")

    register.approved_review = approved
    with pytest.raises(ConflictError):
        register.set_status("air_no2", IN_USE, actor=ADMIN, review_id="rev-12")  # a review of another model
    entry = register.set_status("heat_pet", IN_USE, actor=ADMIN, review_id="rev-12")
    assert asked == [("rev-12", "model-in-use", "air_no2"), ("rev-12", "model-in-use", "heat_pet")]
    assert entry.status == IN_USE and entry.fields["status"] == IN_USE
    (change,) = entry.history
    assert (change.status, change.actor, change.roles, change.review_id) == (
        IN_USE,
        "beheerder",
        ("admin",),
        "rev-12",
    )
    assert entry.fields["start_date"] == change.at[:7]
    assert change.public() == {"status": IN_USE, "at": change.at, "by": ["admin"], "review_id": "rev-12"}

    reopened = AlgorithmRegister(tmp_path, registry)  # the status lives in the record, not in memory
    assert reopened.entry("heat_pet").status == IN_USE
    assert reopened.entry("air_no2").status == IN_DEVELOPMENT
    out = reopened.set_status("heat_pet", OUT_OF_USE, actor=ADMIN)
    assert [c.status for c in out.history] == [IN_USE, OUT_OF_USE]
    assert out.fields["end_date"] == out.history[-1].at[:7]
    _validator().validate(reopened.export())

    logged = audit.entries(action="algorithm-status")
    assert [(e["target"], e["outcome"]) for e in logged] == [
        ("algorithm air_no2", "refused"),
        ("algorithm heat_pet", "ok"),
    ]
    assert logged[1]["actor"] == "beheerder" and logged[1]["details"]["review_id"] == "rev-12"


def test_an_incomplete_entry_cannot_change_status_but_can_be_withdrawn(register: AlgorithmRegister) -> None:
    incomplete: Mapping[str, Any] = _entry(register, "care") | {"human_intervention": ""}
    register.add_source("predictive-model", lambda: {"care_risk": incomplete})
    register.approved_review = lambda review_id, kind, subject: True
    with pytest.raises(ConflictError, match="human_intervention: missing"):
        register.set_status("care_risk", IN_USE, actor=ADMIN, review_id="rev-1")
    with pytest.raises(ConflictError, match="does not meet the standard"):
        register.set_status("care_risk", IN_DEVELOPMENT, actor=ADMIN)
    assert register.set_status("care_risk", OUT_OF_USE, actor=ADMIN).status == OUT_OF_USE


def test_unknown_status_and_model(register: AlgorithmRegister) -> None:
    with pytest.raises(InvalidInputError, match="'Actief' is not one of"):
        register.set_status("traffic", "Actief", actor=ADMIN)
    with pytest.raises(NotFoundError, match="no algorithm 'flood'"):
        register.set_status("flood", IN_USE, actor=ADMIN)
