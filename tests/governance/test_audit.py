"""The audit trail: a hash chain that shows edited, removed, reordered, inserted and cut-off entries."""

from __future__ import annotations

import hashlib
import hmac
import json
import multiprocessing
import stat
from datetime import date
from pathlib import Path

import pytest

from tweeling.governance.audit import GENESIS, AuditLog, AuditTrailError, canonical

KEY = b"k" * 32


def _log(tmp_path: Path, key: bytes = KEY) -> AuditLog:
    return AuditLog(tmp_path / "audit" / "audit.jsonl", key)


def _filled(tmp_path: Path, count: int = 5) -> AuditLog:
    log = _log(tmp_path)
    for number in range(1, count + 1):
        log.append(
            actor=f"user{number}",
            roles=["analyst"],
            action="data-access",
            target=f"GET /v1/collections/buildings/items/{number}",
            details={"reason": "analyst may read personal data"},
        )
    return log


def _lines(log: AuditLog) -> list[str]:
    return log.path.read_text().splitlines()


def _write(log: AuditLog, lines: list[str]) -> None:
    log.path.write_text("".join(line + "\n" for line in lines))


def test_entries_are_chained_with_an_hmac(tmp_path: Path) -> None:
    log = _log(tmp_path)
    first = log.append(actor="anna", roles=["analyst", "admin"], action="login", target="POST /v1/auth/token")
    second = log.append(
        actor="bert", roles=[], action="login-failed", target="POST /v1/auth/token", outcome="denied"
    )
    assert (first["seq"], second["seq"]) == (1, 2)
    assert first["prev"] == GENESIS and second["prev"] == first["mac"]
    assert first["roles"] == ["admin", "analyst"]
    assert first["time"].endswith("Z") and len(first["time"]) == len("2025-01-01T00:00:00.000Z")
    body = {key: value for key, value in second.items() if key != "mac"}
    assert second["mac"] == hmac.new(KEY, canonical(body), hashlib.sha256).hexdigest()
    stored = [json.loads(line) for line in _lines(log)]
    assert stored == [first, second]
    assert log.verify().ok and log.verify().entries == 2


