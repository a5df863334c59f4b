"""Command line: ``tweeling demo | serve | import | info | sensors ... | scenario run|validate|models |
viewer build | users ... | audit verify|show | register ...``.

Thin adapter over the service layer. Errors are printed as one line
(``tweeling: error: ...``) with a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import tweeling
from tweeling.cli import audit as audit_cli
from tweeling.cli import register as register_cli
from tweeling.cli import users as users_cli
from tweeling.core.errors import TweelingError
from tweeling.services import citymodel, sensor_feeds
from tweeling.services.sensors import SensorHub
from tweeling.services.settings import Settings, load_settings
from tweeling.store import open_store

EXIT_ERROR = 1
EXIT_USAGE = 2


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    for name in ("store_url", "data_dir", "host", "port", "viewer_dir"):
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    return load_settings(**overrides)


def _build_viewer(settings: Settings) -> None:
    """Build the web viewer when it is stale; on failure print one line (the API starts anyway)."""
    from tweeling.services.viewer_build import ViewerBuildError, ensure_built

    def log(line: str) -> None:
        print(line, flush=True)

    try:
        result = ensure_built(settings.resolved_viewer_dir, log=log)
    except ViewerBuildError as error:
        print(f"tweeling: viewer not built: {error.message}", file=sys.stderr, flush=True)
        return
    if result.built:
        print(f"Built the viewer ({', '.join(result.steps)}) in {result.seconds:.1f} s with {result.node}")


def _serve(settings: Settings, workers: int = 1, *, build_viewer: bool = True) -> None:
    """Run the HTTP server (building the viewer first unless told not to); with several workers each
    process builds the app from the environment."""
    import uvicorn

    from tweeling.api.app import BASE_PATH, VIEWER_PATH, create_app

    if build_viewer:
        _build_viewer(settings)
    root = f"http://{settings.host}:{settings.port}"
    print(
        f"Tweeling is running: open {root}{VIEWER_PATH}/  (API: {root}{BASE_PATH}; Ctrl+C stops it)",
        flush=True,
    )
    if workers <= 1:
        uvicorn.run(
            create_app(settings, prepare_viewer=True),
            host=settings.host,
            port=settings.port,
            log_level="warning",
        )
        return
    os.environ["TWEELING_STORE_URL"] = settings.resolved_store_url
    os.environ["TWEELING_WORKERS"] = str(workers)
    os.environ["TWEELING_VIEWER_DIR"] = str(settings.resolved_viewer_dir)
    uvicorn.run(
        "tweeling.api.app:create_app_from_environment",
        factory=True,
        workers=workers,
        host=settings.host,
        port=settings.port,
        log_level="warning",
    )


def cmd_demo(args: argparse.Namespace) -> int:
    """Import the shipped Dordrecht demo into the store if not yet there, then serve it."""
    settings = _settings(args)
    with citymodel.connect(settings) as store:
        result = citymodel.import_demo(store, classes=citymodel.road_classes(settings), force=args.force)
    if result.imported:
        print(
            f"Imported the Dordrecht demo ({len(result.layers)} layers) in {result.seconds:.1f} s "
            f"into {settings.resolved_store_url}"
        )
    else:
        print(f"Dordrecht demo already in {settings.resolved_store_url} (use --force to rebuild)")
    hub = SensorHub(open_store(settings.resolved_sensors_store_url))
    try:
        sensors = sensor_feeds.load_demo_sensors(hub)
    finally:
        hub.close()
    if sensors.loaded:
        print(
            f"Created the demo sensor network: {sensors.things} sensors, {sensors.datastreams} datastreams, "
            f"{sensors.rules} alert rules, {sensors.observations:,} simulated observations "
            f"({sensor_feeds.HISTORY_DAYS:g} days of history) in {settings.resolved_sensors_store_url}"
        )
    _create_demo_accounts(settings)
    if args.no_serve:
        return 0
    _serve(settings, args.workers, build_viewer=not args.no_viewer_build)
    return 0


DEMO_ACCOUNTS = (
    ("beheerder", "admin"),
    ("analist", "analyst"),
    ("data-eigenaar", "data_owner"),
    ("ethiek", "ethics"),
    ("ethiek2", "ethics"),
    ("bewoner", "resident"),
)
"""One account per role for trying the demo (the public needs none)."""


def _create_demo_accounts(settings: Settings) -> None:
    """On a demo without users, one account per role with a random password, written once to
    ``<data_dir>/demo-accounts.txt`` (mode 0600). Never in production."""
    import secrets

    from tweeling.governance.roles import Principal, Role
    from tweeling.services.governance import audit_log
    from tweeling.services.identity import IdentityService

    if settings.environment == "production":
        return
    identity = IdentityService(settings, audit_log(settings))
    if identity.list_users():
        return
    actor = Principal(subject="cli:demo", roles=frozenset({Role.ADMIN}))
    lines = []
    for name, role in DEMO_ACCOUNTS:
        password = secrets.token_urlsafe(12)
        identity.create_user(name, password, [role], actor=actor)
        lines.append(f"{name:<14} {role:<11} {password}")
    path = settings.data_dir / "demo-accounts.txt"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write("# Demo accounts of this twin (user, role, password). Delete this file after reading.\n")
        handle.write("\n".join(lines) + "\n")
    print(f"Created demo accounts, one per role; user names and passwords are in {path}")


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the store as it is."""
    _serve(_settings(args), args.workers, build_viewer=not args.no_viewer_build)
    return 0


