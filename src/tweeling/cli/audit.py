"""Command line: ``tweeling audit verify | show``.

``verify`` checks the whole hash chain of the audit trail (``<data_dir>/audit/audit.jsonl``) and
says either ``audit trail intact: N entries`` (exit 0) or, on one line, where it breaks (exit 1).
``show`` prints the newest entries (or those after a ``seq``), as text or JSON.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from tweeling.governance.audit import AuditLog, AuditTrailError
from tweeling.services.governance import audit_log
from tweeling.services.settings import load_settings

AddStore = Callable[[argparse.ArgumentParser], argparse.ArgumentParser]


def _audit(args: argparse.Namespace) -> AuditLog:
    overrides: dict[str, Any] = {
        name: getattr(args, name)
        for name in ("store_url", "data_dir")
        if getattr(args, name, None) is not None
    }
    return audit_log(load_settings(**overrides))


def cmd_verify(args: argparse.Namespace) -> int:
    """Check the audit trail; a break is an error naming the first bad entry."""
    result = _audit(args).verify()
    if not result.ok:
        raise AuditTrailError(f"audit trail broken at entry {result.first_bad_seq}: {result.problem}")
    print(f"audit trail intact: {result.entries} entries")
    return 0


def _line(entry: dict[str, Any]) -> str:
    roles = ",".join(entry["roles"]) or "-"
    details = json.dumps(entry["details"], ensure_ascii=False, separators=(",", ":"))
    return (
        f"{entry['seq']:>6}  {entry['time']}  {entry['actor']} [{roles}]  {entry['action']}  "
        f"{entry['target']}  {entry['outcome']}  {details if entry['details'] else ''}"
    ).rstrip()


def cmd_show(args: argparse.Namespace) -> int:
    """Print entries: the newest ``--limit``, or the first ``--limit`` after ``--after``."""
    audit = _audit(args)
    if args.after is not None:
        entries = audit.entries(after=args.after, limit=args.limit, action=args.action)
    else:
        entries = audit.last(args.limit, action=args.action)
    if args.json:
        print(json.dumps(entries, indent=2, ensure_ascii=False))
        return 0
    if not entries:
        print("(no audit entries)")
    for entry in entries:
        print(_line(entry))
    return 0


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be 1 or more")
    return value


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser], with_store: AddStore) -> None:
    """Add this group's subcommands to the tweeling parser; with_store adds --store-url/--data-dir."""
    audit = sub.add_parser("audit", help="check and read the audit trail")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    verify = with_store(
        audit_sub.add_parser("verify", help="check the hash chain (edited, removed, reordered entries)")
    )
    verify.set_defaults(func=cmd_verify)
    show = with_store(audit_sub.add_parser("show", help="print the newest audit entries"))
    show.add_argument("--limit", type=_positive, default=20, help="how many entries (default 20)")
    show.add_argument("--action", help="only entries of this action (login, data-access, ...)")
    show.add_argument("--after", type=int, help="the entries after this seq (oldest first) instead")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(func=cmd_show)
