"""`tweeling viewer build`: one line when it cannot build, nothing to do when up to date."""

from __future__ import annotations

import os
from pathlib import Path

from tweeling.cli import main


def test_viewer_build_without_sources_fails_in_one_line(tmp_path: Path, capsys) -> None:
    assert main(["viewer", "build", "--viewer-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "package.json missing" in err


def test_viewer_build_up_to_date(tmp_path: Path, capsys) -> None:
    for name, mtime in (
        ("package.json", 100),
        ("package-lock.json", 100),
        ("src/main.ts", 100),
        ("node_modules/.package-lock.json", 200),
        ("dist/index.html", 300),
    ):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")
        os.utime(path, (mtime, mtime))
    assert main(["viewer", "build", "--viewer-dir", str(tmp_path)]) == 0
    assert "up to date" in capsys.readouterr().out
