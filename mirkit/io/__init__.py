"""mirkit.io."""
