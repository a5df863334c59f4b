"""Command line: ``tweeling users add | list | set-roles | disable | enable | revoke | token``.

Users and their roles, and service tokens for machine clients (the sensor simulator, batch jobs).
Passwords are read with a prompt (twice) or from standard input, never from an argument (arguments
end up in shell histories and process lists). Every change is audited with the actor
``cli:<operating-system user>``: whoever can run this command on the server's data directory is an
administrator of the twin.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tweeling.core.errors import InvalidInputError
from tweeling.governance.roles import Principal, Role
from tweeling.services.governance import audit_log
from tweeling.services.identity import IdentityService
from tweeling.services.settings import load_settings

AddStore = Callable[[argparse.ArgumentParser], argparse.ArgumentParser]


def _identity(args: argparse.Namespace) -> IdentityService:
    overrides: dict[str, Any] = {
        name: getattr(args, name)
        for name in ("store_url", "data_dir")
        if getattr(args, name, None) is not None
    }
    settings = load_settings(**overrides)
    return IdentityService(settings, audit_log(settings))


def _operator() -> Principal:
    """The command line's actor in the audit trail: the operating-system user, as an administrator."""
    try:
        name = getpass.getuser()
    except (OSError, KeyError):
        name = "unknown"
    return Principal(subject=f"cli:{name}", roles=frozenset({Role.ADMIN}), token_id="cli")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password (at least 12 characters): ")
    if getpass.getpass("Password again: ") != first:
        raise InvalidInputError("the passwords do not match")
    return first


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds") if epoch else "-"


def cmd_add(args: argparse.Namespace) -> int:
    """Create a user with roles."""
    identity = _identity(args)
    password = _read_password(args.password_stdin)
    user = identity.create_user(args.name, password, args.role, actor=_operator())
    print(f"created user {user.username} with roles {', '.join(sorted(user.roles)) or '(public only)'}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """List the users and their roles."""
    users = _identity(args).list_users()
    if args.json:
        print(json.dumps([user.public() for user in users], indent=2))
        return 0
    if not users:
        print("(no users: add one with `tweeling users add NAME --role admin`)")
        return 0
    print(f"{'user':<24} {'roles':<36} {'state':<9} tokens not before")
    for user in users:
        state = "disabled" if user.disabled else "enabled"
        roles = ", ".join(sorted(user.roles)) or "-"
        print(f"{user.username:<24} {roles:<36} {state:<9} {_when(user.tokens_not_before)}")
    return 0


def cmd_set_roles(args: argparse.Namespace) -> int:
    """Replace a user's roles (their earlier tokens stop working)."""
    user = _identity(args).update_user(args.name, role_names=args.role, actor=_operator())
    print(
        f"{user.username} now has roles {', '.join(sorted(user.roles)) or '(public only)'}; "
        "earlier tokens are refused"
    )
    return 0


def cmd_disable(args: argparse.Namespace) -> int:
    """Disable a user: no logins, and their tokens are refused."""
    user = _identity(args).update_user(args.name, disabled=True, actor=_operator())
    print(f"{user.username} is disabled")
    return 0


def cmd_enable(args: argparse.Namespace) -> int:
    """Enable a disabled user again."""
    user = _identity(args).update_user(args.name, disabled=False, actor=_operator())
    print(f"{user.username} is enabled")
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    """Refuse every token of a user (or of a service subject) issued until now."""
    user = _identity(args).revoke_subject_tokens(args.name, actor=_operator())
    kind = "user" if user is not None else "service subject"
    print(f"revoked every token of {kind} {args.name} issued until now")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    """Print a service token (for a machine client) on standard output."""
    issued = _identity(args).issue_service_token(args.subject, args.role, ttl_s=args.ttl, actor=_operator())
    print(issued.token)
    print(
        f"service token for {args.subject} (roles {', '.join(sorted(args.role)) or 'public'}), "
        f"valid until {_when(issued.expires_at)}; send it as 'Authorization: Bearer <token>'",
        file=sys.stderr,
    )
    return 0


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser], with_store: AddStore) -> None:
    """Add this group's subcommands to the tweeling parser; with_store adds --store-url/--data-dir."""
    users = sub.add_parser("users", help="users, roles and service tokens")
    users_sub = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")

    def role_option(p: argparse.ArgumentParser, *, required: bool) -> None:
        p.add_argument(
            "--role",
            action="append",
            default=[],
            required=required,
            help="a role (repeat for several): resident, analyst, data_owner, ethics, admin (public: none)",
        )

    add = with_store(users_sub.add_parser("add", help="create a user (asks for the password twice)"))
    add.add_argument("name", help="user name: lower-case letters, digits, '.', '_', '-'")
    role_option(add, required=True)
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.set_defaults(func=cmd_add)

    listing = with_store(users_sub.add_parser("list", help="list the users and their roles"))
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(func=cmd_list)

    set_roles = with_store(users_sub.add_parser("set-roles", help="replace a user's roles"))
    set_roles.add_argument("name", help="user name")
    role_option(set_roles, required=True)
    set_roles.set_defaults(func=cmd_set_roles)

    disable = with_store(users_sub.add_parser("disable", help="disable a user (no logins, tokens refused)"))
    disable.add_argument("name", help="user name")
    disable.set_defaults(func=cmd_disable)

    enable = with_store(users_sub.add_parser("enable", help="enable a disabled user again"))
    enable.add_argument("name", help="user name")
    enable.set_defaults(func=cmd_enable)

    revoke = with_store(
        users_sub.add_parser("revoke", help="revoke every token of a user or service subject")
    )
    revoke.add_argument("name", help="user name or service subject")
    revoke.set_defaults(func=cmd_revoke)

    token = with_store(users_sub.add_parser("token", help="print a service token for a machine client"))
    token.add_argument("--subject", required=True, help="who the token is for, e.g. sensor-simulator")
    role_option(token, required=True)
    token.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds (default 3600)")
    token.set_defaults(func=cmd_token)
