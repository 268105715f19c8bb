"""mirkit.cli."""
