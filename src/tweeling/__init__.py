"""Tweeling: an open-source digital twin of the city, built first for Dordrecht."""

__version__ = "0.1.0"
