"""Traffic benchmark: the traffic model's run time on the full Dordrecht demo, and its equilibrium
assignment against AequilibraE 1.7.2 on the same network and OD matrix.

1. Model run time, each in a fresh child process that builds the demo city and runs the model
   three times: once with an empty numba cache (``cold``: includes compiling the numba
   functions), once with the cache the first child left (``warm``). Wall and CPU seconds.
2. Assignment: the peak-hour network and OD matrix the model builds for Dordrecht are assigned by
   :func:`tweeling.scenarios.impacts.traffic.assign` and by AequilibraE's ``TrafficAssignment``
   (bench/aequilibrae_reference.py, one core) with the same BPR function and the same number of
   iterations (20 and 50), for Frank-Wolfe and bi-conjugate Frank-Wolfe. Reported: R² and the
   largest absolute difference of the arc flows, the relative gap of each final flow (measured
   the same way, with one more all-or-nothing load), wall and CPU time of each and their ratio.

The machine's busy CPU seconds (all processes, from /proc) are recorded next to each timing, as
other work on the machine slows the wall times down.

    .venv/bin/python bench/traffic_benchmark.py [--iterations 20 50] [--output bench/results/traffic.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.aequilibrae_reference import aequilibrae_assign, r_squared  # noqa: E402
from bench.proc_cpu import machine_cpu_seconds  # noqa: E402

TARGET_RUN_SECONDS = 3.0
ALGORITHMS = ("frank-wolfe", "bfw")


def demo_city() -> Any:
    """The baseline city state of the shipped Dordrecht demo (as the tests' ``demo_city``)."""
    from tweeling.citymodel.demo import build_demo_layers, read_demo_sources
    from tweeling.scenarios.city import city_from_layers
    from tweeling.services.citymodel import road_classes
    from tweeling.services.settings import Settings

    layers = build_demo_layers(read_demo_sources(), road_classes(Settings()))
    return city_from_layers({layer.name: layer.frame for layer in layers})


class Timer:
    """Wall and CPU seconds of this process, and busy CPU seconds of the whole machine, of a block."""

    def __enter__(self) -> Timer:
        self.wall, self.cpu, self.machine = time.perf_counter(), time.process_time(), machine_cpu_seconds()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu
        self.machine = machine_cpu_seconds() - self.machine

    def as_dict(self) -> dict[str, float]:
        return {"wall_s": self.wall, "cpu_s": self.cpu, "machine_busy_cpu_s": self.machine}


def child_runs(runs: int) -> None:
    """In a child process: import the model, build the city, run the model ``runs`` times; print JSON."""
    with Timer() as imported:
        from tweeling.scenarios.impacts import traffic
    city = demo_city()
    params = traffic.MODEL.make_params()
    timings = []
    for _ in range(runs):
        with Timer() as run:
            traffic.run(city, {}, params)
        timings.append(run.as_dict())
    print(json.dumps({"import": imported.as_dict(), "runs": timings}))


def model_run_times(runs: int) -> dict[str, Any]:
    """Cold (empty numba cache) and warm (cache filled) model runs, each in a fresh process."""
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as cache_dir:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir}
        for label in ("cold", "warm"):
            done = subprocess.run(
                [sys.executable, __file__, "--child-runs", str(runs)],
                capture_output=True,
                text=True,
                check=False,
                cwd=ROOT,
                env=env,
            )
            if done.returncode != 0:
                raise SystemExit(f"model run child failed:\n{done.stderr[-2000:]}")
            results[label] = json.loads(done.stdout.strip().splitlines()[-1])
    return results


