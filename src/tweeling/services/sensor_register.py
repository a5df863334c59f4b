"""The sensor register (placeholder; the full register replaces this)."""

from __future__ import annotations

from tweeling.services.sensors import SensorHub


class SensorRegister:
    """Purpose, owner, personal-data capability, legal basis and retention of every sensor (Thing)."""

    def __init__(self, hub: SensorHub) -> None:
        self.hub = hub