def cmd_viewer_build(args: argparse.Namespace) -> int:
    """Build the web viewer (npm ci when needed, npm run build) unless it is up to date."""
    from tweeling.services.viewer_build import ensure_built

    settings = _settings(args)
    result = ensure_built(settings.resolved_viewer_dir, force=args.force, log=print)
    dist = result.viewer_dir / "dist"
    if result.built:
        steps = ", ".join(result.steps)
        print(f"Built the viewer ({steps}) in {result.seconds:.1f} s with {result.node}: {dist}")
    else:
        print(f"The viewer is up to date: {dist} (use --force to rebuild)")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    """Import a file or folder as a layer, in one transaction."""
    settings = _settings(args)
    with citymodel.connect(settings) as store:
        result = citymodel.import_file(
            store,
            Path(args.path),
            args.layer,
            replace=args.replace,
            crs=args.crs,
            source_layer=args.source_layer,
            title=args.title,
            licence=args.licence,
        )
    report = result.report
    print(
        f"Imported {result.features} features into layer {result.layer!r} "
        f"(repaired geometries: {report.get('geometries_repaired', 0)}, "
        f"missing geometries: {report.get('geometries_missing', 0)}, source CRS: {report.get('source_crs')})"
    )
    return 0


def _feed_token(args: argparse.Namespace, subject: str) -> str:
    """The token a sensor feed writes with: ``--token``, else ``TWEELING_TOKEN``, else a one-hour
    data-owner service token signed with this deployment's token key (the operator's machine)."""
    if args.token or os.environ.get("TWEELING_TOKEN"):
        return str(args.token or os.environ["TWEELING_TOKEN"])
    from tweeling.governance.roles import Role
    from tweeling.governance.tokens import TokenService
    from tweeling.services.settings import secret_key

    settings = _settings(args)
    tokens = TokenService(secret_key(settings, "token"), ttl_s=3600)
    return tokens.issue(subject, [Role.DATA_OWNER]).token


def cmd_sensors_simulate(args: argparse.Namespace) -> int:
    """Feed the running server's simulated sensors in real time until stopped (or --batches)."""
    client = sensor_feeds.SensorThingsClient(args.server, token=_feed_token(args, "sensor-simulator"))
    print(f"Simulating {args.rate:g} observations/s into {client.root} (Ctrl+C stops)", flush=True)
    stored = refused = 0
    started = time.monotonic()
    last_report = started
    for batch_stored, batch_refused in sensor_feeds.simulate(
        client, rate=args.rate, seed=args.seed, max_batches=args.batches
    ):
        stored, refused = stored + batch_stored, refused + batch_refused
        if time.monotonic() - last_report >= 10 or args.batches is not None:
            last_report = time.monotonic()
            print(f"  {stored:,} observations stored, {refused:,} refused", flush=True)
    print(f"Done: {stored:,} observations stored, {refused:,} refused in {time.monotonic() - started:.0f} s")
    return 0


