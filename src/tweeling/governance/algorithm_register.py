"""The algorithm register (placeholder; the full register replaces this)."""

from __future__ import annotations

from pathlib import Path

from tweeling.scenarios.registry import Registry


class AlgorithmRegister:
    """Entries of the Algoritmeregister publicatiestandaard 1.0.0 for every model, with their status."""

    def __init__(self, root: Path, registry: Registry) -> None:
        self.root = root
        self.registry = registry
