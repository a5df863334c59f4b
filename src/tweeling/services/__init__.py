"""The one service layer: plain functions that the HTTP API, the CLI, tests and batch jobs all call."""
