"""The audit trail: an append-only JSON Lines file whose entries are chained with an HMAC.

Each line is one entry::

    {"action": "login", "actor": "anna", "details": {...}, "mac": "…", "outcome": "ok",
     "prev": "…", "roles": ["analyst"], "seq": 7, "target": "POST /v1/auth/token",
     "time": "2025-05-01T09:30:12.345Z"}

``mac`` is HMAC-SHA256, under the deployment's audit key, of the canonical JSON (sorted keys, no
spaces, UTF-8) of the entry without ``mac``; ``prev`` is the ``mac`` of the entry before (64 zeros
for the first). Editing an entry breaks its MAC; removing, inserting or reordering entries breaks
the ``seq`` numbering and the ``prev`` links; forging an entry needs the key. Removing the last
entries would leave a valid shorter chain, so a head anchor beside the file (``audit.head``: the
last ``seq`` and ``mac``, MAC'd, in two alternately written slots) records how far the trail went.

Several server processes and the command line append to one file: every append holds an exclusive
``flock`` on it, reads the last entry (only the last line, from the end of the file) when another
process wrote since, writes one line with one ``write`` call and ``fsync``s it.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import math
import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from tweeling.core.errors import TweelingError

GENESIS = "0" * 64
"""The ``prev`` of the first entry."""

FIELDS = ("seq", "time", "actor", "roles", "action", "target", "outcome", "details", "prev", "mac")
"""The fields of every entry."""

_KEY_CHECK_MESSAGE = b"tweeling audit key check"
WRONG_KEY = "the audit key is not the one this trail was written with"
_TAIL_BLOCK = 4096
ANCHOR_SLOT = 256
"""Bytes per slot of the head anchor file (two slots, each one JSON line padded with spaces)."""


class AuditTrailError(TweelingError):
    """The audit trail is damaged, or the key is not the trail's.

    Appends refuse rather than continue a chain they cannot link to; ``tweeling audit verify``
    says what is wrong."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 503, "audit-trail-unavailable", "Audit trail unavailable")


@dataclass(frozen=True)
class AuditVerification:
    """The result of checking the whole trail: intact or where it first breaks."""

    ok: bool
    entries: int
    """Entries found intact (all of them when ``ok``; those before the break otherwise)."""
    first_bad_seq: int | None = None
    """The sequence number where the trail first breaks (the entry expected at that place)."""
    problem: str | None = None
    """What is wrong there, in words."""

    def as_dict(self) -> dict[str, Any]:
        """JSON form for the API."""
        return {
            "ok": self.ok,
            "entries": self.entries,
            "first_bad_seq": self.first_bad_seq,
            "problem": self.problem,
        }


def _same(first: str, second: str) -> bool:
    """Constant-time comparison of two MACs (any text, not only ASCII)."""
    return hmac.compare_digest(first.encode("utf-8"), second.encode("utf-8"))


def canonical(document: Mapping[str, Any]) -> bytes:
    """The canonical JSON of a document: sorted keys, no spaces, UTF-8, no NaN."""
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON: mappings with string keys, lists, strings, finite numbers, booleans,
    None; anything else (dates, paths, sets, NaN) becomes its ``str``."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return str(value)


@dataclass(frozen=True)
class _Anchor:
    """The head as the anchor records it."""

    seq: int
    mac: str


@dataclass(frozen=True)
class _Head:
    """The end of the chain as this process last saw it: last seq and mac, and the file size then."""

    seq: int
    mac: str
    size: int


