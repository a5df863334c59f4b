"""Scenario benchmark: cold baseline run of all impact models, and the recompute after one intervention.

On the full Dordrecht demo (65,796 buildings, the whole road network), in a fresh child process per
repeat (so the figures include imports, numba compilation from its on-disk cache and the first
allocation; peak RSS is that process alone):

- ``load_s``: reading the baseline city from a DuckDB store (separate from the models);
- ``baseline_s``: all models on the baseline city (the "cold baseline run"), per model too;
- one recompute per intervention type (greening, a new GP, closing a street, a 1,000-dwelling
  housing project, 10 years ahead), each after the baseline is cached: seconds and which models ran.

Goals of issue 5 on 2 cores: baseline <= 10 s, one-intervention recompute <= 2 s, memory <= 2 GB.

    .venv/bin/python bench/scenario_benchmark.py [--repeat N] [--output bench/results/scenarios.json]
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_BASELINE_S = 10.0
TARGET_RECOMPUTE_S = 2.0
TARGET_PEAK_MB = 2048.0

SQUARE = [[[105390, 425310], [105470, 425310], [105470, 425380], [105390, 425380], [105390, 425310]]]
SITE = [[[105560, 424300], [105860, 424300], [105860, 424480], [105560, 424480], [105560, 424300]]]
INTERVENTIONS: dict[str, dict[str, object]] = {
    "greening (de-pave a square, trees)": {
        "type": "greening",
        "action": "depave",
        "surface": "trees",
        "geometry": {"type": "Polygon", "coordinates": SQUARE},
    },
    "facility (new GP)": {
        "type": "facility",
        "action": "add",
        "facility_type": "gp",
        "capacity": 4190,
        "location": {"type": "Point", "coordinates": [104480, 421120]},
    },
    "traffic (car-free square block)": {
        "type": "traffic_measure",
        "measure": "car_free_zone",
        "zone": {
            "type": "Polygon",
            "coordinates": [
                [[105200, 425100], [105500, 425100], [105500, 425400], [105200, 425400], [105200, 425100]]
            ],
        },
    },
    "housing project (1,000 dwellings)": {
        "type": "housing_project",
        "geometry": {"type": "Polygon", "coordinates": SITE},
        "replace_existing": True,
        "dwellings": 1000,
    },
    "time horizon (10 years)": {"type": "time_horizon", "years": 10},
}


def child(store_url: str) -> None:
    """One cold run in this process; prints the figures as JSON."""
    from tweeling.scenarios.apply import apply_interventions
    from tweeling.scenarios.engine import Engine
    from tweeling.scenarios.registry import load_registry
    from tweeling.services.scenarios import load_city, parse_scenario

    started = time.perf_counter()
    registry = load_registry()
    import_s = time.perf_counter() - started
    started = time.perf_counter()
    city = load_city(store_url)
    load_s = time.perf_counter() - started
    engine = Engine(registry, city)
    started = time.perf_counter()
    baseline = engine.baseline()
    baseline_s = time.perf_counter() - started
    recomputes = {}
    for label, intervention in INTERVENTIONS.items():
        scenario = parse_scenario({"name": label, "crs": "EPSG:28992", "interventions": [intervention]})
        started = time.perf_counter()
        applied = apply_interventions(city, scenario.interventions, scenario.crs)
        evaluation, _ = engine.run(applied.city, applied.change)
        recomputes[label] = {
            "seconds": time.perf_counter() - started,
            "recomputed": list(evaluation.recomputed),
            "model_seconds": evaluation.seconds,
        }
    print(
        json.dumps(
            {
                "import_s": import_s,
                "load_s": load_s,
                "baseline_s": baseline_s,
                "baseline_model_s": baseline.seconds,
                "recompute": recomputes,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "unavailable": registry.unavailable,
            }
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results" / "scenarios.json")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return 0
    from tweeling.services.citymodel import import_demo
    from tweeling.store import open_store

    with tempfile.TemporaryDirectory() as folder:
        url = f"duckdb://{Path(folder) / 'bench.duckdb'}"
        with open_store(url) as store:
            import_demo(store)
        runs = []
        for number in range(args.repeat):
            output = subprocess.run(
                [sys.executable, __file__, "--child", url],
                check=True,
                capture_output=True,
                text=True,
                env={**os.environ, "PYTHONWARNINGS": "ignore"},
            ).stdout
            runs.append(json.loads(output.strip().splitlines()[-1]))
            run = runs[-1]
            print(
                f"run {number + 1}: load {run['load_s']:.2f} s, baseline {run['baseline_s']:.2f} s, "
                f"peak {run['peak_rss_mb']:.0f} MB"
            )
    best = min(runs, key=lambda run: run["baseline_s"])
    print("\nbaseline per model (best run, s):")
    for model, seconds in best["baseline_model_s"].items():
        print(f"  {model:<12} {seconds:6.2f}")
    print("\nrecompute after one intervention (median over runs, s):")
    recompute = {}
    for label in INTERVENTIONS:
        times = sorted(run["recompute"][label]["seconds"] for run in runs)
        median = times[len(times) // 2]
        recompute[label] = {
            "median_s": median,
            "recomputed": best["recompute"][label]["recomputed"],
            "runs_s": times,
        }
        models = ", ".join(best["recompute"][label]["recomputed"])
        flag = "ok" if median <= TARGET_RECOMPUTE_S else "over goal"
        print(f"  {label:<36} {median:6.2f}  [{flag}]  ({models})")
    baselines = sorted(run["baseline_s"] for run in runs)
    peak = max(run["peak_rss_mb"] for run in runs)
    summary = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "goals": {
            "baseline_s": TARGET_BASELINE_S,
            "recompute_s": TARGET_RECOMPUTE_S,
            "peak_rss_mb": TARGET_PEAK_MB,
        },
        "baseline_s_median": baselines[len(baselines) // 2],
        "baseline_s_runs": baselines,
        "load_s_median": sorted(run["load_s"] for run in runs)[len(runs) // 2],
        "peak_rss_mb_max": peak,
        "baseline_model_s_best": best["baseline_model_s"],
        "recompute": recompute,
        "runs": runs,
    }
    print(
        f"\nbaseline median {summary['baseline_s_median']:.2f} s (goal {TARGET_BASELINE_S:.0f} s), "
        f"load {summary['load_s_median']:.2f} s, peak RSS {peak:.0f} MB (goal {TARGET_PEAK_MB:.0f} MB)"
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(summary, indent=2))
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
