"""Viewer benchmark: cold loads of the 3D viewer in headless Chromium, all 65,796 buildings.

Per load, in a fresh Chromium process with an empty HTTP cache (the server stays up between
loads and is warmed up by one request for the building payload first, so every load gets it from
the server's cache, as in production):

- ``first_full_frame_ms``: navigation start to the first frame drawn with all buildings, as the
  page reports it (``window.tweeling.firstFullFrameMs``), and measured independently by this
  script: an init script polls ``window.tweeling.ready`` every animation frame and records
  ``performance.now()`` when it first sees it (``ready_seen_ms``); ``wall_ms`` is the client's
  wall-clock time from ``page.goto`` to that moment;
- ``buildings_wire_bytes``: bytes on the wire for ``/v1/viewer/buildings.arrow`` (body as sent,
  gzip, plus response headers; Playwright sees the request although a Web Worker makes it), and
  the app's own count (``window.tweeling.buildingBytes``);
- ``page_wire_bytes``: every response of the page load, workers' included (HTML, JS, CSS, vector
  tiles, API calls);
- ``heap_used_mb``: used JS heap of the page once the city is drawn (Chrome DevTools Protocol
  ``Runtime.getHeapUsage``), and after a forced garbage collection; ``array_buffers_mb``: the
  typed-array buffers outside that heap (the building geometry lives there).

Goals of issue 6: first full frame <= 3 s, building payload <= 6 MB. Chromium renders WebGL2 here
with SwiftShader (software, on the CPU): frame times are those of a machine without a GPU.

    .venv/bin/python bench/viewer_benchmark.py [--repeat 5] [--url http://127.0.0.1:8000]

Without ``--url`` it imports the demo into a temporary store and starts ``tweeling demo`` on it
(the viewer must be built: ``.venv/bin/tweeling viewer build``). Chromium is Debian's
(``scripts/setup-browser.sh``). Writes bench/results/viewer.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from features_benchmark import free_port, machine_info, server_process

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("TWEELING_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist"]
VIEWPORT = {"width": 1280, "height": 800}
BUILDINGS_PATH = "/v1/viewer/buildings.arrow"
BUILDING_COUNT = 65_796
GOAL_FIRST_FRAME_MS = 3000.0
GOAL_BUILDINGS_BYTES = 6_000_000
MB = 1_000_000

# Runs before any page script: record when window.tweeling.ready is first seen, checked every frame.
READY_PROBE = """
(() => {
  const check = () => {
    if (window.tweeling && window.tweeling.ready === true) {
      window.__benchReadySeenMs = performance.now();
      return;
    }
    requestAnimationFrame(check);
  };
  requestAnimationFrame(check);
})();
"""

PAGE_FIGURES = """() => {
  const t = window.tweeling;
  const navigation = performance.getEntriesByType('navigation')[0];
  return {
    first_full_frame_ms: t.firstFullFrameMs,
    ready_seen_ms: window.__benchReadySeenMs ?? null,
    buildings_loaded: t.buildingsLoaded,
    app_building_bytes: t.buildingBytes,
    dom_content_loaded_ms: navigation ? navigation.domContentLoadedEventEnd : null,
    app_timings_ms: t.timings ?? null,
  };
}"""


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def wait_until_up(root: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"tweeling demo exited at start-up:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{root}/v1/health", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"tweeling demo did not answer within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


@contextmanager
def demo_server(folder: Path) -> Iterator[str]:
    """``tweeling demo`` on a new store in ``folder`` (import, demo sensors, viewer); yields its root URL."""
    if not (ROOT / "viewer" / "dist" / "index.html").exists():
        raise SystemExit("the viewer is not built: run .venv/bin/tweeling viewer build")
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "tweeling.cli",
        "demo",
        "--store-url",
        f"duckdb://{folder / 'bench.duckdb'}",
    ]
    command += ["--port", str(port), "--no-viewer-build"]
    env = {key: value for key, value in os.environ.items() if not key.startswith("TWEELING_")}
    log = folder / "server.log"
    with server_process(command, env, log) as process:
        root = f"http://127.0.0.1:{port}"
        wait_until_up(root, process, log)
        yield root


def cold_load(playwright: Any, root: str, timeout_s: float) -> dict[str, Any]:
    """One load in a new Chromium process; the figures of that load."""
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
    try:
        page = browser.new_context(viewport=VIEWPORT, device_scale_factor=1).new_page()
        page.add_init_script(READY_PROBE)
        finished: list[
            Any
        ] = []  # Playwright sees the workers' requests too (the buildings are fetched in one)
        page.on("requestfinished", lambda request: finished.append(request))
        started = time.perf_counter()
        page.goto(f"{root}/", wait_until="commit", timeout=timeout_s * 1000)
        page.wait_for_function(
            "() => window.__benchReadySeenMs !== undefined", timeout=timeout_s * 1000, polling=50
        )
        wall_ms = (time.perf_counter() - started) * 1000
        figures: dict[str, Any] = page.evaluate(PAGE_FIGURES)
        cdp = page.context.new_cdp_session(page)
        heap = cdp.send("Runtime.getHeapUsage")
        cdp.send("HeapProfiler.collectGarbage")
        heap_after_gc = cdp.send("Runtime.getHeapUsage")
        page.wait_for_timeout(500)  # late responses (tiles requested by the first frames)
        wire = {}
        for number, request in enumerate(finished):
            sizes = request.sizes()
            wire[(number, request.url)] = sizes["responseBodySize"] + sizes["responseHeadersSize"]
        buildings = [size for (_, url), size in wire.items() if BUILDINGS_PATH in url]
        figures.update(
            wall_ms=wall_ms,
            buildings_wire_bytes=sum(buildings) if buildings else None,
            page_wire_bytes=sum(wire.values()),
            responses=len(wire),
            heap_used_mb=heap["usedSize"] / MB,
            heap_used_after_gc_mb=heap_after_gc["usedSize"] / MB,
            array_buffers_mb=heap.get("backingStorageSize", 0) / MB or None,
        )
        return figures
    finally:
        browser.close()


def show(value: float | None, scale: float = 1.0, digits: int = 0) -> str:
    return "-" if value is None else f"{value / scale:,.{digits}f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="cold loads (the median is reported)")
    parser.add_argument("--url", help="root of a running Tweeling server (default: start tweeling demo)")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for one load")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results" / "viewer.json")
    args = parser.parse_args()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise SystemExit("Playwright is missing: scripts/setup-python.sh dev") from None
    if not CHROMIUM.exists():
        raise SystemExit(f"Chromium is missing at {CHROMIUM}: scripts/setup-browser.sh")

    runs = []
    with ExitStack() as stack:
        root = args.url.rstrip("/") if args.url else None
        if root is None:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            print("starting tweeling demo on a new store (imports the demo first)...", flush=True)
            root = stack.enter_context(demo_server(folder))
        started = time.perf_counter()
        request = urllib.request.Request(f"{root}{BUILDINGS_PATH}", headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request, timeout=args.timeout) as response:
            response.read()
        print(f"server warm-up: first {BUILDINGS_PATH} in {time.perf_counter() - started:.2f} s", flush=True)
        playwright = stack.enter_context(sync_playwright())
        version = ""
        print(
            f"{'run':>3} {'frame ms':>9} {'seen ms':>8} {'wall ms':>8} {'bldg MB':>8} {'page MB':>8} "
            f"{'heap MB':>8} {'gc MB':>6} {'buffers':>8} {'buildings':>9}"
        )
        for number in range(1, args.repeat + 1):
            run = cold_load(playwright, root, args.timeout)
            runs.append(run)
            print(
                f"{number:>3} {show(run['first_full_frame_ms']):>9} {show(run['ready_seen_ms']):>8} "
                f"{show(run['wall_ms']):>8} {show(run['buildings_wire_bytes'], MB, 2):>8} "
                f"{show(run['page_wire_bytes'], MB, 2):>8} {show(run['heap_used_mb'], 1, 1):>8} "
                f"{show(run['heap_used_after_gc_mb'], 1, 1):>6} {show(run['array_buffers_mb'], 1, 1):>8} "
                f"{run['buildings_loaded']:>9,}",
                flush=True,
            )
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        version = browser.version
        browser.close()

    def med(key: str) -> float | None:
        values = [run[key] for run in runs if run.get(key) is not None]
        return median(values) if values else None

    summary: dict[str, Any] = {
        key: med(key)
        for key in (
            "first_full_frame_ms",
            "ready_seen_ms",
            "wall_ms",
            "buildings_wire_bytes",
            "app_building_bytes",
            "dom_content_loaded_ms",
            "page_wire_bytes",
            "heap_used_mb",
            "heap_used_after_gc_mb",
            "array_buffers_mb",
        )
    }
    frame = summary["first_full_frame_ms"]
    payload = summary["buildings_wire_bytes"]
    verdict = {True: "met", False: "not met"}
    goals = {
        "first_full_frame_ms": {
            "goal": GOAL_FIRST_FRAME_MS,
            "met": frame is not None and frame <= GOAL_FIRST_FRAME_MS,
        },
        "buildings_wire_bytes": {
            "goal": GOAL_BUILDINGS_BYTES,
            "met": payload is not None and payload <= GOAL_BUILDINGS_BYTES,
        },
    }
    all_buildings = all(run["buildings_loaded"] == BUILDING_COUNT for run in runs)
    print(f"\nmedian of {len(runs)} cold loads (Chromium {version}, WebGL2 on SwiftShader):")
    print(
        f"  first full frame   {show(frame)} ms as the page reports it, {show(summary['ready_seen_ms'])} ms "
        f"seen by the probe, {show(summary['wall_ms'])} ms wall-clock from goto  "
        f"[goal <= {GOAL_FIRST_FRAME_MS:.0f} ms: {verdict[goals['first_full_frame_ms']['met']]}]"
    )
    print(
        f"  buildings payload  {show(payload, MB, 2)} MB on the wire "
        f"(the page counted {show(summary['app_building_bytes'], MB, 2)} MB)  "
        f"[goal <= {GOAL_BUILDINGS_BYTES / MB:.0f} MB: {verdict[goals['buildings_wire_bytes']['met']]}]"
    )
    print(f"  whole page         {show(summary['page_wire_bytes'], MB, 2)} MB on the wire")
    print(
        f"  JS heap            {show(summary['heap_used_mb'], 1, 1)} MB used when drawn, "
        f"{show(summary['heap_used_after_gc_mb'], 1, 1)} MB after garbage collection; "
        f"typed-array buffers {show(summary['array_buffers_mb'], 1, 1)} MB"
    )
    milestones: dict[str, float] = {}
    for name in (runs[0].get("app_timings_ms") or {}) if runs else ():
        values = [run["app_timings_ms"][name] for run in runs if name in (run.get("app_timings_ms") or {})]
        milestones[name] = median(values)
    summary["app_timings_ms"] = milestones
    if milestones:
        print(
            "  page milestones    "
            + ", ".join(f"{name} {value:,.0f} ms" for name, value in milestones.items())
        )
    load = os.getloadavg()[0]
    print(f"  machine load       {load:.1f} (1-min load average at the end, {os.cpu_count()} cores)")
    if not all_buildings:
        print(f"  WARNING: not every load reported {BUILDING_COUNT:,} buildings")
    result = {
        "machine": {
            **machine_info(),
            "chromium": version,
            "renderer": "SwiftShader (software WebGL2)",
            "load_average_1min": load,
        },
        "viewport": VIEWPORT,
        "goals": goals,
        "median": summary,
        "all_buildings_loaded": all_buildings,
        "runs": runs,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2))
    print(f"written to {args.output}")
    return 0 if all_buildings else 1


if __name__ == "__main__":
    sys.exit(main())
