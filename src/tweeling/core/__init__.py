"""Core: errors, CRS, layer schemas and units. Imports nothing of the project and does no I/O."""
