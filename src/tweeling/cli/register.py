"""Command line: ``tweeling register export | check``: the algorithm register.

``export`` writes every model's entry per the Algoritmeregister publicatiestandaard 1.0.0 (JSON,
validated against ``src/tweeling/governance/schemas/algoritmeregister-1.0.0.schema.json``), to
standard output or ``--out FILE``; when an entry fails, one error line names the model and field.
``check`` lists every incomplete entry, one problem a line, and exits 1 if there is any.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tweeling.governance.algorithm_register import AlgorithmRegister
from tweeling.scenarios.registry import load_registry
from tweeling.services.settings import load_settings
from tweeling.store.documents import write_atomic

AddStore = Callable[[argparse.ArgumentParser], argparse.ArgumentParser]


def _register(args: argparse.Namespace) -> AlgorithmRegister:
    overrides: dict[str, Any] = {
        name: getattr(args, name)
        for name in ("store_url", "data_dir")
        if getattr(args, name, None) is not None
    }
    settings = load_settings(**overrides)
    return AlgorithmRegister(
        settings.data_dir, load_registry(), register_url=settings.resolved_public_url + "/v1/algorithms"
    )


def cmd_export(args: argparse.Namespace) -> int:
    """Write the validated export (InvalidInputError names the first failing model and field)."""
    document = _register(args).export()
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if args.out is None:
        sys.stdout.write(text)
        return 0
    write_atomic(args.out, text.encode())
    print(f"Wrote {len(document)} algorithm register entries to {args.out}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """List the fields that keep entries from meeting the standard; exit 1 if there are any."""
    register = _register(args)
    entries = register.entries()
    problems = [problem for entry in entries for problem in entry.problems]
    for problem in problems:
        print(problem)
    incomplete = sorted({problem.model_id for problem in problems})
    if incomplete:
        print(
            f"tweeling: error: {len(incomplete)} of {len(entries)} register entries incomplete: "
            f"{', '.join(incomplete)}",
            file=sys.stderr,
        )
        return 1
    print(f"algorithm register complete: {len(entries)} entries meet the Algoritmeregister standard 1.0.0")
    return 0


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser], with_store: AddStore) -> None:
    """Add this group's subcommands to the tweeling parser; with_store adds --store-url/--data-dir."""
    register = sub.add_parser("register", help="the algorithm register (Algoritmeregister 1.0.0)")
    register_sub = register.add_subparsers(dest="register_command", required=True, metavar="ACTION")
    export = with_store(
        register_sub.add_parser("export", help="write the validated Algoritmeregister 1.0.0 export (JSON)")
    )
    export.add_argument("--out", type=Path, help="file to write (default: standard output)")
    export.set_defaults(func=cmd_export)
    check = with_store(register_sub.add_parser("check", help="list incomplete entries (exit 1 if any)"))
    check.set_defaults(func=cmd_check)