def test_files_are_private(tmp_path: Path) -> None:
    log = _filled(tmp_path, 1)
    assert stat.S_IMODE(log.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(log.anchor_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(log.path.parent.stat().st_mode) == 0o700
    assert log.anchor_path.name == "audit.head"


def test_details_are_made_json_safe(tmp_path: Path) -> None:
    log = _log(tmp_path)
    entry = log.append(
        actor="anna",
        roles=["analyst"],
        action="scenario-run",
        target="job 1",
        details={"day": date(2025, 5, 1), "path": Path("/x"), "ratio": float("nan"), 3: {"ids": (1, 2)}},
    )
    assert entry["details"] == {"day": "2025-05-01", "path": "/x", "ratio": "nan", "3": {"ids": [1, 2]}}
    assert log.verify().ok


def test_an_empty_or_absent_trail_is_intact(tmp_path: Path) -> None:
    log = _log(tmp_path)
    assert log.verify().ok and log.verify().entries == 0
    assert log.entries() == [] and log.last() == []


def test_a_modified_entry_is_detected(tmp_path: Path) -> None:
    log = _filled(tmp_path)
    lines = _lines(log)
    entry = json.loads(lines[2])
    entry["actor"] = "someone-else"
    lines[2] = json.dumps(entry)
    _write(log, lines)
    result = log.verify()
    assert not result.ok
    assert result.first_bad_seq == 3 and result.entries == 2
    assert "MAC does not match" in (result.problem or "")


def test_an_edit_of_the_outcome_text_alone_is_detected(tmp_path: Path) -> None:
    log = _filled(tmp_path)
    text = log.path.read_text().replace('"outcome":"ok"', '"outcome":"denied"', 1)
    log.path.write_text(text)
    assert log.verify().first_bad_seq == 1


def test_a_removed_entry_is_detected(tmp_path: Path) -> None:
    log = _filled(tmp_path)
    lines = _lines(log)
    del lines[1]
    _write(log, lines)
    result = log.verify()
    assert not result.ok and result.first_bad_seq == 2
    assert "entries removed" in (result.problem or "")


def test_a_truncated_tail_is_detected(tmp_path: Path) -> None:
    log = _filled(tmp_path)
    _write(log, _lines(log)[:3])
    result = log.verify()
    assert not result.ok and result.entries == 3 and result.first_bad_seq == 4
    assert "head anchor records entry 5" in (result.problem or "")
    with pytest.raises(AuditTrailError, match="entries removed at the end"):
        AuditLog(log.path, KEY).append(actor="x", roles=[], action="login", target="t")


def test_a_trail_emptied_is_detected(tmp_path: Path) -> None:
    log = _filled(tmp_path)
    log.path.write_text("")
    result = log.verify()
    assert not result.ok and result.first_bad_seq == 1


def test_a_removed_anchor_is_detected_and_stops_appends(tmp_path: Path) -> None:
    log = _filled(tmp_path)
    log.anchor_path.unlink()
    assert log.verify().problem == "the head anchor (audit.head) is missing"
    with pytest.raises(AuditTrailError, match="missing"):
        AuditLog(log.path, KEY).append(actor="x", roles=[], action="login", target="t")


def test_an_edited_anchor_is_detected(tmp_path: Path) -> None:
    log = _filled(tmp_path)
    raw = log.anchor_path.read_bytes()
    log.anchor_path.write_bytes(raw.replace(b'"seq":5', b'"seq":3'))
    result = log.verify()
    assert not result.ok and "head anchor" in (result.problem or "")


def test_reordered_entries_are_detected(tmp_path: Path) -> None:
    log = _filled(tmp_path)
    lines = _lines(log)
    lines[1], lines[2] = lines[2], lines[1]
    _write(log, lines)
    result = log.verify()
    assert not result.ok and result.first_bad_seq == 2
    assert "reordered" in (result.problem or "")


def test_an_inserted_forged_entry_is_detected(tmp_path: Path) -> None:
    """Someone without the key inserts an entry with a plausible seq, prev and a MAC under a guess."""
    log = _filled(tmp_path)
    lines = _lines(log)
    before = json.loads(lines[1])
    forged = dict(before, seq=3, actor="mallory", action="roles-changed", prev=before["mac"])
    forged.pop("mac")
    forged["mac"] = hmac.new(b"guessed key", canonical(forged), hashlib.sha256).hexdigest()
    lines.insert(2, json.dumps(forged))
    _write(log, lines)
    result = log.verify()
    assert not result.ok and result.first_bad_seq == 3
    assert "MAC does not match" in (result.problem or "")


def test_an_inserted_copy_of_a_real_entry_is_detected(tmp_path: Path) -> None:
    log = _filled(tmp_path)
    lines = _lines(log)
    lines.insert(3, lines[1])
    _write(log, lines)
    result = log.verify()
    assert not result.ok and result.first_bad_seq == 4
    assert "appears again" in (result.problem or "")


def test_a_malformed_line_is_detected(tmp_path: Path) -> None:
    log = _filled(tmp_path)
    lines = _lines(log)
    lines[4] = lines[4][:40]
    _write(log, lines)
    result = log.verify()
    assert not result.ok and result.first_bad_seq == 5 and "malformed" in (result.problem or "")
    with pytest.raises(AuditTrailError, match="damaged"):
        AuditLog(log.path, KEY).append(actor="x", roles=[], action="login", target="t")


def test_a_deeply_nested_line_does_not_crash_verification(tmp_path: Path) -> None:
    log = _filled(tmp_path)
    _write(log, [*_lines(log), "[" * 100_000 + "]" * 100_000])
    assert log.verify().first_bad_seq == 6


def test_a_wrong_key_is_detected(tmp_path: Path) -> None:
    _filled(tmp_path)
    other = _log(tmp_path, key=b"another key")
    result = other.verify()
    assert not result.ok and result.first_bad_seq == 1
    assert "audit key" in (result.problem or "")
    with pytest.raises(AuditTrailError, match="audit key"):
        other.append(actor="x", roles=[], action="login", target="t")


def test_a_wrong_key_without_anchor_fails_on_the_first_entry(tmp_path: Path) -> None:
    log = _filled(tmp_path)
    log.anchor_path.unlink()
    result = _log(tmp_path, key=b"another key").verify()
    assert result.first_bad_seq == 1 and "MAC does not match" in (result.problem or "")


def test_a_second_writer_continues_the_chain(tmp_path: Path) -> None:
    """Two AuditLog objects on one file (two processes): each re-reads the tail the other wrote."""
    first, second = _log(tmp_path), _log(tmp_path)
    for number in range(6):
        writer = first if number % 3 else second
        writer.append(actor="a", roles=[], action="login", target=str(number))
    seqs = [entry["seq"] for entry in first.entries()]
    assert seqs == [1, 2, 3, 4, 5, 6] and first.verify().ok


def test_a_long_entry_is_read_back_as_the_tail(tmp_path: Path) -> None:
    log = _log(tmp_path)
    log.append(actor="a", roles=[], action="login", target="t", details={"blob": "x" * 20_000})
    _log(tmp_path).append(actor="b", roles=[], action="login", target="t", details={"blob": "y" * 9_000})
    assert log.verify().ok and log.verify().entries == 2


def test_entries_after_limit_and_action(tmp_path: Path) -> None:
    log = _filled(tmp_path, 6)
    log.append(actor="eve", roles=["ethics"], action="review-decision", target="review r1")
    assert [entry["seq"] for entry in log.entries(after=2, limit=3)] == [3, 4, 5]
    assert [entry["seq"] for entry in log.entries(action="review-decision")] == [7]
    assert [entry["seq"] for entry in log.last(2)] == [6, 7]
    assert [entry["seq"] for entry in log.last(3, action="data-access")] == [4, 5, 6]
    assert log.entries(limit=0) == []


def test_paging_a_long_trail_finds_every_entry(tmp_path: Path) -> None:
    """``after`` bisects the file (1.2 MB here); every page starts exactly after the cursor."""
    log = _log(tmp_path)
    for number in range(300):
        log.append(actor="a", roles=[], action="login", target=f"#{number}", details={"pad": "x" * 4000})
    assert log.path.stat().st_size > 1_000_000
    for after in (0, 1, 17, 150, 151, 298, 299, 300, 5000):
        page = log.entries(after=after, limit=2)
        assert [entry["seq"] for entry in page] == [seq for seq in (after + 1, after + 2) if seq <= 300]


def _append_many(path: str, worker: int, count: int) -> None:
    log = AuditLog(Path(path), KEY)
    for number in range(count):
        log.append(actor=f"worker{worker}", roles=["admin"], action="login", target=f"#{number}")


def test_concurrent_appends_from_two_processes_keep_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit" / "audit.jsonl"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_many, args=(str(path), n, 200)) for n in (1, 2)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(120)
        assert process.exitcode == 0
    log = AuditLog(path, KEY)
    result = log.verify()
    assert result.ok and result.entries == 400
    entries = log.entries(limit=1000)
    assert [entry["seq"] for entry in entries] == list(range(1, 401))
    actors = {entry["actor"] for entry in entries}
    assert actors == {"worker1", "worker2"}
