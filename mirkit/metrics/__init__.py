"""mirkit.metrics."""
