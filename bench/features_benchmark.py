"""OGC API – Features benchmark: Tweeling against pygeoapi on the same Dordrecht buildings layer.

One run imports the Dordrecht demo into a fresh PostGIS schema (and into a DuckDB file), serves
the ``buildings`` layer with pygeoapi (the OGC reference implementation, PostgreSQL provider,
under gunicorn) and with Tweeling (on the same PostGIS schema and on the DuckDB file), checks
that the servers return the same features, then measures requests/s and p50/p95 latency of
each query on each server, one server and one query at a time, with a fixed number of
keep-alive connections for a fixed time. Both servers run the same number of worker processes.
The CPU time used meanwhile by the server, by PostgreSQL, by this client and by the rest of the
machine is read from /proc, so that a run disturbed by other work shows it.

    .venv/bin/python bench/features_benchmark.py [--seconds 10] [--workers 2] [--concurrency 4]

pygeoapi is installed from PyPI into its own virtual environment, ``bench/.venv-pygeoapi``
(created on first use). PostgreSQL is ``$TWEELING_BENCH_POSTGRES_URL``, or the test server of
scripts/postgres-test-server.sh (started, and stopped at the end, when it is not running).
Figures are printed and written to bench/results/features.json. The exit code is non-zero when
the servers' results differ or a request failed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import platform
import signal
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import proc_cpu

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
TWEELING_VENV = ROOT / ".venv"
PYGEOAPI_VENV = BENCH / ".venv-pygeoapi"
PYGEOAPI_CONFIG_TEMPLATE = BENCH / "pygeoapi-config.template.yml"
PYGEOAPI_VERSION = "0.21.0"  # the newest release installable on Python 3.11 (0.22+ need 3.12)
PYGEOAPI_REQUIREMENTS = [
    "gunicorn>=23",
    # pygeoapi's PostgreSQL provider imports these but pygeoapi does not depend on them
    "SQLAlchemy>=2",
    "GeoAlchemy2",
    "psycopg2-binary",
    "pygeofilter",
]
PYGEOAPI_PACKAGES = [
    "pygeoapi",
    "gunicorn",
    "Flask",
    "SQLAlchemy",
    "GeoAlchemy2",
    "psycopg2-binary",
    "pygeofilter",
    "shapely",
    "pyproj",
]
TWEELING_PACKAGES = [
    "tweeling",
    "fastapi",
    "starlette",
    "uvicorn",
    "duckdb",
    "psycopg",
    "shapely",
    "pyproj",
    "orjson",
]
ID_FIELD = "building_id"
DORDRECHT_CRS84 = (4.5677, 51.7322, 4.8046, 51.8367)  # extent of the buildings, for pygeoapi's metadata
RD_NEW = "http://www.opengis.net/def/crs/EPSG/0/28992"
GOAL_RATIO = 2.0
COORDINATE_TOLERANCE = 1e-6  # degrees, about 10 cm
SAMPLE_FEATURES = 25
OTHER_CPU_WARNING = 0.2  # cores used by other processes during a measurement that merit a warning


@dataclass(frozen=True)
class Query:
    """One request made to every server: its query parameters, and how to compare results."""

    name: str
    description: str
    params: dict[str, str]
    # Tweeling only: pygeoapi 0.21 accepts filter-lang cql-text / cql-json, not cql2-text
    tweeling_params: dict[str, str] = field(default_factory=dict)
    # a CRS84 bbox: the servers turn it into different EPSG:28992 envelopes (see check_bbox_crs84)
    bbox_crs84: tuple[float, float, float, float] | None = None
    # compare every page (the complete result) or only the first page
    all_pages: bool = True


def make_queries(bbox: tuple[float, float, float, float], cql: str) -> list[Query]:
    """The benchmark queries: first page, a small bbox (in CRS84 and in RD New) and a CQL2 filter."""
    from pyproj import Transformer

    to_rd = Transformer.from_crs(4326, 28992, always_xy=True)
    x1, y1 = to_rd.transform(bbox[0], bbox[1])
    x2, y2 = to_rd.transform(bbox[2], bbox[3])
    bbox_rd = f"{x1:.2f},{y1:.2f},{x2:.2f},{y2:.2f}"
    return [
        Query("items", "items?limit=1000 (first page of 65,796)", {"limit": "1000"}, all_pages=False),
        Query(
            "bbox",
            f"bbox={','.join(map(str, bbox))} (CRS84), limit=1000",
            {"bbox": ",".join(map(str, bbox)), "limit": "1000"},
            bbox_crs84=bbox,
        ),
        Query(
            "bbox-rd",
            f"bbox={bbox_rd}&bbox-crs=EPSG:28992 (RD envelope of the box's corners), limit=1000",
            {"bbox": bbox_rd, "bbox-crs": RD_NEW, "limit": "1000"},
        ),
        Query(
            "cql2",
            f"filter={cql} (CQL2 text), limit=1000",
            {"filter": cql, "limit": "1000"},
            tweeling_params={"filter-lang": "cql2-text"},
        ),
    ]


@dataclass
class Server:
    """A running server under test."""

    name: str  # e.g. "pygeoapi (PostGIS)"
    kind: str  # "pygeoapi" or "tweeling"
    port: int
    prefix: str  # path of the OGC API landing page, "" or "/v1"
    process: subprocess.Popen[bytes]
    log: Path

    def path(self, query: Query, extra: dict[str, str] | None = None) -> str:
        params = {"f": "json", **query.params, **(query.tweeling_params if self.kind == "tweeling" else {})}
        params.update(extra or {})
        return f"{self.prefix}/collections/buildings/items?" + urllib.parse.urlencode(
            params, quote_via=urllib.parse.quote, safe=","
        )


# -- processes -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)
    if result.returncode != 0:
        raise SystemExit(f"command failed: {' '.join(cmd)}\n{(result.stderr or result.stdout)[-3000:]}")
    return result


@contextmanager
def server_process(cmd: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Start a server in its own process group; stop the whole group (workers included) on exit."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def http_get(port: int, path: str, timeout: float = 60.0) -> tuple[int, bytes]:
    con = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        con.request("GET", path)
        response = con.getresponse()
        return response.status, response.read()
    finally:
        con.close()


def wait_until_up(server: Server, timeout: float = 90.0) -> None:
    """Wait until the server answers on its buildings collection."""
    path = f"{server.prefix}/collections/buildings?f=json"
    deadline = time.monotonic() + timeout
    status, body = 0, b""
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise SystemExit(f"{server.name} exited at start-up:\n{server.log.read_text()[-3000:]}")
        try:
            status, body = http_get(server.port, path, timeout=10)
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit(
        f"{server.name} did not serve {path} within {timeout:.0f} s (last status {status}: {body[:300]!r})\n"
        f"{server.log.read_text()[-3000:]}"
    )


# -- pygeoapi --------------------------------------------------------------------------------------


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def package_versions(python: Path, names: list[str]) -> dict[str, str | None]:
    """Installed versions of packages in the environment of an interpreter (None when missing)."""
    code = (
        "import importlib.metadata as m, json, sys\n"
        "def v(n):\n"
        "    try:\n        return m.version(n)\n"
        "    except m.PackageNotFoundError:\n        return None\n"
        "print(json.dumps({n: v(n) for n in sys.argv[1:]}))"
    )
    return json.loads(run([str(python), "-c", code, *names]).stdout)


def ensure_pygeoapi(venv: Path, version: str, base_python: str) -> dict[str, str | None]:
    """Create the pygeoapi environment if missing (pip from PyPI) and return its package versions."""
    python = venv_python(venv)
    if not python.exists():
        print(f"creating {venv} with {base_python} ...", flush=True)
        run([base_python, "-m", "venv", str(venv)])
    if package_versions(python, ["pygeoapi"])["pygeoapi"] != version:
        print(f"installing pygeoapi=={version} (+ gunicorn, PostgreSQL provider deps) ...", flush=True)
        run([str(python), "-m", "pip", "install", "-q", f"pygeoapi=={version}", *PYGEOAPI_REQUIREMENTS])
    return package_versions(python, PYGEOAPI_PACKAGES)


def pygeoapi_files(workdir: Path, venv: Path, port: int, pg_url: str, schema: str) -> dict[str, str]:
    """Write pygeoapi's configuration and OpenAPI document; return the environment to serve them."""
    pg = urllib.parse.urlsplit(pg_url)
    config = string.Template(PYGEOAPI_CONFIG_TEMPLATE.read_text()).substitute(
        host="127.0.0.1",
        port=port,
        pg_host=pg.hostname or "127.0.0.1",
        pg_port=pg.port or 5432,
        pg_db=pg.path.lstrip("/"),
        pg_user=pg.username or "postgres",
        schema=schema,
        **dict(zip(("bbox_minx", "bbox_miny", "bbox_maxx", "bbox_maxy"), DORDRECHT_CRS84, strict=True)),
    )
    config_path = workdir / "pygeoapi-config.yml"
    openapi_path = workdir / "pygeoapi-openapi.yml"
    config_path.write_text(config)
    env = {**os.environ, "PYGEOAPI_CONFIG": str(config_path), "PYGEOAPI_OPENAPI": str(openapi_path)}
    if pg.password:
        env["PGPASSWORD"] = pg.password
    run(
        [str(venv / "bin" / "pygeoapi"), "openapi", "generate", str(config_path), "-of", str(openapi_path)],
        env=env,
    )
    return env


