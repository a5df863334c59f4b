"""Location of the Dordrecht demo data shipped inside the package."""

from __future__ import annotations

from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parent.parent / "data" / "dordrecht"
"""Folder with the compact copy made by ``scripts/build_demo_data.py``."""
