"""`tweeling info` lists the layers with counts, CRS and flags; `tweeling demo --no-serve` is idempotent."""

from __future__ import annotations

import json
import re

from tweeling.cli import main
from tweeling.services.governance import audit_log
from tweeling.services.identity import IdentityService
from tweeling.services.settings import load_settings


def test_info_lists_demo_layers(demo_store_url: str, capsys) -> None:
    assert main(["info", "--store-url", demo_store_url]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^buildings +65,796 +Polygon +EPSG:28992", out, re.MULTILINE)
    assert "population (CBS 2020): 119,030" in out
    assert "in the largest connected component" in out
    assert "estimated: " in out


def test_info_json(demo_store_url: str, capsys) -> None:
    assert main(["info", "--json", "--store-url", demo_store_url]) == 0
    layers = {entry["name"]: entry for entry in json.loads(capsys.readouterr().out)}
    assert layers["buurten"]["feature_count"] == 130
    assert layers["buildings"]["crs"] == "EPSG:28992"


def test_demo_no_serve_skips_a_second_import(demo_store_url: str, tmp_path, capsys) -> None:
    assert main(["demo", "--no-serve", "--store-url", demo_store_url, "--data-dir", str(tmp_path)]) == 0
    assert "already in" in capsys.readouterr().out


def test_demo_creates_one_account_per_role_once(demo_store_url: str, tmp_path, capsys) -> None:
    """The demo's accounts: a random password each, in a file only the owner can read; they log in."""
    args = ["demo", "--no-serve", "--store-url", demo_store_url, "--data-dir", str(tmp_path)]
    assert main(args) == 0
    accounts = tmp_path / "demo-accounts.txt"
    assert "demo-accounts.txt" in capsys.readouterr().out
    assert accounts.stat().st_mode & 0o777 == 0o600
    rows = [line.split() for line in accounts.read_text().splitlines() if not line.startswith("#")]
    assert {role for _, role, _ in rows} == {"admin", "analyst", "data_owner", "ethics", "resident"}
    settings = load_settings(store_url=demo_store_url, data_dir=tmp_path)
    identity = IdentityService(settings, audit_log(settings))
    name, role, password = rows[1]
    assert role in identity.login(name, password, "127.0.0.1").roles
    assert main(args) == 0
    assert accounts.read_text().count("\n") == len(rows) + 1
    assert "demo-accounts" not in capsys.readouterr().out


def test_info_on_missing_store_is_one_line(tmp_path, capsys) -> None:
    assert main(["info", "--store-url", f"duckdb://{tmp_path / 'none.duckdb'}"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "run `tweeling demo`" in err


def test_unknown_store_scheme(capsys) -> None:
    assert main(["info", "--store-url", "mysql://x"]) == 1
    assert "unknown store URL scheme 'mysql'" in capsys.readouterr().err
