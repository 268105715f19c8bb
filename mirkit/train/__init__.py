"""mirkit.train."""