# -- data ------------------------------------------------------------------------------------------


def postgres_base_url(keep: bool) -> tuple[str, bool]:
    """URL of a PostGIS server: the configured one, or the test server, and whether to stop it.

    The test server is stopped at the end only when this run started it (not when it was
    already running, e.g. for a test run beside this one) and ``keep`` is false.
    """
    import psycopg

    url = os.environ.get("TWEELING_BENCH_POSTGRES_URL") or os.environ.get("TWEELING_TEST_POSTGRES_URL")
    if url:
        return url, False
    test_url = f"postgresql://postgres@127.0.0.1:{os.environ.get('TWEELING_PG_PORT', '54329')}/tweeling_test"
    try:
        psycopg.connect(test_url, connect_timeout=3).close()
        return test_url, False
    except psycopg.OperationalError:
        pass
    out = run([str(ROOT / "scripts/postgres-test-server.sh"), "start"]).stdout
    return out.strip().splitlines()[-1], not keep


def import_demo(url: str) -> float:
    from tweeling.services.citymodel import import_demo as import_city
    from tweeling.store import open_store

    started = time.perf_counter()
    with open_store(url) as store:
        import_city(store)
    return time.perf_counter() - started


def schema_url(base: str, schema: str) -> str:
    return f"{base}?options=-csearch_path%3D{schema}%2Cpublic"