def compare(network: Any, od: np.ndarray, iterations: int, algorithm: str) -> dict[str, Any]:
    """Our assignment and AequilibraE's on the same problem; flows, gaps and times."""
    from tweeling.scenarios.impacts.traffic import assign, relative_gap

    with Timer() as ours_time:
        ours = assign(network, od, iterations=iterations, algorithm=algorithm)
    with Timer() as reference_time:
        reference = aequilibrae_assign(network, od, iterations=iterations, algorithm=algorithm)
    difference = np.abs(ours.flow_veh_h - reference.flow_veh_h)
    return {
        "iterations": iterations,
        "algorithm": algorithm,
        "r_squared": r_squared(reference.flow_veh_h, ours.flow_veh_h),
        "max_abs_diff_veh_h": float(difference.max()),
        "mean_abs_diff_veh_h": float(difference.mean()),
        "max_flow_veh_h": float(reference.flow_veh_h.max()),
        "relative_gap": {
            "ours": relative_gap(network, od, ours.flow_veh_h, 0.15, 4.0),
            "aequilibrae": relative_gap(network, od, reference.flow_veh_h, 0.15, 4.0),
        },
        "ours": ours_time.as_dict(),
        "aequilibrae": {
            **reference_time.as_dict(),
            "prepare_s": reference.prepare_s,
            "assign_s": reference.assign_s,
            "own_last_rgap": float(reference.convergence["rgap"].iloc[-1]),
        },
        "time_ratio_aequilibrae_over_ours": reference_time.wall / ours_time.wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Tweeling traffic benchmark")
    parser.add_argument("--child-runs", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--iterations", type=int, nargs="+", default=[20, 50])
    parser.add_argument("--runs", type=int, default=3, help="model runs per child process")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results" / "traffic.json")
    args = parser.parse_args()
    if args.child_runs:
        child_runs(args.child_runs)
        return

    from tweeling.scenarios.impacts import traffic

    run_times = model_run_times(args.runs)
    for label, figures in run_times.items():
        walls = ", ".join(f"{run['wall_s']:.2f}" for run in figures["runs"])
        cpus = ", ".join(f"{run['cpu_s']:.2f}" for run in figures["runs"])
        print(
            f"model run, {label} numba cache: wall {walls} s; cpu {cpus} s (target <= {TARGET_RUN_SECONDS} s)"
        )

    baseline = traffic.run(demo_city(), {}, traffic.MODEL.make_params())
    network, od = baseline.data["network"], baseline.data["peak_od_veh_h"]
    assign_network = traffic.reduce_network(network, 4.0).network
    print(
        f"network: {network.arc_from.size} arcs, {network.n_nodes} nodes, {network.origin_nodes.size} zones "
        f"(reduced: {assign_network.arc_from.size} arcs, {assign_network.n_nodes} nodes); "
        f"peak OD {od.sum():.0f} veh/h"
    )
    print(
        f"{'algorithm':<12} {'iter':>4} {'R2':>9} {'max|d|':>8} {'gap ours':>9} {'gap Aeq':>9} "
        f"{'ours s':>7} {'Aeq s':>7} {'Aeq/ours':>8}"
    )
    comparisons = []
    for iterations in args.iterations:
        for algorithm in ALGORITHMS:
            row = compare(network, od, iterations, algorithm)
            comparisons.append(row)
            print(
                f"{algorithm:<12} {iterations:>4} {row['r_squared']:>9.6f} {row['max_abs_diff_veh_h']:>8.1f} "
                f"{row['relative_gap']['ours']:>9.2e} {row['relative_gap']['aequilibrae']:>9.2e} "
                f"{row['ours']['wall_s']:>7.2f} {row['aequilibrae']['wall_s']:>7.2f} "
                f"{row['time_ratio_aequilibrae_over_ours']:>8.2f}"
            )
    report = {
        "benchmark": "traffic model on the full Dordrecht demo; assignment against AequilibraE 1.7.2",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "target_run_s": TARGET_RUN_SECONDS,
        "model_run": run_times,
        "network": {
            "arcs": int(network.arc_from.size),
            "nodes": int(network.n_nodes),
            "zones": int(network.origin_nodes.size),
            "reduced_arcs": int(assign_network.arc_from.size),
            "reduced_nodes": int(assign_network.n_nodes),
            "peak_od_veh_h": float(od.sum()),
        },
        "model_city": baseline.city,
        "comparisons": comparisons,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
