"""Built-in impact models (MODELS.md): pure functions over the city state, one module per model."""