# -- correctness -----------------------------------------------------------------------------------


def fetch_all(server: Server, query: Query) -> tuple[list[dict[str, Any]], int | None]:
    """Every feature of a query (following pages by offset) and the first page's numberMatched."""
    features: list[dict[str, Any]] = []
    matched = None
    limit = int(query.params.get("limit", "10"))
    while True:
        status, body = http_get(server.port, server.path(query, {"offset": str(len(features))}))
        if status != 200:
            raise SystemExit(f"{server.name}: {query.name} answered {status}: {body[:500]!r}")
        page = json.loads(body)
        if matched is None:
            matched = page.get("numberMatched")
        features.extend(page["features"])
        if not query.all_pages or len(page["features"]) < limit or len(features) > 200_000:
            return features, matched


def flat_coordinates(geometry: Any) -> list[float]:
    if isinstance(geometry, dict):
        return flat_coordinates(geometry.get("coordinates", geometry.get("geometries", [])))
    if isinstance(geometry, list | tuple):
        return [c for item in geometry for c in flat_coordinates(item)]
    return [float(geometry)]


def same_value(a: Any, b: Any) -> bool:
    if isinstance(a, float) and math.isnan(a):
        a = None
    if isinstance(b, float) and math.isnan(b):
        b = None
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return bool(a == b)


