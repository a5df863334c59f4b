"""Scenarios: the city state, typed interventions, the impact models and the engine that runs them."""
