"""Sensors of the twin: the Dordrecht demo network, the observation simulator and live-source connectors.

``demo`` describes the demo sensors as SensorThings deep-insert payloads, ``simulate`` makes
realistic (and clearly flagged) observations for them, and ``connectors`` read real
observations from Luchtmeetnet and RIVM Samen Meten when a user asks for them. No SQL here:
the store writes what these modules produce.
"""