def compare_features(reference: list[dict[str, Any]], other: list[dict[str, Any]]) -> list[str]:
    """Differences in geometry and shared properties of a sample of features both servers returned."""
    by_id = {f["id"]: f for f in other}
    common = [f for f in reference if f["id"] in by_id]
    step = max(1, len(common) // SAMPLE_FEATURES)
    problems: list[str] = []
    for ref in common[::step][:SAMPLE_FEATURES]:
        feature = by_id[ref["id"]]
        a, b = flat_coordinates(ref["geometry"]), flat_coordinates(feature["geometry"])
        if len(a) != len(b):
            problems.append(f"feature {ref['id']}: {len(a) // 2} vs {len(b) // 2} vertices")
        elif a and max(abs(x - y) for x, y in zip(a, b, strict=True)) > COORDINATE_TOLERANCE:
            problems.append(
                f"feature {ref['id']}: coordinates differ by more than {COORDINATE_TOLERANCE} deg"
            )
        props_a, props_b = ref["properties"], feature["properties"]
        # pygeoapi moves the id column out of the properties, Tweeling keeps it there too
        only_a = set(props_a) - set(props_b) - {ID_FIELD}
        only_b = set(props_b) - set(props_a) - {ID_FIELD}
        if only_a or only_b:
            problems.append(f"feature {ref['id']}: properties only on one side: {sorted(only_a | only_b)}")
        for key in sorted(set(props_a) & set(props_b)):
            if not same_value(props_a[key], props_b[key]):
                problems.append(f"feature {ref['id']}: {key} = {props_a[key]!r} vs {props_b[key]!r}")
    return problems


def check_bbox_crs84(
    bbox: tuple[float, float, float, float], results: dict[str, list[dict[str, Any]]]
) -> dict[str, dict[str, int]]:
    """How each server's CRS84-bbox result compares with the exact answer.

    A lon/lat box is not a rectangle in EPSG:28992 (at Dordrecht the RD grid is turned about
    0.5 degrees against the meridians). pygeoapi transforms only two corners of the box and
    queries the RD envelope of those; Tweeling queries the RD envelope of the densified box. Both
    are approximations, so the ids differ at the edges. The exact answer — the features whose
    CRS84 geometry intersects the box — is computed here from the geometries the servers returned.
    """
    import shapely
    from shapely.geometry import box, shape

    area = box(*bbox)
    candidates = {f["id"]: f for features in results.values() for f in features}
    exact = {fid for fid, f in candidates.items() if shapely.intersects(shape(f["geometry"]), area)}
    report = {}
    for name, features in results.items():
        ids = {f["id"] for f in features}
        report[name] = {
            "returned": len(ids),
            "exact": len(exact),
            "missing": len(exact - ids),
            "outside": len(ids - exact),
        }
    return report


def check_results(servers: list[Server], queries: list[Query]) -> tuple[dict[str, Any], bool]:
    """Fetch every query from every server and compare with the reference (the first server)."""
    report: dict[str, Any] = {}
    identical = True
    reference = servers[0]
    for query in queries:
        results: dict[str, list[dict[str, Any]]] = {}
        matched: dict[str, int | None] = {}
        for server in servers:
            results[server.name], matched[server.name] = fetch_all(server, query)
        ref_ids = [f["id"] for f in results[reference.name]]
        entry: dict[str, Any] = {"features": len(ref_ids), "numberMatched": matched, "servers": {}}
        for server in servers[1:]:
            ids = [f["id"] for f in results[server.name]]
            problems: list[str] = []
            missing = sorted(set(ref_ids) - set(ids), key=str)
            extra = sorted(set(ids) - set(ref_ids), key=str)
            if missing or extra:
                problems.append(
                    f"ids differ: {len(missing)} only in {reference.name} {missing[:5]}, "
                    f"{len(extra)} only in {server.name} {extra[:5]}"
                )
            elif len(ids) != len(ref_ids):
                problems.append(f"{len(ref_ids)} vs {len(ids)} features (duplicates)")
            # the order within a page may differ (OGC API - Features prescribes none); the sets may not
            a, b = matched[reference.name], matched[server.name]
            if a is not None and b is not None and a != b:
                problems.append(f"numberMatched {a} vs {b}")
            problems.extend(compare_features(results[reference.name], results[server.name]))
            entry["servers"][server.name] = problems
        entry["identical"] = not any(entry["servers"].values())
        if query.bbox_crs84 is not None:
            # a known difference of method (see check_bbox_crs84): reported, not a failure
            entry["exact_bbox"] = check_bbox_crs84(query.bbox_crs84, results)
            entry["tolerated"] = True
        else:
            identical = identical and entry["identical"]
        report[query.name] = entry
    return report, identical


def print_check(report: dict[str, Any]) -> None:
    for name, entry in report.items():
        status = (
            "identical" if entry["identical"] else ("DIFFERENT" if not entry.get("tolerated") else "differ")
        )
        print(
            f"  {name:<8} {entry['features']:>5} features, numberMatched {entry['numberMatched']}: {status}"
        )
        for server, problems in entry["servers"].items():
            for problem in problems[:8]:
                print(f"           {server}: {problem}")
        for server, figures in entry.get("exact_bbox", {}).items():
            print(
                f"           {server}: {figures['returned']} returned, {figures['missing']} of the "
                f"{figures['exact']} intersecting the lon/lat box missing, {figures['outside']} outside it"
            )


# -- load ------------------------------------------------------------------------------------------


def cpu_snapshot(server_pgid: int) -> dict[str, Any]:
    """CPU seconds used so far: by the machine, by us, and per process of a server and of PostgreSQL.

    Read from /proc (Linux). Differences over a measurement (``cpu_used``) show whether the
    server had the machine to itself.
    """
    postgres = proc_cpu.postgres_uid()
    server_cpu: dict[int, float] = {}
    postgres_cpu: dict[int, float] = {}
    for pid, group, uid, used in proc_cpu.processes():
        if group == server_pgid:
            server_cpu[pid] = used
        elif uid == postgres:
            postgres_cpu[pid] = used
    return {
        "machine": proc_cpu.machine_cpu_seconds(),
        "client": time.process_time(),
        "server": server_cpu,
        "postgres": postgres_cpu,
    }


def cpu_used(before: dict[str, Any], after: dict[str, Any]) -> dict[str, float]:
    """CPU seconds used between two snapshots (processes that ended meanwhile are not counted)."""
    used = {"machine": after["machine"] - before["machine"], "client": after["client"] - before["client"]}
    for group in ("server", "postgres"):
        used[group] = sum(t - before[group].get(pid, 0.0) for pid, t in after[group].items())
    return used


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]
    bytes_per_response: float
    cpu: dict[str, float]  # CPU seconds used during the measurement (see cpu_snapshot)

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies_ms)
        cores = {k: v / self.seconds for k, v in self.cpu.items()} if self.seconds else {}
        cores["other"] = cores.get("machine", 0.0) - sum(v for k, v in cores.items() if k != "machine")
        return {
            "requests": self.requests,
            "errors": self.errors,
            "seconds": round(self.seconds, 2),
            "rps": self.requests / self.seconds if self.seconds else 0.0,
            "p50_ms": percentile(ordered, 50),
            "p95_ms": percentile(ordered, 95),
            "mean_ms": sum(ordered) / len(ordered) if ordered else math.nan,
            "response_kb": self.bytes_per_response / 1024,
            # CPU time of the server (and of PostgreSQL) per request: the cost, whatever the machine
            "cpu_ms_per_request": (self.cpu["server"] + self.cpu["postgres"]) * 1000 / self.requests
            if self.requests
            else math.nan,
            "cpu_cores": {k: round(v, 2) for k, v in cores.items()},
        }


