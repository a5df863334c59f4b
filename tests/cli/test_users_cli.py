"""`tweeling users add | list | set-roles | disable | enable | revoke | token`: a round trip over one data
directory, and bad input as one line with exit code 1."""

from __future__ import annotations

import getpass
import io
import json
import time
from pathlib import Path

import pytest

from tweeling.cli import main
from tweeling.core.errors import AuthenticationError
from tweeling.governance.audit import AuditLog
from tweeling.governance.roles import Role
from tweeling.services.identity import IdentityService
from tweeling.services.settings import load_settings, secret_key

PASSWORD = "merwede-brug-1939"


def identity(data_dir: Path) -> IdentityService:
    settings = load_settings(data_dir=data_dir)
    return IdentityService(
        settings, AuditLog(data_dir / "audit" / "audit.jsonl", secret_key(settings, "audit"))
    )


def run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str, stdin: str = ""
) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_users_round_trip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    where = ["--data-dir", str(tmp_path)]
    code, out, _ = run(
        monkeypatch,
        capsys,
        "users",
        "add",
        "anna.devries",
        "--role",
        "analyst",
        "--role",
        "ethics",
        "--password-stdin",
        *where,
        stdin=PASSWORD + "\n",
    )
    assert code == 0 and "created user anna.devries with roles analyst, ethics" in out

    answers = iter([PASSWORD, PASSWORD])
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(answers))
    code, out, _ = run(monkeypatch, capsys, "users", "add", "root", "--role", "admin", *where)
    assert code == 0 and "root" in out

    code, out, _ = run(monkeypatch, capsys, "users", "list", *where)
    assert code == 0
    lines = out.splitlines()
    assert lines[1].split()[:3] == ["anna.devries", "analyst,", "ethics"] and lines[2].startswith("root ")
    code, out, _ = run(monkeypatch, capsys, "users", "list", "--json", *where)
    listed = json.loads(out)
    assert [u["username"] for u in listed] == ["anna.devries", "root"]
    assert all("password_hash" not in u for u in listed) and "argon2" not in out

    service = identity(tmp_path)
    old = service.login("anna.devries", PASSWORD, "cli-test").issued.token
    code, out, _ = run(
        monkeypatch, capsys, "users", "set-roles", "anna.devries", "--role", "resident", *where
    )
    assert code == 0 and "now has roles resident" in out
    assert service.users.get("anna.devries").roles == {Role.RESIDENT}  # type: ignore[union-attr]
    with pytest.raises(AuthenticationError, match="revoked"):
        service.authenticate(f"Bearer {old}")

    code, out, err = run(
        monkeypatch,
        capsys,
        "users",
        "token",
        "--subject",
        "sensor-simulator",
        "--role",
        "data_owner",
        "--ttl",
        "600",
        *where,
    )
    assert code == 0 and "valid until" in err
    token = out.strip()
    principal = service.authenticate(f"Bearer {token}")
    assert principal.subject == "sensor-simulator" and principal.roles == {Role.DATA_OWNER, Role.PUBLIC}
    assert principal.expires_at is not None and abs(principal.expires_at - time.time() - 600) < 10

    code, out, _ = run(monkeypatch, capsys, "users", "revoke", "sensor-simulator", *where)
    assert code == 0 and "service subject sensor-simulator" in out
    with pytest.raises(AuthenticationError, match="revoked"):
        service.authenticate(f"Bearer {token}")

    new = service.login("anna.devries", PASSWORD, "cli-test").issued.token
    code, out, _ = run(monkeypatch, capsys, "users", "disable", "anna.devries", *where)
    assert code == 0 and "disabled" in out
    with pytest.raises(AuthenticationError, match="disabled"):
        service.authenticate(f"Bearer {new}")
    code, out, _ = run(monkeypatch, capsys, "users", "enable", "anna.devries", *where)
    assert code == 0 and service.login("anna.devries", PASSWORD, "cli-test-2")

    entries = service.audit.entries(limit=100)
    actions = [entry["action"] for entry in entries]
    assert actions.count("user-created") == 2 and "roles-changed" in actions and "user-disabled" in actions
    assert actions.count("token-revoked") == 1
    by_cli = [e for e in entries if e["action"] != "login" or e["details"].get("method") == "service-token"]
    assert all(e["actor"] == f"cli:{getpass.getuser()}" for e in by_cli)
    issued = [e for e in entries if e["details"].get("method") == "service-token"]
    assert issued[0]["target"] == "subject:sensor-simulator" and issued[0]["details"]["ttl_s"] == 600


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (
            ["add", "Anna Smit", "--role", "analyst", "--password-stdin"],
            PASSWORD,
            "user name 'Anna Smit' is not valid",
        ),
        (
            ["add", "anna", "--role", "analyst", "--password-stdin"],
            "kort-wachtwoord"[:8],
            "at least 12 characters",
        ),
        (["add", "anna", "--role", "superuser", "--password-stdin"], PASSWORD, "unknown role 'superuser'"),
        (["set-roles", "nobody", "--role", "analyst"], "", "no user called 'nobody'"),
        (["disable", "nobody"], "", "no user called 'nobody'"),
        (["token", "--subject", "Sensor Sim", "--role", "data_owner"], "", "is not valid"),
        (["token", "--subject", "sensor-sim", "--role", "data_owner", "--ttl", "0"], "", "at least 1 second"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    stdin: str,
    message: str,
) -> None:
    code, out, err = run(monkeypatch, capsys, "users", *args, "--data-dir", str(tmp_path), stdin=stdin + "\n")
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("tweeling: error: ") and message in err


def test_prompted_passwords_must_match_and_the_last_admin_stays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = iter([PASSWORD, PASSWORD + "!"])
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(answers))
    code, _, err = run(
        monkeypatch, capsys, "users", "add", "root", "--role", "admin", "--data-dir", str(tmp_path)
    )
    assert code == 1 and "do not match" in err
    where = ["--data-dir", str(tmp_path)]
    run(
        monkeypatch,
        capsys,
        "users",
        "add",
        "root",
        "--role",
        "admin",
        "--password-stdin",
        *where,
        stdin=PASSWORD,
    )
    code, _, err = run(monkeypatch, capsys, "users", "set-roles", "root", "--role", "analyst", *where)
    assert code == 1 and "last enabled administrator" in err and err.count("\n") == 1
    code, _, err = run(
        monkeypatch,
        capsys,
        "users",
        "add",
        "root",
        "--role",
        "admin",
        "--password-stdin",
        *where,
        stdin=PASSWORD,
    )
    assert code == 1 and "already exists" in err
