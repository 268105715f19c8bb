"""mirkit.models."""
