"""mirkit.features."""