def percentile(ordered: list[float], pct: float) -> float:
    """Nearest-rank percentile of sorted values."""
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def load(server: Server, path: str, concurrency: int, seconds: float, warmup: float) -> LoadResult:
    """GET ``path`` on ``concurrency`` keep-alive connections for ``warmup`` + ``seconds`` seconds.

    Only requests that start after the warm-up are recorded. Every loop stops by itself at the
    deadline; a request in flight then is allowed to finish (and is recorded).
    """
    start = time.perf_counter()
    measure_from = start + warmup
    deadline = measure_from + seconds
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors = [0] * concurrency
    sizes = [0] * concurrency

    def worker(i: int) -> None:
        con = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        try:
            while (began := time.perf_counter()) < deadline:
                try:
                    con.request("GET", path)
                    response = con.getresponse()
                    body = response.read()
                    ok = response.status == 200 and len(body) > 0
                except (OSError, http.client.HTTPException):
                    ok = False
                    con.close()
                elapsed = time.perf_counter() - began
                if began >= measure_from:
                    if ok:
                        latencies[i].append(elapsed * 1000)
                        sizes[i] += len(body)
                    else:
                        errors[i] += 1
        finally:
            con.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    time.sleep(max(0.0, measure_from - time.perf_counter()))
    cpu_before = cpu_snapshot(server.process.pid)
    for thread in threads:
        thread.join()
    ended = time.perf_counter()
    cpu = cpu_used(cpu_before, cpu_snapshot(server.process.pid))
    all_latencies = [x for per_thread in latencies for x in per_thread]
    n = len(all_latencies)
    return LoadResult(n, sum(errors), ended - measure_from, all_latencies, sum(sizes) / n if n else 0.0, cpu)


