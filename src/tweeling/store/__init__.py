"""Stores: the embedded DuckDB+spatial file (default) or PostgreSQL+PostGIS, behind one interface."""

from tweeling.store.base import LayerData, LayerInfo, Store
from tweeling.store.factory import open_store

__all__ = ["LayerData", "LayerInfo", "Store", "open_store"]
