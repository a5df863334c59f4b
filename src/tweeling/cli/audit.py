"""Command line: audit trail: verify, show (placeholder)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

AddStore = Callable[[argparse.ArgumentParser], argparse.ArgumentParser]


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser], with_store: AddStore) -> None:
    """Add this group's subcommands to the tweeling parser; with_store adds --store-url/--data-dir."""