def measure(server: Server, query: Query, args: argparse.Namespace) -> dict[str, Any]:
    """Load one server with one query; repeat (up to ``args.retries`` times) while other
    processes on the machine used more than OTHER_CPU_WARNING cores meanwhile, and keep the
    least disturbed measurement."""
    best: dict[str, Any] | None = None
    for attempt in range(1 + args.retries):
        r = load(server, server.path(query), args.concurrency, args.seconds, args.warmup).summary()
        r["attempts"] = attempt + 1
        cores = r["cpu_cores"]
        print(
            f"  {query.name:<8} {server.name:<20} {r['rps']:7.1f} req/s  p50 {r['p50_ms']:7.1f} ms  "
            f"p95 {r['p95_ms']:7.1f} ms  errors {r['errors']}  cores: server {cores['server']:.2f} "
            f"pg {cores['postgres']:.2f} client {cores['client']:.2f} other {cores['other']:.2f}",
            flush=True,
        )
        if best is None or cores["other"] < best["cpu_cores"]["other"]:
            best = r
        if cores["other"] <= OTHER_CPU_WARNING:
            break
        print(f"  other processes used {cores['other']:.2f} cores meanwhile: disturbed", flush=True)
    assert best is not None
    best["attempts"] = r["attempts"]
    return best


# -- report ----------------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(memory_gb, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def postgres_versions(url: str) -> dict[str, str]:
    import psycopg

    with psycopg.connect(url) as con:
        row = con.execute("SELECT current_setting('server_version'), postgis_lib_version()").fetchone()
    assert row is not None
    return {"postgresql": str(row[0]), "postgis": str(row[1])}


def print_table(results: dict[str, dict[str, dict[str, Any]]], baseline: str) -> None:
    print(
        f"\n{'query':<8} {'server':<24} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'errors':>6} "
        f"{'KB/resp':>8} {'CPU ms/req':>10} {'x pygeoapi':>10}"
    )
    for query, per_server in results.items():
        for name, r in per_server.items():
            ratio = "" if name == baseline else f"{r['ratio_vs_pygeoapi']:.2f}"
            ratio += " *" if r["cpu_cores"]["other"] > OTHER_CPU_WARNING else "  "
            print(
                f"{query:<8} {name:<24} {r['rps']:>8.1f} {r['p50_ms']:>8.1f} {r['p95_ms']:>8.1f} "
                f"{r['errors']:>6} {r['response_kb']:>8.0f} {r['cpu_ms_per_request']:>10.1f} {ratio:>12}"
            )
    if any(r["cpu_cores"]["other"] > OTHER_CPU_WARNING for rows in results.values() for r in rows.values()):
        print(f"* other processes used more than {OTHER_CPU_WARNING} cores during that measurement")


# -- main ------------------------------------------------------------------------------------------


