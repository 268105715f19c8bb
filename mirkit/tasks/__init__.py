"""mirkit.tasks."""
