"""The twin's content: city-model layers built from source data, with their schemas."""