def cmd_sensors_sync(args: argparse.Namespace) -> int:
    """Copy recent observations from a live source (Luchtmeetnet, Samen Meten) into the running server."""
    client = sensor_feeds.SensorThingsClient(args.server, token=_feed_token(args, f"sync-{args.source}"))
    extra = {"source_url": args.source_url} if args.source_url else {}
    if args.source == "luchtmeetnet":
        streams, stored = sensor_feeds.sync_luchtmeetnet(client, args.station, args.hours, **extra)
    else:
        streams, stored = sensor_feeds.sync_samenmeten(client, args.hours, **extra)
    print(f"{args.source}: {streams} datastreams, {stored:,} observations stored in {client.root}")
    return 0


def _format_extent(extent: Sequence[float] | None, digits: int) -> str:
    return "-" if extent is None else "[" + ", ".join(f"{v:.{digits}f}" for v in extent) + "]"


def cmd_info(args: argparse.Namespace) -> int:
    """Print what the store holds."""
    settings = _settings(args)
    with citymodel.connect(settings, read_only=True) as store:
        summaries = citymodel.describe_store(store)
    if args.json:
        print(json.dumps([s.as_dict() for s in summaries], indent=2, default=str))
        return 0
    print(f"store: {settings.resolved_store_url}")
    if not summaries:
        print("(no layers: run `tweeling demo` or `tweeling import`)")
        return 0
    print(
        f"{'layer':<13} {'features':>9}  {'geometry':<16} {'crs':<10} extent (EPSG:28992) / estimated fields"
    )
    for s in summaries:
        print(
            f"{s.name:<13} {s.feature_count:>9,}  {s.geometry_type or 'table':<16} {s.crs or '-':<10} "
            f"{_format_extent(s.extent, 0)}"
        )
        if s.estimated_fields:
            print(f"{'':<13} {'':>9}  estimated: {', '.join(s.estimated_fields)}")
        for line in _highlights(s.name, s.report):
            print(f"{'':<13} {'':>9}  {line}")
    return 0


def _highlights(name: str, report: dict[str, Any]) -> list[str]:
    """The figures per layer a newcomer wants to see, one line each."""
    if name == "buurten" and "population" in report:
        return [f"population (CBS 2020): {report['population']:,}"]
    if name == "buildings" and "height_validation" in report:
        dwellings = report["dwellings_pre_calibration"]
        return [
            f"heights: {report['n_osm_height']:,} from OSM, {report['n_estimated_height']:,} estimated "
            f"(MAE {report['height_validation']['mae_m']:.1f} m against the OSM ones)",
            f"dwellings: {report['dwellings_bag_total']:,} (calibrated to BAG per buurt; raw estimate off by "
            f"a median {dwellings['median_abs_pct_error']:.1f} %); residents: {report['residents_total']:,}",
        ]
    if name == "roads" and "largest_component_length_share" in report:
        return [
            f"road length {report['total_length_m'] / 1000:,.0f} km, "
            f"{report['largest_component_length_share']:.1%} in the largest connected component"
        ]
    if name == "weather" and "first_date" in report:
        return [f"daily {report['first_date'][:10]} .. {report['last_date'][:10]}"]
    return []


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be greater than 0")
    return value


