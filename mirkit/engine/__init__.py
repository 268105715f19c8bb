"""mirkit.engine."""
