"""Import benchmark: time and peak memory of importing the full Dordrecht demo from scratch.

Each store is measured in a fresh child process (so peak RSS is that import alone):
the embedded DuckDB store in a new file, and PostgreSQL+PostGIS in a new schema of the
server at ``$TWEELING_BENCH_POSTGRES_URL`` (or of the test server this script starts with
scripts/postgres-test-server.sh). Targets from the issue: <= 60 s and <= 2 GB on 2 cores.

    .venv/bin/python bench/import_benchmark.py [--repeat N] [--output bench/results/import.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 60.0
TARGET_PEAK_MB = 2048.0


def child(store_url: str) -> None:
    """Run one import in this process and print its phases as JSON."""
    from tweeling.citymodel.demo import DEMO_DIR, build_demo_layers, read_demo_sources
    from tweeling.citymodel.roads import DEFAULT_ROAD_CLASSES
    from tweeling.store import open_store

    started = time.perf_counter()
    sources = read_demo_sources(DEMO_DIR)
    read_s = time.perf_counter() - started
    layers = build_demo_layers(sources, DEFAULT_ROAD_CLASSES)
    build_s = time.perf_counter() - started - read_s
    with open_store(store_url) as store:
        store.write_layers(layers)
        counts = {info.name: info.feature_count for info in store.list_layers()}
    total_s = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "read_s": read_s,
                "build_s": build_s,
                "write_s": total_s - read_s - build_s,
                "total_s": total_s,
                "peak_rss_mb": peak_mb,
                "counts": counts,
            }
        )
    )


def measure(store: str, url: str) -> dict[str, object]:
    """Run the import of one store in a child process; wall time includes interpreter start-up."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, __file__, "--child", url], capture_output=True, text=True, check=False, cwd=ROOT
    )
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"import into {store} failed:\n{result.stderr[-2000:]}")
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    figures["wall_s"] = wall
    figures["store"] = store
    return figures


def postgres_base_url() -> tuple[str, bool]:
    """URL of a PostGIS server: the configured one, or the test server (started here)."""
    url = os.environ.get("TWEELING_BENCH_POSTGRES_URL") or os.environ.get("TWEELING_TEST_POSTGRES_URL")
    if url:
        return url, False
    out = subprocess.run(
        [str(ROOT / "scripts/postgres-test-server.sh"), "start"], capture_output=True, text=True, check=True
    ).stdout
    return out.strip().splitlines()[-1], True


def main() -> None:
    parser = argparse.ArgumentParser(description="Tweeling import benchmark")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=1, help="runs per store (the best is reported)")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results" / "import.json")
    parser.add_argument("--skip-postgis", action="store_true")
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return

    import psycopg

    runs: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            runs.append(measure("duckdb", f"duckdb://{Path(tmp) / f'bench{i}.duckdb'}"))
    started_server = False
    if not args.skip_postgis:
        base, started_server = postgres_base_url()
        for _ in range(args.repeat):
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(base, autocommit=True) as con:
                con.execute(f"CREATE SCHEMA {schema}")
            try:
                runs.append(measure("postgis", f"{base}?options=-csearch_path%3D{schema}%2Cpublic"))
            finally:
                with psycopg.connect(base, autocommit=True) as con:
                    con.execute(f"DROP SCHEMA {schema} CASCADE")
        if started_server:
            subprocess.run([str(ROOT / "scripts/postgres-test-server.sh"), "stop"], check=False)

    best = {}
    for run in runs:
        store = str(run["store"])
        if store not in best or float(run["total_s"]) < float(best[store]["total_s"]):  # type: ignore[arg-type]
            best[store] = run
    print(
        f"{'store':<8} {'read s':>7} {'build s':>8} {'write s':>8} {'total s':>8} {'wall s':>7} "
        f"{'peak MB':>8}  target"
    )
    for store, run in best.items():
        ok = float(run["total_s"]) <= TARGET_SECONDS and float(run["peak_rss_mb"]) <= TARGET_PEAK_MB  # type: ignore[arg-type]
        print(
            f"{store:<8} {run['read_s']:>7.1f} {run['build_s']:>8.1f} {run['write_s']:>8.1f} "
            f"{run['total_s']:>8.1f} {run['wall_s']:>7.1f} {run['peak_rss_mb']:>8.0f}  "
            f"{'met' if ok else 'MISSED'} (<= {TARGET_SECONDS:.0f} s, <= {TARGET_PEAK_MB:.0f} MB)"
        )
    report = {
        "benchmark": "import of the full Dordrecht demo from scratch",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "targets": {"seconds": TARGET_SECONDS, "peak_rss_mb": TARGET_PEAK_MB},
        "best": best,
        "runs": runs,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
