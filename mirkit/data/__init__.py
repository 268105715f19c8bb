"""mirkit.data."""
