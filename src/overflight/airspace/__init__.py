"""airspace stage."""