class AuditLog:
    """Append-only audit trail at ``path``, chained with an HMAC under ``key``."""

    def __init__(self, path: Path, key: bytes) -> None:
        self.path = Path(path)
        self.anchor_path = self.path.with_suffix(".head")
        self._key = key
        self._lock = threading.Lock()
        self._head: _Head | None = None

    # -- writing -------------------------------------------------------------------------------

    def append(
        self,
        *,
        actor: str,
        roles: Iterable[str],
        action: str,
        target: str,
        outcome: str = "ok",
        details: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Record one event; returns the stored entry (with ``seq`` and ``mac``).

        AuditTrailError when the trail's end cannot be linked to (damaged last line, entries removed
        at the end, another key); OSError when the file cannot be written."""
        with self._lock:
            self._prepare_folder()
            descriptor = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX)
                size = os.fstat(descriptor).st_size
                head = self._head
                if head is None or head.size != size:
                    head = self._read_head(descriptor, size)
                entry: dict[str, Any] = {
                    "seq": head.seq + 1,
                    "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                    "actor": str(actor),
                    "roles": sorted(str(role) for role in roles),
                    "action": str(action),
                    "target": str(target),
                    "outcome": str(outcome),
                    "details": json_safe(dict(details or {})),
                    "prev": head.mac,
                }
                entry["mac"] = self._mac(entry)
                line = canonical(entry) + b"\n"
                written = os.write(descriptor, line)
                if written != len(line):
                    raise OSError(f"audit trail: short write ({written} of {len(line)} bytes)")
                os.fsync(descriptor)
                self._write_anchor(entry["seq"], entry["mac"])
                self._head = _Head(entry["seq"], entry["mac"], size + len(line))
            finally:
                os.close(descriptor)  # closing releases the lock
        return entry

    def _prepare_folder(self) -> None:
        folder = self.path.parent
        if not folder.is_dir():
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(folder, 0o700)

    def _read_head(self, descriptor: int, size: int) -> _Head:
        """The last entry's seq and mac, read from the file's last line (under the lock), checked
        against the head anchor; a new trail gets its anchor (seq 0) before its first entry."""
        anchor, problem = self._anchor_state()
        if problem is not None:
            raise AuditTrailError(f"{problem}; run `tweeling audit verify`")
        if size == 0:
            if anchor is not None and anchor.seq > 0:
                raise AuditTrailError(
                    f"the audit trail is empty but its head anchor records entry {anchor.seq} "
                    "(entries removed); run `tweeling audit verify`"
                )
            if anchor is None:
                self._write_anchor(0, GENESIS)
            return _Head(0, GENESIS, 0)
        if anchor is None:
            raise AuditTrailError("the head anchor (audit.head) is missing; run `tweeling audit verify`")
        entry = _parse(_last_line(descriptor, size))
        if entry is None:
            raise AuditTrailError("the last line of the audit trail is damaged; run `tweeling audit verify`")
        if not _same(self._mac(entry), entry["mac"]):
            raise AuditTrailError(
                "the last entry of the audit trail does not verify (edited, or another audit key); "
                "run `tweeling audit verify`"
            )
        if anchor.seq > entry["seq"]:
            raise AuditTrailError(
                f"the audit trail ends at entry {entry['seq']} but its head anchor records entry "
                f"{anchor.seq} (entries removed at the end); run `tweeling audit verify`"
            )
        return _Head(entry["seq"], entry["mac"], size)

    def _mac(self, entry: Mapping[str, Any]) -> str:
        body = {key: value for key, value in entry.items() if key != "mac"}
        return hmac.new(self._key, canonical(body), hashlib.sha256).hexdigest()

    def _key_check(self) -> str:
        return hmac.new(self._key, _KEY_CHECK_MESSAGE, hashlib.sha256).hexdigest()[:16]

    def _anchor_mac(self, seq: Any, mac: Any, key_check: Any) -> str:
        body = {"seq": seq, "mac": mac, "key_check": key_check}
        return hmac.new(self._key, canonical(body), hashlib.sha256).hexdigest()

    def _write_anchor(self, seq: int, mac: str) -> None:
        """Record the head in the anchor's slot ``seq % 2`` (one ``pwrite``).

        Two slots, alternately written, so that a write torn by a crash leaves the other slot (the
        head before) intact. No fsync: the entry itself is on disk already, and an anchor that lost
        its last write is merely behind the file, which verification accepts."""
        key_check = self._key_check()
        slot = canonical(
            {
                "seq": seq,
                "mac": mac,
                "key_check": key_check,
                "anchor_mac": self._anchor_mac(seq, mac, key_check),
            }
        )
        descriptor = os.open(self.anchor_path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            os.pwrite(descriptor, slot.ljust(ANCHOR_SLOT - 1) + b"\n", (seq % 2) * ANCHOR_SLOT)
        finally:
            os.close(descriptor)

    def _anchor_state(self) -> tuple[_Anchor | None, str | None]:
        """The head the anchor records (its newest sound slot) and what is wrong with the anchor:
        (None, None) when there is no anchor; a problem when it is damaged, edited or written
        under another key. An unreadable slot beside a sound one is a write torn by a crash."""
        try:
            raw = self.anchor_path.read_bytes()
        except FileNotFoundError:
            return None, None
        newest: _Anchor | None = None
        for offset in range(0, len(raw), ANCHOR_SLOT):
            try:
                slot = json.loads(raw[offset : offset + ANCHOR_SLOT])
                seq, mac, key_check, anchor_mac = (
                    slot["seq"],
                    slot["mac"],
                    slot["key_check"],
                    slot["anchor_mac"],
                )
            except (ValueError, TypeError, KeyError, RecursionError):
                continue
            if not _same(str(key_check), self._key_check()):
                return None, WRONG_KEY
            if not isinstance(seq, int) or not _same(str(anchor_mac), self._anchor_mac(seq, mac, key_check)):
                return None, "the head anchor (audit.head) was edited"
            if newest is None or seq > newest.seq:
                newest = _Anchor(seq, str(mac))
        if newest is None:
            return None, "the head anchor (audit.head) is damaged"
        return newest, None

    # -- reading -------------------------------------------------------------------------------

    def _lines(self, *, after: int = 0) -> Iterator[bytes]:
        """The file's lines; with ``after``, starting near the first entry with a higher seq (found
        by bisecting the file, as seq grows along it), so that paging stays cheap on a long trail."""
        try:
            stream = self.path.open("rb")
        except FileNotFoundError:
            return
        with stream:
            if after > 0:
                stream.seek(_start_before(stream, os.fstat(stream.fileno()).st_size, after))
            yield from stream

    def entries(self, *, after: int = 0, limit: int = 100, action: str | None = None) -> list[dict[str, Any]]:
        """Entries with ``seq`` above ``after``, oldest first, at most ``limit``, optionally of one
        ``action``; lines that are not entries are left out (``verify`` reports them)."""
        found: list[dict[str, Any]] = []
        if limit <= 0:
            return found
        for line in self._lines(after=after):
            entry = _parse(line)
            if entry is None or entry["seq"] <= after:
                continue
            if action is not None and entry["action"] != action:
                continue
            found.append(entry)
            if len(found) >= limit:
                break
        return found

    def last(self, limit: int = 20, *, action: str | None = None) -> list[dict[str, Any]]:
        """The newest ``limit`` entries (optionally of one ``action``), oldest first."""
        window: list[dict[str, Any]] = []
        if limit <= 0:
            return window
        for line in self._lines():
            entry = _parse(line)
            if entry is None or (action is not None and entry["action"] != action):
                continue
            window.append(entry)
            if len(window) > 2 * limit:
                del window[:-limit]
        return window[-limit:]

    def verify(self) -> AuditVerification:
        """Check the whole trail: every MAC, the ``seq`` numbering, the ``prev`` links, and the head
        anchor (entries removed at the end, another key)."""
        with self._snapshot() as (lines, anchor_problem, anchor):
            return self._verify(lines, anchor_problem, anchor)

    @contextmanager
    def _snapshot(self) -> Iterator[tuple[Iterator[bytes], str | None, _Anchor | None]]:
        """The trail's lines as far as it reached when the anchor was read (a consistent pair while
        other processes append: the lock is held only to take the file's size and the anchor)."""
        try:
            stream = self.path.open("rb")
        except FileNotFoundError:
            anchor, problem = self._anchor_state()
            yield iter(()), problem, anchor
            return
        with stream:
            fcntl.flock(stream.fileno(), fcntl.LOCK_SH)
            try:
                size = os.fstat(stream.fileno()).st_size
                anchor, problem = self._anchor_state()
            finally:
                fcntl.flock(stream.fileno(), fcntl.LOCK_UN)
            yield _lines_upto(stream, size), problem, anchor

    def _verify(
        self, lines: Iterator[bytes], anchor_problem: str | None, anchor: _Anchor | None
    ) -> AuditVerification:
        if anchor_problem == WRONG_KEY:
            return AuditVerification(False, 0, 1, anchor_problem)
        anchored_seq = anchor.seq if anchor else 0
        expected_seq, prev = 1, GENESIS
        for line in lines:
            entry = _parse(line)
            if entry is None:
                problem: str | None = "malformed line (not an audit entry)"
            else:
                problem = self._entry_problem(entry, expected_seq, prev)
                if (
                    problem is None
                    and anchor is not None
                    and expected_seq == anchored_seq
                    and not _same(anchor.mac, entry["mac"])
                ):
                    problem = "entry differs from the one the head anchor records"
            if entry is None or problem is not None:
                return AuditVerification(False, expected_seq - 1, expected_seq, problem)
            prev = entry["mac"]
            expected_seq += 1
        count = expected_seq - 1
        if anchor_problem is not None:
            return AuditVerification(False, count, count + 1, anchor_problem)
        if anchor is None:
            if count == 0:
                return AuditVerification(True, 0)
            return AuditVerification(False, count, count + 1, "the head anchor (audit.head) is missing")
        if anchored_seq > count:
            return AuditVerification(
                False,
                count,
                count + 1,
                f"the trail ends at entry {count} but the head anchor records entry {anchored_seq} "
                "(entries removed at the end)",
            )
        return AuditVerification(True, count)

    def _entry_problem(self, entry: Mapping[str, Any], expected_seq: int, prev: str) -> str | None:
        if not _same(self._mac(entry), str(entry["mac"])):
            return "MAC does not match (entry edited, or written without the audit key)"
        seq = entry["seq"]
        if seq > expected_seq:
            return f"found entry {seq} where entry {expected_seq} belongs (entries removed or reordered)"
        if seq < expected_seq:
            return (
                f"entry {seq} appears again after entry {expected_seq - 1} (entries reordered or duplicated)"
            )
        if entry["prev"] != prev:
            return "its link to the previous entry does not match (entries removed, inserted or reordered)"
        return None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse(line: bytes) -> dict[str, Any] | None:
    """One line as an entry, None if it is not one (not JSON, other fields, wrong types)."""
    try:
        entry = json.loads(line, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        return None
    if not isinstance(entry, dict) or set(entry) != set(FIELDS):
        return None
    if not isinstance(entry["seq"], int) or isinstance(entry["seq"], bool):
        return None
    if not all(isinstance(entry[name], str) for name in ("time", "actor", "action", "target", "outcome")):
        return None
    if not isinstance(entry["mac"], str) or not isinstance(entry["prev"], str):
        return None
    return entry


_BISECT_STOP = 64 * 1024
"""Below this many bytes, bisecting gives way to reading on."""


def _start_before(stream: BinaryIO, size: int, after: int) -> int:
    """A line start at or before the first entry with seq above ``after`` (bisection over byte
    offsets; where a line cannot be read as an entry it stops and reads on from the lower end)."""
    low, high = 0, size
    while high - low > _BISECT_STOP:
        middle = (low + high) // 2
        stream.seek(middle)
        stream.readline()
        start = stream.tell()
        entry = _parse(stream.readline())
        if entry is None:
            break
        if entry["seq"] <= after:
            low = start
        else:
            high = middle
    return low


def _lines_upto(stream: BinaryIO, size: int) -> Iterator[bytes]:
    """The lines of ``stream`` within its first ``size`` bytes."""
    remaining = size
    for line in stream:
        if remaining <= 0:
            return
        yield line[:remaining]
        remaining -= len(line)


def _last_line(descriptor: int, size: int) -> bytes:
    """The last line (without its newline) of an open file of ``size`` bytes, read backwards from
    the end in blocks, so that the cost does not grow with the file."""
    end = size - 1 if os.pread(descriptor, 1, size - 1) == b"\n" else size
    tail = b""
    position = end
    while position > 0:
        step = min(_TAIL_BLOCK, position)
        position -= step
        tail = os.pread(descriptor, step, position) + tail
        newline = tail.rfind(b"\n")
        if newline >= 0:
            return tail[newline + 1 :]
    return tail