def cmd_scenario_run(args: argparse.Namespace) -> int:
    """Run a scenario file on the twin and write its results (GeoParquet/GeoJSON/CSV + summary)."""
    from tweeling.services.scenario_outputs import check_formats, write_outputs
    from tweeling.services.scenarios import ScenarioService, read_scenario_file

    formats = check_formats(args.format.split(","))
    scenario = read_scenario_file(Path(args.file))
    service = ScenarioService(_settings(args))
    service.check_parameters(scenario)
    started = time.perf_counter()
    run = service.run(scenario, effects=not args.no_effects)
    out = Path(args.out) if args.out else Path("results") / Path(args.file).stem
    files = write_outputs(run, service.city().buildings, out, formats)
    if args.save:
        stored = service.save(scenario)
        print(f"stored as scenario {stored['id']} version {stored['version']}")
    print(run.summary(), end="")
    print(f"\n{len(files)} files written to {out} in {time.perf_counter() - started:.1f} s")
    return 0


def cmd_scenario_validate(args: argparse.Namespace) -> int:
    """Check a scenario file: its schema, and its interventions against the city."""
    from tweeling.scenarios.apply import apply_interventions
    from tweeling.services.scenarios import ScenarioService, read_scenario_file

    scenario = read_scenario_file(Path(args.file))
    service = ScenarioService(_settings(args))
    service.check_parameters(scenario)
    applied = apply_interventions(service.city(), scenario.interventions, scenario.crs)
    touched = ", ".join(sorted(applied.change.fields)) or "nothing"
    print(f"{args.file}: valid; {len(scenario.interventions)} intervention(s); changes {touched}")
    return 0