def tweeling_command(store_url: str, port: int, workers: int) -> tuple[list[str], dict[str, str], str]:
    """How to start Tweeling with ``workers`` processes: ``tweeling serve``, or uvicorn's factory."""
    tweeling = str(TWEELING_VENV / "bin" / "tweeling")
    env = {**os.environ, "TWEELING_STORE_URL": store_url}
    base = [
        tweeling,
        "serve",
        "--store-url",
        store_url,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-viewer-build",
    ]
    if workers == 1:
        return base, env, "tweeling serve"
    help_text = run([tweeling, "serve", "--help"]).stdout
    if "--workers" in help_text:
        return [*base, "--workers", str(workers)], env, f"tweeling serve --workers {workers}"
    # `tweeling serve` runs one process: start uvicorn's process manager on the app factory
    factory = "tweeling.api.app:create_app_from_environment"
    command = [
        str(venv_python(TWEELING_VENV)), "-m", "uvicorn", "--factory", factory,
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    return command, env, f"uvicorn --factory {factory} --workers {workers}"


def main() -> int:
    parser = argparse.ArgumentParser(description="OGC API – Features benchmark: Tweeling vs pygeoapi")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per query and server")
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="unmeasured seconds before each measurement"
    )
    parser.add_argument("--concurrency", type=int, default=4, help="concurrent keep-alive connections")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of every server")
    parser.add_argument("--tweeling-prefix", default="/v1", help="path of Tweeling's OGC API landing page")
    parser.add_argument("--bbox", default="4.667,51.811,4.672,51.814", help="small CRS84 box (city centre)")
    parser.add_argument("--cql", default="height_m > 15", help="CQL2 text filter both servers support")
    parser.add_argument("--skip-duckdb", action="store_true", help="do not serve the embedded DuckDB store")
    parser.add_argument("--pygeoapi-version", default=PYGEOAPI_VERSION)
    parser.add_argument(
        "--pygeoapi-python", default=sys.executable, help="interpreter for a new pygeoapi venv"
    )
    parser.add_argument(
        "--pygeoapi-venv", type=Path, default=PYGEOAPI_VENV, help="pygeoapi's virtual environment"
    )
    parser.add_argument(
        "--retries", type=int, default=2, help="repeats of a measurement disturbed by other processes"
    )
    parser.add_argument("--keep-postgres", action="store_true", help="leave a started test server running")
    parser.add_argument("--output", type=Path, default=BENCH / "results" / "features.json")
    args = parser.parse_args()
    # SIGTERM (e.g. from a CI timeout) unwinds like Ctrl+C: servers, schema and test server are cleaned up
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    load_before = os.getloadavg()
    if load_before[0] > 1.0:
        print(f"warning: load average {load_before[0]:.1f} before the run; other work may skew the figures")
    values = [float(v) for v in args.bbox.split(",")]
    if len(values) != 4:
        parser.error("--bbox needs minx,miny,maxx,maxy")
    queries = make_queries((values[0], values[1], values[2], values[3]), args.cql)
    pygeoapi_versions = ensure_pygeoapi(args.pygeoapi_venv, args.pygeoapi_version, args.pygeoapi_python)

    import psycopg

    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tweeling-features-bench-")))
        base_url, stop_postgres = postgres_base_url(args.keep_postgres)
        if stop_postgres:
            stack.callback(
                subprocess.run, [str(ROOT / "scripts/postgres-test-server.sh"), "stop"], check=False
            )
        schema = f"featbench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(base_url, autocommit=True) as con:
            con.execute(f"CREATE SCHEMA {schema}")

        def drop_schema() -> None:
            with psycopg.connect(base_url, autocommit=True) as con:
                con.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")

        stack.callback(drop_schema)
        pg_url = schema_url(base_url, schema)
        stores = {"PostGIS": pg_url}
        print(f"importing the Dordrecht demo into PostGIS schema {schema} ...", flush=True)
        import_seconds = {"PostGIS": import_demo(pg_url)}
        if not args.skip_duckdb:
            stores["DuckDB"] = f"duckdb://{workdir / 'bench.duckdb'}"
            print("importing the Dordrecht demo into a DuckDB file ...", flush=True)
            import_seconds["DuckDB"] = import_demo(stores["DuckDB"])

        servers: list[Server] = []
        port = free_port()
        env = pygeoapi_files(workdir, args.pygeoapi_venv, port, base_url, schema)
        command = [
            str(args.pygeoapi_venv / "bin" / "gunicorn"), "--workers", str(args.workers),
            "--bind", f"127.0.0.1:{port}", "pygeoapi.flask_app:APP",
        ]  # fmt: skip
        log = workdir / "pygeoapi.log"
        servers.append(
            Server(
                "pygeoapi (PostGIS)",
                "pygeoapi",
                port,
                "",
                stack.enter_context(server_process(command, env, log)),
                log,
            )
        )
        launchers = {"pygeoapi (PostGIS)": f"gunicorn --workers {args.workers} pygeoapi.flask_app:APP (sync)"}
        for store, url in stores.items():
            port = free_port()
            command, env, launcher = tweeling_command(url, port, args.workers)
            log = workdir / f"tweeling-{store.lower()}.log"
            process = stack.enter_context(server_process(command, env, log))
            servers.append(
                Server(f"Tweeling ({store})", "tweeling", port, args.tweeling_prefix, process, log)
            )
            launchers[servers[-1].name] = launcher
        for server in servers:
            wait_until_up(server)
            print(f"{server.name} is up on port {server.port}: {launchers[server.name]}", flush=True)

        print("\nchecking that the servers return the same features (reference: pygeoapi):")
        check, identical = check_results(servers, queries)
        print_check(check)

        print(
            f"\nload: {args.concurrency} connections, {args.warmup:g} s warm-up + {args.seconds:g} s "
            f"per query and server, {args.workers} worker processes per server",
            flush=True,
        )
        results: dict[str, dict[str, dict[str, Any]]] = {}
        for query in queries:
            results[query.name] = {}
            for server in servers:
                results[query.name][server.name] = measure(server, query, args)
            baseline = results[query.name][servers[0].name]["rps"]
            for r in results[query.name].values():
                r["ratio_vs_pygeoapi"] = r["rps"] / baseline if baseline else math.nan

        print_table(results, servers[0].name)
        tweeling_names = [s.name for s in servers if s.kind == "tweeling"]
        goal = {
            name: all(results[q.name][name]["ratio_vs_pygeoapi"] >= GOAL_RATIO for q in queries)
            for name in tweeling_names
        }
        errors = sum(r["errors"] for per_server in results.values() for r in per_server.values())
        for name, met in goal.items():
            print(
                f"goal (>= {GOAL_RATIO:g}x pygeoapi's req/s on every query) for {name}: "
                f"{'met' if met else 'MISSED'}"
            )
        tolerated = [
            name for name, entry in check.items() if entry.get("tolerated") and not entry["identical"]
        ]
        print(
            f"results identical: {'yes' if identical else 'NO'}"
            + (f" (apart from the CRS84 bbox method, see above: {', '.join(tolerated)})" if tolerated else "")
            + f"; failed requests: {errors}"
        )

        report = {
            "benchmark": "OGC API - Features: Tweeling vs pygeoapi, Dordrecht buildings",
            "machine": machine_info() | {"loadavg_before": load_before, "loadavg_after": os.getloadavg()},
            "versions": {
                "tweeling_env": package_versions(venv_python(TWEELING_VENV), TWEELING_PACKAGES),
                "pygeoapi_env": {"python": run([str(venv_python(args.pygeoapi_venv)), "-V"]).stdout.strip()}
                | pygeoapi_versions,
                **postgres_versions(base_url),
            },
            "method": {
                "workers_per_server": args.workers,
                "servers": launchers,
                "concurrency": args.concurrency,
                "warmup_s": args.warmup,
                "seconds": args.seconds,
                "client": "Python threads, http.client keep-alive connections, no compression",
                "data": "Dordrecht demo, layer buildings (65,796), stored in EPSG:28992, served in CRS84",
                "import_s": import_seconds,
            },
            "queries": {
                q.name: {
                    "description": q.description,
                    "paths": {s.name: s.path(q) for s in servers},
                }
                for q in queries
            },
            "check": check,
            "identical": identical,
            "results": results,
            "goal_ratio": GOAL_RATIO,
            "goal_met": goal,
            "failed_requests": errors,
        }
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.output}")
    return 0 if identical and errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
