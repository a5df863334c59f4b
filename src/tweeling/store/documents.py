"""A small versioned JSON document store on disk, for scenarios and processing jobs.

Layout: ``<root>/<collection>/<id>/v0001.json, v0002.json, ...`` (every save is a new version;
nothing is overwritten) and, for mutable records such as job status, ``<id>/record.json``
replaced atomically. Writes go to a temporary file in the same folder and are renamed into
place (``os.replace``), so a crash or a failed run never leaves a half-written document.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tweeling.core.errors import InvalidInputError, NotFoundError

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")
_VERSION = re.compile(r"^v(\d{4,})\.json$")


def check_document_id(value: str, what: str = "id") -> str:
    """A document id: lower-case letters, digits, '-' and '_' (≤ 100 characters)."""
    if not _ID.fullmatch(value):
        raise InvalidInputError(
            f"{what} {value!r} is not valid: use lower-case letters, digits, '-' and '_' (at most 100)",
            invalid_params=[{"name": what, "reason": "invalid identifier"}],
        )
    return value


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _dump(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, indent=2, default=str).encode()


class DocumentStore:
    """Versioned JSON documents in one folder per collection (thread-safe within a process)."""

    def __init__(self, root: Path, collection: str) -> None:
        self.folder = Path(root) / collection
        self._lock = threading.Lock()

    def _dir(self, doc_id: str) -> Path:
        return self.folder / check_document_id(doc_id)

    def exists(self, doc_id: str) -> bool:
        """Whether a document with this id exists."""
        return self._dir(doc_id).is_dir() and any(self.versions(doc_id))

    def ids(self) -> list[str]:
        """All document ids, sorted."""
        if not self.folder.is_dir():
            return []
        return sorted(p.name for p in self.folder.iterdir() if p.is_dir() and _ID.fullmatch(p.name))

    def versions(self, doc_id: str) -> list[int]:
        """The version numbers of a document, oldest first."""
        folder = self._dir(doc_id)
        if not folder.is_dir():
            return []
        found = (_VERSION.match(p.name) for p in folder.iterdir())
        return sorted(int(m.group(1)) for m in found if m)

    def save(self, doc_id: str, document: dict[str, Any]) -> int:
        """Store ``document`` as the next version of ``doc_id``; returns the version number."""
        with self._lock:
            version = (self.versions(doc_id) or [0])[-1] + 1
            write_atomic(self._dir(doc_id) / f"v{version:04d}.json", _dump(document))
            return version

    def load(self, doc_id: str, version: int | None = None) -> dict[str, Any]:
        """A version of a document (the latest by default)."""
        versions = self.versions(doc_id)
        if not versions:
            raise NotFoundError(f"no {self.folder.name[:-1]} with id {doc_id!r}")
        chosen = versions[-1] if version is None else version
        if chosen not in versions:
            raise NotFoundError(f"{doc_id!r} has no version {chosen}; versions: {versions}")
        document: dict[str, Any] = json.loads((self._dir(doc_id) / f"v{chosen:04d}.json").read_bytes())
        return document

    def put_record(self, doc_id: str, record: dict[str, Any]) -> None:
        """Replace the mutable record of ``doc_id`` (atomically)."""
        write_atomic(self._dir(doc_id) / "record.json", _dump(record))

    def record(self, doc_id: str) -> dict[str, Any]:
        """The mutable record of ``doc_id``."""
        path = self._dir(doc_id) / "record.json"
        if not path.is_file():
            raise NotFoundError(f"no {self.folder.name[:-1]} with id {doc_id!r}")
        record: dict[str, Any] = json.loads(path.read_bytes())
        return record

    def records(self) -> Iterator[dict[str, Any]]:
        """All mutable records."""
        for doc_id in self.ids():
            path = self.folder / doc_id / "record.json"
            if path.is_file():
                yield json.loads(path.read_bytes())

    def files(self, doc_id: str) -> Path:
        """A folder for files that belong to ``doc_id`` (results of a job)."""
        folder = self._dir(doc_id) / "files"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def delete(self, doc_id: str) -> None:
        """Remove a document with all its versions and files."""
        folder = self._dir(doc_id)
        if not folder.is_dir():
            raise NotFoundError(f"no {self.folder.name[:-1]} with id {doc_id!r}")
        shutil.rmtree(folder)