def cmd_scenario_models(args: argparse.Namespace) -> int:
    """List the impact models with their indicators (or the full metadata as JSON)."""
    from tweeling.scenarios.registry import load_registry
    from tweeling.services.scenarios import describe_model

    registry = load_registry()
    if args.json:
        models = [describe_model(model) for model in registry.models.values()]
        print(json.dumps({"models": models, "unavailable": registry.unavailable}, indent=2, default=str))
        return 0
    for model in registry.models.values():
        info = model.info
        needs = f" (needs {', '.join(info.requires)})" if info.requires else ""
        print(f"{info.id} {info.version}: {info.title}{needs}")
        for indicator in info.indicators:
            print(f"    {indicator.id} [{indicator.unit}] {indicator.title}")
    for model_id, reason in registry.unavailable.items():
        print(f"{model_id}: unavailable: {reason}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of all subcommands."""
    parser = argparse.ArgumentParser(
        prog="tweeling", description="Tweeling — digital twin of the city (Dordrecht)."
    )
    parser.add_argument("--version", action="version", version=f"tweeling {tweeling.__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_store(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument(
            "--store-url", help="store URL (default: duckdb file in the data dir; or postgresql://...)"
        )
        p.add_argument("--data-dir", type=Path, help="data directory (default: ./var)")
        return p

    def with_server(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--host", help="address to listen on (default 127.0.0.1)")
        p.add_argument("--port", type=int, help="port to listen on (default 8000)")
        p.add_argument("--workers", type=int, default=1, help="server processes (default 1)")
        p.add_argument(
            "--no-viewer-build",
            action="store_true",
            help="do not build the web viewer first (it is built when viewer/dist is missing or stale)",
        )
        return p

    def with_viewer(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument(
            "--viewer-dir", type=Path, help="the viewer's folder (default: viewer/ of the checkout)"
        )
        return p

    demo = with_viewer(
        with_server(
            with_store(sub.add_parser("demo", help="load the Dordrecht demo (once) and start the server"))
        )
    )
    demo.add_argument("--force", action="store_true", help="rebuild the demo layers even if present")
    demo.add_argument("--no-serve", action="store_true", help="only import, do not start the server")
    demo.set_defaults(func=cmd_demo)

    serve = with_viewer(
        with_server(with_store(sub.add_parser("serve", help="start the server on the current store")))
    )
    serve.set_defaults(func=cmd_serve)

    imp = with_store(
        sub.add_parser("import", help="import a GeoPackage/GeoJSON/GeoParquet/CSV file as a layer")
    )
    imp.add_argument("path", help="file or folder to import")
    imp.add_argument("--layer", required=True, help="layer name (lower-case letters, digits, _)")
    imp.add_argument("--replace", action="store_true", help="overwrite an existing layer of that name")
    imp.add_argument("--crs", help="CRS of the source when the file does not declare it, e.g. EPSG:28992")
    imp.add_argument("--source-layer", help="layer inside a multi-layer GeoPackage")
    imp.add_argument("--title", help="human-readable title")
    imp.add_argument("--licence", help="licence of the data, e.g. CC-BY-4.0")
    imp.set_defaults(func=cmd_import)

    info = with_store(sub.add_parser("info", help="list the layers in the store"))
    info.add_argument("--json", action="store_true", help="machine-readable output")
    info.set_defaults(func=cmd_info)

    sensors = sub.add_parser("sensors", help="feed the sensor hub of a running server")
    sensors_sub = sensors.add_subparsers(dest="sensors_command", required=True, metavar="ACTION")

    def with_target(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument(
            "--server",
            default="http://127.0.0.1:8000",
            help="the running server (default http://127.0.0.1:8000)",
        )
        p.add_argument(
            "--token",
            help="access token of a data owner (default: $TWEELING_TOKEN, else a service token signed "
            "with the token key of --data-dir)",
        )
        p.add_argument("--data-dir", type=Path, help="data directory whose token key signs (default: ./var)")
        return p

    simulate = with_target(
        sensors_sub.add_parser("simulate", help="feed the simulated demo sensors with realistic values")
    )
    simulate.add_argument(
        "--rate", type=_positive_float, default=20.0, help="observations per second (default 20)"
    )
    simulate.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    simulate.add_argument("--batches", type=int, help="stop after this many one-second batches")
    simulate.set_defaults(func=cmd_sensors_simulate)

    sync = with_target(sensors_sub.add_parser("sync", help="copy observations from a live source (online)"))
    sync.add_argument("source", choices=["luchtmeetnet", "samenmeten"], help="the live source")
    sync.add_argument(
        "--station", default="NL10442", help="Luchtmeetnet station (default NL10442, Bamendaweg)"
    )
    sync.add_argument("--hours", type=_positive_float, default=24.0, help="how far back (default 24 h)")
    sync.add_argument("--source-url", help="another address of the source's API (a mirror, or a test server)")
    sync.set_defaults(func=cmd_sensors_sync)

    scenario = sub.add_parser("scenario", help="run and check scenarios (impact models)")
    scenario_sub = scenario.add_subparsers(dest="scenario_command", required=True, metavar="ACTION")
    run = with_store(scenario_sub.add_parser("run", help="run a scenario file and write the results"))
    run.add_argument("file", help="scenario file (YAML or JSON)")
    run.add_argument("--out", help="output folder (default results/<file name>)")
    run.add_argument(
        "--format", default="geoparquet,geojson,csv", help="comma-separated: geoparquet, geojson, csv"
    )
    run.add_argument("--no-effects", action="store_true", help="skip the per-intervention effects runs")
    run.add_argument("--save", action="store_true", help="also store the scenario (versioned)")
    run.set_defaults(func=cmd_scenario_run)
    validate = with_store(scenario_sub.add_parser("validate", help="check a scenario file against the city"))
    validate.add_argument("file", help="scenario file (YAML or JSON)")
    validate.set_defaults(func=cmd_scenario_validate)
    viewer = sub.add_parser("viewer", help="the 3D web viewer")
    viewer_sub = viewer.add_subparsers(dest="viewer_command", required=True, metavar="ACTION")
    viewer_build = with_viewer(
        viewer_sub.add_parser("build", help="build the viewer into viewer/dist (npm ci, npm run build)")
    )
    viewer_build.add_argument("--force", action="store_true", help="rebuild even if dist is up to date")
    viewer_build.set_defaults(func=cmd_viewer_build)
    models = scenario_sub.add_parser("models", help="list the impact models and their indicators")
    models.add_argument("--json", action="store_true", help="full metadata incl. the algorithm register")
    models.set_defaults(func=cmd_scenario_models)
    for group in (users_cli, audit_cli, register_cli):
        group.add_parsers(sub, with_store)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tweeling`` command."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except TweelingError as exc:
        print(f"tweeling: error: {exc.message}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which closed early
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
