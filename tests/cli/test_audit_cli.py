"""`tweeling audit verify | show`: intact trail exit 0; a modified entry is one error line, exit 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tweeling.cli import main
from tweeling.governance.audit import AuditLog
from tweeling.services.governance import audit_log
from tweeling.services.settings import load_settings


def _trail(data_dir: Path, count: int = 4) -> AuditLog:
    log = audit_log(load_settings(data_dir=data_dir))
    for number in range(1, count + 1):
        log.append(
            actor="cli:operator",
            roles=["admin"],
            action="roles-changed" if number % 2 else "login",
            target=f"user u{number}",
            details={"roles": ["analyst"]},
        )
    return log


def test_verify_an_intact_trail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _trail(tmp_path)
    assert main(["audit", "verify", "--data-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out == "audit trail intact: 4 entries\n"


def test_verify_reports_a_modified_entry_on_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = _trail(tmp_path)
    log.path.write_text(log.path.read_text().replace("user u3", "user u7"))
    assert main(["audit", "verify", "--data-dir", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "tweeling: error: audit trail broken at entry 3: "
        "MAC does not match (entry edited, or written without the audit key)\n"
    )


def test_verify_reports_a_removed_last_entry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = _trail(tmp_path)
    log.path.write_text("".join(line + "\n" for line in log.path.read_text().splitlines()[:-1]))
    assert main(["audit", "verify", "--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("tweeling: error: audit trail broken at entry 4: ") and err.count("\n") == 1


def test_verify_with_another_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _trail(tmp_path)
    (tmp_path / "secrets" / "audit.key").write_text("another key")
    assert main(["audit", "verify", "--data-dir", str(tmp_path)]) == 1
    assert "the audit key is not the one this trail was written with" in capsys.readouterr().err


def test_show_newest_entries_as_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _trail(tmp_path)
    assert main(["audit", "show", "--limit", "2", "--data-dir", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].split()[0] == "3" and "roles-changed" in lines[0] and "user u3" in lines[0]
    assert lines[1].split()[0] == "4" and "cli:operator [admin]" in lines[1]


def test_show_by_action_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _trail(tmp_path)
    assert main(["audit", "show", "--action", "login", "--json", "--data-dir", str(tmp_path)]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert [entry["seq"] for entry in entries] == [2, 4]
    assert {entry["action"] for entry in entries} == {"login"}


def test_show_after(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _trail(tmp_path)
    assert main(["audit", "show", "--after", "1", "--limit", "2", "--json", "--data-dir", str(tmp_path)]) == 0
    assert [entry["seq"] for entry in json.loads(capsys.readouterr().out)] == [2, 3]


def test_show_refuses_a_zero_limit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["audit", "show", "--limit", "0", "--data-dir", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "must be 1 or more" in capsys.readouterr().err
